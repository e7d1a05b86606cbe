"""Transformer-XL configs between plugformers and transformers 4.x, the last transformers
with a (deprecated) Transfo-XL: a config.json we write reads there with every field as we
wrote it, and one that transformers 4.x writes reads here.

transformers 4.x cannot sit beside the transformers 5 oracle of the other tests, so it
gets a virtualenv of its own (no torch: configs need none), installed from the package
index once per session: ``TRANSFORMERS_4``, pinned like every oracle.
"""

from __future__ import annotations

import json
import subprocess
import venv

import pytest

from plugformers import AutoConfig
from plugformers_transfo_xl.configuration import TransfoXLConfig

pytestmark = [pytest.mark.slow, pytest.mark.oracle]

TRANSFORMERS_4 = "transformers==4.46.3"
# Every field of the architecture, none at its default. (transformers 4.x keeps no
# proj_share_all_but_first: it turns it into tie_projs, which both sides then compare.)
FIELDS = dict(
    vocab_size=3000, cutoffs=[100, 1000], d_model=48, d_embed=64, n_head=3, d_head=16, d_inner=96, div_val=2,
    pre_lnorm=True, n_layer=5, tgt_len=40, ext_len=2, mem_len=50, clamp_len=30, same_length=False,
    proj_share_all_but_first=False, attn_type=0, adaptive=True, dropout=0.2, dropatt=0.05,
    untie_r=False, init="uniform", init_range=0.02, proj_init_std=0.02, init_std=0.03, layer_norm_epsilon=1e-6,
    tie_word_embeddings=False, eos_token_id=7,
)
# Read there, report every field here: a config.json folder in, a JSON object out.
READ = r"""
import json, sys
from transformers import AutoConfig, TransfoXLConfig
config = AutoConfig.from_pretrained(sys.argv[1])
assert type(config) is TransfoXLConfig, type(config)
print(json.dumps({name: getattr(config, name) for name in json.loads(sys.argv[2])}))
"""
WRITE = r"""
import json, sys
from transformers import TransfoXLConfig
TransfoXLConfig(**json.loads(sys.argv[2])).save_pretrained(sys.argv[1])
"""


@pytest.fixture(scope="session")
def transformers4(tmp_path_factory):
    """The python of a virtualenv holding transformers 4.x and its requirements only."""
    folder = tmp_path_factory.mktemp("transformers4")
    venv.create(folder, with_pip=True)
    python = str(folder / "bin" / "python")
    done = subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", TRANSFORMERS_4],
                          capture_output=True, text=True)
    assert done.returncode == 0, f"pip install {TRANSFORMERS_4} failed:\n{done.stderr[-3000:]}"
    return python


def run(python: str, script: str, *args: str) -> str:
    done = subprocess.run([python, "-c", script, *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_our_config_json_reads_in_transformers_4_with_every_field(transformers4, tmp_path):
    ours = TransfoXLConfig(**FIELDS)
    ours.save_pretrained(tmp_path)
    written = json.loads((tmp_path / "config.json").read_text())
    assert written["model_type"] == "transfo-xl"
    names = sorted(set(FIELDS) - {"proj_share_all_but_first"}) + ["tie_projs"]
    seen = json.loads(run(transformers4, READ, str(tmp_path), json.dumps(names)))
    expected = {name: getattr(ours, name) for name in names if name != "tie_projs"}
    expected["tie_projs"] = ours.projection_ties()
    assert expected["tie_projs"] == [False, False, False]  # what proj_share_all_but_first=False means
    assert seen == expected


def test_a_transformers_4_config_json_reads_here(transformers4, tmp_path):
    fields = {name: value for name, value in FIELDS.items() if name != "proj_share_all_but_first"}
    fields["tie_projs"] = [False, True, False]  # a mix proj_share_all_but_first cannot express
    run(transformers4, WRITE, str(tmp_path), json.dumps(fields))
    assert json.loads((tmp_path / "config.json").read_text())["transformers_version"] == "4.46.3"
    config = AutoConfig.from_pretrained(tmp_path)
    assert type(config) is TransfoXLConfig
    for name, value in fields.items():
        got = config.projection_ties() if name == "tie_projs" else getattr(config, name)
        assert got == value, name


"""The main job (`make demo` runs examples/quickstart.py) succeeds and says what it did."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_quickstart_runs_and_checks_itself():
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "quickstart.py")], capture_output=True,
                          text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "saved and reloaded: embeddings identical" in out
    assert "closest pair: 'A man is eating food.' ~ 'A man is eating a piece of bread.'" in out
    assert "loaded GPT2LMHeadModel" in out and "GPT2Tokenizer" in out
    assert "cached and uncached decoding agree; seeded sampling repeats" in out
    # The small GPT-2 knows its text by heart: greedy continuations are the training sentences.
    assert "'Greedy search takes the most likely token at every step" in out
    assert "XLNet: XLNetTokenizer" in out and "'<sep>', '<cls>']" in out
    assert "XLNet greedy decoding with mems and without agree" in out

"""The core's conformance suite over every installed plugin's types and heads."""

import pytest

from plugformers.testing import check_head, conformance_cases

CASES = conformance_cases()


def test_some_plugin_is_installed():
    assert CASES, "no model type is registered: install a plugin (make install)"


@pytest.mark.parametrize("model_type, head", CASES, ids=[f"{t}-{h}" for t, h in CASES])
def test_conformance(model_type, head, tmp_path):
    check_head(model_type, head, tmp_path)

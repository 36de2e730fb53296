"""The cold start benchmark has a sample for every function, with known calls."""

from __future__ import annotations

import pytest

from bench.cold_start import FIRST_CALLS, Sample
from triggers import load_catalog

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("name", [f.name for f in load_catalog().functions])
def test_every_function_has_a_sample_whose_first_call_is_known(name: str) -> None:
    sample = Sample.load(load_catalog().function(name))

    assert sample.first_call in FIRST_CALLS
    assert sample.libraries


def test_same_call_baselines_compile() -> None:
    for first_call, body in FIRST_CALLS.items():
        source = f"import uuid\ndef bare(event):\n{body}    return None\n"
        compile(source, f"<first call {first_call}>", "exec")

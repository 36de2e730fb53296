"""The cold start benchmark has a sample for every function, with known calls."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.cold_start import (
    FIRST_CALLS,
    PAUSE_COLLECTOR,
    PYDANTIC_FLOOR,
    RESUME_COLLECTOR,
    Sample,
    _write_baseline,
)
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


@pytest.mark.parametrize("name", [f.name for f in load_catalog().functions])
def test_the_floor_is_the_same_call_baseline_with_pydantic_and_the_pause(
    name: str, tmp_path: Path
) -> None:
    function = load_catalog().function(name)
    sample = Sample.load(function)

    same_call = _write_baseline(function, sample, tmp_path, sample.first_call)
    floor = _write_baseline(function, sample, tmp_path, sample.first_call, floor=True)

    same_text, floor_text = same_call.read_text(), floor.read_text()
    compile(floor_text, str(floor), "exec")
    assert "pydantic" not in same_text
    assert "gc." not in same_text
    added = (PAUSE_COLLECTOR, PYDANTIC_FLOOR, RESUME_COLLECTOR)
    assert all(part in floor_text for part in added)
    assert floor_text.index(PAUSE_COLLECTOR) < floor_text.index("import google")
    for part in added:
        floor_text = floor_text.replace(part, "")
    assert floor_text.replace("\n", "") == same_text.replace("\n", "")

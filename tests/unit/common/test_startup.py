"""Start-up: imports run with the collector paused, and what they built is frozen."""

from __future__ import annotations

import ast
import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.startup import pause_garbage_collection
from triggers import load_catalog

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]


class _Node:
    """An object in a reference cycle: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.itself = self


@pytest.fixture(autouse=True)
def _collector_restored() -> Iterator[None]:
    was_enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if was_enabled:
        gc.enable()
    else:
        gc.disable()


def test_the_block_runs_with_the_collector_off_and_it_is_back_on_after() -> None:
    gc.enable()

    with pause_garbage_collection():
        inside = gc.isenabled()

    assert inside is False
    assert gc.isenabled() is True


def test_what_the_block_built_is_frozen_out_of_every_later_collection() -> None:
    gc.enable()
    gc.unfreeze()

    with pause_garbage_collection():
        built = [_Node() for _ in range(1_000)]

    assert gc.get_freeze_count() >= len(built)
    tracked = {id(obj) for generation in range(3) for obj in gc.get_objects(generation)}
    assert not any(id(node) in tracked for node in built)


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()

    with pause_garbage_collection():
        pass

    assert gc.isenabled() is False


def test_the_collector_comes_back_on_when_the_block_raises() -> None:
    gc.enable()

    with pytest.raises(ImportError), pause_garbage_collection():
        raise ImportError("no such module")

    assert gc.isenabled() is True


@pytest.mark.parametrize(
    "source", sorted({function.source for function in load_catalog().functions})
)
def test_every_entry_point_imports_google_libraries_with_the_collector_paused(
    source: str,
) -> None:
    tree = ast.parse((ROOT / source).read_text())

    paused = [
        node
        for node in tree.body
        if isinstance(node, ast.With)
        and ast.unparse(node.items[0].context_expr) == "pause_garbage_collection()"
    ]
    top_level = _imported(tree.body)
    assert len(paused) == 1, f"{source}: one `with pause_garbage_collection()`"
    assert any(name.startswith("google.") for name in _imported(paused[0].body))
    assert any(name.startswith("common.") for name in _imported(paused[0].body))
    assert not [n for n in top_level if n.startswith(("google.", "firebase_admin"))]


def _imported(body: list[ast.stmt]) -> list[str]:
    names: list[str] = []
    for node in body:
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names

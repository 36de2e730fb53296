"""Byte-compiling the functions' code before the platform serves it."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import pytest

from emulators.bytecode import compile_sources


def test_compile_sources_writes_bytecode_despite_dont_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    module = tmp_path / "package" / "handler.py"
    module.parent.mkdir()
    module.write_text("ANSWER = 42\n")

    compile_sources([tmp_path / "package", tmp_path / "package"])

    assert Path(importlib.util.cache_from_source(str(module))).is_file()


def test_compile_sources_broken_module_is_logged_and_others_compiled(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "broken.py").write_text("def (:\n")
    (tmp_path / "fine.py").write_text("VALUE = 1\n")

    with caplog.at_level(logging.WARNING, logger="emulators"):
        compile_sources([tmp_path])

    assert Path(importlib.util.cache_from_source(str(tmp_path / "fine.py"))).is_file()
    assert [r.getMessage() for r in caplog.records] == [
        f"bytecode not compiled under {tmp_path}"
    ]

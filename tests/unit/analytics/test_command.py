"""The analytics command line refuses bad arguments before touching anything."""

from __future__ import annotations

import pytest

from common.analytics.__main__ import main

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "argv",
    [
        ["backfill-bigquery", "--from", "yesterday", "--to", "2026-12-02"],
        ["backfill-bigquery", "--from", "2026-12-01"],
        ["bootstrap-bigquery", "--dataset", "crm`; DROP"],
    ],
    ids=["not-a-date", "no-end", "dataset-name"],
)
def test_command_bad_arguments_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)

    assert caught.value.code == 2
    assert "error:" in capsys.readouterr().err

"""The demo of `make run`, driven through the test platform."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from emulators.config import ROOT
from emulators.platform import Platform


def test_demo_runs_every_built_step_and_shows_the_stores(platform: Platform) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "emulators", "demo"],
        cwd=ROOT,
        env=os.environ | platform.environment(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert "(staff): pending_kyc" in result.stdout
    assert "uploaded through its signed URL" in result.stdout
    assert "the app lists it: partially_refunded" in result.stdout
    assert "the app lists it: refunded, 2500 EUR" in result.stdout
    assert "customers: " in result.stdout
    assert re.search(r"kyc-uploads: [1-9][0-9]* object", result.stdout)
    assert re.search(r"customer_360: [1-9][0-9]* row", result.stdout)
    assert re.search(r"daily_payment_volume: [1-9][0-9]* row", result.stdout)

"""Byte-compile the functions' code before it is served, as a build would.

pip compiles the libraries it installs, but nothing compiles the project's
own modules, and with ``PYTHONDONTWRITEBYTECODE`` set (as on this machine,
and in many container images) no ``.pyc`` is ever written: every cold start
would parse and compile ``common/`` and the function again. A deployed
function's build step does this once; the platform does it before it starts
the function processes, so that their cold starts are the ones production
sees. ``compileall`` writes the files itself and is not affected by the
variable.
"""

from __future__ import annotations

import compileall
import logging
from collections.abc import Iterable
from pathlib import Path

logger = logging.getLogger("emulators")


def compile_sources(folders: Iterable[Path]) -> None:
    """Write the bytecode of every module under each folder, once each.

    A module that does not compile is left as it is: its function then fails
    to start, with the error in its own log.
    """
    for folder in sorted(set(folders)):
        compiled = compileall.compile_dir(folder, quiet=2)
        if not compiled:
            logger.warning("bytecode not compiled under %s", folder)

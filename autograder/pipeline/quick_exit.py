"""End a grader process without tearing its interpreter down.

A grader that has imported numpy, pytest and jsonschema spends about 0.1 s at exit freeing
every module's objects, after all its work is written: a tenth of a single submission's
``make grade`` on the development machine. mypy ends its runs the same way
(``mypy.util.hard_exit``).
"""

from __future__ import annotations

import atexit
import os
import sys
from typing import NoReturn


def quick_exit(status: int) -> NoReturn:
    """Flush the standard streams, run the atexit handlers (the zygote's cleanup among
    them), and end the process with ``status``."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe loses nothing the files hold
            pass
    atexit._run_exitfuncs()
    os._exit(status)

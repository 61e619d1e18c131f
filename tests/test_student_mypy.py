"""The student mypy settings analyse numpy and nothing else installed, in both copies."""

from __future__ import annotations

import re
from pathlib import Path

from autograder.config import KIT_ROOT, MYPY_CONFIG
from autograder.static.mypy_run import run_mypy

SOURCE = """
import numpy as np
import matplotlib.pyplot as plt

wrong: np.ndarray = 3
unchecked: int = plt.figure
"""


def test_numpy_is_checked_and_other_packages_are_not(tmp_path: Path) -> None:
    errors = run_mypy({"probe": SOURCE}, tmp_path / "cache")["probe"]
    assert len(errors) == 1
    assert errors[0].startswith("line 5:")


def test_self_check_carries_the_graders_mypy_settings() -> None:
    check = (KIT_ROOT / "student" / "check.py").read_text()
    embedded = re.search(r'MYPY_CONFIG = """(.*?)"""', check, re.S)
    assert embedded is not None
    settings = [
        line
        for line in MYPY_CONFIG.read_text().splitlines()
        if line and not line.startswith("#") and "warn_unused_configs" not in line
    ]
    assert [line for line in embedded.group(1).splitlines() if line] == settings

"""The graded cases: fixture files decoded into typed, read-only cases."""

from __future__ import annotations

import json
from pathlib import Path

from autograder.config import FIXTURES_DIR
from autograder.judge.case import Case, case_from_json


def load_cases(folder: Path = FIXTURES_DIR) -> list[Case]:
    """Every public then hidden case, in file order."""
    cases: list[Case] = []
    for visibility in ("public", "hidden"):
        data = json.loads((folder / f"{visibility}.json").read_text())
        cases += [case_from_json(raw, visibility) for raw in data["cases"]]
    return cases

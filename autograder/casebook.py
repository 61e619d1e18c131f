"""The graded cases: fixture files decoded into typed, read-only cases."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from autograder.channel import FloatArray
from autograder.config import FIXTURES_DIR
from autograder.remote import Argument


@dataclass(frozen=True)
class Case:
    """One call to a student function and what it must give back."""

    id: str
    item: str
    function: str
    description: str
    visibility: str  # "public" or "hidden"
    args: tuple[Argument, ...]
    expected: tuple[FloatArray, ...]  # empty when the call must raise
    raises: str | None

    @property
    def check(self) -> str:
        """What is judged: "values", "shapes", "stability" or "bad_heads"."""
        return self.item.split(".", 1)[1]

    @property
    def expected_bytes(self) -> int:
        """Size of the expected output, the bound for what the grader reads back."""
        return sum(a.nbytes for a in self.expected) or 1 << 12

    @property
    def label(self) -> str:
        """How feedback names this case: public cases by shape, hidden ones by number."""
        if self.visibility == "public":
            return f"public case {self.id} ({self.description})"
        return f"hidden case {self.id}"


def _array(raw: dict[str, Any]) -> FloatArray:
    array = np.asarray(raw["data"], dtype=np.dtype(raw["dtype"])).reshape(raw["shape"])
    array.setflags(write=False)
    return array


def _argument(raw: dict[str, Any]) -> Argument:
    if "array" in raw:
        return _array(raw["array"])
    if "int" in raw:
        return int(raw["int"])
    return float(raw["float"])


def load_cases(folder: Path = FIXTURES_DIR) -> list[Case]:
    """Every public then hidden case, in file order."""
    cases: list[Case] = []
    for visibility in ("public", "hidden"):
        data = json.loads((folder / f"{visibility}.json").read_text())
        for raw in data["cases"]:
            expected = raw["expected"]
            cases.append(
                Case(
                    id=raw["id"],
                    item=raw["item"],
                    function=raw["function"],
                    description=raw["description"],
                    visibility=visibility,
                    args=tuple(_argument(a) for a in raw["args"]),
                    expected=tuple(_array(a) for a in expected.get("arrays", [])),
                    raises=expected.get("raises"),
                )
            )
    return cases

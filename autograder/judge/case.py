"""The graded cases: one call to a student function and what it must give back, as the
fixture files (and the deliveries' data files) write them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..contract.functions import Argument, FloatArray


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
    def public(self) -> bool:
        """Public cases may be described precisely; hidden ones never are."""
        return self.visibility == "public"

    @property
    def expected_bytes(self) -> int:
        """Size of the expected output, the bound for what the grader reads back."""
        return sum(a.nbytes for a in self.expected) or 1 << 12

    @property
    def label(self) -> str:
        """How feedback names this case: public cases by shape, hidden ones by number."""
        if self.public:
            return f"public case {self.id} ({self.description})"
        return f"hidden case {self.id}"


def array_from_json(raw: dict[str, Any]) -> FloatArray:
    """A fixture array (``{"dtype", "shape", "data"}``, null for NaN), read-only."""
    data = [np.nan if value is None else value for value in raw["data"]]
    array = np.asarray(data, dtype=np.dtype(raw.get("dtype", "float64")))
    array = array.reshape(raw["shape"])
    array.setflags(write=False)
    return array


def array_to_json(array: FloatArray, digits: int = 17) -> dict[str, Any]:
    """``array_from_json``'s inverse, with ``digits`` significant digits (NaN/inf: null)."""
    data = [
        float(f"{value:.{digits}g}") if value - value == 0 else None
        for value in array.astype("float64").ravel().tolist()
    ]
    return {"dtype": "float64", "shape": list(array.shape), "data": data}


def case_from_json(raw: dict[str, Any], visibility: str) -> Case:
    """A case as the fixture files (and the Otter export) write it."""

    def argument(arg: dict[str, Any]) -> Argument:
        if "array" in arg:
            return array_from_json(arg["array"])
        if "int" in arg:
            return int(arg["int"])
        return float(arg["float"])

    expected = raw["expected"]
    return Case(
        id=raw["id"],
        item=raw["item"],
        function=raw["function"],
        description=raw.get("description", ""),
        visibility=visibility,
        args=tuple(argument(a) for a in raw["args"]),
        expected=tuple(array_from_json(a) for a in expected.get("arrays", [])),
        raises=expected.get("raises"),
    )

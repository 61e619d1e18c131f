"""References: what the judge knows about a case besides its expected values (its float32
rounding scale, known wrong answers, the right intermediate steps), and how the
deliveries' data file holds them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from ..contract.functions import FloatArray
from .case import Case, array_from_json, array_to_json


@dataclass(frozen=True)
class Known:
    """What one misconception gives on one case, and its words."""

    key: str
    explanation: str
    arrays: tuple[FloatArray | None, ...]  # None: only the shape is known
    shapes: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class Steps:
    """A multi-head case done right step by step, and the helpers' known wrong answers.

    ``qkv`` is create_qkv on the case's inputs; ``heads`` the per-head arrays
    (B, h, L, head_dim) a correct split of them gives; ``attended`` attention on those with
    ``scale``, before the heads are merged.
    """

    qkv: tuple[FloatArray, ...]
    qkv_known: tuple[Known, ...]
    heads: tuple[FloatArray, ...]
    scale: float
    attended: FloatArray
    attention_known: tuple[Known, ...]


class Reference(Protocol):
    """What the judge knows about a case besides its expected values."""

    @property
    def magnitude(self) -> float:
        """The case's float32 rounding scale: the largest quantity whose rounding reaches
        the result (``|X| @ |W|`` for create_qkv; ``max|V| * (1 + scale * max(|Q| @
        |K|^T))`` for attention, per head in multi-head)."""
        ...

    def known(self) -> Iterable[Known]:
        """Known wrong answers on the case, most likely first (may be computed lazily)."""
        ...

    def steps(self) -> Steps | None:
        """For a multi-head case, the evidence localisation compares against."""
        ...


@dataclass(frozen=True)
class NoReference:
    """A case the judge knows nothing more about (the Otter export's hidden cases)."""

    magnitude: float = 0.0

    def known(self) -> Iterable[Known]:
        """None known."""
        return ()

    def steps(self) -> Steps | None:
        """No evidence."""
        return None


@dataclass(frozen=True)
class ShippedReference:
    """A reference read from the deliveries' data file (public cases only)."""

    magnitude: float
    known_answers: tuple[Known, ...]
    step_data: Steps | None

    def known(self) -> Iterable[Known]:
        """The known wrong answers, as shipped."""
        return self.known_answers

    def steps(self) -> Steps | None:
        """The evidence, as shipped."""
        return self.step_data


def known_to_json(known: Known, with_values: bool) -> dict[str, Any]:
    """One known wrong answer as the deliveries' data file holds it."""
    arrays = [
        (
            array_to_json(a, 8)
            if a is not None and with_values
            else {"shape": list(s), "data": None}
        )
        for a, s in zip(known.arrays, known.shapes)
    ]
    return {"key": known.key, "explanation": known.explanation, "arrays": arrays}


def known_from_json(raw: dict[str, Any]) -> Known:
    """``known_to_json``'s inverse."""
    arrays = tuple(
        None if a["data"] is None else array_from_json(a) for a in raw["arrays"]
    )
    shapes = tuple(tuple(int(d) for d in a["shape"]) for a in raw["arrays"])
    return Known(raw["key"], raw["explanation"], arrays, shapes)


def reference_to_json(reference: Reference, case: Case) -> dict[str, Any]:
    """A public case's reference for the deliveries' data file."""
    values = case.check != "shapes"
    data: dict[str, Any] = {
        "magnitude": reference.magnitude,
        "known": [known_to_json(k, values) for k in reference.known()],
    }
    steps = reference.steps()
    if steps is not None:
        data["steps"] = {
            "qkv": [array_to_json(a, 13) for a in steps.qkv],
            "qkv_known": [known_to_json(k, True) for k in steps.qkv_known],
            "heads": [array_to_json(a, 13) for a in steps.heads],
            "scale": steps.scale,
            "attended": array_to_json(steps.attended, 13),
            "attention_known": [known_to_json(k, True) for k in steps.attention_known],
        }
    return data


def reference_from_json(raw: dict[str, Any]) -> ShippedReference:
    """``reference_to_json``'s inverse."""
    steps = raw.get("steps")
    return ShippedReference(
        float(raw["magnitude"]),
        tuple(known_from_json(k) for k in raw["known"]),
        (
            Steps(
                tuple(array_from_json(a) for a in steps["qkv"]),
                tuple(known_from_json(k) for k in steps["qkv_known"]),
                tuple(array_from_json(a) for a in steps["heads"]),
                float(steps["scale"]),
                array_from_json(steps["attended"]),
                tuple(known_from_json(k) for k in steps["attention_known"]),
            )
            if steps
            else None
        ),
    )

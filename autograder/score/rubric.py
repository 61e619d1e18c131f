"""The rubric: one data file (``rubric.json``) an instructor edits, validated on load."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import jsonschema

from autograder.config import RUBRIC_FILE

KNOWN_ITEMS = (
    "qkv.values",
    "qkv.shapes",
    "sdpa.values",
    "sdpa.stability",
    "sdpa.shapes",
    "mha.values",
    "mha.shapes",
    "mha.bad_heads",
    "typing",
    "formatting",
)

SCHEMA = {
    "type": "object",
    "required": ["items"],
    "properties": {
        "title": {"type": "string"},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "points", "title", "description"],
                "properties": {
                    "id": {"enum": list(KNOWN_ITEMS)},
                    "points": {"type": "number", "minimum": 0},
                    "title": {"type": "string"},
                    "description": {"type": "string"},
                    "function": {"type": ["string", "null"]},
                },
            },
        },
    },
}


@dataclass(frozen=True)
class RubricItem:
    """One scored line of the rubric."""

    id: str
    points: float
    title: str
    description: str


@dataclass(frozen=True)
class Rubric:
    """Items in display order."""

    title: str
    items: tuple[RubricItem, ...]

    @property
    def max_score(self) -> float:
        """Total points available."""
        return sum(item.points for item in self.items)

    def item(self, item_id: str) -> RubricItem:
        """Look an item up by id."""
        return next(item for item in self.items if item.id == item_id)


def load_rubric(path: Path = RUBRIC_FILE) -> Rubric:
    """Read and validate the rubric; every known item must appear exactly once."""
    data = json.loads(path.read_text())
    jsonschema.validate(data, SCHEMA)
    ids = [raw["id"] for raw in data["items"]]
    if sorted(ids) != sorted(KNOWN_ITEMS):
        raise ValueError(
            f"{path}: rubric must list each of {', '.join(KNOWN_ITEMS)} once"
        )
    items = tuple(
        RubricItem(raw["id"], float(raw["points"]), raw["title"], raw["description"])
        for raw in data["items"]
    )
    return Rubric(data.get("title", "Multi-Head Self-Attention"), items)

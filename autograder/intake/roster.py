"""Who submitted: names, SIDs, emails and submission times from Gradescope's metadata.

Two files carry them. The "Export Submissions" zip has ``submission_metadata.yml``: one
record per ``submission_<id>`` folder, with Ruby symbols as keys (``:submitters:``, each
with ``:name:``, ``:sid:`` and ``:email:``, and ``:created_at:``). Inside ``run_autograder``,
``submission_metadata.json`` describes the one submission being graded (``users``, each
with ``name``, ``sid`` and ``email``, and ``created_at``). Both are parsed with safe parsers
only (``yaml.safe_load``, ``json``); unreadable metadata costs the names, never a grade.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

GRADESCOPE_EXPORT_METADATA = "submission_metadata.yml"
MAX_FIELD = 200  # characters kept of one name, SID or email
RUBY_TIME = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[ T](?P<time>\d{2}:\d{2}:\d{2})(?:\.\d+)?"
    r"\s*(?P<zone>Z|[+-]\d{2}:?\d{2})?$"
)


@dataclass(frozen=True)
class Person:
    """One submitter as the metadata names them (any field may be empty)."""

    name: str = ""
    sid: str = ""
    email: str = ""

    def label(self) -> str:
        """``Name <email>``, or whichever of the two is known."""
        if self.name and self.email:
            return f"{self.name} <{self.email}>"
        return self.name or self.email or self.sid


@dataclass(frozen=True)
class Submitters:
    """The people behind one submission and when they submitted (ISO 8601, or "")."""

    people: tuple[Person, ...] = ()
    submitted_at: str = ""


def clean_field(value: object) -> str:
    """One printable line of at most MAX_FIELD characters (metadata is student-typed)."""
    if value is None:
        return ""
    text = " ".join(str(value).split())
    return "".join(c for c in text if c.isprintable())[:MAX_FIELD]


def iso_time(value: object) -> str:
    """A submission time as ISO 8601 with seconds: ``2024-05-17T23:58:01-07:00``."""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    text = clean_field(value)
    try:
        return datetime.fromisoformat(text).isoformat(timespec="seconds")
    except ValueError:
        pass
    found = RUBY_TIME.match(text)
    if not found:
        return ""
    zone = found["zone"] or ""
    if zone and zone != "Z" and ":" not in zone:
        zone = zone[:3] + ":" + zone[3:]
    return f"{found['date']}T{found['time']}{zone.replace('Z', '+00:00')}"


def _person(record: object, keys: tuple[str, str, str]) -> Person | None:
    if not isinstance(record, dict):
        return None
    name, sid, email = (clean_field(record.get(key)) for key in keys)
    person = Person(name, sid, email)
    return person if person.label() else None


def _warn(path: Path, exc: BaseException) -> None:
    print(
        f"warning: {path.name} could not be read ({type(exc).__name__}); "
        "names, SIDs and emails stay empty",
        file=sys.stderr,
    )


def export_metadata(path: Path) -> dict[str, Submitters]:
    """Folder name -> its submitters, from an export's ``submission_metadata.yml``."""
    import yaml  # only an export has one: a single file's grade never pays its import

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        _warn(path, exc)
        return {}
    if not isinstance(data, dict):
        return {}
    found: dict[str, Submitters] = {}
    for folder, record in data.items():
        if not isinstance(record, dict):
            continue
        submitters = record.get(":submitters")
        people = [
            _person(entry, (":name", ":sid", ":email"))
            for entry in (submitters if isinstance(submitters, list) else [])
        ]
        found[str(folder)] = Submitters(
            tuple(p for p in people if p is not None),
            iso_time(record.get(":created_at")),
        )
    return found


def run_metadata(path: Path) -> Submitters:
    """The submitters of ``run_autograder``'s one submission (``submission_metadata.json``)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Submitters()
    except (OSError, ValueError) as exc:
        _warn(path, exc)
        return Submitters()
    if not isinstance(data, dict):
        return Submitters()
    users = data.get("users")
    people = [
        _person(user, ("name", "sid", "email"))
        for user in (users if isinstance(users, list) else [])
    ]
    return Submitters(
        tuple(p for p in people if p is not None), iso_time(data.get("created_at"))
    )

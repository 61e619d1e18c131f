"""The hostile corpus: every attack in ``tests/attacks`` graded in one batch, interleaved
with correct submissions, with a canary secret in the grader's environment.

Each attack's expected containment lives in ``tests/attacks/MANIFEST.json``: the most it
may score, the status and words its report must show, and what stops it. Around the batch
the tests check what no single report shows: correct submissions still score 10, no process
outlives the batch, the canary appears in no output, nothing in the kit, the submissions or
a bait file changed, nothing was unpickled, no connection reached the grader's machine.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from autograder.config import FIXTURES_DIR, KIT_ROOT, SOLUTION_DIR, Limits
from autograder.confine.linux import children_of, processes_of
from autograder.confine.probe import detect_confinement
from autograder.confine.uid import uids_of
from autograder.confine.untrusted import is_safe
from autograder.pipeline.batch import grade_folder
from autograder.score.result import GradeResult
from tests.conftest import needs_uid_mode

ATTACKS = KIT_ROOT / "tests" / "attacks"
MANIFEST: dict[str, dict[str, Any]] = json.loads(
    (ATTACKS / "MANIFEST.json").read_text()
)["attacks"]
CORRECT = KIT_ROOT / "examples" / "submissions" / "correct.py"
THREAT_MODEL = KIT_ROOT / "docs" / "threat-model.md"
LIMITS = replace(
    Limits().scaled(2.0), memory_bytes=768 << 20, black_seconds=2.0, mypy_seconds=3.0
)
LEFT_IN = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/dev/mqueue")
CORRECT_EVERY = 5  # one correct submission after every fifth attack
TAMPER_GRACE_SECONDS = 1.5  # how long a surviving tamperer gets to act after the batch


def _digest(paths: list[Path]) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths if p.is_file()
    }


def _command_lines_with(marker: str) -> list[str]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as source:
                    line = source.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if marker in line:
                found.append(f"{entry.name}: {line[:120]}")
    return found


def _files_of(uids: set[int]) -> list[str]:
    """Entries owned by ``uids`` in the world-writable folders a sandbox user could reach."""
    found = []
    for base in LEFT_IN:
        try:
            entries = list(os.scandir(base))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid in uids:
                    found.append(entry.path)
            except OSError:
                continue
    return found


def _ipc_of(uids: set[int]) -> list[str]:
    """SysV IPC objects (shared memory, message queues, semaphores) ``uids`` own or made."""
    found = []
    for kind in ("shm", "msg", "sem"):
        try:
            with open(f"/proc/sysvipc/{kind}") as source:
                header, *rows = [line.split() for line in source]
        except OSError:
            continue
        columns = [header.index("uid"), header.index("cuid")]
        found += [
            f"{kind} {row[1]}" for row in rows if {int(row[i]) for i in columns} & uids
        ]
    return found


class WorkerWatch(threading.Thread):
    """Remember the grader's worker processes, whose pids name their sandbox uids."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.pids: set[int] = set()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.pids.update(children_of(os.getpid()))
            time.sleep(0.05)

    def uids(self) -> set[int]:
        """The sandbox uids the batch could have used."""
        return {uid for pid in self.pids | {os.getpid()} for uid in uids_of(pid)}


@dataclass
class Corpus:
    """The batch and everything observed around it."""

    results: dict[str, GradeResult]
    out: Path
    submissions: Path
    bait: Path
    canary: str
    marker: str
    correct_ids: list[str]
    seconds: float
    leftover_processes: list[str]
    leftover_files: list[str]
    leftover_ipc: list[str]
    digests_before: dict[str, str]
    digests_after: dict[str, str]
    reports_after_batch: dict[str, str]
    reports_later: dict[str, str]
    connections: int
    mode: str
    texts: dict[str, str] = field(default_factory=dict)

    def report_text(self, submission: str) -> str:
        """Everything written about a submission: its status message and every file in
        its OUT folder (results.json, feedback.md, the staff-only printed output)."""
        if submission not in self.texts:
            folder = self.out / submission
            self.texts[submission] = self.results[submission].status_message + "".join(
                path.read_text(errors="replace") for path in sorted(folder.iterdir())
            )
        return self.texts[submission]


def _prepare(
    folder: Path, out: Path, bait: Path, marker: str, port: int
) -> tuple[list[str], dict[str, str]]:
    """Copy the corpus with its placeholders filled in, a correct file every few attacks."""
    values = {
        "MHSA_MARKER": marker,
        "MHSA_KIT_ROOT": str(KIT_ROOT),
        "MHSA_OUT": str(out),
        "MHSA_SUBMISSIONS": str(folder),
        "MHSA_BAIT": str(bait),
        "MHSA_PORT": str(port),
    }
    correct_ids = []
    ids = {}
    for index, name in enumerate(sorted(MANIFEST)):
        data = (ATTACKS / name).read_bytes()
        for placeholder, value in values.items():
            data = data.replace(placeholder.encode(), value.encode())
        stem = name.rsplit(".", 1)[0]
        (folder / f"{stem}.py").write_bytes(data)
        ids[name] = stem
        if index % CORRECT_EVERY == 0:
            correct_id = f"{stem}_then_correct"
            marked = (
                CORRECT.read_text() + f"\n# {marker}\n"
            )  # this batch's, for thieves
            (folder / f"{correct_id}.py").write_text(marked)
            correct_ids.append(correct_id)
    return correct_ids, ids


@pytest.fixture(
    scope="module", params=["strongest", pytest.param("uid", marks=needs_uid_mode)]
)
def corpus(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Corpus]:
    """Grade the whole corpus once per mode, watching processes, files and the network.

    ``strongest`` is what this machine grants (the jail on CI); ``uid`` is what Gradescope
    grants (root without namespaces), forced with ``MHSA_NO_NAMESPACES=1`` in the workers.
    """
    forced = request.param == "uid"
    if forced and os.geteuid() != 0:
        pytest.skip("uid mode needs a root grader (CI and Gradescope run as root)")
    mode = "uid" if forced else detect_confinement().mode
    root = tmp_path_factory.mktemp("attacks")
    folder, out, bait = root / "submissions", root / "out", root / "bait"
    for path in (folder, out, bait):
        path.mkdir()
    bait.chmod(0o777)
    (bait / "bait.txt").write_text("bait, world-writable\n")
    (bait / "bait.txt").chmod(0o666)
    marker = "mhsa-attack-" + secrets.token_hex(8)
    canary = "canary-" + secrets.token_hex(12)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    correct_ids, _ = _prepare(folder, out, bait, marker, listener.getsockname()[1])
    watched = [
        *folder.iterdir(),
        *bait.iterdir(),
        *SOLUTION_DIR.glob("*.py"),
        *FIXTURES_DIR.iterdir(),
    ]
    before = _digest(watched)
    watch = WorkerWatch()
    # A process whose command line holds a secret, as `make grade TOKEN=...` would.
    exposed = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)", f"TOKEN={canary}"]
    )
    previous = {
        name: os.environ.get(name) for name in ("MHSA_CANARY", "MHSA_NO_NAMESPACES")
    }
    os.environ["MHSA_CANARY"] = canary
    if forced:
        os.environ["MHSA_NO_NAMESPACES"] = "1"  # read by the spawned workers
    watch.start()
    started = time.monotonic()
    try:
        results = grade_folder(folder, out, jobs=2, limits=LIMITS, quiet=True)
    finally:
        seconds = time.monotonic() - started
        exposed.kill()
        exposed.wait()
        watch.done.set()
        watch.join()
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    uids = watch.uids()
    leftovers = _command_lines_with(marker)
    leftovers += [f"uid {uid}: pid {pid}" for uid in uids for pid in processes_of(uid)]
    reports = sorted(out.glob("*/results.json")) + [out / "gradebook.csv"]
    reports_after_batch = _digest(reports)
    time.sleep(TAMPER_GRACE_SECONDS)
    connections = 0
    while True:
        try:
            accepted, _ = listener.accept()
        except BlockingIOError:
            break
        accepted.close()
        connections += 1
    listener.close()
    yield Corpus(
        results={r.submission: r for r in results},
        out=out,
        submissions=folder,
        bait=bait,
        canary=canary,
        marker=marker,
        correct_ids=correct_ids,
        seconds=seconds,
        leftover_processes=leftovers,
        leftover_files=_files_of(uids),
        leftover_ipc=_ipc_of(uids),
        digests_before=before,
        digests_after=_digest(watched),
        reports_after_batch=reports_after_batch,
        reports_later=_digest(reports),
        connections=connections,
        mode=mode,
    )


def _id(name: str) -> str:
    return name.rsplit(".", 1)[0]


def test_corpus_holds_at_least_25_attacks_each_described() -> None:
    attacks = [n for n, e in MANIFEST.items() if e["kind"] == "attack"]
    assert len(attacks) >= 25
    files = {p.name for p in ATTACKS.iterdir() if p.name != "MANIFEST.json"}
    assert files == set(MANIFEST), "every corpus file needs a manifest entry and back"
    for entry in MANIFEST.values():
        assert entry["attack"] and entry["stopped_by"]


def test_threat_model_lists_every_attack_and_what_stopped_it() -> None:
    text = THREAT_MODEL.read_text()
    for name, entry in MANIFEST.items():
        if entry["kind"] == "attack":
            assert (
                f"`{_id(name)}`" in text
            ), f"{name} missing from the threat model's table"


def test_every_submission_gets_a_row_a_results_json_and_feedback(
    corpus: Corpus,
) -> None:
    expected = {_id(name) for name in MANIFEST} | set(corpus.correct_ids)
    assert set(corpus.results) == expected
    with (corpus.out / "gradebook.csv").open() as source:
        rows = {row["submission"]: row for row in csv.DictReader(source)}
    assert set(rows) == expected
    for submission in expected:
        document = json.loads((corpus.out / submission / "results.json").read_text())
        assert document["score"] == corpus.results[submission].score
        assert float(rows[submission]["score"]) == corpus.results[submission].score
        assert (
            (corpus.out / submission / "feedback.md")
            .read_text()
            .startswith("# Feedback")
        )


def test_correct_submissions_graded_between_attacks_score_full_marks(
    corpus: Corpus,
) -> None:
    assert len(corpus.correct_ids) >= 5
    for submission in corpus.correct_ids:
        result = corpus.results[submission]
        assert (result.score, result.status) == (10, "ok"), submission


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_attack_gains_nothing_and_reports_plainly(corpus: Corpus, name: str) -> None:
    entry = MANIFEST[name]
    result = corpus.results[_id(name)]
    assert result.status != "internal_error", result.internal_errors
    if entry.get("needs_jail") and corpus.mode != "jail":
        return  # contained only by the jail (network, whole-disk search): documented
    assert result.score <= entry["max_score"], result.status_message
    if "status" in entry:
        assert result.status == entry["status"], result.status_message
    text = corpus.report_text(_id(name)).lower()
    for word in entry.get("words", []):
        assert word.lower() in text, f"{word!r} not in the report of {name}"
    if "any_words" in entry:
        assert any(w.lower() in text for w in entry["any_words"]), entry["any_words"]
    for word in entry.get("absent", []):
        assert word.lower() not in text, f"{word!r} in the report of {name}"


def test_no_process_outlives_the_batch(corpus: Corpus) -> None:
    assert corpus.leftover_processes == []


def test_the_canary_in_the_graders_environment_appears_in_no_output(
    corpus: Corpus,
) -> None:
    for path in corpus.out.rglob("*"):
        if path.is_file():
            assert corpus.canary.encode() not in path.read_bytes(), path
    for result in corpus.results.values():
        assert corpus.canary not in repr(result)


def test_no_attack_reports_a_breach(corpus: Corpus) -> None:
    for name, entry in MANIFEST.items():
        if entry.get("needs_jail") and corpus.mode != "jail":
            continue  # e.g. the network is open without namespaces: documented
        assert "BREACH" not in corpus.report_text(_id(name)), name


def test_kit_submissions_and_bait_files_are_unchanged(corpus: Corpus) -> None:
    assert corpus.digests_after == corpus.digests_before


def test_reports_are_not_tampered_with_after_the_batch(corpus: Corpus) -> None:
    assert corpus.reports_later == corpus.reports_after_batch
    for submission in corpus.correct_ids:
        document = json.loads((corpus.out / submission / "results.json").read_text())
        assert document["score"] == 10


def test_nothing_the_children_sent_was_unpickled(corpus: Corpus) -> None:
    assert not (corpus.bait / "unpickled").exists()


def test_no_connection_reaches_a_port_on_the_graders_machine(corpus: Corpus) -> None:
    if corpus.mode == "jail":  # without namespaces the network stays open: documented
        assert corpus.connections == 0


def test_sandbox_users_leave_no_files_behind(corpus: Corpus) -> None:
    assert corpus.leftover_files == []


def test_sandbox_users_leave_no_ipc_objects_behind(corpus: Corpus) -> None:
    assert corpus.leftover_ipc == []


def test_no_report_carries_a_control_character_or_broken_utf8(corpus: Corpus) -> None:
    for path in corpus.out.rglob("*"):
        if path.is_file() and path.suffix in (".md", ".json", ".csv", ".txt"):
            text = path.read_bytes().decode("utf-8")  # raises on invalid UTF-8
            assert is_safe(text.replace("\r\n", "\n"), len(text) + 1), path


def test_imitated_scores_and_floods_do_not_change_the_feedback(corpus: Corpus) -> None:
    for submission in ("imitate_results", "hostile_exception", "output_flood"):
        feedback = (corpus.out / submission / "feedback.md").read_text()
        first_score = next(line for line in feedback.splitlines() if "Score:" in line)
        assert first_score == "**Score: 0 / 10**"
        assert len(feedback) < 32_000
        # Student text is shown only inside Markdown code spans, which render it as text.
        outside_code = re.sub(r"(`+).*?\1", "", feedback)
        assert "<script>" not in outside_code
        document = (corpus.out / submission / "results.json").read_text()
        assert "<script>" not in re.sub(r"(`+).*?\1", "", document)
        assert "tampered" not in document

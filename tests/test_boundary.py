"""Where the child's words enter the grader: made safe once, checked against what was asked.

The reproductions of issue 11's findings 1, 2 and 5 (a lone surrogate that stopped a batch,
hidden inputs decoded from exception names and forged counts, terminal escapes reaching
the instructor's terminal) and a submission built to leak through every channel, graded
against two different sets of hidden cases: its reports come out identical.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import struct
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import autograder.pipeline.batch as batch
from autograder.cases.casebook import load_cases
from autograder.config import KIT_ROOT, Limits
from autograder.confine.channel import ProtocolViolation, read_header
from autograder.confine.remote import (
    OWN_EXCEPTION,
    StudentModule,
    _raised,
    describe_exit,
)
from autograder.confine.untrusted import is_safe, safe_text
from autograder.contract.functions import Argument, FloatArray
from autograder.contract.outcomes import Failed, Raised, Returned
from autograder.contract.words import OWN_CLASS, describe_raised
from autograder.intake.submission import Submission
from autograder.judge.api import exception_facts
from autograder.judge.case import Case
from autograder.pipeline.batch import grade_folder
from autograder.pipeline.grading import grade
from autograder.report.gradebook import merge, new_rows, write_gradebook
from autograder.report.out_folder import write_submission
from autograder.score.result import GradeResult
from autograder.score.rubric import load_rubric
from autograder.static.read import read_submission
from solution import mhsa

LIMITS = replace(Limits().scaled(2.0), memory_bytes=768 << 20)
CORRECT = KIT_ROOT / "examples" / "submissions" / "correct.py"
LEAKER = KIT_ROOT / "tests" / "attacks" / "leak_hidden_inputs.py"
X = np.arange(24, dtype=np.float64).reshape(2, 3, 4) / 10
W = np.eye(4)


# --- the one function every text from a submission passes through ----------------------


@pytest.mark.parametrize(
    "text",
    [
        "lone \ud800 surrogate",
        "\x1b[2J\x1b]0;owned\x07 escapes",
        "8-bit CSI \x9b31m and NEL \x85",
        "bidi \u202e override \u2066 isolate",
        "line\u2028separator\u2029paragraph",
        "carriage\rreturn and\r\nCRLF",
        "x" * 5000,
        "\x00\x01\x7f",
    ],
)
def test_safe_text_keeps_its_guarantees(text: str) -> None:
    made = safe_text(text, 300)
    assert is_safe(made, 300)
    made.encode("utf-8")  # valid UTF-8: raises on a lone surrogate
    assert "\x1b" not in made and "\x9b" not in made
    assert safe_text(made, 300) == made  # safe text stays as it is


def test_newlines_and_tabs_survive_and_nothing_is_escaped() -> None:
    text = "a\tb\nc <script> `x` &amp;"
    assert safe_text(text) == text


def _pipe_with(data: bytes) -> int:
    read, write = os.pipe()

    def feed() -> None:
        os.write(write, data)
        os.close(write)

    threading.Thread(target=feed, daemon=True).start()
    return read


def _frame(header: object) -> bytes:
    body = json.dumps(header).encode()
    return struct.pack(">I", len(body)) + body


def _header(header: object) -> dict[str, object]:
    fd = _pipe_with(_frame(header))
    try:
        return read_header(fd, time.monotonic() + 5, 1 << 20)
    finally:
        os.close(fd)


def test_every_string_of_a_header_is_made_safe_as_it_is_read() -> None:
    header = _header(
        {
            "status": "raised",
            "error": {"type": "E\ud800", "message": "\x1b[31m\udfff" * 2000},
            "\x1bkey": ["\x07", {"deep": "\u202e"}],
        }
    )
    strings: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            strings.append(value)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for key, item in value.items():
                strings.append(key)
                walk(item)

    walk(header)
    assert len(strings) == 11 and all(is_safe(s) for s in strings)


@pytest.mark.parametrize("digits", [21, 3000])
def test_a_forged_count_of_many_digits_is_refused_unread(digits: int) -> None:
    forged = b'{"status": "ok", "kind": "tuple", "count": ' + b"7" * digits + b"}"
    fd = _pipe_with(struct.pack(">I", len(forged)) + forged)
    try:
        with pytest.raises(ProtocolViolation) as refused:
            read_header(fd, time.monotonic() + 5, 1 << 20)
    finally:
        os.close(fd)
    assert "7777" not in str(refused.value)


# --- every number and name checked against what the grader asked for --------------------


def test_exception_types_are_named_only_when_built_in() -> None:
    assert _raised({"type": "ValueError"}, b"", 10).type == "ValueError"
    assert _raised({"type": "AxisError"}, b"", 10).type == "AxisError"
    for forged in ("Leak_2_7_12_000123456789", "valueerror", "ValueError ", ""):
        assert _raised({"type": forged}, b"", 10).type == OWN_EXCEPTION


def test_lines_outside_the_file_and_odd_module_names_are_dropped() -> None:
    raised = _raised({"type": "KeyError", "line": 11, "module": "a b"}, b"", 10)
    assert raised.line is None and raised.module is None
    assert _raised({"type": "KeyError", "line": 10}, b"", 10).line == 10
    assert _raised({"type": "KeyError", "line": True}, b"", 10).line is None


def test_hidden_case_descriptions_carry_no_submission_chosen_text() -> None:
    for raised in (
        Raised("ValueError", "leak 2712000123456789", 7),
        Raised("SystemExit", "exit code 2712000123456789", 7),
        Raised("ModuleNotFoundError", "x", 7, module="leak2712000123456789"),
        Raised(OWN_EXCEPTION, "leak 2712000123456789", 7),
    ):
        hidden = describe_raised("`f`", raised, show_message=False)
        assert "2712000123456789" not in hidden and "line" not in hidden, hidden


def test_exit_codes_and_chosen_signals_are_never_named() -> None:
    for code in (0, 1, 42, 255):
        assert str(code) not in describe_exit(code)
    assert "SIGKILL" in describe_exit(-9)  # the grader's own deadline: a fixed hint
    assert "SIGUSR1" not in describe_exit(-10) and "10" not in describe_exit(-10)


def _module(source: str) -> StudentModule:
    return StudentModule(source.encode(), LIMITS)


FORGER = """
import json, os, struct, sys
REPLY = int(sys.argv[3])
def forge(header):
    body = json.dumps(header).encode()
    os.write(REPLY, struct.pack(">I", len(body)) + body)
def create_qkv(inputs, weights_q, weights_k, weights_v):
    arrays = [{"not_array": "Leak123"}] * 8
    forge({"status": "ok", "kind": "tuple", "count": COUNT, "arrays": arrays,
           "modified": MODIFIED})
    while True:
        pass
"""


@pytest.mark.parametrize(
    ("count", "modified", "expected"),
    [
        (9, [], "not the expected kind"),
        (123456789012345, [], "not the expected kind"),
        (8, [-100], "refused"),
        (8, [7], "refused"),
        (8, ["0"], "refused"),
    ],
)
def test_forged_counts_and_indices_never_pass_as_numbers(
    count: int, modified: list[object], expected: str
) -> None:
    source = FORGER.replace("COUNT", str(count)).replace("MODIFIED", repr(modified))
    module = _module(source)
    try:
        outcome = module.call("create_qkv", [X, W, W, W], X.nbytes * 3)
    finally:
        module.close()
    if expected == "refused":  # an index of an argument the grader never sent
        assert isinstance(outcome, Failed) and outcome.kind == "protocol"
        assert str(modified[0]) not in outcome.message.replace("create_qkv", "")
    else:
        assert isinstance(outcome, Returned) and outcome.count is None
        assert {meta.not_array for meta in outcome.metas} == {OWN_CLASS}


def test_a_timeout_names_only_the_fixed_limit() -> None:
    module = _module("""
import time
def create_qkv(inputs, weights_q, weights_k, weights_v):
    time.sleep(0.37)
    raise ValueError("slow")
def scaled_dot_product_attention(Q, K, V, scale):
    while True:
        pass
""")
    # The submission's budget, not the per-call CPU limit, ends the loop here.
    short = replace(LIMITS, submission_seconds=2.5, call_cpu_seconds=60.0)
    module.limits = short
    try:
        for _ in range(3):
            module.call("create_qkv", [X, W, W, W], X.nbytes * 3)
        hung = module.call("scaled_dot_product_attention", [X, X, X, 0.5], X.nbytes)
    finally:
        module.close()
    assert isinstance(hung, Failed) and hung.kind == "timeout"
    assert "budget" in hung.message
    assert not any(ch.isdigit() for ch in hung.message), hung.message


# --- findings 1 and 5: a surrogate never stops a batch, escapes never reach a terminal ---

HOSTILE_TEXT = """
import numpy as np
TEXT = "\\ud800 lone \\udfff \\x1b[2J\\x1b]0;owned\\x07 \\x9b31m \\u202e"
print("\\x1b[2J\\x1b]0;owned\\x07 \\x9b31m")
class Bad(Exception):
    pass
def create_qkv(inputs, weights_q, weights_k, weights_v):
    raise ValueError(TEXT)
def scaled_dot_product_attention(Q, K, V, scale):
    raise ModuleNotFoundError(TEXT, name=TEXT)
def multi_head_attention(inputs, weights_q, weights_k, weights_v, num_heads):
    raise SystemExit(TEXT)
"""


def test_a_lone_surrogate_or_terminal_escape_never_stops_a_batch_or_reaches_a_terminal(
    tmp_path: Path,
) -> None:
    folder, out = tmp_path / "submissions", tmp_path / "out"
    folder.mkdir()
    (folder / "hostile.py").write_text(HOSTILE_TEXT)
    (folder / "correct.py").write_bytes(CORRECT.read_bytes())
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        results = grade_folder(folder, out, jobs=1, limits=LIMITS)
    scores = {r.submission: (r.score, r.status) for r in results}
    assert scores["correct"] == (10, "ok")
    assert scores["hostile"][1] != "internal_error"
    feedback = (out / "hostile" / "feedback.md").read_text(encoding="utf-8")
    assert "raised ValueError" in feedback and "\ufffd lone" in feedback
    for path in out.rglob("*"):
        if path.is_file() and path.suffix != ".png":
            data = path.read_bytes()
            data.decode("utf-8")
            assert b"\x1b" not in data and b"\xc2\x9b" not in data, path
    assert "\x1b" not in printed.getvalue() and "\x9b" not in printed.getvalue()


def test_a_report_that_cannot_be_written_loses_only_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, out = tmp_path / "submissions", tmp_path / "out"
    folder.mkdir()
    for name in ("first", "broken", "last"):
        (folder / f"{name}.py").write_bytes(CORRECT.read_bytes())
    real = write_submission

    def failing(result: GradeResult, where: Path) -> None:
        if result.submission == "broken" and result.status == "ok":
            raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")
        real(result, where)

    monkeypatch.setattr(batch, "write_submission", failing)
    results = grade_folder(folder, out, jobs=1, limits=LIMITS, quiet=True)
    with (out / "gradebook.csv").open() as source:
        rows = {row["submission"]: row for row in csv.DictReader(source)}
    assert rows["first"]["score"] == rows["last"]["score"] == "10"
    assert rows["broken"]["status"] == "internal_error"
    assert {r.submission: r.status for r in results}["broken"] == "internal_error"
    assert json.loads((out / "last" / "results.json").read_text())["score"] == 10


# --- a submission built to leak: its reports do not depend on the hidden inputs -----------


def _other_hidden_case(case: Case, rng: np.random.Generator) -> Case:
    """``case`` with other inputs: other batch and sequence sizes, other values."""
    if case.visibility == "public":
        return case
    if case.function == "scaled_dot_product_attention":
        Q, K, V, scale = case.args
        assert isinstance(Q, np.ndarray) and isinstance(K, np.ndarray)
        assert isinstance(V, np.ndarray) and isinstance(scale, float)
        lead = (Q.shape[0] + 1, *Q.shape[1:-2])
        Q2 = rng.standard_normal((*lead, Q.shape[-2] + 1, Q.shape[-1])) * 3
        K2 = rng.standard_normal((*lead, K.shape[-2] + 2, K.shape[-1])) * 3
        V2 = rng.standard_normal((*lead, K.shape[-2] + 2, V.shape[-1]))
        args: tuple[Argument, ...] = (Q2, K2, V2, scale)
        expected: tuple[FloatArray, ...] = (
            mhsa.scaled_dot_product_attention(Q2, K2, V2, scale),
        )
    else:
        inputs = case.args[0]
        assert isinstance(inputs, np.ndarray)
        B, L, D = inputs.shape
        x = rng.standard_normal((B + 1, L + 1, D))
        wq, wk, wv = (rng.standard_normal((D, D)) / np.sqrt(D) for _ in range(3))
        args = (x, wq, wk, wv, *case.args[4:])
        if case.raises is not None:
            expected = ()
        elif case.function == "create_qkv":
            expected = tuple(mhsa.create_qkv(x, wq, wk, wv))
        else:
            heads = case.args[4]
            assert isinstance(heads, int)
            expected = (mhsa.multi_head_attention(x, wq, wk, wv, heads),)
    return replace(case, args=args, expected=expected)


def _reports(cases: list[Case], out: Path) -> dict[str, str]:
    source = LEAKER.read_bytes()
    rubric = load_rubric()
    static = read_submission(source, black=False, file_name="mhsa.py")
    result = grade("leaker", "", "mhsa.py", source, static, cases, rubric, LIMITS)
    write_submission(result, out)
    rows = new_rows(Submission("leaker", "mhsa.py", source), result, rubric, "then")
    write_gradebook(merge(None, rows, rubric)[0], out / "gradebook.csv")
    return {
        name: (out / name).read_text()
        for name in ("leaker/feedback.md", "leaker/results.json", "gradebook.csv")
    }


def test_a_submission_built_to_leak_gets_the_same_reports_whatever_the_hidden_inputs(
    tmp_path: Path,
) -> None:
    cases = load_cases()
    others = [_other_hidden_case(c, np.random.default_rng(7)) for c in cases]
    assert all(
        not np.array_equal(a.args[0], b.args[0])
        for a, b in zip(cases, others)
        if a.visibility == "hidden"
    )
    first = _reports(cases, tmp_path / "first")
    second = _reports(others, tmp_path / "second")
    assert first == second
    feedback = first["leaker/feedback.md"]
    assert "BREACH" not in feedback and "(hidden checks)" in feedback
    for case in cases:
        if case.visibility == "hidden":
            digits = _secret(case.args[0])
            for text in first.values():
                assert digits not in text and digits[-12:] not in text


def _secret(first: object) -> str:
    """What the leaker makes of a case's first input (see the attack's ``secret``)."""
    array = np.asarray(first, dtype=np.float64)
    value = abs(float(array.ravel()[0]))
    return "".join(str(d) for d in array.shape) + f"{int(value * 1e11 % 1e12):012d}"


def test_an_integer_result_leaves_nothing_unread_for_the_next_call() -> None:
    module = _module("""
import numpy as np
def scaled_dot_product_attention(Q, K, V, scale):
    out = np.ones(Q.shape[:-1] + V.shape[-1:])
    return out.astype(np.int64) if scale > 1 else out
""")
    try:
        first = module.call("scaled_dot_product_attention", [X, X, X, 2.0], X.nbytes)
        second = module.call("scaled_dot_product_attention", [X, X, X, 0.5], X.nbytes)
    finally:
        module.close()
    assert isinstance(first, Returned) and first.metas[0].withheld
    assert first.metas[0].dtype == "int64" and first.values == (None,)
    assert isinstance(second, Returned) and second.values[0] is not None


# --- what the child says about a call: arguments changed, where an exception came from ---


@pytest.mark.parametrize(
    ("body", "modified"),
    [
        ("pass", ()),
        ("Q[...] = Q.copy()", ()),  # written over with the same values
        ("Q[0, 0, 0] = -0.0", ()),  # other bytes, an equal value (0.0 == -0.0)
        ("K *= 2", (1,)),
        ("V[0, 0, 0] = np.nan", (2,)),
        ("Q.shape = (Q.size,)", (0,)),  # the same bytes, another shape
        ("Q.dtype = np.int64", (0,)),  # the same bytes, another dtype
    ],
)
def test_an_argument_counts_as_modified_when_its_values_shape_or_dtype_changed(
    body: str, modified: tuple[int, ...]
) -> None:
    module = _module(f"""
import numpy as np
def scaled_dot_product_attention(Q, K, V, scale):
    out = np.ones(Q.shape[:-1] + V.shape[-1:])
    {body}
    return out
""")
    try:
        outcome = module.call(
            "scaled_dot_product_attention",
            [X.copy(), X.copy(), X.copy(), 0.5],
            X.nbytes,
        )
    finally:
        module.close()
    assert isinstance(outcome, Returned) and outcome.modified == modified


RAISERS = {
    "a raise statement": ("raise ValueError('heads')", True),
    "an assert": ("assert Q.shape[-1] < 0, 'heads'", True),
    "a raise from another": (
        "try:\n        1 / 0\n    except ZeroDivisionError as e:\n"
        "        raise ValueError('heads') from e",
        True,
    ),
    "a raise far into a long function": (
        "x = 0\n"
        + "".join(f"    x = x + {k}\n" for k in range(300))
        + "    raise ValueError(x)",
        True,
    ),
    "numpy's reshape": ("Q.reshape(7, 7)", False),
    "an operation": ("1 // 0", False),
    "a bare re-raise": (
        "try:\n        1 / 0\n    except ZeroDivisionError:\n        raise",
        False,
    ),
}


@pytest.mark.parametrize("case", list(RAISERS))
def test_raised_here_means_a_raise_in_the_file_and_the_self_check_agrees(
    case: str, tmp_path: Path
) -> None:
    body, expected = RAISERS[case]
    source = f"""
import numpy as np
def scaled_dot_product_attention(Q, K, V, scale):
    {body}
"""
    module = _module(source)
    try:
        outcome = module.call("scaled_dot_product_attention", [X, X, X, 0.5], X.nbytes)
    finally:
        module.close()
    assert isinstance(outcome, Raised) and outcome.raised_here is expected
    path = tmp_path / "mhsa.py"
    path.write_text(source)
    namespace: dict[str, Any] = {}
    exec(compile(source, str(path), "exec"), namespace)  # noqa: S102 - our own text
    with pytest.raises(BaseException) as caught:
        namespace["scaled_dot_product_attention"](X, X, X, 0.5)
    assert exception_facts(caught.value, str(path)).raised_here is expected

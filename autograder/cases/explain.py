"""After a submission's graded cases ran: explain its failures with what only the grader has.

Failing multi-head cases are localised by experiment, with the student's own helpers called
in the child (``judge.localise``), and then the look across the submission's cases
(``judge.review``) names causes that need several cases. Both run on the verdicts the graded
cases recorded, with the catalogue's references (``diagnose.references``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from autograder.cases.plugin import CaseResult
from autograder.confine.remote import StudentModule
from autograder.contract.functions import MHA, Argument
from autograder.contract.outcomes import Failed, Outcome
from autograder.diagnose.references import reference
from autograder.judge.case import Case
from autograder.judge.localise import localise as localise_case
from autograder.judge.review import review as review_cases


def localise(
    cases: Sequence[Case],
    results: list[CaseResult],
    module: StudentModule,
    source: str = "",
) -> list[CaseResult]:
    """Failing multi-head results with their first wrong step found by experiment: the
    student's own helpers called in the child (``judge.localise``), within the
    submission's time budget (``StudentModule.call`` enforces it)."""
    by_id = {case.id: case for case in cases}
    lines = source.splitlines()

    def call(function: str, args: list[Argument], nbytes: int) -> Outcome:
        if module.process is None:
            # A new child would import the file again (and run what it does at import):
            # no evidence rather than that.
            return Failed("stopped", "no child is running")
        return module.call(function, args, nbytes)

    # An evidence call that hangs or crashes says nothing about the graded cases: the
    # submission's status stays what grading found.
    hung, crashes = dict(module.hung), dict(module.crashes)
    localised = []
    try:
        for result in results:
            case = by_id.get(result.case_id)
            if case is not None and case.function == MHA and not result.passed:
                found = localise_case(
                    case, result.verdict, reference(case), call, lines
                )
                result = replace(result, verdict=found)
            localised.append(result)
    finally:
        module.hung, module.crashes = hung, crashes
    return localised


def review(cases: Sequence[Case], results: list[CaseResult]) -> list[CaseResult]:
    """``judge.review`` over a submission's results (causes that need several cases)."""
    by_id = {case.id: case for case in cases}
    known = [
        (i, by_id[r.case_id], r) for i, r in enumerate(results) if r.case_id in by_id
    ]
    verdicts = review_cases([(case, r.verdict) for _, case, r in known])
    reviewed: list[Any] = list(results)
    for (index, _, result), found in zip(known, verdicts):
        reviewed[index] = replace(result, verdict=found)
    return reviewed

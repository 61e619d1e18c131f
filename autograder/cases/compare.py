"""Judge one outcome in the grader: the shipped judge, with references replayed in here.

The comparison, the words and the reading of exceptions live in ``autograder/judge/``, the
package the handout and the Otter export ship as is; this adds what only the grader has:
the expected values of hidden cases (in the casebook) and the catalogue's replays
(``diagnose.references.reference``).
"""

from __future__ import annotations

from autograder.contract.outcomes import Outcome
from autograder.diagnose.references import reference
from autograder.judge.case import Case
from autograder.judge.verdict import Verdict, verdict


def judge(case: Case, outcome: Outcome, source: str = "") -> Verdict:
    """Compare ``outcome`` with ``case``; ``source`` is the student's file (its lines
    are read where an exception came from). Never raises."""
    return verdict(case, outcome, reference(case), source.splitlines())

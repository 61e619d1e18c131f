"""What the deliveries use of the judge, in one namespace.

The handout's ``check.py`` and the Otter checks import this module as ``judge`` and call
``judge.check_all``, ``judge.Verdict`` and so on; the grader itself imports each name from
the module that defines it.
"""

from __future__ import annotations

from ..contract.functions import FUNCTION_ALIASES, FUNCTIONS, FloatArray
from ..contract.outcomes import Failed
from ..contract.words import import_failure
from .case import Case, case_from_json
from .compare import Matcher
from .digests import cell_digest
from .in_process import (
    CallTimeout,
    Checked,
    check_all,
    exception_facts,
    only_numpy_and_stdlib,
    time_limit,
)
from .references import Reference, reference_from_json
from .verdict import Verdict

__all__ = [
    "FUNCTIONS",
    "FUNCTION_ALIASES",
    "CallTimeout",
    "Case",
    "Checked",
    "Failed",
    "FloatArray",
    "Matcher",
    "Reference",
    "Verdict",
    "case_from_json",
    "cell_digest",
    "check_all",
    "exception_facts",
    "import_failure",
    "only_numpy_and_stdlib",
    "reference_from_json",
    "time_limit",
]

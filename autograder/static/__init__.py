"""Checks that need no execution: reading, parsing, names, annotations, black, mypy.

Everything here treats the submission as text; the grader's own process only decodes and
parses it (``read``), into a ``report.StaticReport``. black and mypy, whose running time
and memory a crafted file can blow up, run in their own processes under a time and a
memory limit (``black_run``, ``mypy_run``, ``tools``), mypy on a copy of each file whose
silencers are neutralised (``contract.silencers``). ``batch`` does all of it for a batch:
every file parsed, one black worker, one mypy run.
"""

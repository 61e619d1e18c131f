"""The grading engine of the Multi-Head Self-Attention kit.

Pipeline stages, one module each: ``discover`` (find submissions), ``static`` (parse,
names, annotations, mypy, black), ``sandbox`` + ``channel`` (run the student's module in a
confined child that speaks typed messages), ``compare`` and ``diagnose`` (judge and explain
outputs), ``rubric`` and ``scoring`` (points), ``gradescope`` and ``report`` (results.json,
feedback.md, gradebook.csv). ``child`` is the only module that runs beside student code and
imports nothing from this package.
"""

"""The grading engine of the Multi-Head Self-Attention kit.

One package per stage of the path a submission takes, each importing only the stages
before it (``layout.STAGES`` lists them in order; docs/architecture.md draws them): intake,
confine (the trust boundary), static, judge, diagnose, cases, score, report, pipeline; the
deliveries in ``deliver``, the command line in ``__main__``. ``confine/child.py`` is the
only module that runs beside student code, and it imports nothing from this package.
"""

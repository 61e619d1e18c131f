"""Find submissions and read each one's graded file into memory: a folder, an archive, a
notebook, Gradescope's export and its metadata, with a record of every file found.

``discover`` walks SUBMISSIONS (``archives`` unpacks without trusting them), ``choose``
picks and reads each submission's graded file (``notebook`` turns a notebook into the
script that is graded), ``ids`` names submissions, ``roster`` reads who submitted, and
``manifest`` records what was done with every file; ``submission`` is what intake hands on.
Nothing here runs a submission.
"""

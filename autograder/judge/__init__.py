"""The one judge: compare a call's outcome with a case, say what is wrong, name the cause.

The grader, the handout's ``check.py`` and the Otter export all run this very package: ``make
handout`` and ``make otter`` ship its files and ``autograder/contract/`` byte for byte, so a
public case gets the same verdict, the same words and the same likely cause everywhere. It
imports only numpy, the standard library and ``contract``, and it holds no correct
computation: what a right answer and the known wrong ones look like arrives as data
(``references.Reference``), which the grader replays from its catalogue
(``autograder/diagnose/``) and the deliveries read from a file of public cases.

- ``case``: a graded case, as the fixture files write it;
- ``compare``: tolerances (float32's derived per case) and matching known wrong answers;
- ``references``: what is known about a case besides its expected values;
- ``describe``, ``causes``: the words for a wrong result, and likely causes as fixed
  sentences (numpy's error texts and the student's own line read);
- ``verdict``: the verdict on one outcome;
- ``localise``: for multi-head attention, the first wrong step found by experiment;
- ``review``: causes that need several cases;
- ``in_process``: calling and judging in the student's own process (the deliveries);
- ``digests``: the Otter export's hidden cases, judged by digests;
- ``api``: the names the deliveries use, in one namespace.
"""

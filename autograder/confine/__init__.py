"""The trust boundary: the child process that runs student code, and everything that touches
what comes back from it. Student code never runs in the grader's process.

- ``child.py``: the only code that runs beside student code; it imports nothing from the
  grader and speaks typed frames over pipes.
- ``channel``: the grader's end of those pipes (bounded JSON headers, raw array buffers of
  whitelisted dtypes, nothing unpickled); ``untrusted``: every string from a submission
  made safe where it enters.
- ``remote``: ``StudentModule``, the grader's handle on one submission's functions; every
  value read from the child is checked before it becomes an outcome (``contract``).
- ``process``: ``ConfinedProcess`` starts one child afresh and ends its whole tree;
  ``mode``: the interface every confinement mode implements; the modes ``jail``, ``uid`` and
  ``plain``, one module each; ``probe`` chooses the strongest that works here.
- ``zygote.py``: the pre-warmed process (numpy imported once, in a base jail or under a
  throwaway uid) that forks each submission's child, which confines itself before it reads
  the student's file; ``forked``: the grader's side of it (``start_child`` forks where a
  zygote serves the mode, starts afresh otherwise).
- ``protect``: the kit closed to other users, the grader non-dumpable; ``reachability``:
  can a throwaway uid reach the interpreter; ``sweeper.py``: what a uid left behind;
  ``linux``: the kernel calls all of them use.
"""

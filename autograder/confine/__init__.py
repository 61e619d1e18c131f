"""The trust boundary: the child process that runs student code, and everything that touches
what comes back from it."""

"""The graded cases: plain pytest tests, the plugin that runs them for one submission, and
what the grader adds to the shipped judge."""

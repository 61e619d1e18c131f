"""The misconception catalogue, replayed in the grader (never shipped, never in the child)."""

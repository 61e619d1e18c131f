"""Checks that read a submission without running it: parse, names, annotations, black, mypy."""

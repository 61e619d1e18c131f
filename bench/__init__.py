"""Benchmarks of the kit: how long a student and an instructor wait (``make bench``)."""

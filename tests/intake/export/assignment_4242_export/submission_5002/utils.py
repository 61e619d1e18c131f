"""Helpers I ended up not using."""

unused = None

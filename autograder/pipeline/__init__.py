"""The path a submission takes: one submission, a batch, the preflight."""

"""The rubric (``rubric.json``) and the points a submission's results earn."""

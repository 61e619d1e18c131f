"""What the grader writes: feedback, results.json, the gradebook, the class summary."""

"""The kit's own test suite: does the grader grade right?"""

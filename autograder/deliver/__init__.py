"""The kit's deliveries: the Gradescope autograder, the student handout, the Otter export."""

"""The one judge, shipped byte for byte to the handout and the Otter export: numpy, the
standard library and ``autograder.contract`` only."""

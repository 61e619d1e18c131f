"""Find submissions: folders, archives, notebooks, Gradescope exports and their metadata."""

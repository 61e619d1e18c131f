"""Hidden reference solution and fixture generator: never shipped to students."""

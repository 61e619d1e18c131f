"""Which graded functions a file defines at its top level, and what their signatures leave
unannotated: the typing item's rule, applied by the grader's static phase, the handout's
check.py and the Otter export alike (the module ships with the judge).
"""

from __future__ import annotations

import ast

from .functions import FUNCTION_ALIASES

Definition = ast.FunctionDef | ast.AsyncFunctionDef


def graded_definitions(tree: ast.Module) -> dict[str, Definition]:
    """Each graded function ``tree`` defines with ``def`` at its top level, by its
    canonical name; the node's own name is the accepted alias the file uses."""
    defs = {
        node.name: node
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    found: dict[str, Definition] = {}
    for canonical, aliases in FUNCTION_ALIASES.items():
        alias = next((a for a in aliases if a in defs), None)
        if alias is not None:
            found[canonical] = defs[alias]
    return found


def unannotated(node: Definition) -> list[str]:
    """What ``node`` leaves unannotated, in words: "parameter `x`" for each bare
    parameter (``*args`` and ``**kwargs`` included), then "the return value"."""
    arguments = node.args
    params = [
        *arguments.posonlyargs,
        *arguments.args,
        *arguments.kwonlyargs,
        *[a for a in (arguments.vararg, arguments.kwarg) if a is not None],
    ]
    missing = [f"parameter `{p.arg}`" for p in params if p.annotation is None]
    if node.returns is None:
        missing.append("the return value")
    return missing

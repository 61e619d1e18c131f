"""The three functions students write: their names, parameters and argument types, how many
arrays each returns, and the assignment's own example. The grader, its child's boundary
and the deliveries all read them here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.floating[Any]]
    Argument = FloatArray | int | float
else:

    def __getattr__(name: str) -> Any:
        """``FloatArray`` and ``Argument`` for a module that uses them at run time, built
        (and numpy imported) then: reading a file's functions and starting mypy on it
        never wait for numpy. (Hidden from type checkers, which see the aliases above and
        still flag any other name.)"""
        if name not in ("FloatArray", "Argument"):
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        import numpy as np
        import numpy.typing as npt

        arrays = npt.NDArray[np.floating[Any]]
        return arrays if name == "FloatArray" else arrays | int | float


QKV, SDPA, MHA = "create_qkv", "scaled_dot_product_attention", "multi_head_attention"
FUNCTIONS: tuple[str, ...] = (QKV, SDPA, MHA)
# The third function has two accepted names (the skeleton's first).
FUNCTION_ALIASES: dict[str, tuple[str, ...]] = {
    QKV: (QKV,),
    SDPA: (SDPA,),
    MHA: (MHA, "multi_head_self_attention"),
}
PARAMETERS: dict[str, tuple[str, ...]] = {
    QKV: ("inputs", "weights_q", "weights_k", "weights_v"),
    SDPA: ("Q", "K", "V", "scale"),
    MHA: ("inputs", "weights_q", "weights_k", "weights_v", "num_heads"),
}
# How many arrays each function returns: the only count the grader accepts from the child.
RETURN_COUNTS: dict[str, int] = {QKV: 3, SDPA: 1, MHA: 1}
# The assignment's own main(): inputs (1, 5, 32), 4 heads (public; the handout shows it).
EXAMPLE_SHAPE, EXAMPLE_HEADS = (1, 5, 32), 4

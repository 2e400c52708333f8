"""Recipe of the extra mini-course page (tests/data/minicourse/extra): (inputs, backend) -> quantities.

Like the mini-course's recipes, it reuses the project's references through the backend.
"""

from __future__ import annotations

from lmverify.backends import Backend


def two_keys(inputs: dict, b: Backend) -> dict:
    """scores.md, "Worked Example: Three Queries, Two Keys": Z = Q K^T / sqrt(d_k) and row 0's weights."""
    scale = b.sqrt(b.const(float(inputs["d_k"])))
    Z = b.run("attention", "dot_product_scores", b.const(inputs["Q"]), b.const(inputs["K"])) / scale
    return {"scale": scale, "Z": Z, "weights_row0": b.run("attention", "softmax", z=b.row(Z, 0), tau=1.0)}

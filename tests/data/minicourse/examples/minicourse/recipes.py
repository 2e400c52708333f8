"""Recipes of the mini-course's worked examples (tests/data/minicourse): (inputs, backend) -> quantities.

They reuse the project's references through the backend (``b.run(topic, name, ...)``), as the topics'
recipes do; nothing here restates a formula the references already implement.
"""

from __future__ import annotations

import numpy as np

from lmverify.backends import Backend


def biased_coin(inputs: dict, b: Backend) -> dict:
    """coins.md, "Worked Example: A Biased Coin": each term -p log2 p and the entropy in bits."""
    p = inputs["p"]
    terms = [-b.const(x) * b.log(b.const(x)) / b.log(b.const(2)) for x in p]
    return {"heads_term": terms[0], "tails_term": terms[1],
            "entropy_bits": b.run("information", "entropy", p=p, base=2.0)}


def rare_token(inputs: dict, b: Backend) -> dict:
    """coins.md, "Worked Example: A Rare Token": the cross-entropy of a one-hot target, -ln q(true)."""
    q = inputs["q"]
    return {"loss": b.run("information", "cross_entropy", p=np.eye(len(q))[0], q=q)}


def four_classes(inputs: dict, b: Backend) -> dict:
    """coins.md, "Worked Example: Four Classes": the smoothed target under the page's convention (eps/(K-1)
    off the target) and under PyTorch's (eps/K everywhere)."""
    kw = dict(target=int(inputs["target"]), num_classes=int(inputs["K"]), epsilon=float(inputs["epsilon"]))
    return {"targets_page": b.run("information", "label_smoothing_targets", convention="page", **kw),
            "targets_torch": b.run("information", "label_smoothing_targets", convention="torch", **kw)}


def four_logits(inputs: dict, b: Backend) -> dict:
    """weights.md, "Worked Example: Four Logits": numerators, their sum (and the sum of the numerators as
    printed, rounded), and the softmax weights."""
    z = inputs["z"]
    numerators = b.exp(b.const(z))
    printed = float(np.round(b.to_numpy(numerators), int(inputs["printed_places"])).sum())
    return {"numerators": numerators, "sum": sum(numerators[i] for i in range(len(z))),
            "sum_of_printed_numerators": printed,
            "weights": b.run("attention", "softmax", z=z, tau=float(inputs["tau"]))}


def word_pieces(inputs: dict, b: Backend) -> dict:
    """weights.md, "Worked Example: Pieces of a Word": the character 3-grams (lists of members)."""
    n = int(inputs["n"])
    grams = b.fn("embeddings", "character_ngrams")
    return {f"pieces_{w}": grams(w, n, n) for w in inputs["words"]}

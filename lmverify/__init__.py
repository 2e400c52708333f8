"""Shared machinery of the verification suite.

One place each for: tolerances (:mod:`lmverify.tolerance`), conversion between
NumPy, PyTorch and SymPy (:mod:`lmverify.convert`), failure messages
(:mod:`lmverify.compare`), backends and ``--impl`` student modules
(:mod:`lmverify.backends`), hypothesis strategies (:mod:`lmverify.strategies`),
the equation catalogue (:mod:`lmverify.catalogue`), worked examples and their
verdicts (:mod:`lmverify.worked`), and the verification report
(:mod:`lmverify.report`, ``lmverify report``).
"""

__all__ = ["tolerance", "convert", "compare", "backends", "catalogue", "worked", "report"]

"""Display helpers shared by the hands-on notebooks: plotting set-up, verdict tables, checked calls.

Nothing here computes an equation of the course: every number comes from the project's references
(``reference.numpy.*`` and ``reference.torch.*``, called through :mod:`lmverify.backends`) and every
verdict from the worked-example machinery (:mod:`lmverify.worked`). This module only

* sets matplotlib up for small, headless pictures (``setup``);
* calls a reference on NumPy float64 and on PyTorch float64 and asserts that the two agree within the
  suite's tolerance before a number is shown (``ref``, ``ref_dict``);
* recomputes a worked example, asserts that every verdict is the one the suite records, and shows the
  claims as printed beside the recomputed values (``example``);
* draws annotated heatmaps (``heatmap``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lmverify.backends import reference_backend
from lmverify.compare import VerificationError, assert_close
from lmverify.printed import parse_printed
from lmverify.tolerance import tolerance_for
from lmverify.worked import EXAMPLES_DIR, compute, judge, load_example, recorded_correct_matches

NUMPY = reference_backend("numpy")
TORCH64 = reference_backend("torch64")
F64 = tolerance_for("float64")
REPO = EXAMPLES_DIR.parent


def setup() -> None:
    """Small PNG pictures (72 dpi), short NumPy printing, one torch thread; call once, after ``%matplotlib inline``."""
    import matplotlib

    matplotlib.rcParams.update({
        "figure.dpi": 72, "savefig.dpi": 72, "figure.figsize": (7.0, 2.6), "font.size": 8,
        "axes.titlesize": 9, "figure.autolayout": True, "image.cmap": "viridis",
    })
    try:  # inside a kernel: PNG only (no retina, no SVG): small outputs
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")
    except Exception:  # noqa: BLE001 - outside IPython (e.g. imported by a test) there is nothing to set
        pass
    np.set_printoptions(precision=4, suppress=True, linewidth=110)
    import torch

    torch.set_num_threads(1)  # toy sizes: one thread is fastest, and a notebook shares the cores with the suite


# -- checked calls -------------------------------------------------------------------------------


def ref(topic: str, name: str, *args: Any, **kwargs: Any) -> Any:
    """``reference.numpy.<topic>.<name>(...)``, asserted equal to ``reference.torch.<topic>.<name>(...)``
    in float64 (the suite's tolerance) before it is returned (as NumPy)."""
    __tracebackhide__ = True
    expected = NUMPY.call(topic, name, *args, **kwargs)
    got = TORCH64.call(topic, name, *args, **kwargs)
    inputs = {f"arg{i}": a for i, a in enumerate(args)} | dict(kwargs)
    if isinstance(expected, tuple) and (not isinstance(got, tuple) or len(got) != len(expected)):
        raise VerificationError(f"{topic}.{name}: PyTorch returns {type(got).__name__}, NumPy a tuple of "
                                f"{len(expected)}")
    pairs = list(zip(got, expected)) if isinstance(expected, tuple) else [(got, expected)]
    for i, (g, e) in enumerate(pairs):
        assert_close(g, e, TORCH64.tolerance(), equation=None, backend=TORCH64.label, inputs=inputs,
                     what=f"{name} result" + (f" [{i}]" if len(pairs) > 1 else ""), expected_from=NUMPY.label)
    return expected


def ref_dict(topic: str, name: str, *args: Any, **kwargs: Any) -> dict[str, np.ndarray]:
    """As :func:`ref` for a reference that returns a dict of arrays (e.g. ``recurrent.lstm_gates``)."""
    __tracebackhide__ = True
    got = NUMPY.call(topic, name, *args, **kwargs)
    other = TORCH64.call(topic, name, *args, **kwargs)
    assert set(got) == set(other), f"{topic}.{name}: NumPy returns {sorted(got)}, PyTorch {sorted(other)}"
    for k in got:
        assert_close(other[k], got[k], F64, equation=f"{topic}.{name}", backend="torch64", what=k,
                     expected_from="reference.numpy")
    return {k: np.asarray(v, dtype=np.float64) for k, v in got.items()}


def close(got: Any, expected: Any, what: str, expected_from: str = "reference") -> None:
    """Assert ``got`` equals ``expected`` within the float64 tolerance, with the suite's failure message."""
    __tracebackhide__ = True
    assert_close(got, expected, F64, backend="notebook", what=what, expected_from=expected_from)


# -- worked examples -----------------------------------------------------------------------------


class Table:
    """A table shown as Markdown in a rendered notebook and as aligned text elsewhere."""

    def __init__(self, header: list[str], rows: list[list[str]], title: str = "") -> None:
        self.header, self.rows, self.title = header, rows, title

    def _repr_markdown_(self) -> str:
        esc = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
        lines = [f"**{esc(self.title)}**", ""] if self.title else []
        lines.append("| " + " | ".join(map(esc, self.header)) + " |")
        lines.append("|" + "---|" * len(self.header))
        lines += ["| " + " | ".join(map(esc, r)) + " |" for r in self.rows]
        return "\n".join(lines)

    def __repr__(self) -> str:
        cols = list(zip(*([self.header] + self.rows)))
        widths = [min(max(len(str(c)) for c in col), 48) for col in cols]
        fmt = lambda r: "  ".join(str(c)[:48].ljust(w) for c, w in zip(r, widths))  # noqa: E731
        out = ([self.title] if self.title else []) + [fmt(self.header), fmt(["-" * w for w in widths])]
        return "\n".join(out + [fmt(r) for r in self.rows])


_MARK = {"correct": "correct", "carried": "carried (rounded intermediates)", "rounding": "**rounding**",
         "error": "**ERROR**", "convention": "**convention**"}


class Worked:
    """A worked example recomputed: ``.example``, ``.quantities`` (NumPy), ``.results`` (verdicts)."""

    def __init__(self, example, quantities, results) -> None:
        self.example, self.quantities, self.results = example, quantities, results

    def result(self, label: str):
        for r in self.results:
            if r.claim.label == label:
                return r
        raise KeyError(f"{self.example.id}: no claim labelled {label!r} (have {[r.claim.label for r in self.results]})")

    def claimed(self, label: str) -> np.ndarray:
        """A claim's printed number(s) as floats (what the page prints)."""
        c = self.result(label).claim
        as_float = np.vectorize(lambda t: float(parse_printed(t, c.where).value), otypes=[float])
        return as_float(np.asarray(c.claimed, dtype=object))

    def table(self, errata_only: bool = False) -> Table:
        """Every claim (or only those not ``correct``), as printed beside recomputed, with its verdict."""
        rows = []
        for r in self.results:
            if errata_only and r.verdict == "correct":
                continue
            c = r.claim
            printed = str(c.claimed).replace("'", "")
            if r.cells and r.wrong_cells:  # a matrix: the wrong cells, printed beside recomputed
                recomputed = "; ".join(f"[{','.join(map(str, w.index))}] {w.claimed} -> {w.correct}"
                                       for w in r.wrong_cells)
            else:
                recomputed = r.correct_text
            note = (c.explanation or "") if r.verdict != "correct" else ""
            rows.append([c.label, printed, recomputed, _MARK[r.verdict], f"line {c.line}", note])
        ex = self.example
        return Table(["claim", "page prints", "recomputed", "verdict", "page", "why"], rows,
                     title=f"{ex.title} ({ex.page}, \"{ex.section}\"); {self.summary()}")

    def summary(self) -> str:
        counts = {}
        for r in self.results:
            counts[r.verdict] = counts.get(r.verdict, 0) + 1
        return f"{self.example.id}: {len(self.results)} claims, " + ", ".join(f"{n} {v}" for v, n in counts.items())

    def __repr__(self) -> str:
        return f"<worked example {self.summary()}>"


def example(path: str, show: bool = True, errata_only: bool = False, torch: bool = True) -> Worked:
    """Recompute ``worked_examples/<path>`` on NumPy float64 and PyTorch float64, assert that the two agree on
    every quantity, that every computed verdict is the verdict the suite records in the YAML, and that every
    recorded correction (``correct``) matches the recomputed value; show the claims (printed vs recomputed),
    all of them or, with ``errata_only``, those the suite does not judge ``correct``. ``torch=False`` skips the
    PyTorch recomputation (for a recipe whose PyTorch form is slow to start, e.g. FlopCounterMode)."""
    __tracebackhide__ = True
    ex = load_example(EXAMPLES_DIR / path)
    q = compute(ex, NUMPY)
    q_torch = compute(ex, TORCH64) if torch else q
    for k, v in q.items():
        if isinstance(v, (str, bool)):
            assert q_torch[k] == v, f"{ex.id}: {k} is {v!r} on NumPy but {q_torch[k]!r} on PyTorch"
        else:
            assert_close(q_torch[k], v, F64, equation=ex.id, backend="torch64", what=k, expected_from="reference.numpy")
    results = [judge(c, q) for c in ex.claims]
    for r in results:
        assert r.verdict == r.claim.verdict, (f"{ex.id}: {r.claim.label}: the suite records {r.claim.verdict!r}, "
                                              f"recomputed {r.verdict!r}")
        assert recorded_correct_matches(r), (f"{ex.id}: {r.claim.label}: the suite records correct = "
                                             f"{r.claim.correct!r}, recomputed {r.correct_text}")
    w = Worked(ex, q, results)
    if show:
        from IPython.display import display

        display(w.table(errata_only))
    return w


# -- pictures -----------------------------------------------------------------------------------


def heatmap(ax, M, title: str = "", xlabels=None, ylabels=None, fmt: str = "{:.2f}", vmin=None, vmax=None,
            cmap: str = "viridis", highlight=None, annotate: bool = True):
    """An annotated heatmap of the 2-D array ``M`` on ``ax``; ``highlight``: boolean mask of cells to outline."""
    from matplotlib.patches import Rectangle

    M = np.asarray(M, dtype=np.float64)
    im = ax.imshow(np.where(np.isfinite(M), M, np.nan), vmin=vmin, vmax=vmax, cmap=cmap, aspect="auto")
    ax.set_title(title)
    ax.set_xticks(range(M.shape[1]), labels=xlabels if xlabels is not None else range(M.shape[1]))
    ax.set_yticks(range(M.shape[0]), labels=ylabels if ylabels is not None else range(M.shape[0]))
    if xlabels is not None and (max(len(str(x)) for x in xlabels) > 3 or len(xlabels) > 6):
        ax.tick_params(axis="x", labelrotation=45)
    if annotate:
        for (i, j), v in np.ndenumerate(M):
            if np.isfinite(v):
                r, g, b_, _ = im.cmap(im.norm(v))
                dark = 0.299 * r + 0.587 * g + 0.114 * b_ < 0.5  # dark cell: white text
            else:
                dark = False  # -inf / NaN cells are left blank (white)
            ax.text(j, i, fmt.format(v) if np.isfinite(v) else str(v).replace("inf", "∞"), ha="center", va="center",
                    fontsize=7, color="white" if dark else "black")
    if highlight is not None:
        for (i, j) in np.argwhere(np.asarray(highlight)):
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2))
    return im


def data_path(*parts: str) -> Path:
    """A file shipped in the repository (e.g. ``data_path('tests', 'data', 'kenlm', 'tiny.txt')``)."""
    p = REPO.joinpath(*parts)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: expected in the repository checkout")
    return p

"""The page's code block (information_theory.md, "Code (with inline comments)"): recomputed by the
project's references as golden values, and (with --course) run in a subprocess and compared with them."""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.special
import torch
import torch.nn.functional as F

from lmverify.backends import Backend
from lmverify.tolerance import tolerance_for

# Inputs of the page's code block (information_theory.md, "Code (with inline comments)",
# lines 242-244 and 267-268), transcribed as data.
_CODE_P = np.array([0.4, 0.3, 0.2, 0.1])
_CODE_Q_GOOD = np.array([0.35, 0.30, 0.20, 0.15])
_CODE_Q_BAD = np.array([0.1, 0.1, 0.1, 0.7])
_CODE_LOGITS = np.array([2.0, 1.5, 0.8, 0.2])


def _page_code_values() -> dict[str, float]:
    """What the page's code prints, recomputed with the project's references (NumPy float64), plus
    its PyTorch verification in the float32 the page uses (F.kl_div on float32 tensors)."""
    ref, t32 = Backend("numpy"), Backend("torch32")
    T = "information"
    ce = float(ref.call(T, "cross_entropy", p=np.eye(4)[0], q=scipy.special.softmax(_CODE_LOGITS)))
    return {
        "H_p": float(ref.call(T, "entropy", p=_CODE_P)),
        "H_p_q_good": float(ref.call(T, "cross_entropy", p=_CODE_P, q=_CODE_Q_GOOD)),
        "H_p_q_bad": float(ref.call(T, "cross_entropy", p=_CODE_P, q=_CODE_Q_BAD)),
        "KL_p_q_good": float(ref.call(T, "kl_divergence", p=_CODE_P, q=_CODE_Q_GOOD)),
        "KL_p_q_bad": float(ref.call(T, "kl_divergence", p=_CODE_P, q=_CODE_Q_BAD)),
        "KL_p_q_good_float32": float(t32.call(T, "kl_divergence", p=_CODE_P, q=_CODE_Q_GOOD)),
        "KL_p_q_bad_float32": float(t32.call(T, "kl_divergence", p=_CODE_P, q=_CODE_Q_BAD)),
        "ce_loss_token0": ce,
        "ppl_token0": float(ref.call(T, "perplexity", nll=np.array([ce]))),
    }


@pytest.mark.golden
@pytest.mark.oracle
@pytest.mark.equation("information.entropy", "information.cross_entropy", "information.kl_divergence",
                      "information.perplexity")
def test_entropy_cross_entropy_kl_perplexity_page_code_golden(num_regression):
    """The page's code block prints these values (to 4 and 2 decimals) but the page does not show its
    output: they are pinned here at full precision, and checked against torch's own functions."""
    values = _page_code_values()
    tol32 = tolerance_for("float32")
    P, G, B = (torch.tensor(a, dtype=torch.float32) for a in (_CODE_P, _CODE_Q_GOOD, _CODE_Q_BAD))
    assert tol32.allows(values["KL_p_q_good_float32"], F.kl_div(G.log(), P, reduction="sum").item())
    assert tol32.allows(values["KL_p_q_bad_float32"], F.kl_div(B.log(), P, reduction="sum").item())
    ce = F.cross_entropy(torch.tensor(_CODE_LOGITS[None]), torch.tensor([0])).item()
    assert tolerance_for("float64").allows(values["ce_loss_token0"], ce)
    num_regression.check({k: np.array([v]) for k, v in values.items()}, basename="information_page_code",
                         default_tolerance=dict(rtol=tolerance_for("float64").rtol,
                                                atol=tolerance_for("float64").atol))


@pytest.mark.slow
@pytest.mark.worked_example
@pytest.mark.equation("information.entropy", "information.cross_entropy", "information.kl_divergence",
                      "information.perplexity")
def test_entropy_cross_entropy_kl_perplexity_page_code_output(course_dir):
    """Run the page's code block (read from --course, in a subprocess): every number it prints equals
    the project's recomputation at the printed precision."""
    from lmverify.pagecode import code_blocks, run
    from lmverify.worked import judge_number, parse_printed

    blocks = code_blocks(course_dir / "information_theory.md")
    assert len(blocks) == 1, f"expected one code block in information_theory.md, found {len(blocks)}"
    r = run(blocks[0])
    where = f"information_theory.md:{blocks[0].line}"
    assert r.returncode == 0, f"{where}: the page's code failed:\n{r.stderr[-2000:]}"
    v = _page_code_values()
    patterns = [
        (r"H\(p\)\s+= ([0-9.]+) nats", "H_p"),
        (r"H\(p, q_good\)\s+= ([0-9.]+) nats", "H_p_q_good"),
        (r"H\(p, q_bad\)\s+= ([0-9.]+) nats", "H_p_q_bad"),
        (r"NumPy from-scratch ===[\s\S]*?KL\(p \|\| q_good\) = ([0-9.]+) nats", "KL_p_q_good"),
        (r"NumPy from-scratch ===[\s\S]*?KL\(p \|\| q_bad\)\s+= ([0-9.]+) nats", "KL_p_q_bad"),
        (r"PyTorch verification ===\nKL\(p \|\| q_good\) = ([0-9.]+)", "KL_p_q_good_float32"),
        (r"PyTorch verification ===\n.*\nKL\(p \|\| q_bad\)\s+= ([0-9.]+)", "KL_p_q_bad_float32"),
        (r"Cross-entropy loss for token 0: ([0-9.]+)", "ce_loss_token0"),
        (r"Per-token perplexity: ([0-9.]+)", "ppl_token0"),
    ]
    problems = []
    for pattern, key in patterns:
        m = re.search(pattern, r.stdout)
        if m is None:
            problems.append(f"{key}: not found in the output")
            continue
        verdict = judge_number(parse_printed(m.group(1), where), v[key])
        if verdict != "correct":
            problems.append(f"{key}: printed {m.group(1)}, recomputed {v[key]!r} ({verdict})")
    assert not problems, f"{where}:\n  " + "\n  ".join(problems) + f"\noutput:\n{r.stdout}"

"""The page's code block (neural_language_models.md, "Code": a character-level LSTM LM trained with Adam).

Run as the other pages' code is run (read from --course, in a subprocess, with a time limit, seeds
fixed), with a few lines of our own appended that save its trained state dict and its inputs X, Y
with torch.save. Then the claims its comments make are checked:

* "One LSTM: computes h_t, c_t per the gate equations internally": its trained nn.LSTM, with the
  weights mapped by lstm_from_torch, equals the project's lstm_forward (the page's gate equations,
  gate by gate, each W on [h_{t-1}; x_t]) on the page's own inputs, and so does every gate of the
  first step;
* "nn.CrossEntropyLoss()  # equals negative log-softmax on true next char": on its trained logits,
  nn.CrossEntropyLoss equals the page's L = -(1/T) sum_t log P(w_t | w_<t) (sequence_loss).

Epochs: the page trains for EPOCHS = 300, which takes 30-100 s on a shared 2-core machine, beyond the
suite's budget. The test replaces that one line by ``EPOCHS = <n>`` with n from the environment variable
LMVERIFY_RECURRENT_PAGE_EPOCHS (default 10; set it to 300 for the page's full run). Nothing else of the
page's code is changed; the claims checked hold for any trained weights.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from lmverify.tolerance import tolerance_for
from reference.numpy import recurrent as RN
from reference.torch import recurrent as RT

EPOCHS_LINE = "    EPOCHS = 300"
EPOCHS_ENV = "LMVERIFY_RECURRENT_PAGE_EPOCHS"

# our lines, prepended (seeds, one thread: deterministic) and appended (save what the checks need)
_PROLOGUE = "import torch as _lmv_torch\n_lmv_torch.manual_seed(0)\n_lmv_torch.set_num_threads(1)\n"
_EPILOGUE = """
import os as _lmv_os
_lmv_torch.save({"state": model.state_dict(), "X": X, "Y": Y, "V": V,
                 "dims": (EMBED_DIM, HIDDEN_DIM)}, _lmv_os.environ["LMVERIFY_PAGE_OUT"])
"""


@pytest.fixture(scope="module")
def page_run(course_dir, tmp_path_factory):
    from lmverify.pagecode import code_blocks, run

    blocks = code_blocks(course_dir / "neural_language_models.md")
    assert len(blocks) == 1, f"expected one code block in neural_language_models.md, found {len(blocks)}"
    code = blocks[0].code
    assert code.count(EPOCHS_LINE + "\n") == 1, f"the page's code no longer sets {EPOCHS_LINE.strip()!r}"
    epochs = int(os.environ.get(EPOCHS_ENV, "10"))
    code = _PROLOGUE + code.replace(EPOCHS_LINE + "\n", f"    EPOCHS = {epochs}\n") + _EPILOGUE
    out = tmp_path_factory.mktemp("recurrent_page") / "trained.pt"
    old = os.environ.get("LMVERIFY_PAGE_OUT")
    os.environ["LMVERIFY_PAGE_OUT"] = str(out)
    try:
        r = run(type(blocks[0])(blocks[0].page, blocks[0].line, code), timeout=300, writable=[out.parent])
    finally:
        if old is None:
            os.environ.pop("LMVERIFY_PAGE_OUT", None)
        else:
            os.environ["LMVERIFY_PAGE_OUT"] = old
    where = f"neural_language_models.md:{blocks[0].line}"
    assert r.returncode == 0, f"{where}: the page's code failed:\n{r.stderr[-2000:]}"
    saved = torch.load(out, weights_only=False)
    saved["stdout"], saved["epochs"] = r.stdout, epochs
    return saved


def _trained_modules(saved):
    """The page's three layers as torch modules in float64 with its trained weights."""
    V = saved["V"]
    d_e, d_h = saved["dims"]
    state = {k: v.to(torch.float64) for k, v in saved["state"].items()}
    embed, lstm, fc = torch.nn.Embedding(V, d_e).double(), torch.nn.LSTM(d_e, d_h, batch_first=True).double(), \
        torch.nn.Linear(d_h, V).double()
    embed.load_state_dict({k[len("embed."):]: v for k, v in state.items() if k.startswith("embed.")})
    lstm.load_state_dict({k[len("lstm."):]: v for k, v in state.items() if k.startswith("lstm.")})
    fc.load_state_dict({k[len("fc."):]: v for k, v in state.items() if k.startswith("fc.")})
    return embed, lstm, fc


@pytest.mark.slow
@pytest.mark.oracle
@pytest.mark.equation("recurrent.lstm_forward", "recurrent.lstm_cell")
def test_lstm_page_code_trained_nn_lstm_computes_the_page_gate_equations(page_run):
    embed, lstm, _ = _trained_modules(page_run)
    assert f"Epoch {page_run['epochs']:4d}" in page_run["stdout"] or page_run["epochs"] < 50, page_run["stdout"][-500:]
    with torch.no_grad():
        emb = embed(page_run["X"])
        out, (h_n, c_n) = lstm(emb)
        params = RT.params_of(lstm)  # lstm_from_torch: blocks i, f, g, o -> W_f, W_i, W_c, W_o on [h; x]
        B, d_h = emb.shape[0], lstm.hidden_size
        zeros = torch.zeros(B, d_h, dtype=torch.float64)
        hs, cs = RT.lstm_forward(emb, zeros, zeros, **params)
    tol = tolerance_for("float64", "recurrent.lstm_forward")
    torch.testing.assert_close(hs, out, rtol=tol.rtol, atol=tol.atol,
                               msg=lambda m: f"the page's trained nn.LSTM != the page's gate equations: {m}")
    torch.testing.assert_close(hs[:, -1], h_n[0], rtol=tol.rtol, atol=tol.atol)
    torch.testing.assert_close(cs[:, -1], c_n[0], rtol=tol.rtol, atol=tol.atol)
    # gate by gate, first step of the first sequence (NumPy reference, every intermediate)
    g = RN.lstm_gates(emb[0, 0].numpy(), np.zeros(d_h), np.zeros(d_h), **{k: v.numpy() for k, v in params.items()})
    np.testing.assert_allclose(g["h"], out[0, 0].numpy(), rtol=tol.rtol, atol=tol.atol)
    for name in ("f", "i", "o"):
        assert np.all((g[name] > 0) & (g[name] < 1)), f"trained gate {name} outside (0, 1)"


@pytest.mark.slow
@pytest.mark.oracle
@pytest.mark.equation("recurrent.sequence_loss")
def test_sequence_loss_page_code_cross_entropy_loss_is_the_page_L(page_run):
    embed, lstm, fc = _trained_modules(page_run)
    V, X, Y = page_run["V"], page_run["X"], page_run["Y"]
    with torch.no_grad():
        logits = fc(lstm(embed(X))[0])
        page_loss = torch.nn.CrossEntropyLoss()(logits.view(-1, V), Y.view(-1))  # exactly as the page calls it
    L = RN.sequence_loss(logits.numpy(), Y.numpy())
    tol = tolerance_for("float64", "recurrent.sequence_loss")
    assert tol.allows(float(page_loss), float(L)), f"nn.CrossEntropyLoss = {float(page_loss)!r} != L = {float(L)!r}"
    # and L is -(1/T) sum of log P(w_t | w_<t), T = every position of every training sequence
    log_p = torch.log_softmax(logits, dim=-1).gather(-1, Y.unsqueeze(-1)).squeeze(-1)
    assert tol.allows(float(-log_p.mean()), float(L))

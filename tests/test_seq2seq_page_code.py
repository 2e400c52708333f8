"""The page's code block (sequence_to_sequence.md: an encoder-decoder with Bahdanau attention in PyTorch).

Read from --course and run in a subprocess with a time limit (lmverify/pagecode.py), as the other
pages' code is run. Our own lines are appended to the code text (the page is never edited): they
rebuild the page's model with a fixed seed, run one attention step and a teacher-forced forward
pass, capture the page's own attention scores with a forward hook on its ``v`` layer, and save
everything with torch.save to a temporary file named by an environment variable. The test then
checks what the code's comments claim against the project's functions.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from lmverify.backends import Backend
from lmverify.check import Check

PAGE = "sequence_to_sequence.md"
OUT_ENV = "LMVERIFY_SEQ2SEQ_PAGE_CODE_OUT"

APPENDED = '''

# ---- appended by lmverify (tests/test_seq2seq_page_code.py); not part of the page ----
if __name__ == "__main__":
    import os as _os

    torch.manual_seed(0)
    _m = Seq2Seq(SRC_V, TGT_V)
    _src = torch.randint(0, SRC_V, (B, SRC_LEN))
    _tgt = torch.randint(0, TGT_V, (B, TGT_LEN))
    _scores = []
    _hook = _m.decoder.attention.v.register_forward_hook(lambda mod, inp, out: _scores.append(out.detach().clone()))
    with torch.no_grad():
        _enc_out, _hidden = _m.encoder(_src)
        _emb = _m.encoder.embed(_src)
        _, _h_n = _m.encoder.rnn(_emb)
        _ctx, _w = _m.decoder.attention(_hidden[-1], _enc_out)
        _logits, _hidden2, _w2 = _m.decoder(_tgt[:, 0:1], _hidden, _enc_out)
        _out = _m(_src, _tgt)
        _tgt2 = _tgt.clone()
        _tgt2[:, -1] = (_tgt2[:, -1] + 1) % TGT_V
        _out2 = _m(_src, _tgt2)
    _hook.remove()
    torch.save({
        "enc_out": _enc_out, "hidden": _hidden, "h_n": _h_n, "context": _ctx, "weights": _w, "score": _scores[0],
        "logits": _logits, "weights_step1": _w2, "out": _out, "out_last_target_changed": _out2,
        "W1": _m.decoder.attention.W1.weight.detach(), "W2": _m.decoder.attention.W2.weight.detach(),
        "v": _m.decoder.attention.v.weight.detach(), "n_parameters": sum(p.numel() for p in _m.parameters()),
        "sizes": dict(SRC_V=SRC_V, TGT_V=TGT_V, B=B, SRC_LEN=SRC_LEN, TGT_LEN=TGT_LEN,
                      E=_m.encoder.embed.embedding_dim, H=_m.encoder.rnn.hidden_size),
    }, _os.environ["''' + OUT_ENV + '''"])
'''


def expected_parameter_count(V_src: int, V_tgt: int, E: int, H: int) -> int:
    """Parameters of the page's Seq2Seq, counted layer by layer from PyTorch's documented shapes."""
    gru = lambda d_in, h: 3 * h * (d_in + h) + 2 * 3 * h  # noqa: E731  (weight_ih, weight_hh, two biases)
    encoder = V_src * E + 2 * gru(E, H) + (2 * H * H + H)  # embedding, bidirectional GRU, fc
    attention = 2 * H * H + H * H + H  # W1 (2H -> H), W2 (H -> H), v (H -> 1), no biases
    decoder = V_tgt * E + attention + gru(E + 2 * H, H) + (H * V_tgt + V_tgt)
    return encoder + decoder


@pytest.fixture(scope="module")
def page_run(course_dir, tmp_path_factory):
    from lmverify.pagecode import CodeBlock, code_blocks, run

    blocks = code_blocks(course_dir / PAGE)
    assert len(blocks) == 1, f"expected one code block in {PAGE}, found {len(blocks)}"
    out = tmp_path_factory.mktemp("seq2seq_page_code") / "saved.pt"
    import os

    os.environ[OUT_ENV] = str(out)
    try:
        r = run(CodeBlock(blocks[0].page, blocks[0].line, blocks[0].code + APPENDED), timeout=180, writable=[out.parent])
    finally:
        os.environ.pop(OUT_ENV, None)
    where = f"{PAGE}:{blocks[0].line}"
    assert r.returncode == 0, f"{where}: the page's code failed:\n{r.stderr[-3000:]}"
    return where, r, torch.load(out)


@pytest.mark.slow
@pytest.mark.equation("seq2seq.bahdanau_attention")
def test_bahdanau_attention_page_code_demo_prints_shapes_and_parameters(page_run):
    """The demo's printed shapes are as commented, and its parameter count equals the layer-by-layer count."""
    where, r, saved = page_run
    s = saved["sizes"]
    expect = {
        "Source shape": f"torch.Size([{s['B']}, {s['SRC_LEN']}])",
        "Target shape": f"torch.Size([{s['B']}, {s['TGT_LEN']}])",
        "Output shape": f"torch.Size([{s['B']}, {s['TGT_LEN']}, {s['TGT_V']}])",
        "Parameters": f"{expected_parameter_count(s['SRC_V'], s['TGT_V'], s['E'], s['H']):,}",
    }
    problems = []
    for label, value in expect.items():
        m = re.search(rf"{label}\s*:\s*(.+)", r.stdout)
        if m is None or m.group(1).strip() != value:
            problems.append(f"{label}: printed {m.group(1).strip() if m else None!r}, expected {value!r}")
    assert saved["n_parameters"] == expected_parameter_count(s["SRC_V"], s["TGT_V"], s["E"], s["H"])
    assert not problems, f"{where}:\n  " + "\n  ".join(problems) + f"\noutput:\n{r.stdout}"


@pytest.mark.slow
@pytest.mark.equation("seq2seq.bahdanau_score")
def test_bahdanau_score_page_code_equals_project_additive_score(page_run):
    """The page's v(tanh(W1 enc + W2 dec)) equals the attention topic's additive_score on the page's weights."""
    _, _, saved = page_run
    check = Check("seq2seq.bahdanau_score", Backend("torch32"))
    enc, dec = saved["enc_out"].numpy(), saved["hidden"][-1].numpy()
    W1, W2, v = saved["W1"].numpy(), saved["W2"].numpy(), saved["v"].numpy()[0]
    for b in range(enc.shape[0]):
        got = check.call(h_enc=enc[b], s=dec[b], W1=W1, W2=W2, v=v)
        check.close(got, saved["score"][b, :, 0].numpy(), what=f"scores of batch row {b}",
                    expected_from="the page's BahdanauAttention (its v layer's output)")


@pytest.mark.slow
@pytest.mark.equation("seq2seq.bahdanau_attention")
def test_bahdanau_attention_page_code_weights_context_and_shapes(page_run):
    """Its comments: weights sum to one per step (softmax over source positions), the context is a convex
    combination of enc_out (B, 2H), enc_out is (B, S, 2H), hidden (1, B, H), logits (B, V); the project's
    bahdanau_attention on the page's weights gives the same weights and context."""
    where, _, saved = page_run
    s = saved["sizes"]
    B, S, H, V = s["B"], s["SRC_LEN"], s["H"], s["TGT_V"]
    shapes = {"enc_out": (B, S, 2 * H), "hidden": (1, B, H), "h_n": (2, B, H), "context": (B, 2 * H),
              "weights": (B, S), "logits": (B, V), "out": (B, s["TGT_LEN"], V)}
    wrong = {k: tuple(saved[k].shape) for k, shp in shapes.items() if tuple(saved[k].shape) != shp}
    assert not wrong, f"{where}: shapes differ from the comments: {wrong} (expected {shapes})"
    check = Check("seq2seq.bahdanau_attention", Backend("torch32"))
    w = saved["weights"].numpy()
    check.law(np.all(w >= 0) & np.all(np.abs(w.sum(-1) - 1) <= check.tol.atol * S), "weights sum to one per step",
              got=w.sum(-1))
    enc, dec = saved["enc_out"].numpy(), saved["hidden"][-1].numpy()
    for b in range(B):
        c, a = check.call(h_enc=enc[b], s_prev=dec[b], W1=saved["W1"].numpy(), W2=saved["W2"].numpy(),
                          v=saved["v"].numpy()[0])
        check.close(a, w[b], what=f"weights, batch row {b}", expected_from="the page's BahdanauAttention")
        check.close(c, saved["context"][b].numpy(), what=f"context, batch row {b}",
                    expected_from="the page's BahdanauAttention")


@pytest.mark.slow
@pytest.mark.equation("seq2seq.bidirectional_encoder")
def test_bidirectional_encoder_page_code_final_states(page_run):
    """enc_out's row j is [fwd_j; bwd_j]: the forward direction's final state is enc_out[:, -1, :H] and the
    backward's is enc_out[:, 0, H:] (the recurrent topic's layout), which the page's hidden[-2], hidden[-1] are."""
    _, _, saved = page_run
    H = saved["sizes"]["H"]
    enc, h_n = saved["enc_out"], saved["h_n"]
    check = Check("seq2seq.bidirectional_encoder", Backend("torch32"))
    check.exactly(h_n[0].numpy(), enc[:, -1, :H].numpy(), what="h_n[-2] (forward)", expected_from="enc_out[:, -1, :H]")
    check.exactly(h_n[1].numpy(), enc[:, 0, H:].numpy(), what="h_n[-1] (backward)", expected_from="enc_out[:, 0, H:]")


@pytest.mark.slow
@pytest.mark.equation("seq2seq.teacher_forcing")
def test_teacher_forcing_page_code_uses_the_gold_prefix(page_run):
    """Its forward pass is teacher-forced: outputs at step t depend only on tgt[:, :t], so changing the last
    target token changes nothing; outputs[:, 0] is never written (left zero, the <sos> position)."""
    _, _, saved = page_run
    check = Check("seq2seq.teacher_forcing", Backend("torch32"))
    check.exactly(saved["out_last_target_changed"].numpy(), saved["out"].numpy(), what="outputs after changing tgt[:, -1]",
                  expected_from="the original outputs")
    check.exactly(saved["out"][:, 0].numpy(), np.zeros_like(saved["out"][:, 0].numpy()), what="outputs[:, 0]",
                  expected_from="zeros (the loop starts at t = 1)")

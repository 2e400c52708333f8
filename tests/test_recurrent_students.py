"""The student loop of the recurrent topic: ``pytest -k lstm --impl my_lstm.py`` (and gru, rnn ...).

Runs pytest in a subprocess on student modules in tests/data/students/recurrent_*.py: a correct one,
written from the page's equations, passes; one that splits the LSTM gates in PyTorch's order i, f, g, o
and writes PyTorch's GRU fails, with hints naming the conventions the suite expects.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STUDENTS = ROOT / "tests" / "data" / "students"


def _run_pytest(*args: str) -> subprocess.CompletedProcess:
    from lmverify.grade import run_pytest

    return run_pytest(*args)


@pytest.mark.slow
@pytest.mark.equation("recurrent.lstm_cell")
def test_lstm_cell_student_written_from_the_page_passes_the_lstm_loop():
    r = _run_pytest("tests/test_equations.py", "tests/test_recurrent.py", "-k", "recurrent and lstm", "-rs",
                    "--impl", str(STUDENTS / "recurrent_page_student.py"))
    assert r.returncode == 0, r.stdout[-3000:]
    assert "passed" in r.stdout
    # what the student has not written yet is skipped with the signature to implement
    assert "does not define lstm_input_gate(x, h_prev, W_i, b_i)" in r.stdout


@pytest.mark.slow
@pytest.mark.equation("recurrent.lstm_cell", "recurrent.gru_cell", "recurrent.gru_interpolate")
def test_lstm_and_gru_students_with_pytorch_conventions_fail_naming_the_page_conventions():
    r = _run_pytest("tests/test_equations.py", "-k", "(matches_oracle or pinned) and (lstm_cell or gru_cell or gru_interpolate)",
                    "--impl", str(STUDENTS / "recurrent_pytorch_conventions.py"))
    assert r.returncode == 1, r.stdout[-3000:]
    out = r.stdout
    # LSTM: PyTorch's gate order
    assert "recurrent.lstm_cell" in out and "Input (minimal: hypothesis shrinks failing inputs):" in out
    assert "Hint: your result equals what PyTorch's LSTM gate order i, f, g, o" in out, out[-3000:]
    assert "the page's order: W_f, W_i, W_c, W_o = forget, input, candidate, output" in out
    # GRU: PyTorch's update convention and reset placement
    assert "Hint: your result equals what PyTorch's nn.GRU" in out, out[-3000:]
    assert "the page: h = (1 - z) * h_prev + z * h_tilde, h_tilde = tanh(W [r * h_prev; x])" in out
    assert "the suite expects the page's h = (1 - z) * h_prev + z * h_tilde" in out

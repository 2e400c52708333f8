"""What a student reads when hypothesis wraps the suite's failure: several distinct failures, or a flaky one
(the student's code answering the same input differently), never a traceback through the harness; and what
a student's torch code receives (integer ids as integer tensors)."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis.errors import FlakyFailure

from lmverify import convert
from lmverify.backends import Backend
from lmverify.compare import Failure, VerificationError
from lmverify.pytest_plugin import _student_facing, _verification_failure


def _failure(problem: str) -> VerificationError:
    return VerificationError(Failure(problem, "attention.softmax_temperature", "impl (s.py)", {"z": np.zeros(2)},
                                     np.ones(2) / 2, np.zeros(2), hints=("Hint: a hint",)))


def test_several_distinct_failures_show_the_first_and_count_the_others():
    group = BaseExceptionGroup("Hypothesis found 2 distinct failures.", [_failure("first"), _failure("second")])
    text = _student_facing(group)
    assert "Problem: first" in text and "Problem: second" not in text
    assert "1 more distinct failure of this test" in text and "Traceback" not in text
    assert _verification_failure(group).problem == "first"


def test_a_flaky_failure_is_named_as_state_kept_between_calls():
    flaky = FlakyFailure("Inconsistent results from replaying a failing test case!", [_failure("differs")])
    text = _student_facing(flaky)
    assert text.startswith("Your code gave different results for the same input")
    assert "keeps state between calls" in text and "Problem: differs" in text


def test_an_error_that_is_not_the_suites_is_left_to_pytest():
    assert _student_facing(ValueError("x")) == ""


def test_a_students_torch_code_gets_integer_ids_as_integer_tensors():
    ids = np.array([[0, 2, 1]])
    student = convert.to_torch(ids, "float64", keep_integers=True)
    assert student.dtype == torch.int64 and torch.equal(student, torch.tensor([[0, 2, 1]]))
    assert convert.to_torch(ids, "float64").dtype == torch.float64  # the references' forms, as before
    assert convert.to_torch(np.array(3), "float64", keep_integers=True) == 3
    assert Backend("torch64").array(ids).dtype == torch.float64


def test_a_torch_sequence_loss_with_cross_entropy_passes(tmp_path):
    """F.cross_entropy needs int64 targets: a correct torch student is not blamed for the suite's dtype."""
    from lmverify.backends import StudentModule
    from lmverify.students_check import check_equation, student_backend

    path = tmp_path / "loss.py"
    path.write_text("import torch.nn.functional as F\n"
                    "def sequence_loss(logits, targets, ignore_index=None):\n"
                    "    kw = {} if ignore_index is None else {'ignore_index': int(ignore_index)}\n"
                    "    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), **kw)\n")
    backend = student_backend(StudentModule(str(path), array_api="torch", isolated=False))
    outcomes = check_equation(backend, "recurrent.sequence_loss", drawn=10)
    assert outcomes and all(o.status == "passed" for o in outcomes), [o.message for o in outcomes]


def test_a_students_exception_class_is_rebuilt_once_so_hypothesis_sees_one_failure():
    """The same exception type from the student's process is one class here, every time (hypothesis tells
    failures apart by type: a new class per call made each failing example a distinct failure)."""
    from lmverify.students.isolation import _rebuild

    info = {"type": "_ArrayMemoryError", "module": "numpy._core._exceptions", "bases": ["MemoryError"],
            "message": "Unable to allocate", "traceback": ""}
    first, second = _rebuild(dict(info)), _rebuild(dict(info))
    assert type(first) is type(second) and isinstance(first, MemoryError)
    other = _rebuild(dict(info, type="ShapeError", module="my_lstm", bases=["ValueError"]))
    assert type(other) is not type(first) and isinstance(other, ValueError)

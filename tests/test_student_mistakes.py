"""Every known student mistake of the registry, made by a student module written for the test, gets its hint.

``tests/data/students/mistakes/<topic>/`` holds one deliberately wrong module per mistake of the
registry (``lmverify/registry/<topic>.py``): a small implementation of the function concerned, as a
student would write it, with that one mistake (other functions absent). Each module says which
mistake(s) it makes in ``MISTAKES = [(equation id, mistake name), ...]``. ``_correct.py`` in each
folder implements every function that has mistakes, from the page's equations.

The checks are those a student's ``pytest --impl`` run shows first: the generic comparison with the
reference on the registry's pinned inputs (``test_pinned_inputs_match_exact``), run in-process by
:mod:`lmverify.students_check` (no pytest subprocess; the whole file takes a few seconds). A wrong
module must fail there, and the first failure it gets (the one pytest prints) must carry the
mistake's own hint; a correct module must pass with no hint.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

import pytest

from lmverify import registry
from lmverify.students_check import check_equation

#: the wrong modules overflow, divide by zero and take log 0 on purpose (that is their mistake)
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

MISTAKES_DIR = Path(__file__).parent / "data" / "students" / "mistakes"


def _declared(path: Path) -> list[tuple[str, str]]:
    """The module's ``MISTAKES`` list, read without importing it."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "MISTAKES" for t in node.targets):
            return [tuple(x) for x in ast.literal_eval(node.value)]
    return []


@lru_cache(maxsize=None)
def _modules() -> dict[tuple[str, str], Path]:
    """(equation id, mistake name) -> the wrong module that makes it."""
    out: dict[tuple[str, str], Path] = {}
    for path in sorted(MISTAKES_DIR.glob("*/*.py")):
        if path.name.startswith("_"):
            continue
        for pair in _declared(path):
            out.setdefault(pair, path)
    return out


def _table() -> list[tuple[str, str]]:
    return [(e.id, m.name) for e in registry.load() for m in e.mistakes]


def _hint(equation: str, name: str) -> str:
    entry = registry.get(equation)
    m = next(m for m in entry.mistakes if m.name == name)
    return f"Hint: your result equals what {m.hint} gives ({m.name})."


def _topic_param(values: tuple, topic: str, id_: str):
    return pytest.param(*values, id=id_, marks=getattr(pytest.mark, topic))


MISTAKE_PARAMS = [_topic_param((eq, name), eq.split(".")[0], f"{eq}:{name}") for eq, name in _table()]
TOPICS_WITH_MISTAKES = sorted({eq.split(".")[0] for eq, _ in _table()})


def test_student_mistakes_table_and_folder_agree():
    """Every Mistake of the registry has a wrong module, and every wrong module names Mistakes of the registry."""
    table = set(_table())
    modules = _modules()
    missing = sorted(table - set(modules))
    assert not missing, "mistakes with no student module in tests/data/students/mistakes/:\n" + "\n".join(
        f"  {eq}: {name!r}" for eq, name in missing)
    unknown = []
    for path in sorted(MISTAKES_DIR.glob("*/*.py")):
        if path.name.startswith("_"):
            continue
        pairs = _declared(path)
        if not pairs:
            unknown.append(f"  {path.relative_to(MISTAKES_DIR)}: no MISTAKES list")
        unknown += [f"  {path.relative_to(MISTAKES_DIR)}: {p} is not a registry Mistake" for p in pairs if p not in table]
        unknown += [f"  {path.relative_to(MISTAKES_DIR)}: in the {path.parent.name} folder but makes {p[0]}"
                    for p in pairs if p[0].split(".")[0] != path.parent.name]
    assert not unknown, "wrong modules that name no registry Mistake:\n" + "\n".join(unknown)


@pytest.mark.parametrize("equation, mistake", MISTAKE_PARAMS)
def test_student_mistake_fails_with_its_hint(equation, mistake):
    """The wrong module fails the pinned inputs, and the first failure a student sees names this mistake."""
    path = _modules().get((equation, mistake))
    if path is None:
        pytest.fail(f"no student module makes {equation}: {mistake!r} (test_student_mistakes_table_and_folder_agree)")
    outcomes = check_equation(path, equation)
    assert not [o for o in outcomes if o.status == "skipped"], (
        f"{path.name}: the function of {equation} is missing:\n{outcomes[0].message}")
    failed = [o for o in outcomes if o.status == "failed"]
    assert failed, f"{path.name}: makes {mistake!r} but passes every pinned input of {equation}"
    hint = _hint(equation, mistake)
    assert hint in failed[0].message, (
        f"{path.name}: the first failure ({failed[0].check}) does not carry the hint of {mistake!r}:\n"
        f"{failed[0].message}")


def _correct_params():
    out = []
    for topic in TOPICS_WITH_MISTAKES:
        for eq in sorted({eq for eq, _ in _table() if eq.startswith(f"{topic}.")}):
            out.append(_topic_param((topic, eq), topic, eq))
    return out


def _drawn_examples() -> int:
    """Drawn examples per equation for the correct modules: 10 on the default profile (about 1.5 s for
    the file), a quarter of the profile's max_examples on larger ones (250 on 'thorough')."""
    from hypothesis import settings

    return max(10, settings.default.max_examples // 4)


@pytest.mark.parametrize("topic, equation", _correct_params())
def test_student_correct_module_passes_with_no_hint(topic, equation):
    """Each topic's correct module (written from the page) passes every pinned input and drawn inputs
    (test_matches_oracle's strategy), and gets no hint."""
    path = MISTAKES_DIR / topic / "_correct.py"
    assert path.is_file(), f"no correct student module {path.relative_to(MISTAKES_DIR.parent)}"
    outcomes = check_equation(path, equation, drawn=_drawn_examples())
    bad = [o for o in outcomes if o.status != "passed" or o.hint]
    assert not bad, "\n\n".join(f"[{o.check}] {o.status}\n{o.message}" for o in bad)


def test_student_module_without_the_function_is_skipped_not_failed():
    """A wrong module holds only the function concerned: another equation's check skips, naming what to write."""
    path = _modules()[("attention.softmax_temperature", "z * tau")]
    outcomes = check_equation(path, "attention.scaled_dot_product")
    assert [o.status for o in outcomes] == ["skipped"], outcomes
    assert "does not define scaled_dot_product_attention(Q, K, V, mask=None)" in outcomes[0].message


@pytest.mark.equation("attention.dot_product_score")
def test_student_function_that_raises_gets_the_hint_of_the_mistake_that_raises_alike():
    """Q K without the transpose raises on keys that are not square, as the mistake does: the message names it."""
    import numpy as np

    from lmverify.check import Check
    from lmverify.compare import VerificationError
    from lmverify.students_check import student_backend

    check = Check("attention.dot_product_score", student_backend(MISTAKES_DIR / "attention" / "dot_product_scores__no_transpose.py"))
    with pytest.raises(VerificationError) as info:
        check.agree(Q=np.ones((2, 3)), K=np.ones((4, 3)))
    text = str(info.value)
    assert "your dot_product_scores raised ValueError" in text
    assert "(no transpose) raises the same ValueError on this input; the reference does not." in text
    correct = Check("attention.dot_product_score", student_backend(MISTAKES_DIR / "attention" / "_correct.py"))
    correct.agree(Q=np.ones((2, 3)), K=np.ones((4, 3)))


@pytest.mark.equation("attention.dot_product_score")
def test_student_function_returning_a_string_is_named_as_a_wrong_return_not_a_raise(tmp_path):
    import numpy as np

    from lmverify.check import Check
    from lmverify.compare import VerificationError
    from lmverify.students_check import student_backend

    module = tmp_path / "returns_text.py"
    module.write_text("def dot_product_scores(Q, K):\n    return 'Q K^T'\n")
    with pytest.raises(VerificationError) as info:
        Check("attention.dot_product_score", student_backend(module)).agree(Q=np.ones((2, 3)), K=np.ones((4, 3)))
    text = str(info.value)
    assert "your dot_product_scores returned str" in text and "raised" not in text
    assert "Input" in text and "Expected" in text

"""The equation catalogue: complete, consistent with the code and the tests, and faithful to the pages."""

from __future__ import annotations

import re

import pytest
import yaml

from lmverify import catalogue, coverage
from lmverify.catalogue import CatalogueError, _load_file

EQUATIONS = catalogue.load()
IDS = [eq["id"] for eq in EQUATIONS]


def test_catalogue_ids_are_unique_and_namespaced():
    assert len(IDS) == len(set(IDS))
    assert all(re.fullmatch(r"[a-z0-9_]+\.[a-z0-9_]+", i) for i in IDS), IDS


@pytest.mark.parametrize("eq", EQUATIONS, ids=IDS)
def test_catalogue_equation_has_symbolic_numpy_and_torch_forms(eq):
    forms = catalogue.forms(eq)
    missing = [f for f, ok in forms.items() if not ok]
    assert not missing, (
        f"{eq['id']} ({eq['page']}:{eq['line']}): function {eq['function']!r} is missing from the "
        f"{', '.join(missing)} form(s): add it to "
        + ", ".join(catalogue.FORMS[f].format(topic=eq["topic"]) for f in missing)
    )


@pytest.mark.parametrize("eq", EQUATIONS, ids=IDS)
def test_catalogue_equation_is_exercised_by_a_test(eq):
    tests = coverage.exercised().get(eq["id"], ())
    assert tests, (f"no test is marked @pytest.mark.equation({eq['id']!r}); "
                   f"every catalogued equation needs at least one")


def test_catalogue_equation_markers_name_catalogued_equations():
    unknown = {k: v for k, v in coverage.exercised().items() if k not in IDS}
    assert not unknown, f"tests marked with equations the catalogue does not have: {unknown}"


@pytest.mark.parametrize("eq", [e for e in EQUATIONS if e["displayed"]], ids=[e["id"] for e in EQUATIONS if e["displayed"]])
def test_catalogue_latex_is_printed_in_the_page(eq, course_dir):
    """The equation is among its page's displays, found as the report finds it (the page model's displays,
    compared by meaning); a page whose lines shifted still passes, and says where."""
    from lmverify.course.equations import locate_equation
    from lmverify.pages import CourseError

    try:
        displays = _course(course_dir).page(eq["page"]).displays
    except CourseError as exc:
        pytest.fail(f"{eq['id']}: {exc}", pytrace=False)
    line, match, cand = locate_equation(eq["latex"], displays, eq["line"])
    assert line is not None, (f"{eq['id']}: no display of {eq['page']} holds it (changed content?):\n  {eq['latex']}"
                              f"\n  nearest: {cand}\n  {match.detail if match else ''}")
    if abs(line - eq["line"]) > 3:
        import warnings

        warnings.warn(f"{eq['id']}: the equation is now at line {line} of {eq['page']} (recorded {eq['line']})",
                      stacklevel=1)


_COURSES: dict = {}


def _course(folder):
    from lmverify.course.course import Course

    key = str(folder)
    if key not in _COURSES:
        _COURSES[key] = Course(folder)
    return _COURSES[key]


def test_catalogue_latex_located_after_the_page_shifts():
    """Shifting a page by ten lines moves the found line by ten: located, not failed."""
    from lmverify.course.equations import locate_equation
    from lmverify.course.model import parse_page

    eq = catalogue.find("attention.softmax_temperature")
    page = ["filler", ""] * (eq["line"] // 2) + ["\\[", eq["latex"], "\\]"]
    at, _, _ = locate_equation(eq["latex"], parse_page("\n".join(page)).displays, eq["line"])
    shifted, _, _ = locate_equation(eq["latex"], parse_page("\n".join(["new", ""] * 5 + page)).displays, eq["line"])
    assert at is not None and shifted == at + 10


def test_catalogue_coverage_matrix_lists_every_equation(capsys):
    from lmverify.cli import main

    assert main(["coverage"]) == 0
    out = capsys.readouterr().out
    for eq_id in IDS:
        assert f"`{eq_id}`" in out
    assert f"{len(IDS)} / {len(IDS)} equations have all three forms and at least one test." in out


@pytest.mark.parametrize(
    "text,message",
    [
        ("topic: attention\npage: p.md\n", "missing top-level key 'equations'"),
        ("topic: other\npage: p.md\nequations: [{id: x}]\n", "does not match the file name"),
        ("topic: attention\npage: p.md\nequations: [{id: attention.x}]\n", "missing key 'section'"),
        ("topic: attention\npage: p.md\nequations:\n  - {id: attention.x, section: s, line: '3', latex: l, "
         "function: f, properties: [], displayed: true}\n", "key 'line' must be int"),
        ("topic: attention\npage: p.md\nequations:\n  - {id: ngram.x, section: s, line: 3, latex: l, "
         "function: f, properties: [], displayed: true}\n", "must start with 'attention.'"),
        ("topic: [unclosed\n", "not valid YAML"),
    ],
)
def test_catalogue_malformed_file_names_file_and_key(tmp_path, text, message):
    path = tmp_path / "attention.yaml"
    path.write_text(text)
    with pytest.raises(CatalogueError) as err:
        _load_file(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_catalogue_files_are_plain_safe_yaml():
    for path in catalogue.CATALOGUE_DIR.glob("*.yaml"):
        yaml.safe_load(path.read_text(encoding="utf-8"))


def test_catalogue_one_function_name_has_one_signature_across_topics():
    """A student's module for one topic must never collide with another topic: a public reference
    function name means the same parameters wherever it is defined."""
    import inspect

    seen: dict[str, tuple[str, str]] = {}
    clashes = []
    for topic in catalogue.topics():
        try:
            mod = catalogue.form_module("numpy", topic)
        except ImportError:
            continue
        for name, fn in inspect.getmembers(mod, inspect.isfunction):
            if name.startswith("_") or fn.__module__ != mod.__name__:
                continue
            sig = str(inspect.signature(fn))
            if name in seen and seen[name][1] != sig:
                clashes.append(f"{name}: {seen[name][0]}{seen[name][1]} but {topic}{sig}")
            seen.setdefault(name, (topic, sig))
    assert not clashes, "one function name, one signature across the suite; rename one of:\n  " + "\n  ".join(clashes)


def test_catalogue_equation_markers_must_be_string_literals(tmp_path):
    (tmp_path / "test_x.py").write_text(
        "import pytest\nEQ = 'attention.softmax_temperature'\n\n@pytest.mark.equation(EQ)\ndef test_a():\n    pass\n")
    coverage.exercised.cache_clear()
    try:
        with pytest.raises(CatalogueError, match=r"test_x.py:4: @pytest.mark.equation takes string literals.*'EQ'"):
            coverage.exercised(tmp_path)
    finally:
        coverage.exercised.cache_clear()


def test_catalogue_every_equation_has_a_registry_entry():
    from lmverify import registry

    missing = [i for i in IDS if registry.get(i) is None]
    assert not missing, f"equations without an entry in lmverify/registry/<topic>.py: {missing}"

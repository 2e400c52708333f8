"""The suite's pytest plugin: options, backends, hypothesis profiles, markers, worked-example files.

Options
  --impl PATH        a student's module (.py file or dotted name) defining any subset of the
                     reference functions under the same names; tests then run on it alone
  --impl-array K     what the student's functions receive: numpy (default) or torch tensors
  --course PATH      the folder of course pages; tests that need it skip cleanly without it
  --hypothesis-profile {dev,ci,thorough}   (hypothesis' own option; 'ci' is the default when CI is set)

Fixtures
  backend            parametrised over sympy, numpy, torch64, torch32 (or only impl with --impl)
  numeric_backend    the same without sympy (for inputs too large for exact arithmetic)
  course_dir         the --course folder (skips without it)
  equation           the id given by the test's @pytest.mark.equation(...)
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from lmverify.backends import BACKEND_NAMES, Backend, ImplError, StudentModule, TOPICS

ROOT = Path(__file__).resolve().parent

# -- hypothesis profiles (registered here, as numpy's conftest does) ---------------------
# The suite's fixtures (backend, oracle, reference, equation) are stateless values, so
# hypothesis' warning about function-scoped fixtures not being reset does not apply.
_SUPPRESS = [HealthCheck.too_slow, HealthCheck.differing_executors, HealthCheck.function_scoped_fixture]
settings.register_profile(
    "dev", max_examples=30, deadline=None, print_blob=True,
    suppress_health_check=_SUPPRESS,
)
settings.register_profile(
    "ci", max_examples=60, deadline=None, derandomize=True, print_blob=True,
    suppress_health_check=_SUPPRESS,
)
settings.register_profile(
    "thorough", max_examples=1000, deadline=None, print_blob=True,
    suppress_health_check=_SUPPRESS,
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

LAYERS = {
    "symbolic": "SymPy derivations and proofs",
    "property": "hypothesis property tests (laws, invariances, cross-backend agreement)",
    "oracle": "agreement with an external implementation (PyTorch, SciPy, KenLM, NLTK)",
    "golden": "full-precision golden files (pytest-regressions)",
    "worked_example": "the course's printed numbers, recomputed and judged",
    "notebook": "notebooks run by nbmake",
    "slow": "takes more than a few seconds",
}


def pytest_configure(config: pytest.Config) -> None:
    for topic in TOPICS:
        config.addinivalue_line("markers", f"{topic}: tests of the {topic} topic")
    for layer, what in LAYERS.items():
        config.addinivalue_line("markers", f"{layer}: {what}")
    config.addinivalue_line("markers", "equation(*ids): the catalogued equation(s) the test exercises")
    course = config.getoption("--course")
    if course is not None and not (Path(course) / "attention_math.md").is_file():
        raise pytest.UsageError(f"--course {course!r}: not a folder of course pages (no attention_math.md there)")
    impl = config.getoption("--impl")
    config.stash[_STUDENT] = StudentModule(impl, config.getoption("--impl-array")) if impl else None


_STUDENT = pytest.StashKey[StudentModule | None]()


def _topic_of(path: Path) -> str | None:
    name = path.stem
    if path.suffix == ".yaml":
        return path.parent.name if path.parent.name in TOPICS else None
    if name.startswith("test_"):
        for topic in TOPICS:
            if name == f"test_{topic}" or name.startswith(f"test_{topic}_"):
                return topic
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        topic = _topic_of(Path(str(item.path)))
        if topic:
            item.add_marker(getattr(pytest.mark, topic))
        fn = getattr(item, "obj", None)
        if fn is not None and getattr(fn, "is_hypothesis_test", False):
            item.add_marker(pytest.mark.property)
        fixtures = getattr(item, "fixturenames", ())
        if "num_regression" in fixtures or "data_regression" in fixtures:
            item.add_marker(pytest.mark.golden)
        if "course_dir" in fixtures and not item.get_closest_marker("worked_example"):
            item.add_marker(pytest.mark.worked_example)
        if str(item.path).endswith(".ipynb"):
            item.add_marker(pytest.mark.notebook)
            item.add_marker(pytest.mark.slow)


# -- backends ------------------------------------------------------------------------------

def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    student = metafunc.config.stash[_STUDENT]
    for name, with_sympy in (("backend", True), ("numeric_backend", False)):
        if name in metafunc.fixturenames:
            if student is not None:
                params = ["impl"]
            else:
                params = [b for b in BACKEND_NAMES if with_sympy or b != "sympy"]
            metafunc.parametrize(name, params, indirect=True)


def _make_backend(request: pytest.FixtureRequest) -> Backend:
    name = request.param
    if name != "impl":
        return Backend(name)
    student = request.config.stash[_STUDENT]
    try:
        student.module  # import now, outside hypothesis, so failures are reported once and clearly
    except ImplError as exc:
        pytest.fail(str(exc), pytrace=False)
    backend = Backend("impl", student=student)
    _check_student_signatures(backend)
    return backend


_SIGNATURES_CHECKED: dict[str, str | None] = {}


def _check_student_signatures(backend: Backend) -> None:
    """Every function the student defines under a reference name must take the reference's parameters."""
    spec = backend.student.spec
    if spec not in _SIGNATURES_CHECKED:
        import importlib
        import inspect

        from lmverify.backends import _check_signature

        problems = []
        mod = backend.student.module
        for topic in TOPICS:
            try:
                ref = importlib.import_module(f"reference.numpy.{topic}")
            except ImportError:
                continue
            for name, ref_fn in inspect.getmembers(ref, inspect.isfunction):
                if ref_fn.__module__ != ref.__name__ or name.startswith("_"):
                    continue
                f = getattr(mod, name, None)
                if f is None:
                    continue
                if not callable(f):
                    problems.append(f"{spec}: {name} is not a function (it is {type(f).__name__})")
                    continue
                try:
                    _check_signature(f, ref_fn, f"{spec}: function {name}")
                except ImplError as exc:
                    problems.append(str(exc))
        _SIGNATURES_CHECKED[spec] = "\n".join(problems) or None
    if _SIGNATURES_CHECKED[spec]:
        pytest.fail(_SIGNATURES_CHECKED[spec], pytrace=False)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> Backend:
    """The implementation under test: sympy, numpy, torch64, torch32, or the --impl module."""
    return _make_backend(request)


@pytest.fixture
def numeric_backend(request: pytest.FixtureRequest) -> Backend:
    """Like ``backend`` without sympy (inputs too large for exact arithmetic)."""
    return _make_backend(request)


@pytest.fixture
def reference() -> Backend:
    """The NumPy float64 reference, the oracle of the numeric backends."""
    return Backend("numpy")


@pytest.fixture
def exact() -> Backend:
    """The SymPy backend, the exact oracle of the NumPy reference."""
    return Backend("sympy")


@pytest.fixture
def oracle(backend: Backend) -> Backend:
    """The backend that ``backend`` is checked against (sympy for numpy, numpy for the rest)."""
    return Backend(backend.oracle)


@pytest.fixture
def equation(request: pytest.FixtureRequest) -> str | None:
    marker = request.node.get_closest_marker("equation")
    return marker.args[0] if marker and marker.args else None


@pytest.fixture(scope="session")
def course_dir(request: pytest.FixtureRequest) -> Path:
    course = request.config.getoption("--course")
    if course is None:
        pytest.skip("needs the course pages: pass --course PATH (e.g. --course ../shared/course)")
    return Path(course)


# -- worked-example YAML files are tests of their own ------------------------------------

def pytest_collect_file(parent: pytest.Collector, file_path: Path):
    if file_path.suffix == ".yaml" and file_path.parent.parent.name == "worked_examples" \
            and file_path.parent.name in TOPICS:
        from lmverify.pytest_worked import WorkedExampleFile

        return WorkedExampleFile.from_parent(parent, path=file_path)
    return None

"""The suite's pytest plugin (entry point ``pytest11``): options, profiles, markers, backends, fixtures.

Installed as an entry point, so pytest knows before it picks the rootdir that ``--course PATH``
and ``--impl PATH`` take a value (``pytest --impl my_lstm.py`` and ``--impl=my_lstm.py`` select
the same rootdir and configuration). All of the plugin lives here; the root ``conftest.py``
only documents it.

Options
  --impl SPEC        a student's module: ``path.py`` or a dotted name (every topic), or
                     ``topic=path.py`` (that topic only); repeat for one file per topic. Only the
                     functions the selected tests call are checked, when they call them.
  --impl-array K     what the student's functions receive: numpy (default) or torch tensors
  --course PATH      the folder of course pages; tests that need it skip cleanly without it
  --hypothesis-profile {dev,ci,thorough}   (hypothesis' own option; 'ci' is the default when CI is set)

Fixtures
  check              bound to the test's equation and backend (:mod:`lmverify.check`); parametrised over
                     every backend (sympy, numpy, torch64, torch32), or only impl under --impl; a test
                     marked ``@pytest.mark.numeric`` leaves sympy out (inputs too large for exact arithmetic)
  backend, numeric_backend, oracle, reference, exact   the backends themselves
  equation           the id given by the test's @pytest.mark.equation(...)
  entry              (generic tests) the registry entry, parametrised over lmverify/registry/<topic>.py
  course_dir         the --course folder (skips without it)
"""

from __future__ import annotations

import dis
import functools
import gc
import inspect
import os
import re
from pathlib import Path
from typing import Any

import pytest


def _import_libraries_unhooked() -> None:
    """Import torch, SymPy and NumPy (thousands of modules) without pytest's assertion-rewriting import hook.

    pytest installs the hook before it loads plugins, so every module this plugin's imports pull in is first
    offered to it: a name and path check per module, and a second search of sys.path for any it cannot rule
    out by name, before the usual import. None of these libraries is ever rewritten (they are not test files
    and provide no pytest plugin), so they are imported with the hook set aside for the moment; everything
    else (hypothesis and the plugins, this project, the tests) is imported with it, as pytest decides. Measured
    in one pytest process each, alternating (load ~4): 2.12 s of CPU for these imports with the hook, 2.02 s
    without (medians of 5)."""
    import sys

    hooks = [f for f in sys.meta_path if type(f).__name__ == "AssertionRewritingHook"]
    for f in hooks:
        sys.meta_path.remove(f)
    try:
        import numpy  # noqa: F401
        import sympy  # noqa: F401
        import torch  # noqa: F401
    finally:
        sys.meta_path[:0] = hooks


_import_libraries_unhooked()

from hypothesis import HealthCheck, Phase, settings  # noqa: E402

from lmverify.backends import BACKEND_NAMES, TOPICS, Backend, ImplError, Students  # noqa: E402
from lmverify.students.loading import DEFAULT_CALL_SECONDS, DEFAULT_MEMORY_MIB  # noqa: E402
from lmverify.compare import VerificationError  # noqa: E402

# -- hypothesis profiles (registered at import, before hypothesis loads --hypothesis-profile) ----
# The suite's fixtures (backend, oracle, check, entry) are stateless per example, so hypothesis'
# warning about function-scoped fixtures not being reset does not apply.
# print_blob is off: the suite prints its own one-line command to rerun a failing case (the failing
# example is replayed from hypothesis' database), instead of the @reproduce_failure boilerplate.
# The "explain" phase is left out: its "Explanation: these lines were always and only run by failing
# test cases" points into lmverify/compare.py (where a failure is raised), which teaches nothing.
_SUPPRESS = [HealthCheck.too_slow, HealthCheck.differing_executors, HealthCheck.function_scoped_fixture]
_PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink)
settings.register_profile("dev", max_examples=30, deadline=None, print_blob=False, suppress_health_check=_SUPPRESS,
                          phases=_PHASES)
settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True, print_blob=False,
                          suppress_health_check=_SUPPRESS, phases=_PHASES)
settings.register_profile("thorough", max_examples=1000, deadline=None, print_blob=False,
                          suppress_health_check=_SUPPRESS, phases=_PHASES)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

LAYERS = {
    "symbolic": "SymPy derivations and proofs",
    "property": "hypothesis property tests (laws, invariances, cross-backend agreement)",
    "oracle": "agreement with an external implementation (PyTorch, SciPy, KenLM, NLTK, gensim)",
    "golden": "full-precision golden files (pytest-regressions)",
    "worked_example": "the course's printed numbers, recomputed and judged",
    "notebook": "notebooks run by nbmake",
    "slow": "takes more than a few seconds",
    "generic": "generated from the equation registry (tests/test_equations.py)",
    "numeric": "runs on the numeric backends only (no SymPy): inputs too large for exact arithmetic",
    "bad_input": "a probe of bad or hostile input (a named error or the oracle's answer, never a traceback)",
}

_STUDENTS = pytest.StashKey["Students | None"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lmverify", "language-modeling math verification")
    group.addoption("--impl", action="append", default=None, metavar="[TOPIC=]PATH",
                    help="student module (.py path or dotted name) to test instead of the references; "
                         "TOPIC=PATH for one topic (repeatable)")
    group.addoption("--impl-array", action="store", default="numpy", choices=("numpy", "torch"),
                    help="array type the --impl functions receive (default: numpy float64 arrays)")
    group.addoption("--impl-timeout", action="store", type=float, default=DEFAULT_CALL_SECONDS, metavar="SECONDS",
                    help="time limit per call of a student's function (default 10 s; a positive, finite number)")
    group.addoption("--impl-memory", action="store", type=float, default=DEFAULT_MEMORY_MIB, metavar="MIB",
                    help=f"memory (MiB of address space) a student's process may add to what it starts with "
                         f"(default {DEFAULT_MEMORY_MIB})")
    group.addoption("--lmverify-results", action="store", default=None, metavar="FILE",
                    help="write every test's outcome, equations and hint as JSON (used by `lmverify grade`)")
    group.addoption("--course", action="store", default=None, metavar="PATH",
                    help="folder of the course pages (e.g. ../shared/course); tests needing it skip without it")


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """Make ``--impl PATH`` and ``--course PATH`` (space form) pick the same rootdir and configuration
    as ``--impl=PATH``.

    pytest chooses its rootdir and ini file before it loads entry-point plugins, so at that moment it
    does not know that these options take a value and takes PATH for a test path: a student file in
    /tmp makes /tmp the rootdir, with no configuration. Here, once the options are known, the choice
    is made again from the real test paths, and the configuration's ``addopts`` applied.
    """
    _reapply_configuration(early_config, parser, args)
    _notebooks_plugin(early_config, args)


def _reapply_configuration(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    import copy

    from _pytest.config.findpaths import determine_setup

    values = {args[i + 1] for i, a in enumerate(args[:-1]) if a in ("--impl", "--course")}
    if not values:
        return
    ns = early_config.known_args_namespace
    rootpath, inipath, inicfg, ignored = determine_setup(
        inifile=ns.inifilename, override_ini=ns.override_ini, args=list(ns.file_or_dir),
        rootdir_cmd_arg=ns.rootdir or None, invocation_dir=early_config.invocation_params.dir)
    if early_config.inipath is not None or inipath is None:
        return  # a configuration was found (right or not ours to replace), or there is none to find
    early_config._rootpath, early_config._inipath = rootpath, inipath
    early_config._inicfg, early_config._ignored_config_files = inicfg, ignored
    early_config._inicache.clear()
    parser.extra_info["rootdir"], parser.extra_info["inifile"] = str(rootpath), str(inipath)
    args[:] = early_config._validate_args(early_config.getini("addopts"), "via addopts config") + args
    early_config.known_args_namespace = parser.parse_known_args(args, namespace=copy.copy(early_config.option))
    early_config.known_args_namespace.confcutdir = str(inipath.parent)


def _notebooks_plugin(early_config: pytest.Config, args: list[str]) -> None:
    """nbmake, which runs the notebooks (``--nbmake`` in addopts), is registered here, and not under ``--impl``.

    Its entry point is blocked in addopts (``-p no:nbmake``): importing it imports Jupyter's client and
    nbformat (about 0.15 s), which a student's run never uses (under ``--impl`` no notebook is collected). So
    this plugin registers it for every other run, before the command line is parsed (so ``--nbmake`` and its
    options are known), and under ``--impl`` takes ``--nbmake`` out of the arguments instead. A ``-p no:nbmake``
    of the caller's own is obeyed."""
    pm = early_config.pluginmanager
    if pm.has_plugin("nbmake") or pm.has_plugin("nbmake.pytest_plugin"):
        return  # registered by its entry point (a configuration without our addopts)
    own = [str(a) for a in early_config.invocation_params.args]
    refused = any(a == "no:nbmake" or a == "-pno:nbmake" for a in own)
    students = any(a == "--impl" or a.startswith("--impl=") for a in args)
    if refused or students:
        args[:] = [a for a in args if a != "--nbmake"]
        return
    try:
        pm.import_plugin("nbmake.pytest_plugin")
    except ImportError:  # not installed (the test extra has it): the notebooks are not collected
        args[:] = [a for a in args if a != "--nbmake"]


@pytest.hookimpl(tryfirst=True)  # before hypothesis' own pytest_configure loads the profile
def pytest_configure(config: pytest.Config) -> None:
    for topic in TOPICS:
        config.addinivalue_line("markers", f"{topic}: tests of the {topic} topic")
    for layer, what in LAYERS.items():
        config.addinivalue_line("markers", f"{layer}: {what}")
    config.addinivalue_line("markers", "equation(*ids): the catalogued equation(s) the test exercises")
    _check_hypothesis_profile(config)
    course = config.getoption("--course")
    if course is not None and not Path(course).is_dir():
        raise pytest.UsageError(f"--course {course!r}: no such folder (expected the folder of the course pages)")
    if course is not None and not any(Path(course).glob("*.md")):
        raise pytest.UsageError(f"--course {course!r}: no course pages (*.md) in that folder")
    impl = config.getoption("--impl")
    try:
        students = Students.parse(impl, config.getoption("--impl-array"), config.getoption("--impl-timeout"),
                                  config.getoption("--impl-memory")) if impl else None
    except ImplError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[_STUDENTS] = students
    if students is not None and not _is_xdist_controller(config):
        # the students' processes are forked from here, now: after the imports (NumPy, torch, the project),
        # before collection or any test computes a value; each starts importing its module at once
        from lmverify.students import isolation

        isolation.prepare(protect=True)
        for student in students.by_topic.values():
            student.process.start()


def _is_xdist_controller(config: pytest.Config) -> bool:
    """The xdist controller runs no test (its workers each fork their own students' processes)."""
    return not hasattr(config, "workerinput") and bool(getattr(config.option, "numprocesses", None))


def _check_hypothesis_profile(config: pytest.Config) -> None:
    """An unknown ``--hypothesis-profile`` is a usage error naming the profiles (hypothesis' own plugin would
    stop pytest with an INTERNALERROR traceback)."""
    name = config.getoption("hypothesis_profile", None)
    if name is None:
        return
    from hypothesis import settings as hsettings
    from hypothesis.errors import InvalidArgument

    try:
        hsettings.get_profile(name)
    except InvalidArgument:
        known = sorted(getattr(hsettings, "_profiles", {}) or ("dev", "ci", "thorough"))
        raise pytest.UsageError(f"--hypothesis-profile {name!r}: no such profile; expected one of "
                                f"{', '.join(known)}") from None


def pytest_unconfigure(config: pytest.Config) -> None:
    if config.stash.get(_STUDENTS, None) is not None:
        from lmverify.students import isolation

        isolation.shutdown()


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Under ``-k``, a test file none of whose tests can match is not imported (lmverify/selection.py); under
    ``--impl``, neither is a file none of whose tests can run the student's code (:func:`_cannot_run_student`)."""
    if config.stash.get(_STUDENTS, None) is not None and _cannot_run_student(collection_path, config):
        return True
    keyword = _prefilter_keyword(config)
    if not keyword or collection_path.suffix not in (".py", ".yaml") or not collection_path.is_file():
        return None
    name = collection_path.name
    if collection_path.suffix == ".py" and (not name.startswith("test_") or name == "test_equations.py"):
        return None
    if collection_path.suffix == ".yaml" and collection_path.parent.parent.name != "worked_examples":
        return None
    from lmverify.selection import certainly_unselected

    topic = _topic_of(collection_path)
    if topic is None:  # harness, catalogue and golden-file tests take their parameter ids from data files
        return None
    try:
        text = collection_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    extra = "claims page schema" if collection_path.suffix == ".yaml" else ""
    functions = " ".join(f for eq, f in _equation_functions().items() if eq in text)  # keywords added at collection
    words = f"{collection_path.parent.name} {name} {topic} {extra} {config.rootpath.name} {functions}\n{text}"
    return True if certainly_unselected(keyword, words) else None


#: a student fixture named as a parameter (``(check,``, ``, backend)``, ``numeric_backend:``) or as a string
#: (``usefixtures("check")``); a superset of the files whose items can keep a student fixture in their closure
_STUDENT_FIXTURE_WORD = re.compile(r"""[(,]\s*(?:backend|numeric_backend|check)\s*[,):=]|["'](?:backend|numeric_backend|check)["']""")
_STUDENT_FIXTURE_STRING = re.compile(r"""["'](?:backend|numeric_backend|check)["']""")
_DEF = re.compile(r"\bdef\s+\w+\s*\(")


def _names_student_fixture(text: str) -> bool:
    """Whether a test module's text can give an item a student fixture: a ``def`` (a test or a fixture) with a
    parameter of that name, or the name as a string (``usefixtures("check")``, ``getfixturevalue``,
    ``parametrize("backend", ...)``). The parameter lists are read with their parentheses balanced, so a call
    argument such as ``subprocess.run(..., check=True)`` does not count; where a list cannot be read (an
    unbalanced parenthesis), the module counts as naming one (it is collected)."""
    if _STUDENT_FIXTURE_STRING.search(text):
        return True
    if not _STUDENT_FIXTURE_WORD.search(text):
        return False  # the cheap superset first: most modules stop here
    for m in _DEF.finditer(text):
        depth, i, start = 1, m.end(), m.end()
        while i < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        if depth:
            return True
        params, depth, part = [], 0, []
        for c in text[start:i - 1]:
            if c in "([{":
                depth += 1
            elif c in ")]}":
                depth -= 1
            if c == "," and depth == 0:
                params.append("".join(part))
                part = []
            else:
                part.append(c)
        params.append("".join(part))
        names = {p.split(":")[0].split("=")[0].strip().lstrip("*") for p in params}
        if names & _STUDENT_FIXTURES:
            return True
    return False


def _cannot_run_student(path: Path, config: pytest.Config) -> bool:
    """Under --impl, only items with a student fixture (backend, numeric_backend, check) in their closure are kept
    (:func:`pytest_collection_modifyitems`): a worked-example file, a notebook, or a test module whose text never
    names one of those fixtures cannot give one, and is not collected (its import and items cost a student's run
    a second). Off with LMVERIFY_K_PREFILTER=0, and wherever a conftest.py names a student fixture (a fixture
    there could request it for a module that does not name it)."""
    if os.environ.get("LMVERIFY_K_PREFILTER") == "0" or not path.is_file():
        return False
    name = path.name
    if path.suffix == ".ipynb":
        return True
    if path.suffix == ".yaml":
        return path.parent.parent.name == "worked_examples" and path.parent.name in TOPICS
    if path.suffix != ".py" or not (name.startswith("test_") or name.endswith("_test.py")):
        return False
    if _conftest_names_student_fixture(path.parent, config.rootpath):
        return False
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return not _names_student_fixture(text)


@functools.lru_cache(maxsize=None)
def _conftest_names_student_fixture(folder: Path, root: Path) -> bool:
    for d in (folder, *folder.parents):
        conftest = d / "conftest.py"
        try:
            if conftest.is_file() and _STUDENT_FIXTURE_WORD.search(conftest.read_text(encoding="utf-8")):
                return True
        except (OSError, UnicodeDecodeError):
            return True
        if d == root or d == d.parent:
            break
    return False


def _prefilter_keyword(config: pytest.Config) -> str | None:
    """The -k expression, unless LMVERIFY_K_PREFILTER=0 (to check that the prefilter changes no selection)."""
    return None if os.environ.get("LMVERIFY_K_PREFILTER") == "0" else config.getoption("keyword")


def _topic_of(path: Path) -> str | None:
    name = path.stem
    if path.suffix == ".yaml":
        return path.parent.name if path.parent.name in TOPICS else None
    if name.startswith("test_"):
        for topic in TOPICS:
            if name == f"test_{topic}" or name.startswith(f"test_{topic}_"):
                return topic
    return None


_STUDENT_FIXTURES = {"backend", "numeric_backend", "check"}


def _equation_functions() -> dict[str, str]:
    """Equation id -> the name of the function that implements it (the catalogue's), read once."""
    global _EQUATION_FUNCTIONS
    if _EQUATION_FUNCTIONS is None:
        from lmverify import catalogue

        _EQUATION_FUNCTIONS = {eq["id"]: catalogue.function_of(eq)[1] for eq in catalogue.load()}
    return _EQUATION_FUNCTIONS


_EQUATION_FUNCTIONS: dict[str, str] | None = None


@pytest.hookimpl(tryfirst=True)  # before pytest's own -k deselection, which reads the keywords added here
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    functions = _equation_functions()
    for item in items:
        # `-k greedy_decode` selects the tests of the equations greedy_decode implements, whatever their names
        for eq in (a for m in item.iter_markers("equation") for a in m.args):
            if eq in functions:
                item.extra_keyword_matches.add(functions[eq])
    if config.stash[_STUDENTS] is not None:
        # under --impl only the tests that run the student's code count: the others (catalogue, harness,
        # worked examples, the references' own oracles, a test that takes the backend but never uses it) would be
        # passes that say nothing about it
        keep = [i for i in items if _STUDENT_FIXTURES & set(getattr(i, "fixturenames", ())) and _uses_student(i)]
        dropped = [i for i in items if i not in keep]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = keep
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


def _uses_student(item: pytest.Item) -> bool:
    """Whether the test's own code reads the fixture that runs the student's code (a test that asks for
    ``numeric_backend`` and never uses it checks nothing of the student's). Read from the function's bytecode:
    a load of the parameter, or its capture by an inner function."""
    fn = getattr(item, "function", None)
    info = getattr(item, "_fixtureinfo", None)
    names = _STUDENT_FIXTURES & set(info.argnames if info is not None else ())
    for _ in range(4):  # the test's own function, under hypothesis' wrapper (which passes every argument on)
        if fn is None:
            break
        fn = inspect.unwrap(fn)
        inner = getattr(getattr(fn, "hypothesis", None), "inner_test", None)
        if inner is None:
            break
        fn = inner
    code = getattr(fn, "__code__", None)
    if code is None or not names:
        return True  # through another fixture, or not a Python function: cannot tell, kept
    if names & set(code.co_cellvars):
        return True
    return any(ins.opname in ("LOAD_FAST", "LOAD_DEREF", "LOAD_CLOSURE", "LOAD_FAST_CHECK") and ins.argval in names
               for ins in dis.get_instructions(code))


_STUDENT_CALLS = pytest.StashKey[int]()


_NOT_COVERED = pytest.StashKey[dict]()


def _student_facing(exc: BaseException) -> str:
    """Under --impl, the text a student reads for what hypothesis wraps around the suite's own failure: several
    distinct failures (an exception group: the first is shown, the others counted) or a flaky one (the student's
    code answered the same input differently on the replay: state kept between calls). '' for anything else."""
    try:
        from hypothesis.errors import Flaky
    except ImportError:  # pragma: no cover
        Flaky = ()  # type: ignore[assignment]
    inner = list(getattr(exc, "exceptions", ()) or ())
    mine = [e for e in inner if isinstance(e, (VerificationError, AssertionError))]
    if Flaky and isinstance(exc, Flaky):
        first = next((str(e) for e in mine), "")
        return ("Your code gave different results for the same input when hypothesis ran it again: it keeps state "
                "between calls (a global or class attribute, a cache, a counter, random numbers without a fixed "
                "seed), so its failure cannot be replayed. Make each call depend on its arguments only."
                + (f"\nThe failure on the first run:\n{first}" if first else ""))
    if mine and isinstance(exc, BaseExceptionGroup):
        more = len(inner) - 1
        return str(mine[0]) + (f"\n({more} more distinct failure{'s' if more > 1 else ''} of this test on other "
                               "inputs: fix this one and run again)" if more else "")
    return ""


def _not_covered_type() -> type:
    from lmverify.students.loading import NotCovered

    return NotCovered


def _verification_failure(exc: BaseException | None):
    """The :class:`~lmverify.compare.Failure` of a test's exception (the first one of an exception group, as
    hypothesis raises for several distinct failures), or None."""
    seen = 0
    while exc is not None and seen < 8:
        seen += 1
        if isinstance(exc, VerificationError):
            return exc.failure
        inner = getattr(exc, "exceptions", None)
        exc = inner[0] if inner else (exc.__cause__ or exc.__context__)
    return None


def _count_not_covered(item: pytest.Item) -> tuple[dict, Any, Any] | None:
    """Under --impl, wrap the hypothesis test's body so that an example the student's code declines
    (:class:`~lmverify.students.loading.NotCovered`) is counted and ends that example only; the test goes on
    with the next (hypothesis' documented ``inner_test`` hook). Returns (counts, the hypothesis handle, the
    original body) to restore, or None for a test without hypothesis."""
    hyp = getattr(getattr(item, "obj", None), "hypothesis", None)
    inner = getattr(hyp, "inner_test", None)
    if inner is None:
        return None
    from lmverify.students.loading import NotCovered

    counts: dict = {"ran": 0, "declined": 0, "reasons": []}

    @functools.wraps(inner)
    def body(*args: Any, **kwargs: Any) -> Any:
        counts["ran"] += 1
        try:
            return inner(*args, **kwargs)
        except NotCovered as exc:
            counts["declined"] += 1
            reason = str(exc).removeprefix("not covered: ")
            if reason not in counts["reasons"] and len(counts["reasons"]) < 3:
                counts["reasons"].append(reason)
            return None
        except BaseException as exc:
            if type(exc).__module__.startswith("hypothesis"):  # a draw hypothesis rejected: not an input run
                counts["ran"] -= 1
            raise

    hyp.inner_test = body
    return counts, hyp, inner


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """Under --impl, count the calls of the student's functions that the test made (see makereport), and the
    examples the student's code declined (not covered)."""
    if item.config.stash.get(_STUDENTS, None) is None:
        return (yield)
    from lmverify.students import isolation

    before = isolation.calls_made()
    declined_before = len(isolation.DECLINED)
    wrapped = _count_not_covered(item)
    try:
        return (yield)
    finally:
        item.stash[_STUDENT_CALLS] = isolation.calls_made() - before
        if wrapped is not None:
            counts, hyp, inner = wrapped
            hyp.inner_test = inner
            if counts["declined"]:
                item.stash[_NOT_COVERED] = counts
        elif len(isolation.DECLINED) > declined_before:  # a test without hypothesis (pinned inputs, one input)
            reasons = list(dict.fromkeys(isolation.DECLINED[declined_before:]))
            item.stash[_NOT_COVERED] = {"declined": len(isolation.DECLINED) - declined_before, "ran": None,
                                        "reasons": reasons[:3]}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A skip raised inside the harness (a student function not written yet) is reported at the test,
    not at the line of pytest's or the harness's code that raised it. Under --impl, a test that passed
    without calling any of the student's functions is a skip that says so, never a pass."""
    rep = yield
    if rep.skipped and call.excinfo is not None and call.excinfo.errisinstance(_not_covered_type()):
        rep.user_properties.append(("lmverify_declined", "all"))  # a test with one input, or every pin declined
    declined = item.stash.get(_NOT_COVERED, None) if rep.when == "call" else None
    if declined and rep.passed:
        reasons = "; ".join(declined["reasons"])
        if declined["ran"] is None:  # some of a test's fixed inputs were declined, the others passed
            rep.user_properties.append(("lmverify_not_covered", f"{item.nodeid}: {declined['declined']} input"
                                        f"{'s' if declined['declined'] > 1 else ''} not covered ({reasons})"))
        elif declined["declined"] >= declined["ran"]:
            _, lineno, _ = item.location
            rep.outcome = "skipped"
            rep.user_properties.append(("lmverify_declined", "all"))
            rep.longrepr = (str(item.path), (lineno or 0) + 1,
                            f"Skipped: not covered: your code declined every input the test drew "
                            f"({declined['ran']}): {reasons}")
        else:
            rep.user_properties.append(("lmverify_not_covered", f"{item.nodeid}: {declined['declined']} of "
                                        f"{declined['ran']} inputs not covered ({reasons})"))
    elif rep.passed and rep.when == "call" and item.stash.get(_STUDENT_CALLS, None) == 0:
        _, lineno, _ = item.location
        rep.outcome = "skipped"
        rep.longrepr = (str(item.path), (lineno or 0) + 1,
                        "Skipped: this test called none of the student's functions under --impl (it checked "
                        "nothing of yours)")
    if rep.failed and rep.when == "call":
        failure = _verification_failure(call.excinfo.value if call.excinfo is not None else None)
        if failure is not None:  # the fields, for the grader: nothing reads the rendered text back
            rep.user_properties.append(("lmverify_problem", failure.problem))
            rep.user_properties.extend(("lmverify_hint", h) for h in failure.hints)
        if (item.config.getoption("--impl") and call.excinfo is not None
                and call.excinfo.errisinstance(VerificationError)):
            # a student sees the suite's message (equation, input, expected, got, hint), not the test's code
            rep.longrepr = f"{item.nodeid}\n{call.excinfo.value}"
        elif item.config.getoption("--impl") and call.excinfo is not None:
            text = _student_facing(call.excinfo.value)
            if text:
                rep.longrepr = f"{item.nodeid}\n{text}"
        rep.sections.append(("To rerun this exact case", _rerun_command(item)))
    if rep.skipped and isinstance(rep.longrepr, tuple) and len(rep.longrepr) == 3:
        path, _, msg = rep.longrepr
        if "site-packages" in str(path) or f"{os.sep}lmverify{os.sep}" in str(path):
            _, lineno, _ = item.location
            rep.longrepr = (str(item.path), (lineno or 0) + 1, msg)
    return rep


def _rerun_command(item: pytest.Item) -> str:
    import shlex

    config = item.config
    parts = ["pytest", shlex.quote(item.nodeid)]
    for spec in config.getoption("--impl") or ():
        parts.append(shlex.quote(f"--impl={spec}"))
    if config.getoption("--impl") and config.getoption("--impl-array") != "numpy":
        parts.append(f"--impl-array={config.getoption('--impl-array')}")
    if config.getoption("--course"):
        parts.append(shlex.quote(f"--course={config.getoption('--course')}"))
    profile = config.getoption("hypothesis_profile", None)
    if profile:
        parts.append(f"--hypothesis-profile={profile}")
    hint = " (hypothesis replays the failing example from its database, .hypothesis/)" \
        if getattr(getattr(item, "obj", None), "is_hypothesis_test", False) else ""
    return " ".join(parts) + hint


def pytest_collection_finish(session: pytest.Session) -> None:
    """Move what the imports and the collection made (torch, SymPy, the test modules: millions of objects)
    into the garbage collector's permanent generation. Nothing there is garbage, and pytest's own full
    collections at the end of the session (its unraisable-exception check) then skip it: about 0.4 s of a
    student's 3 s loop. Objects the tests create are collected as usual."""
    gc.freeze()


def pytest_report_collectionfinish(config: pytest.Config, start_path: Path, items: list[pytest.Item]) -> list[str] | str:
    """``pytest -k <word>`` that selects nothing says what the suite covers instead of only 'deselected'."""
    keyword = config.getoption("keyword")
    if keyword and not items:
        from lmverify import catalogue

        import difflib
        import re

        words = sorted({eq["function"].split(".")[-1] for eq in catalogue.load()})
        vocabulary = sorted(set(TOPICS) | {w for f in words for w in f.split("_") if len(w) > 2} | set(words))
        typed = [w for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", keyword) if w not in ("and", "or", "not")]
        close = sorted({c for w in typed for c in difflib.get_close_matches(w.lower(), vocabulary, n=3, cutoff=0.6)})
        lines = [f"lmverify: no test matches -k {keyword!r}."]
        if close:
            lines.append(f"  closest words: {', '.join(close)}")
        lines += [f"  topics: {', '.join(TOPICS)}",
                  f"  equation functions (a word of one selects its tests): {', '.join(words)}",
                  "  `lmverify coverage` lists every equation with its tests."]
        return lines
    return []


# -- backends --------------------------------------------------------------------------------------

def _backend_params(metafunc: pytest.Metafunc, with_sympy: bool) -> list[str]:
    if metafunc.config.stash[_STUDENTS] is not None:
        return ["impl"]
    return [b for b in BACKEND_NAMES if with_sympy or b != "sympy"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    numeric_only = metafunc.definition.get_closest_marker("numeric") is not None
    if "entry" in metafunc.fixturenames:
        _parametrize_entries(metafunc)
    for name, with_sympy in (("backend", not numeric_only), ("numeric_backend", False), ("check", not numeric_only)):
        if name in metafunc.fixturenames:
            if name == "check" and "backend" in metafunc.fixturenames:
                continue  # check follows the test's backend parameter
            metafunc.parametrize(name, _backend_params(metafunc, with_sympy), indirect=True)


def _parametrize_entries(metafunc: pytest.Metafunc) -> None:
    from lmverify import registry

    from lmverify.selection import certainly_unselected

    template = metafunc.function.__name__
    applies = registry.TEMPLATES.get(template, lambda e: True)
    keyword = _prefilter_keyword(metafunc.config)
    params = []
    for e in registry.load():
        words = f"{template} {e.id} {e.function_name} {_equation_functions().get(e.id, '')} {e.topic} " \
                f"test_equations.py {metafunc.config.rootpath.name}"
        if applies(e) and not certainly_unselected(keyword, words):
            params.append(pytest.param(e, id=e.id, marks=[pytest.mark.equation(e.id), getattr(pytest.mark, e.topic),
                                                          pytest.mark.generic]))
    metafunc.parametrize("entry", params)


def _make_backend(request: pytest.FixtureRequest) -> Backend:
    name = request.param
    if name != "impl":
        return Backend(name)
    students = request.config.stash[_STUDENTS]
    from lmverify.backends import SkipImpl

    for student in students.by_topic.values():  # import now, outside hypothesis: a failure is reported once
        try:
            student.process.ready()
        except ImplError as exc:
            pytest.fail(str(exc), pytrace=False)
        except SkipImpl as exc:
            pytest.skip(str(exc))
    return Backend("impl", students=students)


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
def oracle(request: pytest.FixtureRequest) -> Backend:
    """The backend that the test's backend is checked against (sympy for numpy, numpy for the rest)."""
    for name in ("backend", "numeric_backend", "check"):
        if name in request.fixturenames:
            b = request.getfixturevalue(name)
            b = b.backend if hasattr(b, "backend") else b
            return Backend(b.oracle)
    return Backend("numpy")


@pytest.fixture
def equation(request: pytest.FixtureRequest) -> str | None:
    marker = request.node.get_closest_marker("equation")
    return marker.args[0] if marker and marker.args else None


@pytest.fixture
def check(request: pytest.FixtureRequest, equation: str | None):
    """Comparisons bound to the test's equation, backend and tolerance (lmverify.check.Check)."""
    from lmverify.check import Check

    if equation is None:
        raise pytest.UsageError(f"{request.node.nodeid}: the check fixture needs @pytest.mark.equation(<id>)")
    b = request.getfixturevalue("backend") if "backend" in request.fixturenames else _make_backend(request)
    return Check(equation, b)


@pytest.fixture(scope="session")
def course_dir(request: pytest.FixtureRequest) -> Path:
    course = request.config.getoption("--course")
    if course is None:
        pytest.skip("needs the course pages: pass --course PATH (e.g. --course ../shared/course)")
    return Path(course)


# -- worked-example YAML files are tests of their own ------------------------------------------------

def pytest_collect_file(parent: pytest.Collector, file_path: Path):
    if file_path.suffix == ".yaml" and file_path.parent.parent.name == "worked_examples" \
            and file_path.parent.name in TOPICS:
        from lmverify.pytest_worked import UnjudgedFile, WorkedExampleFile
        from lmverify.worked import NOT_EXAMPLES

        if file_path.name in NOT_EXAMPLES:
            return UnjudgedFile.from_parent(parent, path=file_path)
        return WorkedExampleFile.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """Notebooks are collected by nbmake (``--nbmake`` in addopts); its advertisement at the end of every
    run, students' runs included, is not printed (nbmake reads the option once more, here, only for it)."""
    config.option.nbmake = False
    partial = [v for rep in terminalreporter.stats.get("passed", [])
               for k, v in getattr(rep, "user_properties", ()) if k == "lmverify_not_covered"]
    if partial:
        terminalreporter.write_sep("-", "not covered: inputs your code declined (NotSupported)")
        for line in partial:
            terminalreporter.write_line(line)


_RESULTS = pytest.StashKey[list]()


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem):
    """With --lmverify-results, record each test's outcome, equations and hint (for the grader)."""
    if not item.config.getoption("--lmverify-results"):
        return (yield)
    from lmverify.students import isolation

    isolation.CALLED.clear()
    reports: list = []

    def collect(report):
        reports.append(report)

    item.config.pluginmanager.register(type("_Rec", (), {"pytest_runtest_logreport": staticmethod(collect)})(),
                                       f"lmverify-rec-{id(item)}")
    try:
        return (yield)
    finally:
        item.config.pluginmanager.unregister(name=f"lmverify-rec-{id(item)}")
        outcome = "passed"
        hint = message = declined = ""
        for rep in reports:
            kinds = [v for k, v in getattr(rep, "user_properties", ()) if k == "lmverify_declined"]
            if kinds:
                declined = kinds[0]
            if rep.failed:
                outcome = "failed"
                props = [(k, v) for k, v in getattr(rep, "user_properties", ())]
                problems = [v for k, v in props if k == "lmverify_problem"]
                hints = [v for k, v in props if k == "lmverify_hint"]
                crash = getattr(rep.longrepr, "reprcrash", None)
                first = (crash.message if crash is not None else str(rep.longrepr).strip()).splitlines()[:1] or [""]
                message = (problems[0] if problems else first[0])[:300]
                if hints:
                    hint = hints[0].splitlines()[0].strip()
            elif rep.skipped and outcome == "passed":
                outcome = "skipped"
                longrepr = rep.longrepr
                message = (longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr))[:300]
            elif rep.passed and rep.when == "call" and outcome == "passed":
                partly = [v for k, v in getattr(rep, "user_properties", ()) if k == "lmverify_not_covered"]
                if partly:  # a pass on the inputs the student's code accepted; the others were declined
                    message = partly[0].split(": ", 1)[-1][:300]
                    declined = "some"
        equations = [a for m in item.iter_markers("equation") for a in m.args]
        item.config.stash.setdefault(_RESULTS, []).append(
            {"nodeid": item.nodeid, "equations": equations, "outcome": outcome, "hint": hint, "message": message,
             "functions": sorted(isolation.CALLED), "declined": declined})


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if session.config.stash.get(_STUDENTS, None) is not None:  # no student's process runs while results are written
        from lmverify.students import isolation

        isolation.shutdown()
    path = session.config.getoption("--lmverify-results")
    if path:
        import json

        Path(path).write_text(json.dumps(session.config.stash.get(_RESULTS, []), indent=1), encoding="utf-8")

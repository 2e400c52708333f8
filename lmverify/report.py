"""``lmverify report``: the verification report (the main job), as a command.

The work is done in :mod:`lmverify.course`: :mod:`~lmverify.course.verify` (``build``: every claim judged
against the number its page prints now, inputs read from the page, equations looked up, printed numbers
accounted for, code blocks run), :mod:`~lmverify.course.findings` (typed findings and their kinds),
:mod:`~lmverify.course.render` (Markdown, JUnit XML, GitHub annotations) and :mod:`~lmverify.course.gate`
(baselines and ``--fail-on``). This module parses the command's options and wires them; the names below are
re-exported so ``from lmverify import report; report.build(...)`` keeps working.

What fails a report (``--fail-on KINDS``; ``any`` = all of them), each a *finding* with a page and a line:
``error``, ``rounding``, ``convention`` (errata), ``missing`` (a claim whose context is gone from its page:
never judged, never correct), ``equation`` (a catalogued equation no longer in its page), ``code`` (a python
block that fails or prints other than the page states). Carried rounding is listed apart and never fails.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lmverify.course.findings import (  # noqa: F401 - re-exported
    KINDS,
    EquationCheck,
    Erratum,
    changed_equations,
    errata,
    failing_code,
    findings,
    missing_claims,
)
from lmverify.course.gate import gate, missing_baseline, read_baseline, write_baseline  # noqa: F401 - re-exported
from lmverify.course.judging import MISSING, ExampleReport  # noqa: F401 - re-exported
from lmverify.course.render import github_annotations, junit, markdown  # noqa: F401 - re-exported
from lmverify.course.verify import Reports, build, check_equations, load_equations  # noqa: F401 - re-exported
from lmverify.exitcodes import EXIT_ERRATA, EXIT_EXAMPLE, EXIT_OK, EXIT_OUT_OF_DATE, EXIT_USAGE, OutputError
from lmverify.pages import course_pages
from lmverify.sandbox import cpu_seconds_arg
from lmverify.trace import trace  # noqa: F401 - re-exported (lmverify trace)
from lmverify.worked import EXAMPLES_DIR, load_all_examples, with_builtin_examples  # noqa: F401 - re-exported

def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``lmverify report`` (the CLI's ``report`` subparser calls this)."""
    parser.add_argument("--course", help="folder of the course pages: locate every claim in them, look up their "
                                         "equations and run their code blocks. A course repository's root (its "
                                         "mkdocs.yml's docs_dir) or a folder above the pages is searched for them")
    parser.add_argument("--junit", help="also write the claims, equations and code blocks as JUnit XML to this file")
    parser.add_argument("--topic", help="only this topic's equations and examples")
    parser.add_argument("--fail-on-errata", action="store_true", help="exit 1 when the pages have errata (= --fail-on any)")
    parser.add_argument("--fail-on", default=None, metavar="KINDS",
                        help="exit 1 when there are (new, with --baseline) findings of these kinds: comma-separated "
                             "error, rounding, convention (errata), missing (a claim whose context is gone from "
                             "its page), equation (a catalogued equation no longer in its page), code (a failing code block), "
                             "timeout (a code block stopped at its time limit), or any")
    parser.add_argument("--baseline", default=None, metavar="FILE",
                        help="accepted findings (from --write-baseline): only findings not in it trip --fail-on")
    parser.add_argument("--write-baseline", default=None, metavar="FILE", help="write the current findings as accepted")
    parser.add_argument("--github", action="store_true",
                        help="also write the findings as GitHub Actions annotations to stderr (the job's log, where "
                             "GitHub reads them; stdout stays the report): new findings first, accepted ones as notices")
    parser.add_argument("--no-code", action="store_true",
                        help="do not run the pages' python code blocks (they run by default with --course)")
    parser.add_argument("--code-timeout", type=cpu_seconds_arg, default=None, metavar="SECONDS",
                        help="CPU-time limit of each code block in CPU seconds, where the page sets none with "
                             "<!-- lmverify: cpu=N --> before the block (default 300; a wall-clock backstop of "
                             "ten times that stops a block that sleeps)")
    parser.add_argument("--examples-dir", default=None, metavar="DIR",
                        help="a course's own worked examples, <DIR>/<topic>/<name>.yaml with recipes.py beside them, "
                             "judged with the built-in ones (an example of the same id replaces the built-in one)")
    parser.add_argument("--equations", default=None, metavar="FILE",
                        help="YAML list of equations (id, page, line, latex) to look up in the pages instead of "
                             "the project's catalogue")


EPILOG = ("exit codes: 0 ok; 1 findings of the --fail-on kinds (new ones, with --baseline); 2 usage (also a "
          "--baseline file that is not there); 3 course folder or page unusable; 4 malformed project data; 5 pages "
          "changed (a claim no longer found, or a computed verdict differs from the record; not with --baseline); "
          "6 an output could not be written (--junit, --write-baseline, stdout: full disk, missing folder, not writable); "
          "7 a worked example could not be computed (its recipe raised or returned inf; the others were judged)")


def command(args: argparse.Namespace) -> int:
    """Run ``lmverify report`` with parsed ``args``; returns the exit code. Raises CourseError (exit 3) and
    WorkedExampleError / CatalogueError (exit 4) for the caller to map, and SystemExit(2) for usage."""
    def usage(message: str) -> SystemExit:
        print(f"lmverify: {message}", file=sys.stderr)
        return SystemExit(EXIT_USAGE)

    topic = args.topic
    if topic is not None:
        from lmverify.catalogue import topics

        if topic not in topics() and args.examples_dir is None:
            import difflib

            close = difflib.get_close_matches(topic, topics(), n=1)
            raise usage(f"--topic {topic!r}: unknown topic; expected one of {', '.join(topics())}"
                        + (f" (did you mean {close[0]!r}?)" if close else ""))
    kinds = set(args.fail_on.split(",")) if args.fail_on else set()
    bad = kinds - set(KINDS) - {"any"}
    if bad:
        raise usage(f"--fail-on {args.fail_on!r}: unknown kind(s) {', '.join(sorted(bad))}; "
                    f"expected {', '.join(KINDS)} or any, comma-separated")
    if args.junit and not Path(args.junit).resolve().parent.is_dir():
        raise usage(f"--junit {args.junit!r}: the folder {str(Path(args.junit).resolve().parent)!r} does not exist")
    if args.baseline and not Path(args.baseline).is_file():
        raise usage(f"--baseline: {missing_baseline(args.baseline)}")
    baseline = read_baseline(Path(args.baseline)) if args.baseline else None
    examples_dir = Path(args.examples_dir) if args.examples_dir else None
    equations = load_equations(Path(args.equations)) if args.equations else None
    course = None
    if args.course:
        course = locate_course(args.course, examples_dir, equations)
    examples = None
    if examples_dir is not None:  # the course's own examples, added to the built-in ones
        examples, left_out = with_builtin_examples(examples_dir, set(course_pages(course)) if course else None)
        if topic:
            examples = [e for e in examples if e.topic == topic]
        builtin_kept = any(ex.path.resolve().is_relative_to(EXAMPLES_DIR.resolve()) for ex in examples)
        if left_out and builtin_kept:  # the course has some of the built-in pages, not all: say which are not judged
            print(f"lmverify: {len(left_out)} built-in example(s) not judged: their page is not in {course} "
                  f"({', '.join(sorted({ex.page for ex in left_out}))})", file=sys.stderr)
    reports = build(course, examples, examples_dir=examples_dir,
                    code=course is not None and not args.no_code, code_timeout=args.code_timeout,
                    equations=equations, topic=topic)
    write_stdout(markdown(reports))
    if args.fail_on_errata:
        kinds.add("any")
    if args.junit:
        junit(reports, Path(args.junit), baseline=baseline)
    if args.github:  # to stderr: the log, where GitHub reads workflow commands (stdout is the report)
        sys.stderr.write(github_annotations(reports, fail_on=kinds or None, baseline=baseline))
        sys.stderr.flush()
    if args.write_baseline:
        n = write_baseline(reports, Path(args.write_baseline))
        print(f"lmverify: wrote {n} accepted finding(s) to {args.write_baseline}", file=sys.stderr)
    new, fixed = gate(reports, kinds, baseline)
    for e in reports.example_errors:  # recipes that raised or returned inf: named, not findings (EXIT_EXAMPLE)
        print(f"lmverify: example not judged: {e}", file=sys.stderr)
    for f in fixed:
        print(f"lmverify: fixed since the baseline: {f[0]} {f[2]} (was {f[3]})", file=sys.stderr)
    if new:
        for e in new:
            said = (f"claimed {e.claimed}, correct {e.correct}" if e.kind in ("error", "rounding", "convention")
                    else e.claimed if e.kind in ("code", "timeout") else e.explanation if e.kind == MISSING
                    else f"the page now reads {e.claimed}")
            print(f"lmverify: {'new ' if baseline is not None else ''}{e.kind}: {e.page}:{e.line} {e.what}: {said}",
                  file=sys.stderr)
        return EXIT_EXAMPLE if reports.example_errors else EXIT_ERRATA
    if reports.example_errors:
        return EXIT_EXAMPLE
    if any(r.page_problems or r.mismatches for r in reports) and baseline is None:
        return EXIT_OUT_OF_DATE
    return EXIT_OK


def locate_course(given: str | Path, examples_dir: Path | None = None, equations: list[dict] | None = None,
                  pages: "set[str] | frozenset[str]" = frozenset()) -> Path:
    """The pages' folder ``--course`` means (:func:`lmverify.course.course.find_course`), looking for the
    pages of the catalogue (the built-in examples' pages are among them), of ``examples_dir``'s examples, of
    ``equations`` and ``pages``; says on stderr where it found them when that is not the folder given."""
    from lmverify.catalogue import load
    from lmverify.course.course import find_course

    known = {eq["page"] for eq in load()}  # the built-in examples' pages are the catalogue's
    if examples_dir is not None and Path(examples_dir).is_dir():
        known |= {ex.page for ex in load_all_examples(examples_dir)}
    known |= {eq["page"] for eq in equations or []} | set(pages)
    folder, how = find_course(given, frozenset(known))
    if how:
        print(f"lmverify: {how}", file=sys.stderr)
    return folder


def write_stdout(text: str) -> None:
    """The report on stdout; a stdout that cannot take it (a full disk, a closed pipe) is an
    :class:`~lmverify.exitcodes.OutputError`, and stdout is pointed at the null device so that Python's own
    flush at exit does not fail a second time with a traceback."""
    import os

    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError as exc:
        try:
            fd = sys.stdout.fileno()
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, fd)
            os.close(null)
        except (OSError, ValueError, AttributeError):
            pass
        raise OutputError(f"stdout: cannot write the report ({exc.strerror or type(exc).__name__}); "
                          f"is the disk full, or the pipe closed?") from None


def main(argv: list[str] | None = None) -> int:
    """``lmverify report`` on its own (the arguments after ``report``), with the CLI's exit codes."""
    from lmverify.cli import main as cli_main

    return cli_main(["report", *(sys.argv[1:] if argv is None else argv)])

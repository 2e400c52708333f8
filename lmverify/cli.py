"""``lmverify``: the verification report (the main job), the coverage matrix, and example traces.

    lmverify report [--course PATH] [--junit FILE] [--topic T] [--fail-on-errata]
    lmverify coverage [--topic T]
    lmverify trace worked_examples/<topic>/<file>.yaml [--backend numpy|torch64|sympy]
    lmverify starter|grade|new|claims|notebooks ...  (see README)
    lmverify ngram estimate CORPUS -o N > model.arpa;  lmverify ngram score model.arpa < text
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lmverify.catalogue import CatalogueError


from lmverify.exitcodes import (  # noqa: F401 - the exit codes, importable from here as before
    EXIT_COURSE,
    EXIT_DATA,
    EXIT_ERRATA,
    EXIT_OK,
    EXIT_OUT_OF_DATE,
    EXIT_OUTPUT,
    EXIT_USAGE,
    OutputError,
)


def _usage(message: str) -> SystemExit:
    print(f"lmverify: {message}", file=sys.stderr)
    return SystemExit(EXIT_USAGE)


def _topic(value: str | None) -> str | None:
    if value is None:
        return None
    from lmverify.catalogue import topics

    known = topics()
    if value not in known:
        import difflib

        close = difflib.get_close_matches(value, known, n=1)
        raise _usage(f"--topic {value!r}: unknown topic; expected one of {', '.join(known)}"
                     + (f" (did you mean {close[0]!r}?)" if close else ""))
    return value


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["ngram"]:  # NumPy only: answer without importing torch and SymPy (seconds per call)
        from lmverify import ngram_cmd

        return ngram_cmd.main(argv)
    from lmverify import ngram_cmd
    from lmverify.backends import BACKEND_NAMES

    parser = argparse.ArgumentParser(prog="lmverify", description=__doc__.splitlines()[0],
                                     epilog="exit codes: 0 ok, 1 findings of the --fail-on kinds (errata, changed equations, failing code blocks), 2 usage, 3 course folder "
                                            "or page unusable, 4 malformed project data, 5 pages changed, 6 an output could not be written "
                                            "(full disk, missing folder, not writable)")
    sub = parser.add_subparsers(dest="command", required=True)
    from lmverify.report import EPILOG as REPORT_EPILOG, add_arguments as report_arguments

    rep = sub.add_parser("report", help="coverage matrix, every claim with its verdict, the errata, the pages' "
                                        "equations and code blocks (Markdown)", epilog=REPORT_EPILOG)
    report_arguments(rep)
    cov = sub.add_parser("coverage", help="the equation catalogue's coverage matrix")
    cov.add_argument("--topic")
    tr = sub.add_parser("trace", help="full-precision trace of one worked example")
    tr.add_argument("file")
    tr.add_argument("--backend", default="numpy", choices=BACKEND_NAMES)
    tr.add_argument("--places", type=int, default=4, help="decimal places of the rounded LaTeX block (default 4)")
    st = sub.add_parser("starter", help="a module to fill in: every function of a topic (or equation words), "
                                        "with its equation, shapes and expected errors, raising NotImplementedError")
    st.add_argument("words", nargs="+", help="a topic (attention, recurrent, ...) or equation words (lstm, softmax)")
    st.add_argument("-o", "--output", help="write to this file (default: stdout)")
    from lmverify import grade as _grade

    _grade.register(sub)
    nw = sub.add_parser("new", help="a worked-example file and a recipe skeleton for an author")
    nw.add_argument("topic")
    nw.add_argument("name", help="the example's name (also its recipe's name)")
    nw.add_argument("--section", default="", help="the section heading or example title as printed")
    nw.add_argument("-o", "--examples-dir", default=None, metavar="DIR",
                    help="write into DIR/<topic>/ (default: the examples_dir option of the lmverify plugin in the "
                         "course's mkdocs.yml, found at or above the current folder; this project's "
                         "worked_examples/ only when run inside this project)")
    nw.add_argument("--page", default=None, help="the page of the example (default: the topic's page in the "
                                                 "catalogue; needed for a topic of the course's own)")
    cl = sub.add_parser("claims", help="propose claims for a worked example: the numbers printed in its section "
                                       "that equal a quantity of its recipe, with line and anchor (YAML)")
    cl.add_argument("file")
    cl.add_argument("--course", required=True, help="folder of the course pages")
    nu = sub.add_parser("numbers", help="the printed numbers of the pages not yet accounted for (a claim, an input "
                                         "or an unjudged record), with their context and matching quantities")
    nu.add_argument("--course", required=True, help="folder of the course pages")
    nu.add_argument("--page", action="append", help="only this page (repeatable)")
    nu.add_argument("--all", action="store_true", help="every counted number, with how it is accounted for")
    nu.add_argument("--examples-dir", default=None, metavar="DIR",
                    help="a course's own worked examples, added to the built-in ones")
    from lmverify import notebooks

    notebooks.register(sub)
    ngram_cmd.register(sub)  # for --help; `lmverify ngram ...` is answered above
    args = parser.parse_args(argv)

    from lmverify import coverage, report
    from lmverify.pages import CourseError, course_pages
    from lmverify.worked import WorkedExampleError, load_example

    try:
        if args.command == "coverage":
            topic = _topic(args.topic)
            rows = coverage.coverage()
            if topic:
                rows = [r for r in rows if r["id"].startswith(topic + ".")]
            print(coverage.coverage_markdown(rows))
            return EXIT_OK
        if args.command == "grade":
            return args.func(args)
        if args.command == "claims":
            import yaml

            from lmverify.authoring import _proposals
            from lmverify.course.course import Course

            example = load_example(args.file, allow_no_claims=True)
            course = Course(report.locate_course(args.course, pages={example.page}))
            try:
                claims, unmatched = _proposals(example, course)
            except ValueError as exc:
                raise _usage(str(exc)) from None
            report.write_stdout(yaml.safe_dump({"claims": claims}, sort_keys=False, allow_unicode=True, width=120))
            print(f"lmverify: {len(claims)} claim(s) proposed; check each context and add explanations for "
                  "non-correct verdicts", file=sys.stderr)
            if unmatched:
                print(f"lmverify: {len(unmatched)} printed number(s) of the example match no quantity of the recipe "
                      "(claim them by hand, read them as inputs, or declare them unjudged):", file=sys.stderr)
                for line, text, ctx in unmatched:
                    print(f"  line {line}: {text}   {ctx}", file=sys.stderr)
            return EXIT_OK
        if args.command == "new":
            from lmverify.authoring import new_example

            from lmverify.authoring import DOCS, FILLED_EXAMPLE

            try:
                yaml_path, recipes = new_example(args.topic, args.name, args.section, examples_dir=args.examples_dir,
                                                 page=args.page)
            except ValueError as exc:
                raise _usage(str(exc)) from None
            print(f"wrote {yaml_path} and a recipe {args.name} in {recipes}.\n"
                  f"The author's guide (schema, recipe helpers, carried rounding, anchor rules, a walk-through): {DOCS}\n"
                  f"Next: fill in inputs and the recipe; `lmverify trace {yaml_path}` prints every quantity; "
                  f"`lmverify claims {yaml_path} --course PATH` proposes the claims.\n"
                  f"A filled example (a four-token perplexity):\n\n{FILLED_EXAMPLE}", file=sys.stderr)
            return EXIT_OK
        if args.command == "starter":
            from lmverify.starter import starter

            try:
                text = starter(args.words)
            except ValueError as exc:
                raise _usage(str(exc)) from None
            if args.output:
                from lmverify.exitcodes import write_output

                write_output(args.output, text, "starter -o")
                print(f"wrote {args.output}: run  pytest -k {args.words[0]} --impl {args.output}", file=sys.stderr)
            else:
                report.write_stdout(text)
            return EXIT_OK
        if args.command == "trace":
            from lmverify.trace import trace

            print(trace(load_example(args.file, allow_no_claims=True), args.backend, args.places), end="")
            return EXIT_OK
        if args.command == "report":
            return report.command(args)
        if args.command == "numbers":
            examples_dir = Path(args.examples_dir) if args.examples_dir else None
            course = report.locate_course(args.course, examples_dir)
            examples = None
            if examples_dir is not None:  # the course's own examples, added to the built-in ones
                examples = report.with_builtin_examples(examples_dir, set(course_pages(course)))[0]
            reps = report.build(course, examples, examples_dir=examples_dir)
            from lmverify.course.accounting import numbers_listing

            for acc in reps.accounts:
                if args.page and acc.page not in args.page:
                    continue
                sys.stdout.write(numbers_listing(reps.pages.page(acc.page), acc,
                                                 [r for r in reps if r.example.page == acc.page], show_all=args.all))
            return EXIT_OK
        if hasattr(args, "func"):  # subcommands that register themselves: notebooks
            return args.func(args)
        raise AssertionError(f"unhandled command {args.command!r}")
    except CourseError as exc:
        print(f"lmverify: {exc}", file=sys.stderr)
        return EXIT_COURSE
    except OutputError as exc:
        print(f"lmverify: {exc}", file=sys.stderr)
        return EXIT_OUTPUT
    except (WorkedExampleError, CatalogueError) as exc:
        print(f"lmverify: {exc}", file=sys.stderr)
        return EXIT_DATA


if __name__ == "__main__":
    sys.exit(main())

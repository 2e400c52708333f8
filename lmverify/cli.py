"""``lmverify``: the verification report (the main job), the coverage matrix, and example traces.

    lmverify report [--course PATH] [--junit FILE] [--topic T] [--fail-on-errata]
    lmverify coverage [--topic T]
    lmverify trace worked_examples/<topic>/<file>.yaml [--backend numpy|torch64|sympy]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lmverify.backends import BACKEND_NAMES
from lmverify.catalogue import CatalogueError


def _course(value: str | None) -> Path | None:
    if value is None:
        return None
    p = Path(value)
    if not p.is_dir():
        raise SystemExit(f"lmverify: --course {value!r}: no such folder (expected the course pages, e.g. ../shared/course)")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lmverify", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="coverage matrix, every claim with its verdict, and the errata (Markdown)")
    rep.add_argument("--course", help="folder of the course pages: locate every claim in them")
    rep.add_argument("--junit", help="also write the claims as JUnit XML to this file")
    rep.add_argument("--topic", help="only this topic's equations and examples")
    rep.add_argument("--fail-on-errata", action="store_true", help="exit 1 when the pages have errata")
    cov = sub.add_parser("coverage", help="the equation catalogue's coverage matrix")
    cov.add_argument("--topic")
    tr = sub.add_parser("trace", help="full-precision trace of one worked example")
    tr.add_argument("file")
    tr.add_argument("--backend", default="numpy", choices=BACKEND_NAMES)
    args = parser.parse_args(argv)

    from lmverify import coverage, report
    from lmverify.worked import WorkedExampleError, load_all_examples, load_example

    try:
        if args.command == "coverage":
            rows = coverage.coverage()
            if args.topic:
                rows = [r for r in rows if r["id"].startswith(args.topic + ".")]
            print(coverage.coverage_markdown(rows))
            return 0
        if args.command == "trace":
            print(report.trace(load_example(args.file), args.backend), end="")
            return 0
        course = _course(args.course)
        examples = load_all_examples()
        if args.topic:
            examples = [e for e in examples if e.topic == args.topic]
        reports = report.build(course, examples)
        sys.stdout.write(report.markdown(reports, course, args.topic))
        if args.junit:
            report.junit(reports, Path(args.junit))
        problems = any(r.page_problems or r.mismatches for r in reports)
        if problems:
            return 2
        if args.fail_on_errata and report.errata(reports):
            return 1
        return 0
    except (WorkedExampleError, CatalogueError) as exc:
        print(f"lmverify: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

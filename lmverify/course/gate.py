"""Baselines and gates: the findings a course has accepted, and which findings fail its CI."""

from __future__ import annotations

from pathlib import Path

from lmverify.course.findings import KINDS, Erratum, findings
from lmverify.course.judging import ExampleReport
from lmverify.exitcodes import write_output
from lmverify.worked import WorkedExampleError


def missing_baseline(path) -> str:
    """The message for a baseline file that is not there (the CLI answers it before verifying anything)."""
    return f"baseline {str(path)!r} not found; write one with --write-baseline {str(path)!r}"


def key(e: Erratum) -> tuple[str, str, str, str]:
    """What names a finding in a baseline: page, example, claim (or the finding's ident), printed number (or
    kind): a finding is accepted when its key is in the baseline."""
    return _key(e)


def _key(e: Erratum) -> tuple[str, str, str, str]:
    return (e.page, e.example, e.ident or e.what, e.claimed if not e.ident else e.kind)


def write_baseline(reports: list[ExampleReport], path: Path) -> int:
    """The current findings as accepted (JSON, to commit in the course repository); returns how many."""
    import json

    rows = []
    for e in findings(reports):
        k = _key(e)
        rows.append({"page": e.page, "example": e.example, "claim": k[2], "claimed": k[3], "kind": e.kind,
                     "correct": e.correct, **({"what": e.what} if e.ident else {})})
    write_output(path, json.dumps({"lmverify_baseline": 1, "errata": rows}, indent=1) + "\n", "--write-baseline")
    return len(rows)


def read_baseline(path: Path) -> set[tuple[str, str, str, str]]:
    """The accepted findings of a baseline file; a missing or malformed file is a named error."""
    import json

    if not Path(path).is_file():
        raise WorkedExampleError(missing_baseline(path))
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return {(r["page"], r["example"], r["claim"], r["claimed"]) for r in data["errata"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WorkedExampleError(f"--baseline {str(path)!r}: not a baseline written by `lmverify report "
                                 f"--write-baseline` ({type(exc).__name__}: {exc})") from None


def gate(reports: list[ExampleReport], fail_on: set[str], baseline: set | None = None) -> tuple[list[Erratum], list]:
    """(new findings of the kinds in ``fail_on``, baseline entries no longer found: fixed)."""
    found = findings(reports)
    current = {_key(e) for e in found}
    kinds = set(KINDS) if "any" in fail_on else set(fail_on)
    new = [e for e in found if e.kind in kinds and (baseline is None or _key(e) not in baseline)]
    fixed = sorted(baseline - current) if baseline else []
    return new, fixed


def classify(reports: list[ExampleReport], fail_on: set[str], baseline: set | None = None
             ) -> tuple[list[Erratum], list[Erratum], list[Erratum]]:
    """Every finding, once, as (new and of a ``fail_on`` kind: fails the gate; new but of another kind:
    reported, does not fail; accepted in the baseline). Without a baseline nothing is accepted."""
    kinds = set(KINDS) if "any" in fail_on else set(fail_on)
    failing, other, accepted = [], [], []
    for e in findings(reports):
        if baseline is not None and _key(e) in baseline:
            accepted.append(e)
        elif e.kind in kinds:
            failing.append(e)
        else:
            other.append(e)
    return failing, other, accepted

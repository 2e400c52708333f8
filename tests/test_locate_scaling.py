"""Locating scales linearly with the page: parsing the page model, finding claims' contexts, the nearest
candidate of a missing one and the accounting of a page's numbers cost time proportional to the page's size.

The pages are generated here (synthetic Markdown: sections, example boxes, inline math, tables and one long
paragraph with a number every few words, so that a cost per number that grows with its block shows); no
course text is used. The time it takes is measured in benchmarks/bench_locate_scaling.py (a 1 MB page against a
4 MB one: linear time gives a ratio near 4, the quadratic parts this replaced gave 16 and more), not here:
speed is measured in benchmarks, not asserted in timed tests."""

from __future__ import annotations

import random

import pytest

from lmverify.course import accounting
from lmverify.course.locate import Found, Missing, Slot, candidates, locate
from lmverify.course.model import parse_page


def synthetic_page(n_bytes: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    parts, size, k = ["# A generated page\n\n"], 0, 0
    long_paragraph = []  # a tenth of the page in one block: many numbers in one reading
    while size < n_bytes:
        k += 1
        chunk = (f"## Section {k}\n\n"
                 f"The value \\(x_{{{k}}} = {rng.randint(1, 999)}.{rng.randint(0, 99):02d}\\) is printed here, and "
                 f"the count is {rng.randint(1, 10**6)} tokens with p = {rng.random():.4f} in run {k}.\n\n"
                 f'!!! example "Worked example {k}"\n\n'
                 f"    Compute \\(a_{k} = {rng.randint(1, 50)} \\times {rng.randint(1, 50)} = {rng.randint(1, 2500)}\\) "
                 f"and then the mean {rng.random():.3f}.\n\n"
                 f"| item | value |\n|---|---|\n| w{k} | {rng.random():.5f} |\n\n")
        parts.append(chunk)
        size += len(chunk)
        long_paragraph.append(f"step {k} gives {rng.randint(0, 9999)} and ratio {rng.random():.3f};")
        size += len(long_paragraph[-1]) + 1
    parts.append(" ".join(long_paragraph) + "\n")
    return "".join(parts)


def _work(text: str) -> tuple[int, int]:
    """What the report does with one page: parse it, locate claims by context (in their box and, for the
    fallbacks, on the whole page), find the nearest candidate of a claim that is gone, count the numbers
    to account for. Returns (claims found, numbers counted) so the work cannot be skipped."""
    page = parse_page(text, "generated.md")
    found = 0
    titles = [b.title for b in page.boxes]
    for title in titles[:: max(1, len(titles) // 25)][:25]:
        first, last = next((b.line, b.end) for b in page.boxes if b.title == title)
        n = next(n for n in page.numbers_in(first, last) if not n.index)
        before = page.blocks[n.block].reading[max(0, n.offset - 12):n.offset]
        result = locate(page, Slot(title, before), 1)
        found += isinstance(result, Found)
    gone = locate(page, Slot("Worked example 1", "no such context anywhere="), 1)
    assert isinstance(gone, Missing)
    candidates(page, 1, len(page.lines), "ratio", "")  # a page-wide context
    return found, len(accounting.counted(page))


def test_context_index_finds_exactly_what_a_scan_finds():
    page = parse_page(synthetic_page(60_000, seed=3), "generated.md")
    values = [n for n in page.numbers if not n.index]
    assert len(values) > 500
    contexts = {page.blocks[n.block].reading[max(0, n.offset - k):n.offset] for n in values[::7] for k in (0, 1, 3, 4, 9)}
    contexts |= {"=", "x_", "\\times", "count is ", "no such"}
    for first, last in ((1, len(page.lines)), (40, 400)):
        for before in contexts:
            scan = [n for n in values if first <= n.line <= last
                    and page.blocks[n.block].reading[:n.offset].endswith(before)]
            assert page.numbers_before(before, first, last) == scan, before


def test_locating_on_a_generated_page_finds_every_context():
    found, counted = _work(synthetic_page(100_000, seed=1))
    assert found == 25 and counted > 1000

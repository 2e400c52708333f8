"""The report's code blocks (lmverify.pages.run_block) and list claims (lmverify.worked.judge_members), unit by unit.

Cheap: each block here is a few lines of plain Python (one subprocess of about 0.05 s); the real pages'
blocks are only read here, never run (the topics' page-code tests run each of them once).
"""

from __future__ import annotations

import pytest

from lmverify.pages import (
    CodeBlock,
    code_blocks,
    compare_output,
    members_after_anchor,
    needs_network,
    parse_members,
    run_block,
)
from lmverify.worked import Claim, Members, WorkedExampleError, _parse_claim, judge


def test_code_block_that_fails_names_the_page_line_and_the_last_line_of_its_error():
    r = run_block(CodeBlock("p.md", 10, "x = 1\n\ndef f():\n    return 1 / 0\n\nf()\n"))
    assert r.status == "failed" and r.reason == "ZeroDivisionError: division by zero" and r.error_line == 13
    assert r.failing


def test_code_block_that_needs_the_network_is_skipped_when_read_or_when_run():
    read = run_block(CodeBlock("p.md", 1, "from datasets import load_dataset\nds = load_dataset('imdb')\n"))
    assert read.status == "skipped" and "datasets.load_dataset()" in read.reason and read.seconds == 0.0
    # no downloader in sight: it runs, offline, and the name resolution the guard refused and recorded skips it
    ran = run_block(CodeBlock("p.md", 1, "import socket\nsocket.create_connection(('example.org', 80), timeout=5)\n"))
    assert ran.status == "skipped" and ran.reason.startswith("needs the network (the offline guard refused ")
    assert "getaddrinfo of 'example.org'" in ran.reason and not ran.failing
    assert needs_network("# import gensim.downloader as api (commented out)\nprint(1)\n") is None


def test_code_block_missing_package_is_skipped_only_when_the_page_installs_it():
    code = "import surely_not_installed_pkg\n"
    named = {"surely_not_installed_pkg": "pip install surely-not-installed-pkg"}
    missing = run_block(CodeBlock("p.md", 1, code, installs=named))
    assert missing.status == "skipped" and missing.seconds == 0.0  # decided by find_spec, before running
    assert missing.reason == ("missing package: surely_not_installed_pkg (not installed here; the page installs it: "
                              "pip install surely-not-installed-pkg)")
    unnamed = run_block(CodeBlock("p.md", 1, code))
    assert unnamed.status == "failed" and unnamed.failing
    assert unnamed.reason == "ModuleNotFoundError: No module named 'surely_not_installed_pkg'"


def test_code_block_stopped_at_its_cpu_limit_is_a_timeout():
    slow = run_block(CodeBlock("p.md", 7, "while True:\n    pass\n"), timeout=1)
    assert slow.status == "timeout" and slow.failing and slow.reason == "stopped at its CPU-time limit of 1 s"
    assert slow.cpu_seconds >= 0.9


def test_code_block_stated_output_is_found_and_compared_at_the_stated_precision(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("# P\n\n```python\nprint('H = 0.69315 nats')\n```\n\nIt prints:\n\n```\nH = 0.693 nats\n```\n\n"
                    "```python\nprint(2)\n```\n\nSome prose about another matter.\n\n```text\n3\n```\n")
    first, second = code_blocks(page)
    assert (first.line, first.stated_line, first.stated_output) == (4, 10, "H = 0.693 nats\n")
    assert second.stated_output is None  # the paragraph between does not say it is the output
    assert run_block(first).output == "as stated"
    assert compare_output("H = 0.694 nats\n", "H = 0.69315 nats\n").startswith("differs: output line 1")
    assert compare_output("a\nb\n", "a\n").startswith("differs: the page states 2 line(s)")
    r = run_block(CodeBlock("p.md", 1, "print('H = 0.6931 nats')\n", stated_output="H = 0.7 bits\n"))
    assert r.status == "ran" and r.failing and r.output.startswith("differs")


def test_real_pages_code_blocks_are_read_not_run(course_dir):
    """Every python block of the course is found, and none calls a downloader (so none is skipped unread)."""
    from lmverify.pages import course_pages

    blocks = [b for p in course_pages(course_dir) for b in code_blocks(course_dir / p)]
    assert len(blocks) >= 6 and all(b.code.strip() for b in blocks)
    assert [b for b in blocks if needs_network(b.code)] == []


# ---------------------------------------------------------------- list claims


def test_list_members_are_parsed_as_printed():
    assert parse_members("`<ru`, `run` and `ng>`") == ["<ru", "run", "ng>"]
    assert parse_members("[queen, prince, 'ruled']") == ["queen", "prince", "ruled"]
    line = ["With \\(n = 3\\) the pieces are `<wh`, `whe`, `re>`, and nothing else `x`."]
    claim = Claim("q", ["<wh"], 1, "the pieces are", "correct", members="set")
    assert members_after_anchor(claim, line) == (1, ["<wh", "whe", "re>"], "`<wh`, `whe`, `re>`")


def _claim(**kw) -> Claim:
    raw = {"quantity": "grams", "line": 3, "anchor": "a", "verdict": "correct", "members": "set"} | kw
    return _parse_claim(raw, "t.yaml: claims[0]")


def test_list_claim_as_a_set_names_missing_and_extra_members():
    q = {"grams": Members.of(["<ru", "run", "unn", "nin", "ing"])}
    r = judge(_claim(claimed=["run", "<ru", "unn", "ing", "xyz"]), q)
    assert r.verdict == "error" and r.detail == "compared as a set: missing nin; extra xyz"
    assert judge(_claim(claimed=["ing", "nin", "unn", "run", "<ru", "run"]), q).verdict == "correct"


def test_list_claim_ordered_names_where_the_order_differs():
    q = {"grams": ["<ca", "cat", "at>"]}
    r = judge(_claim(claimed=["cat", "<ca", "at>"], members="ordered"), q)
    assert r.verdict == "error" and "order differs from position 1: printed cat, should be <ca" in r.detail
    assert judge(_claim(claimed=["<ca", "cat", "at>"], members="ordered"), q).verdict == "correct"


def test_list_claim_schema_errors_are_named():
    with pytest.raises(WorkedExampleError, match="'members' must be 'set' or 'ordered'"):
        _claim(claimed=["a"], members="bag")
    with pytest.raises(WorkedExampleError, match="needs 'claimed' as a non-empty flat list"):
        _claim(claimed=[["a"]])
    with pytest.raises(WorkedExampleError, match="verdict is 'correct' or 'error'"):
        _claim(claimed=["a"], verdict="rounding", correct=["b"], explanation="x")

"""The grader's per-student statuses say exactly what ran (issue 20): an equation is "not implemented" only
where no test of it called the student's function and a skip says it is missing; declined inputs are "not
covered", wholly or in part. Built from test records as the plugin writes them (no pytest run)."""

from __future__ import annotations

from lmverify.grade import StudentRun, student_markdown


def _t(nodeid, equations, outcome, message="", functions=(), declined=""):
    return {"nodeid": nodeid, "equations": list(equations), "outcome": outcome, "hint": "", "message": message,
            "functions": list(functions), "declined": declined}


def test_statuses_name_what_ran_what_is_missing_and_what_was_declined():
    run = StudentRun("alice", ["alice.py"], tests=[
        # a test of two equations that called one function: only that one ran
        _t("t1", ["attention.additive_score", "attention.scaled_dot_product"], "passed",
           functions=["scaled_dot_product_attention"]),
        _t("t2", ["attention.additive_score"], "skipped", "alice.py does not define additive_score(...)"),
        _t("t3", ["attention.multi_head"], "passed", "3 of 10 inputs not covered (a causal mask only)",
           functions=["multi_head_attention"], declined="some"),
        _t("t4", ["attention.multi_head"], "skipped", "Skipped: not covered: your code declined every input",
           declined="all"),
        _t("t5", ["attention.linear"], "skipped", "Skipped: not covered: your code declined every input",
           declined="all"),
        # a skip whose text mentions 'not covered' but that is no declined input: not counted as one
        _t("t6", ["attention.flash"], "skipped", "Skipped: needs the course pages (not covered here)"),
    ])
    text = "\n".join(student_markdown(run))
    assert "- not implemented (skipped): attention.additive_score" in text
    assert "some declined (not covered; see results.csv): attention.multi_head" in text
    assert "- not covered (the student's code declined every input of the test): attention.linear" in text
    assert "attention.scaled_dot_product" not in text.split("not implemented")[1].splitlines()[0]
    assert "- not run (skipped for another reason; see results.csv): attention.flash" in text

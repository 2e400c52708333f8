"""The page model (lmverify/course/model.py) and locating by a context with a slot (locate.py), on small
pages written for these tests: what a reader sees is what the model holds, whatever the formatting."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lmverify.course.locate import Found, Missing, Slot, locate, unique_context
from lmverify.course.model import normal_math, parse_page

PAGE = r"""# A Page

## Section One

Some text with \(x = 2\) and a display:

\[
y = 0.5 \cdot x
+ 0.25,
\quad \lambda_1 + \lambda_2 = 1.
\]

!!! example "Worked Example: Two Steps"
    Let \(p = 0.8\). Then \(-\log_2 0.8 \approx 0.322\) bits.
    The sum is \(0.322 + 0.5 = 0.822\).

    | step | value |
    |------|-------|
    | one  | 0.25  |

??? tip "A Tip"
    Repeats \(x = 2\) for the curious.

```python
print(3.14)
```
"""

#: the same page as the course's author reformatted one revision (7ce1f9e): math delimiters written
#: \\( \\) \\[ \\] with every backslash doubled, an md_in_html block, straight quotes, reflowed lines
REFORMATTED = PAGE.replace(r"\(", "\\\\(").replace(r"\)", "\\\\)").replace(r"\[", "\\\\[").replace(r"\]", "\\\\]")
REFORMATTED = (REFORMATTED.replace(r"\cdot", r"\\cdot").replace(r"\quad", r"\\quad").replace(r"\lambda", r"\\lambda")
               .replace(r"\log", r"\\log").replace(r"\approx", r"\\approx")
               .replace("## Section One\n", "## Section One\n\n<div class=\"equation-breakdown\" markdown>\n"
                                            "#### Piece by piece\n\nA note.\n</div>\n"))


def readings(page):
    return [b.reading for b in page.blocks if b.kind != "heading"]


def test_a_page_has_sections_boxes_math_code_and_numbers_with_their_lines():
    page = parse_page(PAGE, "p.md")
    assert [(s.level, s.title) for s in page.sections] == [(1, "A Page"), (2, "Section One")]
    assert [(b.kind, b.title, b.collapsible) for b in page.boxes] == [
        ("example", "Worked Example: Two Steps", False), ("tip", "A Tip", True)]
    box = page.boxes[0]
    assert (box.line, box.end) == (13, 19)
    assert [c.code for c in page.code] == ["print(3.14)\n"]  # code is not prose: 3.14 is no printed number
    assert "3.14" not in [n.text for n in page.numbers]
    displays = [m for m in page.math if m.display]
    assert len(displays) == 1 and displays[0].line == 8 and r"\lambda_1 + \lambda_2 = 1." in displays[0].latex
    # a display line that starts with "+" is math, not a list item
    assert any(r"y=#\cdotx+#,\lambda_#+\lambda_#=#." in r for r in readings(page)), readings(page)
    lam = [n for n in page.numbers if n.line == 10]
    assert [(n.text, n.index) for n in lam] == [("1", True), ("2", True), ("1", False)]
    cell = [n for n in page.numbers if n.text == "0.25" and n.line == 19]
    assert cell and not cell[0].index


def test_formatting_that_a_reader_does_not_see_does_not_change_the_model():
    a, b = parse_page(PAGE), parse_page(REFORMATTED)
    assert [n.text for n in a.numbers] == [n.text for n in b.numbers]
    assert set(readings(a)) <= set(readings(b))  # b has only the added note on top
    assert [m.latex for m in a.math] == [m.latex for m in b.math if m.latex in {x.latex for x in a.math}]
    assert [bx.title for bx in a.boxes] == [bx.title for bx in b.boxes]


@pytest.mark.parametrize("x, y", [
    (r"\frac{QK^\top}{\sqrt{d_k}}", r"\frac{Q K^T}{\sqrt{d_k}}"),
    (r"\dfrac{a}{b}", r"\frac{a}{b}"),
    (r"\left( x \right)", r"(x)"),
    (r"a \, b \quad c", r"abc"),
    (r"x ≈ 1", r"x \approx 1"),
    (r"\mathrm{softmax}(z)", r"\text{softmax}(z)"),
    (r"\boldsymbol{h}", r"\mathbf{h}"),
])
def test_form_only_latex_edits_read_alike(x, y):
    assert normal_math(x) == normal_math(y)


@given(st.text(alphabet=r"abx01\{}^_ ,.+-=()", max_size=40))
def test_normal_math_is_idempotent(s):
    assert normal_math(normal_math(s)) == normal_math(s)


def test_numbers_inside_words_are_not_numbers_but_after_a_command_they_are():
    page = parse_page("GPT-3 and word2vec and h1 give \\(0.5\\cdot1 = 0.5\\) and \\(x^2\\).\n")
    assert [n.text for n in page.numbers] == ["0.5", "1", "0.5", "2"]


def test_a_claim_is_located_by_its_context_and_the_page_number_is_read():
    page = parse_page(PAGE)
    slot = Slot("Worked Example: Two Steps", r"\log_##\approx")
    found = locate(page, slot)
    assert isinstance(found, Found) and found.texts == ["0.322"] and found.line == 14
    changed = parse_page(PAGE.replace(r"\approx 0.322\)", r"\approx 0.422\)"))
    assert locate(changed, slot).texts == ["0.422"]  # the number is read, not matched
    moved = parse_page(PAGE.replace("## Section One\n", "## Section One\n\n" + "Filler.\n\n" * 15))
    assert locate(moved, slot).line == 14 + 31


def test_a_context_that_is_gone_or_ambiguous_is_missing_with_the_nearest_candidate():
    page = parse_page(PAGE)
    gone = locate(page, Slot("Worked Example: Two Steps", r"\ln#\approx"))
    assert isinstance(gone, Missing) and "not found" in gone.reason
    twice = locate(page, Slot("Worked Example: Two Steps", "="))
    assert isinstance(twice, Missing) and "ambiguous" in twice.reason
    first = locate(page, Slot("Worked Example: Two Steps", "=", occurrence=0))
    assert isinstance(first, Found) and first.texts == ["0.8"]


def test_a_renamed_box_is_still_found_and_a_repeating_aside_does_not_hide_the_section_text():
    page = parse_page(PAGE.replace("Worked Example: Two Steps", "Worked Example: Two Steps (Bits)"))
    assert locate(page, Slot("Worked Example: Two Steps", r"\log_##\approx")).texts == ["0.322"]
    # "x = 2" stands in the section's text and again in the tip box inside it
    found = locate(parse_page(PAGE), Slot("Section One", "withx="))
    assert isinstance(found, Found) and found.line == 5


def test_unique_context_names_one_number_in_whole_tokens():
    page = parse_page(PAGE)
    first, last = page.boxes[0].line, page.boxes[0].end
    for n in page.numbers_in(first, last):
        if n.index:
            continue
        before, after, occ = unique_context(page, n, first, last, min_len=8)
        found = locate(page, Slot("Worked Example: Two Steps", before, after, occ))
        assert isinstance(found, Found) and found.numbers[0] is n
        assert n.text not in before.replace("#", "") or n.text in {"0.8", "0.5", "0.25"}


def test_scientific_notation_is_one_printed_number():
    page = parse_page("We get \\(3 \\times 10^{-4}\\), \\(2.68 \\times 10^8\\) and \\(x \\times 10\\).\n")
    assert [n.text for n in page.numbers] == ["3e-4", "2.68e8", "10"]


def test_page_text_is_the_whole_page():
    """Page.text is the page as read (a loop variable once shadowed it with the last number's text)."""
    from lmverify.course.model import parse_page

    text = "# T\n\nThe value is 0.25 and then 3.5.\n"
    page = parse_page(text, "t.md")
    assert page.text == text and [n.text for n in page.numbers] == ["0.25", "3.5"]

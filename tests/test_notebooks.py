"""The hands-on notebooks as files: stripped, offline, seeded, with a timeout; the render command's plumbing.

nbmake executes the notebooks themselves (``--nbmake`` in addopts: each ``.ipynb`` is a test item, marked
``notebook`` and ``slow``); these tests only read the JSON and the ``lmverify notebooks`` command's argument
handling, and start no kernel (together well under a second).
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from pathlib import Path

import pytest

from lmverify import notebooks
from lmverify.worked import EXAMPLES_DIR

ROOT = Path(__file__).resolve().parent.parent
NB_DIR = ROOT / "worked_examples" / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("*.ipynb"))
TITLES = {
    "language_modeling_and_embeddings": "Language modeling & embeddings",
    "neural_lm_and_seq2seq": "Neural language models & sequence-to-sequence",
    "information_and_attention": "Information theory & attention",
}
#: the only modules a notebook (or its helper) may import: the project, NumPy, PyTorch, matplotlib
ALLOWED_IMPORTS = {"numpy", "torch", "matplotlib", "math", "_nbhelp", "reference", "lmverify", "__future__",
                   "pathlib", "typing", "IPython", "matplotlib_inline"}
#: anything that reaches the network, a model hub or a package index
ONLINE = re.compile(r"https?://|urllib|requests\b|\bsocket\b|download|from_pretrained|load_dataset|hugging|hf_hub"
                    r"|\bwget\b|\bcurl\b|pip install|snapshot_download|torch\.hub|gensim\.downloader", re.I)


def _nb(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _code_cells(path: Path) -> list[str]:
    return ["".join(c["source"]) for c in _nb(path)["cells"] if c["cell_type"] == "code"]


def _python(source: str) -> str:
    """A cell's source without IPython magics (``%matplotlib inline``), for ``ast``."""
    return "\n".join("" if line.lstrip().startswith("%") else line for line in source.splitlines())


def _ids(paths):
    return [p.stem for p in paths]


def test_notebooks_are_the_three_hands_on_notebooks():
    assert {p.stem for p in NOTEBOOKS} == set(TITLES), f"notebooks in {NB_DIR}: {[p.name for p in NOTEBOOKS]}"
    for p in NOTEBOOKS:
        assert notebooks.notebook_title(p) == f"Hands-on: {TITLES[p.stem]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_stored_without_outputs(path):
    """Outputs stripped in git: diffs stay readable, and the pictures come only from running the notebook."""
    import nbformat

    nbformat.validate(nbformat.reads(path.read_text(encoding="utf-8"), as_version=4))
    for i, cell in enumerate(_nb(path)["cells"]):
        if cell["cell_type"] != "code":
            assert "outputs" not in cell and "attachments" not in cell, f"{path.name}: cell {i} has outputs/attachments"
            continue
        assert cell["outputs"] == [], f"{path.name}: cell {i} has outputs (strip them before committing)"
        assert cell["execution_count"] is None, f"{path.name}: cell {i} has an execution count"
        assert "execution" not in cell.get("metadata", {}), f"{path.name}: cell {i} carries execution timings"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_metadata_has_a_timeout_and_the_python_kernel(path):
    meta = _nb(path)["metadata"]
    timeout = meta.get("execution", {}).get("timeout")  # read by nbmake (and by `lmverify notebooks`)
    assert isinstance(timeout, int) and 0 < timeout <= 120, f"{path.name}: metadata execution.timeout = {timeout!r}"
    assert meta["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS + [NB_DIR / "_nbhelp.py"], ids=_ids(NOTEBOOKS) + ["_nbhelp"])
def test_notebook_is_offline(path):
    """No network, hub or download call, no shell escape, and imports only of the project and its dependencies."""
    sources = _code_cells(path) if path.suffix == ".ipynb" else [path.read_text(encoding="utf-8")]
    for i, src in enumerate(sources):
        found = ONLINE.search(src)
        assert not found, f"{path.name}: cell {i}: {found.group(0)!r} (the notebooks run offline)"
        assert not re.search(r"^\s*!", src, re.M), f"{path.name}: cell {i}: a shell escape"
        for node in ast.walk(ast.parse(_python(src))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert name.split(".")[0] in ALLOWED_IMPORTS, f"{path.name}: cell {i} imports {name}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_headless_seeded_and_small(path):
    cells = _code_cells(path)
    first = cells[0]
    assert "%matplotlib inline" in first and "nb.setup()" in first, f"{path.name}: the first cell sets plotting up"
    text = "\n".join(cells)
    for bad in ("plt.show(", "savefig(", "plt.ion(", "input(", "time.sleep("):
        assert bad not in text, f"{path.name}: {bad} (headless, non-interactive, writes nothing)"
    # every random draw is seeded: NumPy through default_rng(<seed>), PyTorch through a seeded Generator
    assert set(re.findall(r"np\.random\.(\w+)", text)) <= {"default_rng"}, f"{path.name}: NumPy's global RNG"
    assert not re.search(r"np\.random\.default_rng\(\s*\)", text), f"{path.name}: an unseeded default_rng()"
    for call in re.findall(r"torch\.(?:randn|rand|randint|randperm|normal)\([^\n]*", text):
        assert "generator=" in call, f"{path.name}: unseeded {call!r}"
    # few pictures per cell, and training loops of at most a few hundred tiny steps
    for i, src in enumerate(cells):
        assert src.count("plt.subplots(") <= 2, f"{path.name}: cell {i} draws more than two figures"
        for steps in re.findall(r"for \w+ in range\((\d+)\)", src):
            assert int(steps) <= 300, f"{path.name}: cell {i}: a loop of {steps} steps"


def _walked_examples() -> set[str]:
    """``topic/file.yaml`` of every worked example a notebook recomputes (literal paths and ``for name in (...)``)."""
    out = set()
    for path in NOTEBOOKS:
        text = "\n".join(_code_cells(path))
        out |= set(re.findall(r'nb\.example\("(\w+/\w+\.yaml)"', text))
        for names, topic in re.findall(r'for name in \(([^)]*)\):\s*\n\s*nb\.example\(f"(\w+)/\{name\}\.yaml"', text):
            out |= {f"{topic}/{n}.yaml" for n in re.findall(r'"(\w+)"', names)}
    return out


def test_notebooks_walk_through_existing_worked_examples():
    """Every example a notebook names exists, and every topic's examples are walked through somewhere."""
    walked = _walked_examples()
    missing = sorted(w for w in walked if not (EXAMPLES_DIR / w).is_file())
    assert not missing, f"notebooks name worked examples that do not exist: {missing}"
    topics = {p.parent.name for p in EXAMPLES_DIR.glob("*/*.yaml")}
    covered = {w.split("/")[0] for w in walked}
    assert topics <= covered, f"topics whose worked examples no notebook walks through: {sorted(topics - covered)}"


def test_docs_link_every_notebook_and_give_the_render_command():
    doc = (ROOT / "docs" / "notebooks.md").read_text(encoding="utf-8")
    for p in NOTEBOOKS:
        assert f"../worked_examples/notebooks/{p.name}" in doc, f"docs/notebooks.md does not link {p.name}"
    assert "lmverify notebooks" in doc


# -- the render command (no kernel is started) -------------------------------------------------------


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lmverify")
    notebooks.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["notebooks", *argv])


def test_notebooks_command_registers_its_subparser():
    args = _parse("neural_lm_and_seq2seq", "--html", "out")
    assert args.func is notebooks.run and args.names == ["neural_lm_and_seq2seq"] and args.html == "out"
    assert args.ipynb is None and args.timeout is None and not args.list


def test_notebooks_command_resolves_names_files_and_paths():
    assert notebooks.resolve([]) == NOTEBOOKS
    by_name = notebooks.resolve(["neural_lm_and_seq2seq", "information_and_attention.ipynb"])
    assert [p.name for p in by_name] == ["neural_lm_and_seq2seq.ipynb", "information_and_attention.ipynb"]
    assert notebooks.resolve([str(NOTEBOOKS[0])]) == [NOTEBOOKS[0]]
    with pytest.raises(notebooks.NotebookUsageError, match="did you mean 'neural_lm_and_seq2seq'"):
        notebooks.resolve(["neural_lm_and_seq2sq"])


def test_notebooks_command_lists_titles(capsys):
    assert notebooks.run(_parse("--list")) == 0
    out = capsys.readouterr().out
    for stem, title in TITLES.items():
        assert f"{stem}\tHands-on: {title}" in out


def test_notebooks_command_refuses_bad_requests_before_running(tmp_path, capsys, monkeypatch):
    a_file = tmp_path / "file.html"
    a_file.write_text("x")
    assert notebooks.run(_parse("--html", str(a_file))) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    assert notebooks.run(_parse("nope", "--ipynb", str(tmp_path))) == 2
    assert "unknown notebook 'nope'" in capsys.readouterr().err
    assert notebooks.run(_parse("--timeout", "0", "--ipynb", str(tmp_path))) == 2
    # HTML without nbconvert: a clear message naming the pinned package, and nothing is run
    monkeypatch.setitem(sys.modules, "nbconvert", None)
    monkeypatch.setattr(notebooks, "execute", lambda *a, **k: pytest.fail("ran a notebook without an exporter"))
    assert notebooks.run(_parse("--html", str(tmp_path / "html"))) == 2
    err = capsys.readouterr().err
    assert notebooks.NBCONVERT_PIN in err and "--ipynb" in err


@pytest.mark.slow
def test_notebooks_command_renders_html_with_pictures_and_names_a_failing_cell(tmp_path, capsys):
    """The render command end to end on two tiny notebooks (one kernel each): the HTML holds the picture,
    and a notebook whose cell raises exits 1 naming the cell, with what ran still written."""
    import nbformat

    good, bad = tmp_path / "good.ipynb", tmp_path / "bad.ipynb"
    picture = ("import base64\nfrom IPython.display import Image, display\n"  # a PNG without importing matplotlib
               "display(Image(base64.b64decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8"
               "z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==')))")
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Hands-on: tiny"),
                                                   nbformat.v4.new_code_cell(picture)]), str(good))
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"),
                                                   nbformat.v4.new_code_cell("1 / 0")]), str(bad))
    assert notebooks.run(_parse(str(good), "--html", str(tmp_path / "html"))) == 0
    html = (tmp_path / "html" / "good.html").read_text(encoding="utf-8")
    assert "data:image/png;base64" in html
    assert "1 picture(s)" in capsys.readouterr().err
    assert notebooks.run(_parse(str(bad), "--ipynb", str(tmp_path / "run"))) == 1
    err = capsys.readouterr().err
    assert "FAILED" in err and "cell 1 ('1 / 0') raised ZeroDivisionError" in err
    assert (tmp_path / "run" / "bad.ipynb").is_file()

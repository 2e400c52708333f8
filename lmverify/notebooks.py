"""``lmverify notebooks``: execute the hands-on notebooks and write rendered copies with their pictures.

    lmverify notebooks                          # all of worked_examples/notebooks/*.ipynb -> build/notebooks/*.html
    lmverify notebooks --html site/notebooks    # HTML into another folder
    lmverify notebooks --ipynb build/executed   # executed notebooks (outputs and pictures kept) instead of HTML
    lmverify notebooks neural_lm_and_seq2seq    # one notebook (a name, a file name or a path)
    lmverify notebooks --list                   # the notebooks and their titles

Each notebook runs in a fresh Python kernel, contained with nbclient (:mod:`lmverify.sandbox`: a fresh private
folder as working directory, its own folder on the path so it imports its helper ``_nbhelp.py`` and the
installed project, no writes outside that folder, every process ended after), offline, under the per-cell
timeout of its metadata
(``execution: timeout``, the one nbmake uses) unless ``--timeout`` is given. Every number a notebook prints is
asserted against the references inside the notebook, so a notebook that fails to run is a failed check:
the command reports the notebook, the cell and the error, still writes what ran (for inspection), and exits 1.

Executing needs ``nbclient`` and ``ipykernel`` (installed with the test extras, for nbmake); HTML also needs
``nbconvert``, imported only when HTML is asked for. Exit codes: 0 every notebook ran and was written;
1 a notebook failed (a cell raised, or timed out); 2 bad command line (an unknown notebook, an output path
that is a file, nbconvert missing for HTML).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "worked_examples" / "notebooks"
DEFAULT_HTML_DIR = Path("build") / "notebooks"
DEFAULT_TIMEOUT = 120  # seconds per cell, when a notebook's metadata has none

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

#: the nbconvert release the render was written against (the lead pins it in pyproject's extras)
NBCONVERT_PIN = "nbconvert==7.17.2"


class NotebookUsageError(ValueError):
    """A bad request: an unknown notebook, an unusable output folder, a missing optional dependency."""


def notebook_paths(root: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The project's notebooks, sorted by name."""
    return sorted(root.glob("*.ipynb"))


def notebook_title(path: Path) -> str:
    """The first Markdown heading of a notebook (its title), or its file name."""
    import json

    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            for line in "".join(cell.get("source", "")).splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return path.stem


def resolve(names: list[str], root: Path = NOTEBOOKS_DIR) -> list[Path]:
    """Notebook names (``neural_lm_and_seq2seq``), file names or paths -> paths; all of them when none given."""
    available = notebook_paths(root)
    if not names:
        if not available:
            raise NotebookUsageError(f"no notebooks in {root}")
        return available
    out = []
    for name in names:
        p = Path(name)
        if p.suffix == ".ipynb" and p.is_file():
            out.append(p.resolve())
            continue
        stem = p.name[:-len(".ipynb")] if p.name.endswith(".ipynb") else p.name
        match = [q for q in available if q.stem == stem]
        if not match:
            import difflib

            close = difflib.get_close_matches(stem, [q.stem for q in available], n=1)
            raise NotebookUsageError(
                f"unknown notebook {name!r}; expected one of {', '.join(q.stem for q in available)}"
                + (f" (did you mean {close[0]!r}?)" if close else ""))
        out.append(match[0])
    return out


def _out_dir(value: str | Path, option: str) -> Path:
    d = Path(value)
    if d.exists() and not d.is_dir():
        raise NotebookUsageError(f"{option} {str(value)!r}: exists and is not a folder")
    return d


def _html_exporter():
    try:
        from nbconvert import HTMLExporter
    except ImportError:
        raise NotebookUsageError(
            f"HTML needs nbconvert, which is not installed: pip install {NBCONVERT_PIN!r} "
            "(or write executed notebooks with --ipynb DIR, which needs only nbclient)") from None
    return HTMLExporter()


def execute(path: Path, timeout: int | None = None):
    """Run a notebook in a fresh kernel, contained (:func:`lmverify.sandbox.run_contained`): nbclient and its
    kernel run together in one contained process whose working directory is a fresh private folder (the
    notebook's own folder is on its PYTHONPATH, for ``_nbhelp``), offline, with no writes outside that folder,
    and every process it started (the kernel included) ended with it. Returns (notebook, error or None); the
    notebook holds the outputs of every cell that ran."""
    import nbformat

    from lmverify.sandbox import private_folder, run_contained

    path = Path(path).resolve()
    nb = nbformat.read(str(path), as_version=4)
    cell_timeout = int(timeout or nb.metadata.get("execution", {}).get("timeout") or DEFAULT_TIMEOUT)
    cells = sum(1 for c in nb.cells if c.cell_type == "code")
    with private_folder(prefix="lmverify-notebook-") as folder:
        executed, error_file = folder / "executed.ipynb", folder / "error.txt"
        code = ("import sys; from lmverify.notebooks import _execute_here; "
                "sys.exit(_execute_here(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))")
        # CPU time: every cell at its limit, plus the kernel's start; nbclient applies the per-cell limit itself
        r = run_contained([sys.executable, "-c", code, str(path), str(executed), str(error_file), str(cell_timeout)],
                          cwd=folder, cpu_seconds=max(60.0, 2.0 * cell_timeout * max(cells, 1)), memory_mib=8192,
                          python_paths=[path.parent])
        if executed.is_file():
            nb = nbformat.read(str(executed), as_version=4)
        error = error_file.read_text(encoding="utf-8").strip() if error_file.is_file() else ""
    problems = [error] if error else []
    if r.status != "ok" and not error:
        tail = r.stderr.strip().splitlines()
        problems.append(f"{r.reason}" + (f": {tail[-1]}" if tail and r.status == "failed" else ""))
    elif r.writes_outside:
        problems.append("wrote outside its folder: " + ", ".join(r.writes_outside[:3]))
    if r.network_attempts:
        problems.append("the offline guard refused " + ", ".join(r.network_attempts[:3]))
    return nb, "; ".join(problems) or None


def _execute_here(path: str, out: str, error_file: str, cell_timeout: int) -> int:
    """Inside the contained process: execute the notebook with nbclient (working directory: this private
    folder), write it executed to ``out`` and the failure, if any, to ``error_file``; 0 or 1."""
    import os

    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    nb = nbformat.read(path, as_version=4)
    here = os.getcwd()
    # the kernel's log at ERROR: its warning that it talks over local TCP without encryption tells a reader nothing
    client = NotebookClient(nb, timeout=cell_timeout, kernel_name="python3", resources={"metadata": {"path": here}},
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])
    error = None
    try:
        client.execute(cwd=here)
    except (CellExecutionError, CellTimeoutError) as exc:
        error = _failure(nb, exc)
    nbformat.write(nb, out)
    if error:
        Path(error_file).write_text(error, encoding="utf-8")
    return 1 if error else 0


def _failure(nb, exc: Exception) -> str:
    """Which cell failed and why, in one line."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
                return f"cell {i} ({first[:60]!r}) raised {out.get('ename')}: {out.get('evalue')}"
    return f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"


def render(paths: list[Path], html: Path | None, ipynb: Path | None, timeout: int | None = None,
           log=print) -> int:
    """Execute every notebook and write HTML and/or executed notebooks; the exit code."""
    import nbformat

    exporter = _html_exporter() if html is not None else None  # fail before running anything
    for d in (html, ipynb):
        if d is not None:
            d.mkdir(parents=True, exist_ok=True)
    failed = 0
    for path in paths:
        t0 = time.perf_counter()
        nb, error = execute(path, timeout)
        seconds = time.perf_counter() - t0
        written = []
        if exporter is not None:
            body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": notebook_title(path)}})
            target = html / (path.stem + ".html")
            target.write_text(body, encoding="utf-8")
            written.append(str(target))
        if ipynb is not None:
            target = ipynb / path.name
            nbformat.write(nb, str(target))
            written.append(str(target))
        pictures = sum(1 for c in nb.cells if c.cell_type == "code"
                       for o in c.get("outputs", []) if "image/png" in o.get("data", {}))
        if error:
            failed += 1
            log(f"lmverify: {path.name}: FAILED after {seconds:.1f} s: {error}; wrote what ran to {', '.join(written)}",
                file=sys.stderr)
        else:
            log(f"lmverify: {path.name}: ran in {seconds:.1f} s, {pictures} picture(s); wrote {', '.join(written)}",
                file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``notebooks`` subcommand to ``lmverify``'s subparsers."""
    p = subparsers.add_parser(
        "notebooks", help="execute the hands-on notebooks and write them as HTML with their pictures",
        description=__doc__.splitlines()[0].strip("`: ").strip(),
        epilog="exit codes: 0 all ran and were written, 1 a notebook failed (a cell raised or timed out), 2 usage")
    p.add_argument("names", nargs="*", metavar="NOTEBOOK",
                   help="notebook names, file names or paths (default: every notebook in worked_examples/notebooks)")
    p.add_argument("--html", metavar="DIR", default=None,
                   help=f"write <name>.html here (needs nbconvert; the default, into {DEFAULT_HTML_DIR}, "
                        "when --ipynb is not given)")
    p.add_argument("--ipynb", metavar="DIR", default=None,
                   help="write the executed notebooks (outputs and pictures kept) here")
    p.add_argument("--timeout", type=int, default=None, metavar="SECONDS",
                   help="per-cell time limit (default: each notebook's metadata execution.timeout)")
    p.add_argument("--list", action="store_true", help="list the notebooks and their titles, run nothing")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    try:
        paths = resolve(list(args.names))
        if args.list:
            for path in paths:
                print(f"{path.stem}\t{notebook_title(path)}")
            return EXIT_OK
        if args.timeout is not None and args.timeout <= 0:
            raise NotebookUsageError(f"--timeout {args.timeout}: must be a positive number of seconds")
        html = _out_dir(args.html, "--html") if args.html else None
        ipynb = _out_dir(args.ipynb, "--ipynb") if args.ipynb else None
        if html is None and ipynb is None:
            html = _out_dir(DEFAULT_HTML_DIR, "--html")
        return render(paths, html, ipynb, args.timeout)
    except NotebookUsageError as exc:
        print(f"lmverify: {exc}", file=sys.stderr)
        return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    """``python -m lmverify.notebooks`` (the same options), until the command is wired into ``lmverify``."""
    parser = argparse.ArgumentParser(prog="lmverify")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["notebooks", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

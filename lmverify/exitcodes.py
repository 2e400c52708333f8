"""The exit codes of ``lmverify`` (documented in the README; stable)."""

EXIT_OK = 0             # the report was written; no errata gate tripped
EXIT_ERRATA = 1         # findings of the --fail-on kinds: errata, missing claims, changed equations, failing code blocks
EXIT_USAGE = 2          # bad command line: unknown option or topic, --junit into a missing folder (argparse's code)
EXIT_COURSE = 3         # the course folder or a page cannot be used: missing, empty, not UTF-8
EXIT_DATA = 4           # a file of the project is malformed: a worked-example YAML, the catalogue
EXIT_OUT_OF_DATE = 5    # the pages changed: a claim is missing from its page, or a computed verdict differs from the record

EXIT_OUTPUT = 6         # an output could not be written: --junit, --write-baseline, stdout, `new`'s files, `starter -o`
                        # (full disk, missing folder, not writable); never 1, so a full disk never looks like errata
EXIT_EXAMPLE = 7        # a worked example could not be computed (its recipe raised, or returned inf/NaN for a claim);
                        # the other examples were judged and reported; never 1, so a broken recipe is not an erratum


class OutputError(Exception):
    """An output of the tool could not be written; the message names the option, the path and why
    (``--junit 'r.xml': cannot write (No space left on device)``). The CLI maps it to :data:`EXIT_OUTPUT`."""


def write_output(path, text: str, what: str) -> None:
    """Write ``text`` to ``path`` as UTF-8, or raise :class:`OutputError` naming ``what`` (the option)."""
    from pathlib import Path

    path = Path(path)
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        if isinstance(exc, FileNotFoundError) and not path.parent.is_dir():
            why = f"the folder {str(path.parent)!r} does not exist"
        raise OutputError(f"{what} {str(path)!r}: cannot write ({why})") from None

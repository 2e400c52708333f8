"""The exit codes of ``lmverify`` (documented in the README; stable)."""

EXIT_OK = 0             # the report was written; no errata gate tripped
EXIT_ERRATA = 1         # findings of the --fail-on kinds: errata, missing claims, changed equations, failing code blocks
EXIT_USAGE = 2          # bad command line: unknown option or topic, --junit into a missing folder (argparse's code)
EXIT_COURSE = 3         # the course folder or a page cannot be used: missing, empty, not UTF-8
EXIT_DATA = 4           # a file of the project is malformed: a worked-example YAML, the catalogue
EXIT_OUT_OF_DATE = 5    # the pages changed: a claim is missing from its page, or a computed verdict differs from the record

"""Kept for existing imports: the page code runner lives in :mod:`lmverify.pages` (contained by
:mod:`lmverify.sandbox`)."""

from lmverify.pages import CodeBlock, CodeRun, code_blocks, run, run_block  # noqa: F401

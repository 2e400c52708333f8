"""Kept for existing imports: the page code runner lives in :mod:`lmverify.pages`."""

from lmverify.pages import CodeBlock, CodeRun, code_blocks, run  # noqa: F401

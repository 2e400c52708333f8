"""The suite's pytest plugin lives in ``lmverify/pytest_plugin.py`` (installed as a ``pytest11`` entry point,
so its options parse before pytest picks the rootdir). This file only marks the project root."""

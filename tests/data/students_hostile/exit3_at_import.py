"""Ends the process with status 3 while it is imported."""
import os

os._exit(3)


def softmax(z, tau=1.0):  # pragma: no cover - never reached
    raise AssertionError

"""A student's softmax that never returns. Used by tests/test_harness.py."""


def softmax(z, tau=1.0):
    while True:
        pass

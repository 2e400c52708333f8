"""Allocates without end in the call (the memory limit must stop it with a MemoryError or a kill, named).

Each block (256 MiB, every byte written) is larger than the limit its test sets (64 MiB), so the limit refuses the
first at once: every call of the hypothesis tests fails the same way, in microseconds, where blocks under the
limit cost each call its page faults and the error path at the edge of the limit (seconds per test)."""


def softmax(z, tau=1.0):
    hoard = []
    while True:
        hoard.append(b"\x01" * (1 << 28))

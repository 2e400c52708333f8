"""Allocates without end in the call (the memory limit must stop it with a MemoryError or a kill, named)."""
import numpy as np


def softmax(z, tau=1.0):
    hoard = []
    while True:
        hoard.append(np.ones(1 << 25))  # 256 MiB at a time, touched

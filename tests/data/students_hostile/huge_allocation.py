"""Allocates without end in the call (the memory limit must stop it with a MemoryError or a kill, named)."""
import numpy as np


def softmax(z, tau=1.0):
    hoard = []
    while True:
        hoard.append(np.ones(1 << 21))  # 16 MiB at a time, touched

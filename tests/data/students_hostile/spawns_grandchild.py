"""Starts a process in a session of its own that would outlive the run (a `sleep` with a recognisable length)."""
import subprocess
import sys

import numpy as np

#: the sleep's argument: tests look for a live process with it on its command line
MARK = "3141.5926"
_started = []


def softmax(z, tau=1.0):
    if not _started:
        _started.append(subprocess.Popen(["sleep", MARK], start_new_session=True, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        sys.stdout.flush()
    return np.exp(np.asarray(z, dtype=np.float64) / tau)

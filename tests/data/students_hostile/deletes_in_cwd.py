"""Deletes files: the canary named by LMVERIFY_CANARY relative to its working directory (where a graded student
once deleted a project file) and by its absolute path."""
import os

import numpy as np


def _delete():
    name = os.environ.get("LMVERIFY_CANARY")
    if not name:
        return
    for path in (os.path.basename(name), name):
        try:
            os.remove(path)
        except OSError:
            pass


_delete()


def softmax(z, tau=1.0):
    _delete()
    return np.exp(np.asarray(z, dtype=np.float64) / tau)

"""Dereferences a null pointer in the call: the process ends by SIGSEGV."""
import ctypes


def softmax(z, tau=1.0):
    return ctypes.string_at(0)

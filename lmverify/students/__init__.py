"""The students: loading a ``--impl`` module, its limits, and calling its functions in a process of its own.

- :mod:`lmverify.students.loading`: :class:`StudentModule` (a module with its array type, time limit per call
  and memory), :class:`Students` (one per topic or one for all), the named errors (``ImplError``,
  ``ImplFailure``, ``SkipImpl``, ``WrongReturn``) and the signature check;
- :mod:`lmverify.students.isolation`: the student's process (zygote, carrier, worker) and the suite's proxy,
  :class:`~lmverify.students.isolation.StudentProcess`;
- :mod:`lmverify.students.conventions`: the conventions a student's module declares (``LMVERIFY = {...}`` or
  :func:`declare`): batch axes, weight layout, fused gates, return selection, units, sign, classes; every
  conversion exact; :class:`NotSupported` declines one input ("not covered");
- :mod:`lmverify.students.wire`: what crosses between the two processes (plain data only, read back safely).

Nothing here imports the backends, the checks or the plugin (they import this package).
"""

from lmverify.students.loading import (  # noqa: F401
    DEFAULT_CALL_SECONDS,
    DEFAULT_MEMORY_MIB,
    ImplError,
    ImplFailure,
    NotCovered,
    SkipImpl,
    StudentModule,
    Students,
    WrongReturn,
    check_signature,
    load_student_module,
)
from lmverify.students.conventions import ConventionError, NotSupported, declare  # noqa: F401,E402

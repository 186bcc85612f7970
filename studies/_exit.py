"""Leave the process without the interpreter's teardown, once everything is saved.

Why: with torch and Lightning loaded, Python's own shutdown (freeing every module
and object, unloading libtorch) takes 1.3-2 s on a 2-core machine and does
nothing for the user: every trial is already committed to the study. A search
worker pays it once per process, so a quick search and every `launch` worker end
that much sooner (scripts/bench_search.py, docs/benchmarks.md).

What a normal exit does that matters is still done, in the same order: the
interpreter's thread shutdown (executors finish their queued work, non-daemon
threads are joined), the atexit callbacks (logging's flush, database engines'
disposal, coverage data), then the standard streams are flushed.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from typing import NoReturn


def exit_now(code: int) -> NoReturn:
    """`sys.exit(code)` minus the interpreter teardown; for the command line only.

    Library callers (a notebook, a test) never get here: `studies.cli.entry`, the
    console script, calls it, and the search benchmark's worker, to end the same way.
    """
    _flush()
    shutdown = getattr(threading, "_shutdown", None)  # CPython: what Py_Finalize runs first
    if shutdown is not None:
        shutdown()
    atexit._run_exitfuncs()
    _flush()
    os._exit(code)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # closed, or a broken pipe
            stream.flush()

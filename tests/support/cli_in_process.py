"""The command line run inside the test's own process: ``deltaglider.cli.run`` with the command's
environment, working folder and standard streams swapped in for the call, and the library logger's
state put back after it (the command line installs its own handler on it).

What a subprocess adds is left to the tests that run one: the interpreter's start (``python -m``),
``sys.exit`` turning the status into the process's, real pipes and terminals, signals from outside,
and work done at the process's exit (a Prometheus textfile). The command reads an empty standard
input; a call has no timeout of its own.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

#: One command at a time: the environment and the working folder belong to the whole process.
_LOCK = threading.Lock()


@contextlib.contextmanager
def _swapped_environment(env: Mapping[str, str], cwd: Path) -> Iterator[None]:
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


@contextlib.contextmanager
def _logger_as_found() -> Iterator[None]:
    logger = logging.getLogger("deltaglider")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    try:
        yield
    finally:
        logger.handlers[:] = saved[0]
        logger.level, logger.propagate = saved[1], saved[2]


def run_in_process(argv: list[str], env: Mapping[str, str], cwd: Path) -> tuple[int, str, str]:
    """``deltaglider <argv>`` as if run in ``cwd`` with ``env``: (exit status, stdout, stderr)."""
    from deltaglider.cli import run

    out, err = io.BytesIO(), io.BytesIO()
    # Text streams with a ``buffer``, as a process's are: a download to ``-`` writes bytes to it.
    stdout = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    stderr = io.TextIOWrapper(err, encoding="utf-8", write_through=True)
    stdin = io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8")
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    with _LOCK, _swapped_environment(env, cwd), _logger_as_found():
        sys.stdin, sys.stdout, sys.stderr = stdin, stdout, stderr
        try:
            code = run(argv)
        finally:
            sys.stdin, sys.stdout, sys.stderr = saved_streams
            stdout.flush()
            stderr.flush()
        # Read before the wrappers go: closing one closes the buffer under it.
        return code, out.getvalue().decode(), err.getvalue().decode()

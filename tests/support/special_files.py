"""FIFOs and device nodes made inside a test's own folder, for the tests of destinations that are
written into rather than replaced. Never the machine's real devices: a test that replaced /dev/null
would break every other program on the machine."""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest


def inside(path: Path, root: Path) -> Path:
    """``path``, after checking that it lies in ``root`` (a test's ``tmp_path``): nothing a test
    downloads may land anywhere else."""
    resolved = Path(os.path.abspath(path))
    assert resolved.is_relative_to(os.path.abspath(root)), f"{path} is outside {root}"
    return path


class FifoReader:
    """A FIFO at ``path`` whose every byte a thread reads, from the first writer's open to its close."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data = b""
        os.mkfifo(path)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        with open(self.path, "rb") as fifo:  # blocks until a writer opens it
            self.data = fifo.read()

    def finish(self, timeout: float = 30) -> bytes:
        """What was read. A reader still waiting for a writer (the code under test never opened the
        FIFO) is released by an empty write of our own, so it reads nothing."""
        self._thread.join(timeout=0.2)
        if self._thread.is_alive():
            with contextlib.suppress(OSError):
                os.close(os.open(self.path, os.O_WRONLY | os.O_NONBLOCK))
        self._thread.join(timeout=timeout)
        assert not self._thread.is_alive(), "the FIFO's reader never finished"
        return self.data


@contextlib.contextmanager
def fifo_writer(path: Path, data: bytes) -> Iterator[Path]:
    """A FIFO at ``path`` that a thread fills with ``data`` for its first reader, then closes."""
    os.mkfifo(path)

    def write() -> None:
        with contextlib.suppress(BrokenPipeError), open(path, "wb") as fifo:  # blocks until read
            fifo.write(data)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        thread.join(timeout=0.2)
        if thread.is_alive():  # never read: open it ourselves, so the writer finishes
            with contextlib.suppress(OSError), open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as f:
                thread.join(timeout=5)
                f.read()
        thread.join(timeout=30)
        assert not thread.is_alive(), "the FIFO's writer never finished"


@contextlib.contextmanager
def fifo_reader(path: Path) -> Iterator[FifoReader]:
    reader = FifoReader(path)
    try:
        yield reader
    finally:
        reader.finish()


def null_device(path: Path) -> Path:
    """A character device node with the null device's numbers at ``path``, or a skip where this user
    may not make device nodes."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (PermissionError, AttributeError) as exc:
        pytest.skip(f"cannot make a device node here: {exc}")
    try:
        os.close(os.open(path, os.O_WRONLY))
    except PermissionError as exc:  # a file system mounted nodev
        pytest.skip(f"device nodes do not open here: {exc}")
    return path


def is_null_device(path: Path) -> bool:
    """True while ``path`` is still the device node :func:`null_device` made (not replaced)."""
    st = os.lstat(path)
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)

"""Where the command line writes: data and ``--json`` documents on stdout; progress, warnings and errors
on stderr. One ``Output`` per command run."""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, TextIO

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def human_size(size: int) -> str:
    """``1.5 MiB``, as ``aws s3 ls --human-readable`` writes sizes."""
    value = float(size)
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def percent(original: int | None, stored: int) -> float | None:
    """Savings in percent, or None when the original size is unknown or zero."""
    if not original:
        return None
    # "+ 0.0" turns a rounded -0.0 (the reference plus its empty delta) into 0.0.
    return round(100.0 * (1.0 - stored / original), 1) + 0.0


class Output:
    def __init__(self, *, json_mode: bool, quiet: bool, progress: bool) -> None:
        self.json_mode = json_mode
        self.quiet = quiet
        # A progress line only where someone watches it: a terminal, and no machine-read output.
        self.progress_enabled = progress and not quiet and not json_mode and sys.stderr.isatty()
        self._lock = threading.Lock()
        self._progress: Progress | None = None

    def _clear_progress(self) -> None:
        # A report line must not land in the middle of the progress line on the same terminal.
        if self._progress is not None:
            self._progress.clear()

    def line(self, text: str) -> None:
        """One line of the human-readable report (suppressed by ``--json`` and ``--quiet``)."""
        if self.json_mode or self.quiet:
            return
        with self._lock:
            self._clear_progress()
            sys.stdout.write(text + "\n")
            sys.stdout.flush()

    def data(self, text: str) -> None:
        """A line of the data a command exists to print (``ls``, ``stats``): kept by ``--quiet``."""
        if self.json_mode:
            return
        with self._lock:
            sys.stdout.write(text + "\n")

    def document(self, doc: dict[str, Any]) -> None:
        """The command's one JSON document (only with ``--json``)."""
        if self.json_mode:
            sys.stdout.write(json.dumps(doc, indent=2, sort_keys=False, default=str) + "\n")

    def error_line(self, text: str) -> None:
        """A failure inside a batch: always shown, on stderr."""
        with self._lock:
            self._clear_progress()
            sys.stderr.write(text + "\n")
            sys.stderr.flush()

    def warn(self, text: str) -> None:
        if not self.quiet:
            sys.stderr.write(f"warning: {text}\n")

    def progress(self, label: str, total_files: int, total_bytes: int | None) -> Progress:
        self._progress = Progress(
            label, total_files, total_bytes, sys.stderr if self.progress_enabled else None
        )
        return self._progress


class Progress:
    """Files done and bytes moved, redrawn on one stderr line at most a few times a second, and only once
    a batch has run longer than a moment. Bytes are the files' own (see :meth:`file`); with a total of
    None (a size not known ahead, as for a single download), the line shows the bytes moved alone. Its
    methods may be called from worker threads."""

    _DELAY_S = 0.5
    _INTERVAL_S = 0.2

    def __init__(self, label: str, total_files: int, total_bytes: int | None, stream: TextIO | None) -> None:
        self._label = label
        self._total_files = total_files
        self._total_bytes = total_bytes
        self._stream = stream
        self._files = 0
        self._bytes = 0
        self._started = time.monotonic()
        self._drawn_at = 0.0
        self._drawn = False
        self._lock = threading.Lock()

    def file(self, size: int | None) -> FileProgress:
        """One file's share of the count, ``size`` bytes when known."""
        return FileProgress(self, size)

    def _add(self, share: FileProgress, nbytes: int, *, done: bool) -> None:
        with self._lock:
            reached = share.counted + nbytes
            if share.size is not None:
                # What the transfer reports (stored bytes, a reference fetched on the way) counts up to the
                # file's size; a file done counts whole, whatever was reported.
                reached = share.size if done else min(reached, share.size)
            counted = max(0, reached - share.counted)
            share.counted += counted
            self._bytes += counted
            if done:
                self._files += 1
            self._draw()

    def _draw(self) -> None:
        if self._stream is None:
            return
        now = time.monotonic()
        if now - self._started < self._DELAY_S or now - self._drawn_at < self._INTERVAL_S:
            return
        self._drawn_at = now
        moved = human_size(self._bytes)
        of = f" of {human_size(self._total_bytes)}" if self._total_bytes is not None else ""
        text = f"{self._label}: {self._files}/{self._total_files} files, {moved}{of}"
        self._stream.write("\r" + text.ljust(70))
        self._stream.flush()
        self._drawn = True

    def clear(self) -> None:
        """Blanks the progress line (it is drawn again on the next update)."""
        with self._lock:
            self._blank()

    def close(self) -> None:
        """Clears the progress line for good, so the lines printed after it start clean."""
        with self._lock:
            self._blank()
            self._stream = None

    def _blank(self) -> None:
        if self._stream is not None and self._drawn:
            self._stream.write("\r" + " " * 70 + "\r")
            self._stream.flush()
            self._drawn = False


class FileProgress:
    """One file of a :class:`Progress`: ``advance`` takes what its transfer reports, ``done`` says the
    file is finished, however it ended."""

    def __init__(self, progress: Progress, size: int | None) -> None:
        self._progress = progress
        self.size = size
        self.counted = 0  # under the progress's lock

    def advance(self, nbytes: int) -> None:
        self._progress._add(self, nbytes, done=False)

    def done(self) -> None:
        self._progress._add(self, 0, done=True)

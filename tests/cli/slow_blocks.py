"""Runs ``deltaglider`` (the arguments as given) over a folder store whose every block takes a while.

A folder store moves its objects in blocks, reporting each to the transfer's progress; here each block
is held back ``DG_TEST_BLOCK_SECONDS`` first, as on a slow disk or link, so that a test can interrupt
transfers in flight. The first block moved writes ``DG_TEST_MARKER`` and a newline on stderr: the
moment a transfer has started.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

from deltaglider.adapters import storage_local_files
from deltaglider.cli.app import main
from deltaglider.ports.storage import ProgressCallback

_copy_into = storage_local_files.copy_into
_first = threading.Event()


def _slow_copy_into(fin: int, dest: Path, progress: ProgressCallback | None, *, new: bool) -> None:
    delay = float(os.environ["DG_TEST_BLOCK_SECONDS"])

    def each_block(count: int) -> None:
        if not _first.is_set():
            _first.set()
            os.write(2, os.environ["DG_TEST_MARKER"].encode() + b"\n")
        time.sleep(delay)
        if progress is not None:
            progress(count)

    _copy_into(fin, dest, each_block, new=new)


if __name__ == "__main__":
    storage_local_files.copy_into = _slow_copy_into
    main(sys.argv[1:])

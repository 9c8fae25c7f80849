"""Where a downloaded file goes, and writing it there: to a temporary file beside the destination
(:mod:`deltaglider.atomic`), renamed into place only once its bytes are known to be right, so a failed
or corrupt download never leaves a file behind. A destination that is a FIFO or a device is written
into instead, once the bytes are right, from a temporary file in the download's scratch folder: it is
never renamed over."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from deltaglider.atomic import ErrorMapper, Spool, StrPath, write_output
from deltaglider.errors import AccessDeniedError, InvalidURLError, StorageError
from deltaglider.urls import safe_join

_SEPARATORS = tuple({"/", os.sep})


def resolve_output(output_path: StrPath, name: str) -> Path:
    """``output_path`` itself, or ``output_path/name`` when it is an existing folder or a path ending
    in a separator (a folder, made when the file is written if it does not exist yet); ``name`` must
    stay inside it."""
    text = os.fspath(output_path)
    path = Path(text)
    if text.endswith(_SEPARATORS) or path.is_dir():
        return safe_join(path, name)
    return path


def _storage_error(parent: Path) -> ErrorMapper:
    def mapped(exc: OSError, what: str) -> BaseException:
        if isinstance(exc, PermissionError):
            return AccessDeniedError(f"{what} in {parent}: {exc}")
        return StorageError(f"{what} in {parent}: {exc}")

    return mapped


@contextmanager
def atomic_output(dest: Path, spool: Spool | None = None) -> Iterator[Path]:
    """Yields a fresh temporary path in ``dest``'s folder (creating the folder); on normal exit renames
    it to ``dest``, on an exception removes it. When ``dest`` is (or links to) a FIFO or device, the
    path is in a folder made by ``spool`` instead, and its bytes are written into ``dest``."""
    if dest.name in ("", ".", ".."):
        raise InvalidURLError(f"{dest} is not a file name")
    with write_output(dest, error=_storage_error(dest.parent), make_parents=True, spool=spool) as part:
        # The callers write through the path; the descriptor only reserved the name.
        part.close()
        yield part.path

"""Writing a downloaded file: to a temporary file beside the destination (:mod:`deltaglider.atomic`),
renamed into place only once its bytes are known to be right, so a failed or corrupt download never
leaves a file behind."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from deltaglider.atomic import ErrorMapper, write_beside
from deltaglider.errors import AccessDeniedError, InvalidURLError, NotFoundError, StorageError
from deltaglider.urls import safe_join


def resolve_output(output_path: Path, name: str) -> Path:
    """``output_path`` itself, or ``output_path/name`` when it is an existing folder (``name`` must stay
    inside it)."""
    if output_path.is_dir():
        return safe_join(output_path, name)
    if str(output_path).endswith(os.sep):
        raise NotFoundError(f"output folder {output_path} does not exist")
    return output_path


def _storage_error(parent: Path) -> ErrorMapper:
    def mapped(exc: OSError, what: str) -> BaseException:
        if isinstance(exc, PermissionError):
            return AccessDeniedError(f"{what} in {parent}: {exc}")
        return StorageError(f"{what} in {parent}: {exc}")

    return mapped


@contextmanager
def atomic_output(dest: Path) -> Iterator[Path]:
    """Yields a fresh temporary path in ``dest``'s folder (creating the folder); on normal exit renames
    it to ``dest``, on an exception removes it."""
    if dest.name in ("", ".", ".."):
        raise InvalidURLError(f"{dest} is not a file name")
    with write_beside(dest, error=_storage_error(dest.parent), make_parents=True) as part:
        # The callers write through the path; the descriptor only reserved the name.
        part.close()
        yield part.path

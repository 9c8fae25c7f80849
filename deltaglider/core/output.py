"""Writing a downloaded file: to a temporary file beside the destination, renamed into place only once
its bytes are known to be right, so a failed or corrupt download never leaves a file behind."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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


@contextmanager
def atomic_output(dest: Path) -> Iterator[Path]:
    """Yields a fresh temporary path in ``dest``'s folder; on normal exit renames it to ``dest``, on an
    exception removes it."""
    parent = dest.parent
    if dest.name in ("", ".", ".."):
        raise InvalidURLError(f"{dest} is not a file name")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = parent / f".{dest.name[:100]}.{secrets.token_hex(6)}.dg-part"
        # O_EXCL: never write through a planted file or link; 0o666 so the umask decides the final mode.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        os.close(fd)
    except PermissionError as exc:
        raise AccessDeniedError(f"cannot write into {parent}: {exc}") from exc
    except OSError as exc:
        raise StorageError(f"cannot create a file in {parent}: {exc}") from exc
    try:
        yield tmp
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise

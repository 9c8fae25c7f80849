"""A private copy of the file being uploaded, so that what is hashed is exactly what is stored.

The copy is hashed as it is made (one read of the user's file, in bounded chunks).

Every later step (sniffing, encoding, the reference upload, a whole upload) reads the copy, never the
user's file: a file rewritten while it uploads cannot leave an object that fails its SHA-256. A change
*during* the copy would give a copy mixing old and new bytes; it is detected by comparing the file's
identity (device, inode, size, mtime and ctime in nanoseconds) before and after, and refused. A write
that changes none of those (same size, within one tick of the file system's clock) cannot be seen.

A pipe or a terminal (``cp - s3://...`` reads standard input) is a stream, not a file: it is read
once to its end, and the copy is what was read; it has no identity to compare.

:class:`PrivateCopy` is what the upload learns of the copy, each read once: its head, its decoded
stream and the fingerprints a base is chosen and recorded by.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from deltaglider.core.family.fingerprint import Fingerprint, Form, fingerprint
from deltaglider.errors import AccessDeniedError, FileChangedError, NotFoundError, StorageError
from deltaglider.ports.hash import HashPort
from deltaglider.ports.storage import ProgressCallback
from deltaglider.transforms import probe
from deltaglider.transforms.container import CONTAINERS, decode_all
from deltaglider.transforms.sniff import read_head


def _identity(st: os.stat_result) -> tuple[int, int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _unreadable(file: Path, exc: OSError) -> Exception:
    if isinstance(exc, PermissionError):
        return AccessDeniedError(f"cannot read {file}: permission denied")
    return StorageError(f"cannot read {file}: {exc.strerror or exc}")


def _stat(file: Path) -> os.stat_result:
    try:
        st = file.stat()
    except FileNotFoundError:
        raise NotFoundError(f"local file {file} does not exist") from None
    except OSError as exc:
        raise _unreadable(file, exc) from exc
    if not (stat.S_ISREG(st.st_mode) or _is_stream(st)):
        raise NotFoundError(f"{file} is not a regular file, a pipe or a terminal")
    return st


def _is_stream(st: os.stat_result) -> bool:
    return stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode)


def _copy(hasher: HashPort, src: Path, dest: Path, progress: ProgressCallback | None) -> str:
    try:
        return hasher.copy_file(src, dest, progress)
    except OSError as exc:
        dest.unlink(missing_ok=True)
        if exc.filename is None or os.fsdecode(exc.filename) != os.fsdecode(src):
            raise  # the scratch side (a full disk...), not the user's file
        raise _unreadable(src, exc) from exc


def take(
    file: Path, dest: Path, hasher: HashPort, progress: ProgressCallback | None = None
) -> tuple[int, str]:
    """Copies ``file`` to ``dest`` (a scratch path) and returns the copy's size and SHA-256;
    ``FileChangedError`` if the file changed while it was copied, ``AccessDeniedError`` if it may
    not be read. A pipe or terminal is read once, to its end. ``progress`` gets the bytes read: an
    upload's progress is the user's file read, whatever is then stored."""
    before = _stat(file)
    sha256 = _copy(hasher, file, dest, progress)
    copied = dest.stat().st_size
    if _is_stream(before):
        return copied, sha256
    after = _stat(file)
    if _identity(before) != _identity(after) or copied != after.st_size:
        dest.unlink(missing_ok=True)
        raise FileChangedError(f"{file} changed while it was being read; nothing was stored, upload it again")
    return copied, sha256


@dataclass(frozen=True)
class Decoded:
    """A container's decoded stream, every stream that inflates inflated (no recipe: only read)."""

    path: Path
    streams: int
    size: int


class PrivateCopy:
    """The upload's private copy (:func:`take`) and what the upload reads of it at most once: its head
    (container and compressor), its decoded stream while a step needs it, and its fingerprints.

    ``decodes``: whether deltas of decoded content may be made (not in the original's mode); then a
    container's fingerprint is taken on its decoded stream, what such a delta is made of.
    """

    def __init__(self, path: Path, size: int, sha256: str, *, decodes: bool) -> None:
        self.path, self.size, self.sha256 = path, size, sha256
        self.head = read_head(path)
        #: Whether decoding the container can pay, from the first bytes of its streams (a deflater that
        #: is not zlib's reproduces in none): when not, neither its fingerprint nor a delta of it is
        #: taken on its decoded stream.
        self.decodable = (
            decodes and self.head.container in CONTAINERS and probe.may_decode(path, kind=self.head.container)
        )
        self._decodes = self.decodable
        self._decoded: Decoded | None = None
        self._undecodable = False
        self._fingerprints: dict[Form, Fingerprint | None] = {}

    def decoded(self) -> Decoded | None:
        """The decoded stream, made on first use (again after :meth:`release`); None when the file is
        no container whose streams decode."""
        if not self._decodes or self._undecodable:
            return None
        if self._decoded is None:
            out = self.path.with_name(self.path.name + ".decoded")
            streams = decode_all(self.path, out, kind=self.head.container)
            if not streams:
                self._undecodable = True
                return None
            self._decoded = Decoded(out, streams, out.stat().st_size)
        return self._decoded

    def release(self) -> None:
        """Removes the decoded stream: a large archive's is not kept on disk beside the next one."""
        if self._decoded is not None:
            self._decoded.path.unlink(missing_ok=True)
            self._decoded = None

    def fingerprint(self, form: Form) -> Fingerprint | None:
        """The fingerprint taken on ``form``; None for ``decoded`` when the file does not decode."""
        if form not in self._fingerprints:
            if form == "raw":
                self._fingerprints[form] = fingerprint(self.path)
            else:
                decoded = self.decoded()
                self._fingerprints[form] = None if decoded is None else fingerprint(decoded.path, form)
        return self._fingerprints[form]

    def recorded_fingerprint(self) -> Fingerprint:
        """The fingerprint a base made of this file records: taken on what a delta against it is made
        of (the decoded stream for a container that decodes, else the file)."""
        return self.fingerprint("decoded") or self.fingerprint("raw") or fingerprint(self.path)

"""The exception family: every error deltaglider raises on purpose is a ``DeltaGliderError``, and each
also inherits the builtin a caller would already catch (after the ``+``), so ``except ValueError`` or
``except FileNotFoundError`` written for other libraries keeps working. The tree, each class under
its parent:

    DeltaGliderError
    ├── CodecError                  + RuntimeError
    │   ├── OutOfMemoryError        + MemoryError
    │   ├── DecodeError             + ValueError
    │   ├── CodecIOError            + OSError
    │   └── UnsupportedDeltaError
    ├── IntegrityError              + ValueError
    ├── NotFoundError               + FileNotFoundError
    ├── AccessDeniedError           + PermissionError
    ├── InvalidURLError             + ValueError
    ├── StorageError                + OSError
    ├── ReferenceInUseError
    ├── MetadataError               + ValueError
    ├── FileChangedError            + RuntimeError
    ├── NotVerifiableError          + ValueError
    ├── CacheError                  + OSError
    └── RecipeError                 + ValueError

``tests/docs/test_error_tree.py`` checks the drawing against the classes below.
"""

from __future__ import annotations


class DeltaGliderError(Exception):
    """Root of every error deltaglider raises on purpose."""


class CodecError(DeltaGliderError, RuntimeError):
    """The native codec failed, or cannot be loaded.

    Carries xdelta3's symbolic error name (``XD3_INVALID_INPUT``...) and its own message.
    """

    def __init__(self, message: str, *, name: str = "", detail: str = "") -> None:
        super().__init__(message)
        self.name = name
        self.detail = detail


class OutOfMemoryError(CodecError, MemoryError):
    """The codec could not allocate what it needed."""


class DecodeError(CodecError, ValueError):
    """A delta could not be turned back into its file: corrupt, truncated or empty, made against a
    different reference (checksum mismatch), or decoding past the expected size."""


class CodecIOError(CodecError, OSError):
    """Reading or writing a file failed inside the codec (file-to-file encode or decode).

    An ``OSError`` with ``errno``, ``strerror`` and ``filename`` as the system reported them;
    ``detail`` says which step failed (``"cannot write the output file"``...).
    """

    def __init__(self, errno: int, strerror: str, filename: str | None = None, *, detail: str = "") -> None:
        import errno as _errno  # local: the parameter is named like the OSError attribute

        CodecError.__init__(self, strerror, name=_errno.errorcode.get(errno, "EIO"), detail=detail)
        OSError.__init__(self, errno, strerror, filename)

    def __str__(self) -> str:
        where = f": {self.filename!r}" if self.filename is not None else ""
        what = f"{self.detail}: " if self.detail else ""
        return f"[Errno {self.errno}] {what}{self.strerror}{where}"


class UnsupportedDeltaError(CodecError):
    """The delta was made by the stock xdelta3 binary over an external compressor's output.

    The binary decompressed gzip/bzip2/xz/compress inputs before diffing and recompressed on decode;
    the VCDIFF alone rebuilds the *decompressed* bytes. ``marker`` is the ident from the application
    header (``G`` gzip, ``B`` bzip2, ``Y`` xz, ``Z`` compress) for the target, ``source_marker`` the
    one for the source; ``appheader`` is the header as written.
    """

    def __init__(self, message: str, *, appheader: str, marker: str, source_marker: str) -> None:
        super().__init__(message, name="EXTERNAL_COMPRESSION", detail=appheader)
        self.appheader = appheader
        self.marker = marker
        self.source_marker = source_marker


class IntegrityError(DeltaGliderError, ValueError):
    """Bytes did not match the SHA-256 recorded for them."""


class NotFoundError(DeltaGliderError, FileNotFoundError):
    """An object, file or reference does not exist."""


class AccessDeniedError(DeltaGliderError, PermissionError):
    """The store refused access."""


class InvalidURLError(DeltaGliderError, ValueError):
    """A location could not be parsed, or names a key that would escape its folder."""


class StorageError(DeltaGliderError, OSError):
    """The store failed for a reason other than a missing object or denied access."""


class ReferenceInUseError(DeltaGliderError):
    """A reference that deltas still depend on was asked to be deleted without ``force``."""


class MetadataError(DeltaGliderError, ValueError):
    """An object's deltaglider metadata is present but unusable (a field that must be a number is not,
    a delta without the SHA-256 of its reference...)."""


class FileChangedError(DeltaGliderError, RuntimeError):
    """The local file changed while it was being read for an upload; nothing was stored."""


class NotVerifiableError(DeltaGliderError, ValueError):
    """The object carries no SHA-256 (stored by another tool, or by the original's ``--no-delta``), so
    there is nothing to check its bytes against."""


class CacheError(DeltaGliderError, OSError):
    """The reference cache folder cannot be used safely (not ours, not a folder, not writable)."""


class RecipeError(DeltaGliderError, ValueError):
    """An archive recipe is corrupt, of an unknown version, or does not fit the decoded stream it came
    with."""

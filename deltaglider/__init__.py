"""deltaglider: store families of similar files as VCDIFF deltas against one reference."""

from deltaglider.errors import (
    AccessDeniedError,
    CodecError,
    DecodeError,
    DeltaGliderError,
    IntegrityError,
    InvalidURLError,
    NotFoundError,
    OutOfMemoryError,
    ReferenceInUseError,
    StorageError,
    UnsupportedDeltaError,
)

__version__ = "0.1.0"

__all__ = [
    "AccessDeniedError",
    "CodecError",
    "DecodeError",
    "DeltaGliderError",
    "IntegrityError",
    "InvalidURLError",
    "NotFoundError",
    "OutOfMemoryError",
    "ReferenceInUseError",
    "StorageError",
    "UnsupportedDeltaError",
    "__version__",
]

"""The public names, pinned: what ``deltaglider`` exports (``__all__`` and ``from deltaglider import *``)
and the exception family of ``deltaglider.errors``, each against a list written here.

A name that appears or disappears is a change of the public API: it fails here until this list, and
the documentation with it, says so on purpose.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import deltaglider
from deltaglider import errors

EXPORTED = [
    "AccessDeniedError",
    "BucketStats",
    "CacheError",
    "CodecError",
    "CodecIOError",
    "CompressionEstimate",
    "CopyObjectResponse",
    "CreateBucketResponse",
    "DecodeError",
    "DeleteObjectResponse",
    "DeleteObjectsResponse",
    "DeleteResult",
    "DeltaGliderClient",
    "DeltaGliderError",
    "DeltaService",
    "DeltaSpace",
    "FileChangedError",
    "FilterRule",
    "GetObjectResponse",
    "GetSummary",
    "HeadObjectResponse",
    "IntegrityError",
    "InvalidURLError",
    "ListBucketsResponse",
    "ListEntry",
    "ListObjectsResponse",
    "ListObjectsV2Response",
    "MetadataError",
    "NotFoundError",
    "NotVerifiableError",
    "ObjectInfo",
    "ObjectKey",
    "OutOfMemoryError",
    "Place",
    "PutObjectResponse",
    "PutSummary",
    "ReferenceInUseError",
    "RepackResult",
    "RetentionResult",
    "S3Object",
    "S3Options",
    "Settings",
    "StatsSummary",
    "StorageError",
    "StoredObject",
    "TreeResult",
    "UnsupportedDeltaError",
    "UploadSummary",
    "VerifyResult",
    "VersionInfo",
    "__version__",
    "create_client",
]

#: Every exception of ``deltaglider.errors`` and the classes it derives from: a caller catching a
#: builtin (``ValueError``, ``OSError``...) relies on the second column as much as on the name.
ERRORS = {
    "DeltaGliderError": ("Exception",),
    "CodecError": ("DeltaGliderError", "RuntimeError"),
    "OutOfMemoryError": ("CodecError", "MemoryError"),
    "DecodeError": ("CodecError", "ValueError"),
    "CodecIOError": ("CodecError", "OSError"),
    "UnsupportedDeltaError": ("CodecError",),
    "IntegrityError": ("DeltaGliderError", "ValueError"),
    "NotFoundError": ("DeltaGliderError", "FileNotFoundError"),
    "AccessDeniedError": ("DeltaGliderError", "PermissionError"),
    "InvalidURLError": ("DeltaGliderError", "ValueError"),
    "StorageError": ("DeltaGliderError", "OSError"),
    "ReferenceInUseError": ("DeltaGliderError",),
    "MetadataError": ("DeltaGliderError", "ValueError"),
    "FileChangedError": ("DeltaGliderError", "RuntimeError"),
    "NotVerifiableError": ("DeltaGliderError", "ValueError"),
    "CacheError": ("DeltaGliderError", "OSError"),
    "RecipeError": ("DeltaGliderError", "ValueError"),
}


def test_all_is_the_written_list() -> None:
    assert sorted(deltaglider.__all__) == sorted(EXPORTED)
    assert len(deltaglider.__all__) == len(set(deltaglider.__all__)), "a name listed twice"


def test_star_import_gives_exactly_the_written_list() -> None:
    namespace: dict[str, object] = {}
    exec("from deltaglider import *", namespace)
    namespace.pop("__builtins__")
    assert sorted(namespace) == sorted(EXPORTED)
    for name, value in namespace.items():
        assert value is getattr(deltaglider, name)


def test_every_exported_name_is_reachable_from_a_fresh_interpreter(tmp_path: Path) -> None:
    # Lazily loaded names are found by ``__getattr__`` only if the table behind it names the module
    # that really defines them: a fresh process, with nothing imported by other tests.
    script = "import deltaglider\nfor name in deltaglider.__all__:\n    getattr(deltaglider, name)\n"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_the_exported_errors_are_those_of_deltaglider_errors() -> None:
    for name in EXPORTED:
        value = getattr(deltaglider, name)
        if inspect.isclass(value) and issubclass(value, BaseException):
            assert value is getattr(errors, name)


def test_the_exception_family_is_the_written_tree() -> None:
    defined = {
        name: tuple(base.__name__ for base in value.__bases__)
        for name, value in vars(errors).items()
        if inspect.isclass(value) and value.__module__ == errors.__name__
    }
    assert defined == ERRORS
    if hasattr(errors, "__all__"):
        assert sorted(errors.__all__) == sorted(ERRORS)

"""The boto3-shaped bucket calls on a folder store (``LocalStorage``): a bucket is a folder under the
store's root.

What S3 refuses, this refuses with the same ``ClientError`` code: a bucket that is missing
(``NoSuchBucket``), already there (``BucketAlreadyOwnedByYou``, as S3 answers everywhere but in
us-east-1, where a repeated create of one's own bucket succeeds), not empty (``BucketNotEmpty``), or
badly named (``InvalidBucketName``). A folder has no ACLs (its access is its file permissions):
``get_bucket_acl`` reports what is true of any folder, that its owner has full control, and
``put_bucket_acl`` is refused rather than pretending to change anything. Presigned links need an
HTTP endpoint, which a folder has not: refused too.
"""

from __future__ import annotations

import os
import pwd
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from deltaglider.adapters.storage_local_files import LOCK_NAME, META_DIR, SIDECAR, lstat_or_none
from deltaglider.errors import InvalidURLError, StorageError

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

    from deltaglider.adapters.storage_local import LocalStorage

#: CreateBucket settings that mean nothing for a folder but are harmless to accept: the region.
_IGNORED_CREATE_PARAMS: Final = frozenset({"CreateBucketConfiguration"})


def _no_other_params(call: str, bucket: str, params: Mapping[str, Any], accepted: frozenset[str]) -> None:
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise StorageError(
            f"{call} {bucket!r}: {', '.join(unknown)}: S3 settings that a folder store does not have"
        )


def s3_error(code: str, message: str, operation: str, bucket: str, status: int) -> ClientError:
    """The ``ClientError`` S3 would answer with, for a boto3 user's ``except ClientError``."""
    from botocore.exceptions import ClientError  # only bucket calls on a folder store need botocore

    return ClientError(
        {
            "Error": {"Code": code, "Message": message, "BucketName": bucket},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        operation,
    )


def _user(uid: int) -> dict[str, str]:
    """A folder owner as S3 names one: ``ID`` (here the numeric user id) and ``DisplayName``."""
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = str(uid)
    return {"DisplayName": name, "ID": str(uid)}


def _metadata(status: int) -> dict[str, Any]:
    return {"ResponseMetadata": {"HTTPStatusCode": status}}


def _orphan_sidecar(meta: Path, name: str) -> bool:
    """A sidecar whose object is gone (a removal leaves it for the next sweep)."""
    return name.endswith(SIDECAR) and lstat_or_none(meta.parent / name.removesuffix(SIDECAR)) is None


def _leftovers(bucket_dir: Path) -> tuple[list[Path], list[Path], Path | None]:
    """What removing an empty bucket folder removes: the store's own files (folder locks, sidecars
    whose object is gone) and the folders, deepest first; and the first thing found that is neither,
    which makes the bucket not empty (an object, a link, an interrupted write's files)."""
    own_files: list[Path] = []
    folders: list[Path] = []
    for top, dirs, names in os.walk(bucket_dir, topdown=False):
        here = Path(top)
        in_meta = here.name == META_DIR
        for name in dirs:  # os.walk lists a link to a folder here, and never enters it
            if stat.S_ISLNK(os.lstat(here / name).st_mode):
                return own_files, folders, here / name
        for name in names:
            path = here / name
            if (in_meta and name == LOCK_NAME) or (
                in_meta
                and name.endswith(SIDECAR)
                and lstat_or_none(here.parent / name[: -len(SIDECAR)]) is None
            ):
                own_files.append(path)
            else:
                return own_files, folders, path
        folders.append(here)
    return own_files, folders, None


class LocalBucketAdmin:
    """``BucketAdmin`` on a folder store."""

    def __init__(self, storage: LocalStorage) -> None:
        self._storage = storage

    def _folder(self, bucket: str, operation: str) -> Path:
        try:
            return self._storage.bucket_folder(bucket)
        except InvalidURLError as exc:
            raise s3_error("InvalidBucketName", str(exc), operation, bucket, 400) from exc

    def _existing(self, bucket: str, operation: str) -> Path:
        folder = self._folder(bucket, operation)
        st = lstat_or_none(folder)
        if st is None or not stat.S_ISDIR(st.st_mode):
            raise s3_error("NoSuchBucket", f"no such bucket folder: {folder}", operation, bucket, 404)
        return folder

    def list_buckets(self, params: Mapping[str, Any]) -> dict[str, Any]:
        _no_other_params("list_buckets", "", params, frozenset())
        buckets = [{"Name": info.name, "CreationDate": info.created} for info in self._storage.list_buckets()]
        return {"Buckets": buckets, "Owner": _user(os.getuid()), **_metadata(200)}

    def create_bucket(self, bucket: str, params: Mapping[str, Any]) -> dict[str, Any]:
        _no_other_params("create_bucket", bucket, params, _IGNORED_CREATE_PARAMS)
        folder = self._folder(bucket, "CreateBucket")
        try:
            self._storage.root.mkdir(parents=True, exist_ok=True)
            folder.mkdir()
        except FileExistsError as exc:
            raise s3_error(
                "BucketAlreadyOwnedByYou", f"{folder} already exists", "CreateBucket", bucket, 409
            ) from exc
        except OSError as exc:
            raise StorageError(f"create_bucket {bucket!r}: cannot make {folder}: {exc}") from exc
        return {"Location": f"/{bucket}", **_metadata(200)}

    def delete_bucket(self, bucket: str, params: Mapping[str, Any]) -> dict[str, Any]:
        _no_other_params("delete_bucket", bucket, params, frozenset())
        folder = self._existing(bucket, "DeleteBucket")
        own_files, folders, blocker = _leftovers(folder)
        if blocker is not None:
            raise s3_error(
                "BucketNotEmpty",
                f"{folder} is not empty: it holds {blocker} (an object, a link, or what an interrupted "
                "write left: see cleanup)",
                "DeleteBucket",
                bucket,
                409,
            )
        try:
            for path in own_files:
                path.unlink(missing_ok=True)
            for path in folders:  # deepest first; rmdir never removes a folder that gained a file
                path.rmdir()
        except OSError as exc:
            raise s3_error(
                "BucketNotEmpty", f"{folder} changed while it was removed: {exc}", "DeleteBucket", bucket, 409
            ) from exc
        return _metadata(204)

    def get_bucket_acl(self, bucket: str, params: Mapping[str, Any]) -> dict[str, Any]:
        _no_other_params("get_bucket_acl", bucket, params, frozenset())
        folder = self._existing(bucket, "GetBucketAcl")
        owner = _user(folder.stat().st_uid)
        grant = {"Grantee": {**owner, "Type": "CanonicalUser"}, "Permission": "FULL_CONTROL"}
        return {"Owner": owner, "Grants": [grant], **_metadata(200)}

    def put_bucket_acl(self, bucket: str, params: Mapping[str, Any]) -> dict[str, Any]:
        folder = self._existing(bucket, "PutBucketAcl")
        raise StorageError(
            f"put_bucket_acl {bucket!r}: a folder store has no ACLs; who may read {folder} is set by its "
            "file permissions (chmod), not by this call"
        )

    def presigned_url(self, method: str, params: Mapping[str, Any], expires_in: int) -> str:
        raise StorageError(
            f"generate_presigned_url: a folder store ({self._storage.root}) has no HTTP endpoint to link "
            "to; presigned links need S3"
        )

    def presigned_post(
        self,
        bucket: str,
        key: str,
        fields: Mapping[str, Any] | None,
        conditions: list[Any] | None,
        expires_in: int,
    ) -> dict[str, Any]:
        raise StorageError(
            f"generate_presigned_post: a folder store ({self._storage.root}) has no HTTP endpoint to "
            "upload to; presigned forms need S3"
        )

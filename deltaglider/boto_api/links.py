"""Presigned links, whole copies of delta-stored files for them, and the purge of those copies.

A presigned link is signed by the store's own S3 client (its endpoint, credentials and signature
settings) and names one object as stored: for a file stored as a delta, that object is the delta. The
``*_rehydration`` calls first write the file whole under ``.deltaglider/tmp/`` (see
``boto_api.temp_copies``, the original DeltaGlider's layout, which its ``purge`` cleans too) and link
to that copy. A ``file://`` store has no HTTP endpoint: links to it are refused (``StorageError``).
"""

# boto3's own keyword names (Bucket, Key, ExpiresIn...), which callers pass by name.
# ruff: noqa: N803

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from deltaglider.boto_api import temp_copies
from deltaglider.core.models import ObjectKey

if TYPE_CHECKING:
    from deltaglider.core.service import DeltaService


class LinkCalls:
    """Mixed into DeltaGliderClient."""

    service: DeltaService

    def generate_presigned_url(
        self, ClientMethod: str, Params: dict[str, Any] | None = None, ExpiresIn: int = 3600
    ) -> str:
        """A link that performs ``ClientMethod`` (``"get_object"``, ``"put_object"``...) with
        ``Params`` (``{"Bucket": ..., "Key": ...}`` and the method's other parameters), valid for
        ``ExpiresIn`` seconds, as boto3 makes it. It names the object as stored: for a file stored
        as a delta use :meth:`generate_presigned_url_with_rehydration`."""
        temp_copies.check_expires_in(ExpiresIn)
        return self.service.storage.bucket_admin().presigned_url(ClientMethod, Params or {}, ExpiresIn)

    def generate_presigned_post(
        self,
        Bucket: str,
        Key: str,
        Fields: dict[str, Any] | None = None,
        Conditions: list[Any] | None = None,
        ExpiresIn: int = 3600,
    ) -> dict[str, Any]:
        """An HTML form upload of one object, as boto3 makes it: ``{"url": ..., "fields": {...}}``,
        the fields to send (in that order, before the file) in a multipart/form-data POST to
        ``url``. The object is stored as sent, not as a delta."""
        temp_copies.check_expires_in(ExpiresIn)
        return self.service.storage.bucket_admin().presigned_post(Bucket, Key, Fields, Conditions, ExpiresIn)

    def rehydrate_for_download(self, Bucket: str, Key: str, ExpiresIn: int = 3600) -> str | None:
        """For a file stored as a delta (found as ``Key`` or ``Key.delta``), writes the whole file
        under ``.deltaglider/tmp/`` with an expiry ``ExpiresIn`` seconds ahead and returns its key;
        None for a file stored whole (link to it directly). ``NotFoundError`` when there is no such
        file."""
        temp_copies.check_expires_in(ExpiresIn)
        stored = self.service.head(ObjectKey(Bucket, Key))
        if not stored.is_delta:
            return None
        key = temp_copies.copy_key(stored.key)
        temp_copies.write_copy(self.service, Bucket, stored.key, key, ExpiresIn)
        return key

    def generate_presigned_url_with_rehydration(self, Bucket: str, Key: str, ExpiresIn: int = 3600) -> str:
        """A GET link to the file ``Key`` that yields the file's own bytes however it is stored: for
        a delta, a link to a whole copy (as :meth:`rehydrate_for_download`, which expires with the
        link) that downloads under the file's name; for a file stored whole, a link to it."""
        temp_copies.check_expires_in(ExpiresIn)
        admin = self.service.storage.bucket_admin()
        stored = self.service.head(ObjectKey(Bucket, Key))
        if not stored.is_delta:
            return admin.presigned_url("get_object", {"Bucket": Bucket, "Key": stored.key}, ExpiresIn)
        key = temp_copies.copy_key(stored.key)
        params = {
            "Bucket": Bucket,
            "Key": key,
            "ResponseContentDisposition": temp_copies.attachment(temp_copies.file_name(stored.key)),
        }
        # Signed before the copy is written: a store that cannot link refuses before any write.
        url = admin.presigned_url("get_object", params, ExpiresIn)
        temp_copies.write_copy(self.service, Bucket, stored.key, key, ExpiresIn)
        return url

    def purge_temp_files(self, Bucket: str, *, dry_run: bool = False) -> dict[str, Any]:
        """Removes the copies under the bucket's ``.deltaglider/tmp/`` whose ``dg-expires-at`` has
        passed, never another object, and returns the original's statistics: ``deleted_count``,
        ``expired_count``, ``error_count``, ``total_size_freed``, ``duration_seconds``, ``errors``.
        ``dry_run`` removes nothing and adds ``would_delete_count``, ``total_size_to_free`` and
        ``expired_files`` (``key``, ``size``, ``expires_at``)."""
        return temp_copies.purge(self.service.storage, Bucket, dry_run=dry_run)

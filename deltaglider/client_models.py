"""The original DeltaGlider's ``deltaglider.client_models`` (``from deltaglider.client_models import
BucketStats``): its result classes, defined in ``deltaglider.boto_api.models`` and
``deltaglider.client``."""

from deltaglider.boto_api.models import BucketStats, CompressionEstimate, ListObjectsResponse, ObjectInfo
from deltaglider.client import UploadSummary

__all__ = ["BucketStats", "CompressionEstimate", "ListObjectsResponse", "ObjectInfo", "UploadSummary"]

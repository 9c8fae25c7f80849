"""The original DeltaGlider's ``deltaglider.types`` (``from deltaglider.types import
PutObjectResponse``): the answers' shapes, defined in ``deltaglider.boto_api.types``."""

from deltaglider.boto_api import types as _shapes
from deltaglider.boto_api.types import *  # noqa: F403 - the same names, listed once, there

__all__ = _shapes.__all__

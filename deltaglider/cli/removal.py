"""Removing stored files for ``rm``, bases last.

Deleting a delta never takes its base along (an upload may be encoding against it), so the bases of a
folder that no file left needs are removed here afterwards, through the protocol of
:mod:`deltaglider.core.protocol`: a base a delta still needs, or that an upload chooses meanwhile,
stays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from deltaglider.cli.places import Place, sibling
from deltaglider.cli.session import Session
from deltaglider.core.format.layout import REFERENCE_NAME
from deltaglider.errors import StorageError
from deltaglider.urls import parse_url


@dataclass
class Removal:
    shown: list[str] = field(default_factory=list)  # locations removed, as the user names them
    keys: list[str] = field(default_factory=list)  # stored keys removed
    warnings: list[str] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)

    def warnings_left(self) -> list[str]:
        """The warnings still true: a "reference kept" note from deleting its last delta is moot once
        the reference is gone too."""
        gone = [key for key in self.keys if key.rpartition("/")[2] == REFERENCE_NAME]
        return [w for w in self.warnings if not any(key in w for key in gone)]


def remove(session: Session, url: str, removal: Removal) -> None:
    result = session.client.delete(url)
    removal.shown.extend([url] + [sibling(url, key) for key in result.deleted[1:]])
    removal.keys.extend(result.deleted)
    removal.warnings.extend(result.warnings)


def reference_url(folder: Place, subfolder: str) -> str:
    return folder.child(f"{subfolder}/{REFERENCE_NAME}" if subfolder else REFERENCE_NAME)


def remove_seen(session: Session, url: str, removal: Removal) -> None:
    """``sync --delete``: the file as it is found now, never a version written after that."""
    result = session.client._remove_seen(url)
    if result is None:
        raise StorageError(f"{url} was written or removed since it was listed; left as it is")
    removal.shown.extend([url] + [sibling(url, key) for key in result.deleted[1:]])
    removal.keys.extend(result.deleted)
    removal.warnings.extend(result.warnings)


def remove_unused_bases(
    session: Session, folder: Place, removal: Removal, *, recursive: bool = False
) -> list[str]:
    """The folder's bases (and, ``recursive``, those of every folder below) that no file left needs;
    returns their locations."""
    base = folder.as_folder()
    result = session.client.remove_unused_bases(base.text, recursive=recursive)
    prefix = parse_url(base.text).as_folder().key
    shown = [base.child(key[len(prefix) :] if key.startswith(prefix) else key) for key in result.deleted]
    removal.shown.extend(shown)
    removal.keys.extend(result.deleted)
    removal.warnings.extend(result.warnings)
    return shown

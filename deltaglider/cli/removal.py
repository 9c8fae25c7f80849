"""Removing stored files for ``rm`` and ``sync --delete``, references last.

Deleting a delta never takes its reference along (an upload may be encoding against it), so the
reference of a folder left without deltas is removed here, by name, afterwards; the store refuses that
while deltas still depend on it, and puts it back if one appeared meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from deltaglider.cli.places import Place, sibling
from deltaglider.cli.session import Session
from deltaglider.core.layout import REFERENCE_NAME
from deltaglider.errors import NotFoundError, ReferenceInUseError


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


def remove_reference(session: Session, url: str, removal: Removal) -> None:
    """The reference at ``url``, if the store agrees nothing depends on it any more."""
    try:
        remove(session, url, removal)
    except NotFoundError:
        pass  # that folder had no reference (or someone removed it first)
    except ReferenceInUseError as exc:
        removal.warnings.append(f"kept {url}: {exc}")


def remove_reference_if_unused(session: Session, folder: Place, removal: Removal) -> None:
    """The folder's reference, when no delta is left in it and the store agrees nothing depends on it."""
    url = reference_url(folder.as_folder(), "")
    try:
        result = session.client.delete_reference_if_unused(folder.as_folder().text)
    except ReferenceInUseError as exc:
        removal.warnings.append(f"kept {url}: {exc}")
        return
    if result is not None:
        removal.shown.extend([url] + [sibling(url, key) for key in result.deleted[1:]])
        removal.keys.extend(result.deleted)
        removal.warnings.extend(result.warnings)

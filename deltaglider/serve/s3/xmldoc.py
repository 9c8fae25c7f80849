"""S3's XML documents: written with ElementTree (escaping done for us), read with size-bounded bodies.

Request documents (DeleteObjects, CompleteMultipartUpload) are parsed by expat, which refuses entity
expansion beyond its amplification limits; their size is bounded before they reach it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Final

NAMESPACE: Final = "http://s3.amazonaws.com/doc/2006-03-01/"

Value = str | int | bool | datetime | None
Child = tuple[str, "Value | Iterable[Child]"]


def iso(moment: datetime) -> str:
    """S3's timestamp form: UTC, milliseconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _text(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso(value)
    return "" if value is None else str(value)


def _fill(parent: ET.Element, children: Iterable[Child]) -> None:
    for name, value in children:
        node = ET.SubElement(parent, name)
        if isinstance(value, str | int | bool | datetime) or value is None:
            node.text = _text(value)
        else:
            _fill(node, value)


def document(root: str, children: Iterable[Child], *, namespace: bool = True) -> bytes:
    """``<?xml ...?><root xmlns=...>children</root>``; a child's value is text or further children."""
    element = ET.Element(root, {"xmlns": NAMESPACE} if namespace else {})
    _fill(element, children)
    text: bytes = ET.tostring(element, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + text


def parse(body: bytes) -> ET.Element:
    """The root element of a request document; ``ValueError`` when it is not well-formed XML."""
    try:
        return ET.fromstring(body)
    except ET.ParseError as exc:
        raise ValueError(str(exc)) from exc


def local(tag: str) -> str:
    """An element's name without its namespace."""
    return tag.rpartition("}")[2]


def children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if local(child.tag) == name]


def child_text(element: ET.Element, name: str) -> str | None:
    found = children(element, name)
    return (found[0].text or "") if found else None


def fields(pairs: Mapping[str, Value]) -> list[Child]:
    return list(pairs.items())

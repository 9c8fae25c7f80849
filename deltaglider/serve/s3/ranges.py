"""``Range: bytes=...`` as S3 reads it: one range (``a-b``, ``a-``, ``-n``); a header it cannot read, or
asking for several ranges, is ignored (the whole file is served); a range starting past the end is
``InvalidRange`` (416)."""

from __future__ import annotations

from deltaglider.serve.s3.errors import S3Error


def parse_range(text: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (first, last) bytes asked for in a file of ``size`` bytes; None: the whole file."""
    if text is None:
        return None
    unit, _, spec = text.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first_text, dash, last_text = spec.strip().partition("-")
    first_text, last_text = first_text.strip(), last_text.strip()
    if not dash or not (first_text.isdigit() or (not first_text and last_text.isdigit())):
        return None
    if last_text and not last_text.isdigit():
        return None
    if not first_text:
        suffix = int(last_text)
        if suffix == 0 or size == 0:
            raise unsatisfiable(size)
        return max(size - suffix, 0), size - 1
    first = int(first_text)
    last = int(last_text) if last_text else size - 1
    if last < first and last_text:
        return None
    if first >= size:
        raise unsatisfiable(size)
    return first, min(last, size - 1)


def unsatisfiable(size: int) -> S3Error:
    return S3Error("InvalidRange", "The requested range is not satisfiable", ActualObjectSize=str(size))

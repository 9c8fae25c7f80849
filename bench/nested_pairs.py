"""Archives inside archives (issue 22), each later botocore wheel against the first one, library
level: the plain delta, the delta of one level decoded (``inflated-v1`` base), the delta of the tree
decoded (``inflated-v2`` base), each with its recipe; and the tree's delta were every gzip'd file
decoded (:func:`deltaglider.transforms.container.decode_all`, no recipe): what a deflate
reconstructor for GNU gzip's large files would reach.

Usage: ``PYTHONPATH=<checkout> python bench/nested_pairs.py DIR [FIRST LAST]`` with the wheels
``botocore-1.35.N-py3-none-any.whl`` in ``DIR`` (``bench/nested_bench.py`` fetches them).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from deltaglider.adapters.diff_xdelta3 import XDelta3Diff
from deltaglider.transforms import encode_container
from deltaglider.transforms.base import derive_base
from deltaglider.transforms.container import decode_all

_BODY_HEADER = 8  # b"DGTB" and the recipe's length


def main() -> int:
    folder = Path(sys.argv[1])
    first, last = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (0, 7)
    wheel = str(folder / "botocore-1.35.{}-py3-none-any.whl")
    diff = XDelta3Diff()
    with tempfile.TemporaryDirectory(prefix="dg-nested-pairs-") as tmp:
        work = Path(tmp)
        delta = work / "delta"
        for fmt in ("inflated-v1", "inflated-v2"):
            derive_base(wheel.format(first), work / fmt, fmt)
        print("| wheel | plain delta | one level (v1) | tree (v2) | tree, every gzip decoded |")
        print("|---|---|---|---|---|")
        for n in range(first + 1, last + 1):
            target = Path(wheel.format(n))
            row = [f"1.35.{n}", f"{diff.encode(Path(wheel.format(first)), target, delta):,}"]
            for fmt, nested in (("inflated-v1", False), ("inflated-v2", True)):
                encoded = encode_container(target, work / "decoded", nested=nested)
                assert encoded is not None
                size = diff.encode(work / fmt, work / "decoded", delta) + len(encoded.recipe) + _BODY_HEADER
                row.append(f"{size:,} (recipe {len(encoded.recipe):,})")
            decode_all(target, work / "all")
            row.append(f"{diff.encode(work / 'inflated-v2', work / 'all', delta):,} (no recipe)")
            print("| " + " | ".join(row) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

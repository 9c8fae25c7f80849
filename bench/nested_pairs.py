"""Archives inside archives (issue 22), each later botocore wheel against the first one, library
level: the plain delta; the delta of one level decoded (``inflated-v2`` base, the release before
nesting); the delta of the tree decoded (``inflated-v3`` base), every stream the zlib search does not
reproduce rebuilt from its choices; the same with the reference's own streams kept raw, as an upload
makes it (:mod:`deltaglider.transforms.known`); each with its recipe, and the encode's seconds.

Usage: ``PYTHONPATH=<checkout> python bench/nested_pairs.py DIR [FIRST LAST]`` with the wheels
``botocore-1.35.N-py3-none-any.whl`` in ``DIR`` (``bench/nested_bench.py`` fetches them).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from deltaglider.adapters.diff_xdelta3 import XDelta3Diff
from deltaglider.transforms import encode_container
from deltaglider.transforms.base import derive_base
from deltaglider.transforms.known import KnownStreams

_BODY_HEADER = 8  # b"DGTB" and the recipe's length


def main() -> int:
    folder = Path(sys.argv[1])
    first, last = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (0, 7)
    wheel = str(folder / "botocore-1.35.{}-py3-none-any.whl")
    reference = Path(wheel.format(first))
    diff = XDelta3Diff()
    with tempfile.TemporaryDirectory(prefix="dg-nested-pairs-") as tmp:
        work = Path(tmp)
        delta = work / "delta"
        for fmt in ("inflated-v2", "inflated-v3"):
            derive_base(reference, work / fmt, fmt)
        columns = "plain delta | one level (v2) | tree (v3), all decoded | tree (v3), reference's streams raw"
        print(f"| wheel | {columns} |")
        print("|---|---|---|---|---|")
        for n in range(first + 1, last + 1):
            target = Path(wheel.format(n))
            row = [f"1.35.{n}", f"{diff.encode(reference, target, delta):,}"]
            for fmt, nested, known in (
                ("inflated-v2", False, None),
                ("inflated-v3", True, None),
                ("inflated-v3", True, KnownStreams(reference, work)),
            ):
                start = time.perf_counter()
                encoded = encode_container(target, work / "decoded", nested=nested, known=known)
                seconds = time.perf_counter() - start
                assert encoded is not None
                size = diff.encode(work / fmt, work / "decoded", delta) + len(encoded.recipe) + _BODY_HEADER
                row.append(
                    f"{size:,} (recipe {len(encoded.recipe):,}; {encoded.reconstructed} rebuilt from "
                    f"choices; {seconds:.1f} s)"
                )
            print("| " + " | ".join(row) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

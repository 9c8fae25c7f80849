"""Delta-encode one real file against another with the in-process codec and check the round trip.

python examples/codec_demo.py OLD NEW
"""

from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path

from deltaglider import codec


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    old, new = (Path(a).read_bytes() for a in argv)
    started = time.perf_counter()
    delta = codec.encode(old, new)
    encoded = time.perf_counter()
    rebuilt = codec.decode(old, delta, expected_size=len(new))
    decoded = time.perf_counter()
    same = hashlib.sha256(rebuilt).digest() == hashlib.sha256(new).digest()
    print(f"reference  {argv[0]}: {len(old):>12,} bytes")
    print(f"new file   {argv[1]}: {len(new):>12,} bytes")
    print(f"delta      {len(delta):>12,} bytes ({len(delta) / max(len(new), 1):.2%} of the new file)")
    print(f"encode {1000 * (encoded - started):.0f} ms, decode {1000 * (decoded - encoded):.0f} ms")
    print(f"round trip byte-exact (SHA-256): {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

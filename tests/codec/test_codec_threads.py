"""Many threads encoding and decoding at once must each get their own correct result.

xdelta3 3.1.x builds a static code table lazily and unguarded; the glue builds it once under a
once-primitive. Running this in a fresh interpreter makes the first use of the table concurrent.
"""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

from deltaglider import codec


def _pairs(count: int) -> list[tuple[bytes, bytes]]:
    out = []
    for seed in range(count):
        rng = random.Random(seed)
        source = rng.randbytes(200_000 + seed * 1000)
        target = source[:50_000] + rng.randbytes(3000) + source[60_000:] + source[:10_000]
        out.append((source, target))
    return out


def test_eight_threads_encode_and_decode_concurrently() -> None:
    pairs = _pairs(8)
    secondaries: list[codec.Secondary] = ["lzma", "djw", "fgk", None]
    serial = [codec.encode(s, t, secondary=secondaries[i % 4]) for i, (s, t) in enumerate(pairs)]

    def work(i: int) -> tuple[bytes, bytes]:
        source, target = pairs[i]
        results = []
        for _ in range(5):
            delta = codec.encode(source, target, secondary=secondaries[i % 4])
            results.append((delta, codec.decode(source, delta, expected_size=len(target))))
        assert all(r == results[0] for r in results)
        return results[0]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(8)))
    for i, (delta, rebuilt) in enumerate(results):
        assert delta == serial[i], "a concurrent encode differs from the serial one"
        assert rebuilt == pairs[i][1]


def test_first_use_from_many_threads_in_a_fresh_process() -> None:
    script = textwrap.dedent(
        """
        import random, threading
        from deltaglider import codec
        rng = random.Random(1)
        src = rng.randbytes(100_000)
        tgt = src[:40_000] + b"x" * 100 + src[40_000:]
        delta = None
        barrier = threading.Barrier(8)
        errors = []
        def run():
            try:
                barrier.wait()
                d = codec.encode(src, tgt)
                assert codec.decode(src, d) == tgt
            except BaseException as exc:
                errors.append(exc)
        threads = [threading.Thread(target=run) for _ in range(8)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert not errors, errors
        print("ok")
        """
    )
    for _ in range(3):
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "ok"

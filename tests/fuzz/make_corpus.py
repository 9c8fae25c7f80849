"""Writes the fuzzers' sources and seed corpora (tests/fuzz/sources/, tests/fuzz/corpus/ for
fuzz_decode.c, tests/fuzz/corpus_reconstruct/ for fuzz_reconstruct.c).

Run by hand when the seeds should change (the output is committed; it is deterministic): deltas of
small, varied pairs from the codec (every secondary compressor, levels 1 and 9) and from the stock
``xdelta3`` binary, each prefixed with the selector byte fuzz_decode.c reads; for the reconstructor,
each source deflated in ways no single zlib setting writes (flush points, mixed levels), as a stream
to split and as the choices that rebuild it, prefixed with fuzz_reconstruct.c's selector byte.

usage: python tests/fuzz/make_corpus.py
"""

from __future__ import annotations

import hashlib
import random
import shutil
import subprocess
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from deltaglider import codec

HERE = Path(__file__).resolve().parent
NO_SOURCE = 3
ALLOW_EXTERNAL = 4
VIA_FILES = 8


def _sources() -> list[bytes]:
    rng = random.Random(3284)
    words = [
        bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9))) for _ in range(300)
    ]
    text = b"\n".join(b" ".join(rng.choice(words) for _ in range(rng.randint(3, 12))) for _ in range(400))
    records = b"".join(
        i.to_bytes(4, "little")
        + rng.choice(words).ljust(12, b"\0")
        + bytes(rng.randrange(4) for _ in range(16))
        for i in range(1500)
    )
    return [text[:16384], records[:49152], rng.randbytes(8192)]


def _targets(source: bytes, rng: random.Random) -> Iterator[bytes]:
    n = len(source)
    yield source
    yield source[: n // 2] + rng.randbytes(300) + source[n // 2 :]
    yield source[n // 3 :] + source[: n // 3]
    yield source[: n // 4] + source[n // 2 :] + source[: n // 8] * 3
    yield rng.randbytes(2000)
    yield b""


SPLIT = 4
RECONSTRUCT_SOURCE = 4096


def _odd_streams(source: bytes) -> Iterator[bytes]:
    """Raw deflate streams of ``source`` that no one zlib setting writes."""
    for level, cut in ((9, len(source) // 3), (1, len(source) // 2), (6, 100)):
        c = zlib.compressobj(level, zlib.DEFLATED, -15)
        yield c.compress(source[:cut]) + c.flush(zlib.Z_FULL_FLUSH) + c.compress(source[cut:]) + c.flush()
    c = zlib.compressobj(0, zlib.DEFLATED, -15)  # stored blocks
    yield c.compress(source) + c.flush()


def reconstruct_seeds(sources: list[bytes]) -> None:
    from deltaglider._native import reconstruct

    corpus = HERE / "corpus_reconstruct"
    shutil.rmtree(corpus, ignore_errors=True)
    corpus.mkdir()
    seeds: list[bytes] = []
    for k, whole in enumerate(sources):
        # Choices replay over the source's first RECONSTRUCT_SOURCE bytes only (fuzz_reconstruct.c):
        # the model's work per byte is large, and mutations want many runs a second.
        source = whole[:RECONSTRUCT_SOURCE]
        for stream in _odd_streams(source):
            found = reconstruct.split(stream, len(source))
            assert found is not None and found[0] == source
            seeds += [bytes([k | SPLIT]) + stream, bytes([k]) + found[1]]
    for seed in seeds:
        (corpus / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    print(f"{len(seeds)} reconstructor seeds, {sum(map(len, seeds))} bytes")


def main() -> None:
    sources = _sources()
    (HERE / "sources").mkdir(exist_ok=True)
    for k, data in enumerate(sources):
        (HERE / "sources" / f"source{k}.bin").write_bytes(data)
    corpus = HERE / "corpus"
    shutil.rmtree(corpus, ignore_errors=True)
    corpus.mkdir()
    seeds: list[bytes] = []
    rng = random.Random(1)
    for k, source in enumerate(sources):
        for t, target in enumerate(_targets(source, rng)):
            for secondary in ("lzma", "djw", "fgk", None, "auto"):
                level = 1 if t % 2 else 9
                delta = codec.encode(source, target, level=level, secondary=secondary)
                seeds.append(bytes([k | (VIA_FILES if t == 1 else 0)]) + delta)
        seeds.append(bytes([NO_SOURCE]) + codec.encode(b"", source[:3000]))
    binary = shutil.which("xdelta3")
    if binary is not None:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            for k, source in enumerate(sources):
                (work / "src").write_bytes(source)
                (work / "tgt").write_bytes(next(_targets(source, rng)) + source[:999])
                for secondary in ("lzma", "djw", "fgk", "none"):
                    out = work / "delta"
                    cmd = [binary, "-e", "-f", "-9", "-S", secondary, "-s", str(work / "src")]
                    subprocess.run([*cmd, str(work / "tgt"), str(out)], check=True)
                    seeds.append(bytes([k | ALLOW_EXTERNAL]) + out.read_bytes())
    for seed in seeds:
        (corpus / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    total = sum(p.stat().st_size for p in corpus.iterdir())
    print(f"{len(list(corpus.iterdir()))} seeds, {total} bytes")
    reconstruct_seeds(sources)


if __name__ == "__main__":
    main()

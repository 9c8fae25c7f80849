"""Hypothesis strategies for codec tests: realistic file pairs, not just random noise.

Real families of files share long runs, so targets are built by applying edits (insert, delete,
splice, duplicate) to a source that itself has internal repetition.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from hypothesis import strategies as st


@dataclass(frozen=True)
class Edit:
    kind: str  # "insert", "delete", "splice", "duplicate"
    at: float  # position as a fraction of the current length
    span: float  # size as a fraction of the current length (delete/splice/duplicate)
    payload: bytes  # inserted bytes (insert)
    origin: float  # where splice/duplicate copy from, as a fraction


def apply_edits(data: bytes, edits: list[Edit]) -> bytes:
    buf = bytearray(data)
    for edit in edits:
        n = len(buf)
        at = int(edit.at * n)
        span = int(edit.span * n)
        if edit.kind == "insert":
            buf[at:at] = edit.payload
        elif edit.kind == "delete":
            del buf[at : at + span]
        elif edit.kind == "splice":
            origin = int(edit.origin * n)
            buf[at : at + span] = bytes(buf[origin : origin + span])
        elif edit.kind == "duplicate":
            origin = int(edit.origin * n)
            buf[at:at] = bytes(buf[origin : origin + span])
    return bytes(buf)


fractions = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
small_fractions = st.floats(min_value=0.0, max_value=0.3, allow_nan=False)

edits = st.builds(
    Edit,
    kind=st.sampled_from(["insert", "delete", "splice", "duplicate"]),
    at=fractions,
    span=small_fractions,
    payload=st.binary(max_size=2048),
    origin=fractions,
)


@st.composite
def structured_bytes(draw: st.DrawFn, max_size: int = 200_000) -> bytes:
    """Bytes with internal repetition (as binaries and archives have), of 0..max_size bytes."""
    size = draw(st.integers(min_value=0, max_value=max_size))
    seed = draw(st.integers(min_value=0, max_value=2**32 - 1))
    rng = random.Random(seed)
    out = bytearray()
    vocabulary = [rng.randbytes(rng.randint(1, 300)) for _ in range(rng.randint(1, 40))]
    while len(out) < size:
        if rng.random() < 0.3:
            out += rng.randbytes(rng.randint(1, 500))
        else:
            out += rng.choice(vocabulary)
    return bytes(out[:size])


@st.composite
def mutated_pairs(draw: st.DrawFn, max_size: int = 200_000) -> tuple[bytes, bytes]:
    source = draw(structured_bytes(max_size=max_size))
    target = apply_edits(source, draw(st.lists(edits, max_size=8)))
    return source, target

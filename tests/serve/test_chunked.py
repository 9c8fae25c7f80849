"""aws-chunked bodies, decoded and their chunk signatures checked, on AWS's own published example of a
``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` upload (66,560 bytes of ``a`` in chunks of 64 KiB, 1 KiB and 0)."""

from __future__ import annotations

import pytest

from deltaglider.serve.body import ChunkedDecoder
from deltaglider.serve.s3.errors import S3Error
from deltaglider.serve.sigv4 import ChunkSigner, signing_key

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
CHUNKS = [
    (65536, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"),
    (1024, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"),
    (0, "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"),
]


def body(chunks: list[tuple[int, str]]) -> bytes:
    return b"".join(
        f"{size:x};chunk-signature={sig}\r\n".encode() + b"a" * size + b"\r\n" for size, sig in chunks
    )


def signer() -> ChunkSigner:
    key = signing_key(SECRET, "20130524", "us-east-1", "s3")
    return ChunkSigner(key, "20130524T000000Z", "20130524/us-east-1/s3/aws4_request", SEED)


@pytest.mark.parametrize("piece", [1, 7, 4096, 1 << 20])
def test_aws_example_decodes_in_any_pieces(piece: int) -> None:
    decoder = ChunkedDecoder(signer())
    data = body(CHUNKS)
    out = b"".join(b"".join(decoder.feed(data[at : at + piece])) for at in range(0, len(data), piece))
    decoder.finish()
    assert out == b"a" * 66560


def test_a_wrong_chunk_signature_is_refused() -> None:
    chunks = [CHUNKS[0], (1024, "0" * 64), CHUNKS[2]]
    with pytest.raises(S3Error) as caught:
        ChunkedDecoder(signer()).feed(body(chunks))
    assert caught.value.code == "SignatureDoesNotMatch"


def test_a_body_cut_short_is_refused() -> None:
    decoder = ChunkedDecoder(signer())
    decoder.feed(body(CHUNKS[:2]))
    with pytest.raises(S3Error) as caught:
        decoder.finish()
    assert caught.value.code == "IncompleteBody"


def test_unsigned_trailer_body() -> None:
    decoder = ChunkedDecoder(None)
    out = decoder.feed(b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n")
    decoder.finish()
    assert b"".join(out) == b"hello"
    assert decoder.trailers == {"x-amz-checksum-crc32": "NhCmhg=="}

"""An I/O failure inside the codec names the file it happened on, for each file of each call.

The glue reports which file failed by its role (source, target, delta, output) and the binding maps
the role to the caller's path: every failure below happens in C, after Python opened the files.
"""

from __future__ import annotations

import errno
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from deltaglider import codec
from deltaglider.errors import CodecIOError

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="directories do not open as files there")


def _pair(tmp_path: Path) -> tuple[Path, Path, Path]:
    rng = random.Random(5)
    source = rng.randbytes(300_000)
    target = source[:5000] + rng.randbytes(2000) + source[5000:]
    (tmp_path / "src").write_bytes(source)
    (tmp_path / "tgt").write_bytes(target)
    codec.encode_file(tmp_path / "src", tmp_path / "tgt", tmp_path / "delta")
    return tmp_path / "src", tmp_path / "tgt", tmp_path / "delta"


@pytest.mark.parametrize("role", ["source", "target"])
def test_an_encode_names_the_input_it_could_not_read(tmp_path: Path, role: str) -> None:
    src, tgt, _ = _pair(tmp_path)
    folder = tmp_path / "a folder"
    folder.mkdir()
    paths = {"source": src, "target": tgt, role: folder}
    with pytest.raises(CodecIOError) as caught:
        codec.encode_file(paths["source"], paths["target"], tmp_path / "out")
    assert caught.value.errno == errno.EISDIR
    assert caught.value.filename == str(folder)


@pytest.mark.parametrize("role", ["source", "delta"])
def test_a_decode_names_the_input_it_could_not_read(tmp_path: Path, role: str) -> None:
    src, _, delta = _pair(tmp_path)
    folder = tmp_path / "a folder"
    folder.mkdir()
    paths = {"source": src, "delta": delta, role: folder}
    with pytest.raises(CodecIOError) as caught:
        codec.decode_file(paths["source"], paths["delta"], tmp_path / "out")
    assert caught.value.errno == errno.EISDIR
    assert caught.value.filename == str(folder)


# A file size limit makes every write past it fail with EFBIG (SIGXFSZ ignored), in a child so that
# the limit binds nothing else.
_CHILD = textwrap.dedent(
    """
    import resource, signal, sys
    from deltaglider import codec
    from deltaglider.errors import CodecIOError

    what, src, other, out = sys.argv[1:]
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))
    try:
        if what == "encode":
            codec.encode_file(src, other, out, secondary=None)
        else:
            codec.decode_file(src, other, out)
    except CodecIOError as exc:
        print(exc.errno, exc.filename)
    """
)


@pytest.mark.skipif(sys.platform != "linux", reason="needs RLIMIT_FSIZE and SIGXFSZ")
@pytest.mark.parametrize("what", ["encode", "decode"])
def test_a_failed_write_names_the_output(tmp_path: Path, what: str) -> None:
    src, tgt, delta = _pair(tmp_path)
    out = tmp_path / "the output"
    other = tgt if what == "encode" else delta
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, what, str(src), str(other), str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.rstrip("\n").split(maxsplit=1) == [str(errno.EFBIG), str(out)], done.stderr

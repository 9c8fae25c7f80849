"""The original's batch calls: ``upload_chunked``, ``upload_batch`` and ``download_batch``, over the
client's ``upload`` and ``download``, with the original's progress callbacks.

Where the original's own code disagrees with its documentation, they do what the documentation says:
``upload_batch(files, "s3://b/prefix/")`` stores ``prefix/<name>`` (the original stored each file
under a folder named after it, as its ``upload`` takes the URL for a folder), and
``upload_chunked(file, "s3://b/path/<its name>")`` stores ``path/<its name>``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol, cast

from deltaglider.batch import seed_indexes
from deltaglider.config import DEFAULT_WORKERS
from deltaglider.core.format.layout import DELTA_SUFFIX
from deltaglider.core.models import GetSummary
from deltaglider.core.transfer import Cancellation, run_all, run_in_turns
from deltaglider.ports.storage import ProgressCallback
from deltaglider.urls import parse_url

if TYPE_CHECKING:
    from deltaglider.client import UploadSummary

#: ``upload_chunked``'s callback: (chunk number, chunks in all, bytes sent, file size).
ChunkCallback = Callable[[int, int, int, int], None]
#: ``upload_batch``'s and ``download_batch``'s callback: (file name, its number from 1, files in all).
FileCallback = Callable[[str, int, int], None]

DEFAULT_CHUNK_SIZE: Final = 5 * 1024 * 1024


class _Transfers(Protocol):
    """What the batch calls use of the client."""

    def upload(
        self,
        file_path: str | Path,
        s3_url: str,
        tags: dict[str, str] | None = None,
        max_ratio: float | None = None,
        *,
        progress: ProgressCallback | None = None,
    ) -> UploadSummary: ...

    def download(
        self, s3_url: str, output_path: str | Path, *, progress: ProgressCallback | None = None
    ) -> GetSummary: ...


def _folder_url(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _chunked_folder(file: Path, s3_url: str) -> str:
    """The folder ``upload_chunked`` stores ``file`` in: the URL's, or the URL itself taken as one
    (as the original's ``upload`` takes it) unless it ends in the file's own name."""
    if not s3_url.endswith("/") and s3_url.rpartition("/")[2] == file.name:
        return s3_url[: -len(file.name)]
    return _folder_url(s3_url)


def _chunks(
    progress: ChunkCallback, size: int, chunk_size: int
) -> tuple[ProgressCallback, Callable[[], None]]:
    """A byte counter for the upload that reports each chunk it completes (the last one at the end,
    once the file is stored), and the call that reports that end."""
    total = max(1, -(-size // chunk_size))
    lock = threading.Lock()
    sent = 0
    reported = 0

    def count(moved: int) -> None:
        nonlocal sent, reported
        with lock:
            sent = min(size, sent + moved)
            while reported + 1 < total and sent >= (reported + 1) * chunk_size:
                reported += 1
                progress(reported, total, reported * chunk_size, size)

    def done() -> None:
        progress(total, total, size, size)

    return count, done


def _raise_first(errors: Sequence[Exception | None]) -> None:
    for error in errors:
        if error is not None:
            raise error


class BatchCalls:
    """Mixed into DeltaGliderClient (through InfoCalls)."""

    def upload_chunked(
        self,
        file_path: str | Path,
        s3_url: str,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        progress_callback: ChunkCallback | None = None,
        max_ratio: float = 0.5,
    ) -> UploadSummary:
        """Uploads one file, calling ``progress_callback(chunk, chunks, bytes_sent, total_bytes)`` as
        each ``chunk_size`` bytes of it are read, and a last time, with every byte sent, once it is
        stored. The upload streams whatever the size (the chunks only pace the callback).
        ``s3_url`` is the folder (``s3://bucket/path/``) or the file's key under its own name
        (``s3://bucket/path/<file name>``); another last component is taken as a folder."""
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ValueError(f"chunk_size must be a positive number of bytes, not {chunk_size!r}")
        file = Path(file_path)
        folder = _chunked_folder(file, s3_url)
        parse_url(folder)  # a bad URL is refused before the file is read
        client = cast(_Transfers, self)
        if progress_callback is None:
            return client.upload(file, folder, max_ratio=max_ratio)
        count, done = _chunks(progress_callback, file.stat().st_size, chunk_size)
        summary = client.upload(file, folder, max_ratio=max_ratio, progress=count)
        done()
        return summary

    def upload_batch(
        self,
        files: Sequence[str | Path],
        s3_prefix: str,
        max_ratio: float = 0.5,
        progress_callback: FileCallback | None = None,
    ) -> list[UploadSummary]:
        """Uploads each file into the folder ``s3_prefix`` under its own name, several at once (each
        new folder's first release, in version order, first and alone, so that it becomes the
        folder's reference), calling ``progress_callback(name, number, count)`` as each starts.
        Returns the summaries in the order of ``files``; when a file fails, the others still run and
        the first failure (in that order) is raised."""
        paths = [Path(file) for file in files]
        folder = _folder_url(s3_prefix)
        parse_url(folder)
        client = cast(_Transfers, self)
        stop = Cancellation()
        announce = _Announcer(progress_callback, len(paths))

        def upload(path: Path) -> UploadSummary:
            announce(path.name)
            return client.upload(path, folder, max_ratio=max_ratio, progress=stop.checked(None))

        turns = seed_indexes([folder + path.name for path in paths])
        outcomes = run_in_turns(paths, upload, turns, workers=DEFAULT_WORKERS, cancellation=stop)
        _raise_first([outcome.error for outcome in outcomes])
        return [outcome.unwrap() for outcome in outcomes]

    def download_batch(
        self,
        s3_urls: Sequence[str],
        output_dir: str | Path,
        progress_callback: FileCallback | None = None,
    ) -> list[Path]:
        """Downloads each URL into the folder ``output_dir`` (made if missing) under the URL's last
        component (less a ``.delta``), several at once, calling ``progress_callback(name, number,
        count)`` as each starts. Returns the paths written, in the order of ``s3_urls``; two URLs that
        would write the same name are refused (``ValueError``) before anything is fetched. When a
        download fails, the others still run and the first failure (in that order) is raised."""
        folder = Path(output_dir)
        names = [url.rstrip("/").rpartition("/")[2].removesuffix(DELTA_SUFFIX) for url in s3_urls]
        for url, name in zip(s3_urls, names, strict=True):
            if not name or name in (".", ".."):
                raise ValueError(f"{url}: names no file to download")
        clashes = sorted({name for name in names if names.count(name) > 1})
        if clashes:
            raise ValueError(f"several URLs would be written to the same file: {', '.join(clashes)}")
        folder.mkdir(parents=True, exist_ok=True)
        client = cast(_Transfers, self)
        stop = Cancellation()
        announce = _Announcer(progress_callback, len(names))

        def download(item: tuple[str, str]) -> Path:
            url, name = item
            announce(name)
            client.download(url, folder / name, progress=stop.checked(None))
            return folder / name

        outcomes = run_all(
            list(zip(s3_urls, names, strict=True)), download, workers=DEFAULT_WORKERS, cancellation=stop
        )
        _raise_first([outcome.error for outcome in outcomes])
        return [outcome.unwrap() for outcome in outcomes]


class _Announcer:
    """Calls a file callback as each file starts, one call at a time, numbering files from 1."""

    def __init__(self, callback: FileCallback | None, count: int) -> None:
        self._callback = callback
        self._count = count
        self._started = 0
        self._lock = threading.Lock()

    def __call__(self, name: str) -> None:
        if self._callback is None:
            return
        with self._lock:
            self._started += 1
            self._callback(name, self._started, self._count)

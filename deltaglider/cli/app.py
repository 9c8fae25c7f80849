"""The ``deltaglider`` group: global options declared once (accepted before or after the command), the
commands, and the exit status of a run.

Exit status: 0 ok, 1 an operation failed, 2 usage error (a bad option or location), 130 interrupted.
The first Ctrl-C stops the command soon (transfers in flight stop at their next block, leaving nothing
half written); a second one exits at once.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any, NoReturn

import click

from deltaglider._version import __version__
from deltaglider.cli.argv import hoist_global_options
from deltaglider.cli.cmd_bucket_acl import get_bucket_acl, put_bucket_acl
from deltaglider.cli.cmd_cp import cp
from deltaglider.cli.cmd_ls import ls, stats
from deltaglider.cli.cmd_migrate import migrate
from deltaglider.cli.cmd_purge import purge
from deltaglider.cli.cmd_retain import repack, retain
from deltaglider.cli.cmd_rm import rm
from deltaglider.cli.cmd_serve import serve
from deltaglider.cli.cmd_sync import sync
from deltaglider.cli.cmd_verify import verify
from deltaglider.cli.common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from deltaglider.cli.session import Session
from deltaglider.config import DEFAULT_WORKERS
from deltaglider.errors import DeltaGliderError, InvalidURLError


class _Group(click.Group):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(self, ctx, args))


@click.group(cls=_Group, context_settings={"max_content_width": 100})
@click.version_option(__version__, prog_name="deltaglider")
@click.option(
    "--endpoint-url",
    metavar="URL",
    help="S3 endpoint (MinIO, R2...), or file:///folder to serve s3:// from a folder.",
)
@click.option("--profile", metavar="NAME", help="AWS profile to use.")
@click.option("--region", metavar="REGION", help="AWS region.")
@click.option("--debug", is_flag=True, help="Log everything, and show tracebacks.")
@click.option("--quiet", "-q", is_flag=True, help="Print only data and errors.")
@click.option("--no-progress", is_flag=True, help="No progress line on stderr.")
@click.option("--json", "json_output", is_flag=True, help="One JSON document on stdout.")
@click.option(
    "--max-ratio",
    type=click.FloatRange(0.0, 1.0),
    metavar="RATIO",
    help="Store whole past this delta/file ratio (default 0.5).",
)
@click.option("--no-delta", is_flag=True, help="Store files whole, never as deltas.")
@click.option(
    "--original-compatible",
    is_flag=True,
    default=None,
    help="Write only what the original DeltaGlider reads: no deltas of zip/gzip content "
    "(env DG_ORIGINAL_COMPATIBLE=1).",
)
@click.option(
    "--keep-history",
    is_flag=True,
    default=None,
    help="Keep the version an upload or rm replaces, as a delta (ls --versions, cp --version ID; "
    "env DG_KEEP_HISTORY=1).",
)
@click.option("--cache-dir", metavar="DIR", help="Reference cache folder.")
@click.option(
    "--connect-timeout",
    "--cli-connect-timeout",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="Wait this long for a connection to S3 (0: no limit; default 60).",
)
@click.option(
    "--read-timeout",
    "--cli-read-timeout",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="Wait this long for S3 to answer (0: no limit; default 60).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=DEFAULT_WORKERS,
    show_default=True,
    help="Files transferred at once.",
)
@click.pass_context
def cli(
    ctx: click.Context,
    *,
    endpoint_url: str | None,
    profile: str | None,
    region: str | None,
    debug: bool,
    quiet: bool,
    no_progress: bool,
    json_output: bool,
    max_ratio: float | None,
    no_delta: bool,
    original_compatible: bool | None,
    keep_history: bool | None,
    cache_dir: str | None,
    connect_timeout: float | None,
    read_timeout: float | None,
    workers: int,
) -> None:
    """Store similar files on S3 or in a folder as deltas against one reference, like 'aws s3'.

    Locations: s3://bucket/prefix/ or file:///folder/ name a store; a plain path is your own file or
    folder. Global options may also follow the command.
    """
    ctx.obj = Session(
        endpoint_url=endpoint_url,
        profile=profile,
        region=region,
        debug=debug,
        quiet=quiet,
        no_progress=no_progress,
        json=json_output,
        max_ratio=max_ratio,
        no_delta=no_delta,
        original_compatible=original_compatible,
        keep_history=keep_history,
        cache_dir=cache_dir,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        workers=workers,
    )


for _command in (cp, ls, rm, sync, verify, stats, retain, repack, migrate):
    cli.add_command(_command)
for _command in (purge, put_bucket_acl, get_bucket_acl, serve):
    cli.add_command(_command)


def _report(message: str, *, json_mode: bool, kind: str) -> None:
    sys.stderr.write(f"error: {message}\n")
    if json_mode:
        sys.stdout.write(
            json.dumps({"ok": False, "error": {"type": kind, "message": message}}, indent=2) + "\n"
        )


def _exit_now() -> NoReturn:
    # Called in a signal handler: a raw write cannot land inside a buffered one it interrupted. The
    # progress line, if one is drawn, is blanked first.
    blank = b"\r" + b" " * 70 + b"\r" if os.isatty(2) else b""
    os.write(2, blank + b"interrupted\n")
    os._exit(EXIT_INTERRUPTED)


@contextmanager
def _interrupts() -> Iterator[None]:
    """Ctrl-C raises ``KeyboardInterrupt`` as usual the first time, and exits at once the second: the
    first one waits for the transfers in flight to stop at their next block, which can take a while
    inside a long encode, and worker threads cannot be stopped any other way."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    interrupted = False

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        nonlocal interrupted
        if interrupted:
            _exit_now()
        interrupted = True
        raise KeyboardInterrupt

    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.default_int_handler:  # ignored, or handled by whoever runs us
        yield
        return
    signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run(args: Sequence[str]) -> int:
    """Runs the command line ``args``; returns the exit status."""
    with _interrupts():
        return _run(list(args))


def _run(args: list[str]) -> int:
    options = args[: args.index("--")] if "--" in args else args
    debug, json_mode = "--debug" in options, "--json" in options
    try:
        result: Any = cli.main(args=args, prog_name="deltaglider", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except BrokenPipeError:
        # The reader went away (``deltaglider ls ... | head``): nothing more to say, and nowhere to say it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    except (click.Abort, KeyboardInterrupt):
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE if isinstance(exc, click.UsageError) else EXIT_FAILED
    except Exception as exc:
        if debug:
            traceback.print_exc()
        if isinstance(exc, InvalidURLError):
            _report(str(exc), json_mode=json_mode, kind=type(exc).__name__)
            return EXIT_USAGE
        message = str(exc) if isinstance(exc, DeltaGliderError | OSError) else f"{type(exc).__name__}: {exc}"
        _report(message or type(exc).__name__, json_mode=json_mode, kind=type(exc).__name__)
        return EXIT_FAILED
    return result if isinstance(result, int) else EXIT_OK


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The console script's entry point."""
    sys.exit(run(sys.argv[1:] if argv is None else argv))

"""The library as AWS Lambda runs it: HOME unset, the working directory and every path read-only except
a fresh, empty /tmp.

The sandbox is a private mount namespace (``unshare --mount``, or ``--map-root-user`` when not root):
every mount is remounted read-only there and a new tmpfs covers /tmp; nothing of it is visible outside
the child process. Paths the interpreter needs that lived under the old /tmp (CI's venv) are bound back
into the new one, read-only. lambda_workload.py is what runs inside; it reports, this file judges.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import deltaglider

_HERE = Path(__file__).resolve().parent
_HANDLER = _HERE.parents[1] / "examples" / "lambda_handler.py"

# Remount every mount read-only (except the kernel's own trees), keep a handle on the old /tmp (the
# working directory), cover /tmp with an empty tmpfs, bind back what the interpreter needs, then run.
_SANDBOX = r"""
set -eu
tmp_size="$1"; shift
keep="$1"; shift
mount --make-rprivate /
for m in $(awk '{print $5}' /proc/self/mountinfo | sort -u); do
  case "$m" in /proc | /proc/* | /sys | /sys/* | /dev | /dev/pts) continue ;; esac
  mount -o remount,bind,ro "$m" 2>/dev/null || true
done
cd /tmp
mount -t tmpfs -o "size=$tmp_size,mode=1777" tmpfs /tmp
for rel in $keep; do
  mkdir -p "/tmp/$rel"
  # --no-canonicalize: mount would otherwise resolve "./$rel" to "/tmp/$rel", now the new tmpfs.
  mount --no-canonicalize --bind "./$rel" "/tmp/$rel"
  mount -o remount,bind,ro "/tmp/$rel"
done
cd /
exec "$@"
"""


def _unshare_prefix() -> list[str]:
    unshare = shutil.which("unshare")
    if sys.platform != "linux" or unshare is None:
        pytest.skip("needs Linux mount namespaces and util-linux's unshare")
    prefix = [unshare, "--mount"] if os.geteuid() == 0 else [unshare, "--mount", "--map-root-user"]
    probe = subprocess.run(
        [
            *prefix,
            "sh",
            "-c",
            "mount --make-rprivate / && mount -o remount,bind,ro / && mount -t tmpfs tmpfs /tmp",
        ],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        pytest.skip(
            f"this kernel or container forbids a private read-only mount namespace: {probe.stderr.strip()}"
        )
    return prefix


def _kept_under_tmp() -> list[str]:
    """Top-level entries of /tmp that hold the interpreter, its packages or deltaglider (CI's venv)."""
    needed = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(sys.executable)}
    needed |= {p for p in sys.path if p}
    needed.add(os.path.dirname(deltaglider.__file__))
    kept = set()
    for path in needed:
        real = Path(os.path.realpath(path))
        if real.parts[:2] == ("/", "tmp") and len(real.parts) > 2 and real.exists():
            kept.add(real.parts[2])
    if any(re.search(r"\s", name) for name in kept):
        pytest.skip(f"paths with spaces under /tmp: {sorted(kept)}")
    return sorted(kept)


def _lambda_env() -> dict[str, str]:
    # What the Lambda runtime sets, more or less; no HOME, no TMPDIR (tempfile must settle on /tmp).
    return {
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]),
        "LANG": "C.UTF-8",
        "LAMBDA_TASK_ROOT": "/var/task",
        "AWS_LAMBDA_FUNCTION_NAME": "deltaglider-test",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }


def _run_in_sandbox(*, size_mib: int, tmp_size: str, with_s3: bool) -> dict[str, Any]:
    prefix = _unshare_prefix()
    read_only = ["/", "/var/tmp", "/dev/shm", sys.prefix, os.path.dirname(deltaglider.__file__), str(_HERE)]
    job = {
        "read_only": [p for p in read_only if os.path.isdir(p)],
        "size_mib": size_mib,
        "handler_source": _HANDLER.read_text() if with_s3 else None,
    }
    python = [sys.executable, "-c", (_HERE / "lambda_workload.py").read_text()]
    proc = subprocess.run(
        [*prefix, "sh", "-c", _SANDBOX, "sandbox", tmp_size, " ".join(_kept_under_tmp()), *python],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        env=_lambda_env(),
        timeout=600,
    )
    assert proc.returncode == 0, f"sandboxed run failed ({proc.returncode}):\n{proc.stderr}"
    report: dict[str, Any] = json.loads(proc.stdout.splitlines()[-1])
    print(json.dumps(report, indent=1))  # shown by pytest when an assertion below fails
    return report


def _assert_step_ok(report: dict[str, Any], step: str) -> dict[str, Any]:
    result: dict[str, Any] = report[step]
    assert "error" not in result, f"{step} failed inside the sandbox:\n{result.get('error')}"
    return result


def test_upload_download_verify_with_only_tmp_writable_and_no_home() -> None:
    report = _run_in_sandbox(size_mib=2, tmp_size="512m", with_s3=True)

    # The sandbox itself: else this test proves nothing.
    assert {path: state for path, state in report["probes"].items() if state not in ("EROFS", "ENOENT")} == {}
    assert report["home"] is None
    assert report["tempdir"] == "/tmp"

    local = _assert_step_ok(report, "folder_store")
    assert local["operations"] == ["PUT", "PUT_DELTA"]
    assert local["round_trip"] and local["verified"]

    s3 = _assert_step_ok(report, "s3")
    assert s3["operations"] == ["PUT", "PUT_DELTA"]
    assert s3["verified"] == [True, True]
    assert s3["round_trip"]

    # The default cache (/tmp/.deltaglider/cache) was used, with no fallback warning.
    assert any(re.fullmatch(r"[0-9a-f]{64}-[0-9a-f]{32}", name) for name in report["cache_entries"]), report
    assert report["warnings"] == []


@pytest.mark.slow
def test_memory_stays_bounded_for_a_file_larger_than_the_function_memory() -> None:
    # A 128 MB function storing 192 MiB releases: the files go through /tmp, not through memory.
    size_mib = 192
    report = _run_in_sandbox(size_mib=size_mib, tmp_size="2g", with_s3=False)
    local = _assert_step_ok(report, "folder_store")
    assert local["operations"] == ["PUT", "PUT_DELTA"]
    assert local["round_trip"] and local["verified"]
    assert local["anon_peak_mib"] < 128, local

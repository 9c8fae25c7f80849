"""The original DeltaGlider (PyPI ``deltaglider``, 4.x-6.2.0) in a venv of its own, for interop tests.

Each version is installed once into ``<cache>/deltaglider-tests/dg<version>-venv`` (``<cache>`` is
``$XDG_CACHE_HOME`` or ``~/.cache``; ``DG_TEST_CACHE_DIR`` overrides the whole path) and reused while
its marker file says the install finished. A file lock keeps parallel test runs from installing
into the same venv at once.

It shells out to the stock ``xdelta3`` binary. Where the original or the binary cannot be had, a test
skips locally and fails in CI (``CI`` set), so CI never passes by skipping interop.
"""

from __future__ import annotations

import fcntl
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.binaries import xdelta3_binary
from support.moto_server import fake_aws_env

_INSTALL_TIMEOUT_S = 600
_MARKER = ".dg-test-installed"
_MOTO_MARKER = ".dg-test-moto"
_MOCK_WRITER = Path(__file__).with_name("original_mock_writer.py")


#: Versions whose install failed in this session, with why: not retried by every test.
_FAILED: dict[str, str] = {}


def _own_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` for a process of the original's venv: without ``PYTHONPATH``, which, pointing at our
    source tree (as when the suite runs from a checkout), would make it import our ``deltaglider``
    instead of its own."""
    return {name: value for name, value in env.items() if name not in ("PYTHONPATH", "PYTHONHOME")}


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"interop with the original DeltaGlider cannot run in CI: {reason}")
    pytest.skip(f"original DeltaGlider unavailable: {reason}")


def cache_root() -> Path:
    override = os.environ.get("DG_TEST_CACHE_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "deltaglider-tests"


@dataclass(frozen=True)
class OriginalDeltaGlider:
    """One installed release of the original, driven through its ``deltaglider`` command."""

    version: str
    venv: Path

    @property
    def cli(self) -> Path:
        return self.venv / "bin" / "deltaglider"

    def env(self, cache_dir: Path, endpoint_url: str | None = None) -> dict[str, str]:
        env = _own_env(fake_aws_env())
        if endpoint_url:
            env["AWS_ENDPOINT_URL"] = endpoint_url
        env["DG_SUPPRESS_DEPRECATION"] = "1"
        # Its pre-5.0.3 cache lived in a shared /tmp folder; keep every run's cache apart.
        env["DG_CACHE_DIR"] = str(cache_dir)
        env["TMPDIR"] = str(cache_dir)
        # Its xdelta3 must be the stock binary on PATH.
        env["PATH"] = f"{Path(xdelta3_binary()).parent}{os.pathsep}{env.get('PATH', '')}"
        return env

    def cp(self, src: str, dest: str, *, endpoint_url: str, cache_dir: Path) -> str:
        """``deltaglider cp SRC DEST``; returns its output, fails the test (with the output) on error."""
        result = self.run_cp(src, dest, endpoint_url=endpoint_url, cache_dir=cache_dir)
        output = result.stdout + result.stderr
        if result.returncode != 0:
            pytest.fail(
                f"original deltaglider {self.version} `cp {src} {dest}` exited {result.returncode}:\n{output}"
            )
        return output

    def run_cp(
        self, src: str, dest: str, *, endpoint_url: str, cache_dir: Path
    ) -> subprocess.CompletedProcess[str]:
        """``deltaglider cp SRC DEST`` however it ends."""
        cache_dir.mkdir(parents=True, exist_ok=True)
        return subprocess.run(
            [str(self.cli), "cp", src, dest, "--endpoint-url", endpoint_url],
            env=self.env(cache_dir, endpoint_url),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def write_in_process(self, bucket: str, uploads: list[tuple[Path, str]], export: Path) -> None:
        """Its ``cp`` of each ``(file, s3 url)`` into moto's *in-process* S3 inside its own venv; the
        resulting objects (bodies and metadata, as stored) land in ``export``
        (see ``original_mock_writer.py`` for why not the HTTP server)."""
        self._ensure_moto()
        spec = export.with_suffix(".spec.json")
        spec.write_text(
            json.dumps(
                {"bucket": bucket, "uploads": [[str(f), url] for f, url in uploads], "export": str(export)}
            )
        )
        cache_dir = export.parent / "original-cache"
        cache_dir.mkdir(parents=True, exist_ok=True)
        env = self.env(cache_dir)
        result = subprocess.run(
            [str(self.venv / "bin" / "python"), str(_MOCK_WRITER), str(spec)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(
                f"original deltaglider {self.version} failed to write:\n{result.stdout}{result.stderr}"
            )

    def _ensure_moto(self) -> None:
        # The same moto as ours, so both sides agree on what S3 does.
        requirement = f"moto[s3]=={importlib.metadata.version('moto')}"
        marker = self.venv / _MOTO_MARKER
        if marker.is_file() and marker.read_text().strip() == requirement:
            return
        with (self.venv.parent / f".dg{self.version}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if marker.is_file() and marker.read_text().strip() == requirement:
                return
            try:
                _pip_install(self.venv, requirement)
            except subprocess.CalledProcessError as exc:
                _unavailable(f"installing {requirement} next to deltaglider=={self.version} failed: {exc}")
            except (OSError, subprocess.TimeoutExpired) as exc:
                _unavailable(f"installing {requirement} next to deltaglider=={self.version} failed: {exc}")
            marker.write_text(requirement + "\n")


def _pip_install(venv: Path, requirement: str) -> None:
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            requirement,
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=_INSTALL_TIMEOUT_S,
        env=_own_env(dict(os.environ)),
    )


def install_original(version: str) -> OriginalDeltaGlider:
    """The original ``deltaglider==version`` in its cached venv, installing it on first use."""
    xdelta3_binary()  # skips or fails first: without the binary the original can do nothing
    if version in _FAILED:
        _unavailable(_FAILED[version])
    root = cache_root()
    venv = root / f"dg{version}-venv"
    try:
        root.mkdir(parents=True, exist_ok=True)
        with (root / f".dg{version}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if (venv / _MARKER).is_file() and (venv / "bin" / "deltaglider").is_file():
                return OriginalDeltaGlider(version, venv)
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run(
                [sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=120
            )
            _pip_install(venv, f"deltaglider=={version}")
            probe = subprocess.run(
                [str(venv / "bin" / "deltaglider"), "--version"],
                capture_output=True,
                text=True,
                timeout=60,
                env=_own_env({**os.environ, "DG_SUPPRESS_DEPRECATION": "1"}),
                check=False,
            )
            if version not in probe.stdout + probe.stderr:
                raise RuntimeError(
                    f"installed, but `deltaglider --version` says: {probe.stdout}{probe.stderr}"
                )
            (venv / _MARKER).write_text(version + "\n")
    except subprocess.CalledProcessError as exc:
        _FAILED[version] = (
            f"installing deltaglider=={version} failed: {exc}\n{exc.stdout or ''}{exc.stderr or ''}"
        )
        _unavailable(_FAILED[version])
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
        _FAILED[version] = f"installing deltaglider=={version} failed: {exc}"
        _unavailable(_FAILED[version])
    return OriginalDeltaGlider(version, venv)

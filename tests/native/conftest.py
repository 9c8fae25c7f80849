"""Building the codec instrumented (AddressSanitizer, UBSan) for the tests in this folder.

The source lists come from build_ffi.py itself, so what is tested is what ships. These builds need the
source tree (native/, vendor/) and gcc; they take a minute, hence every test here is slow.
"""

from __future__ import annotations

import ast
import os
import runpy
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
LZMA = ROOT / "vendor/xz/src/liblzma"

# -ftrivial-auto-var-init=pattern fills every uninitialised stack variable with 0xAA bytes, so a read
# of one (view.mem in dg_encode_memory, once) gives the same wrong value on every run.
SANITIZE = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-ftrivial-auto-var-init=pattern"]


#: As build_ffi.py compiles the vendored zstd.
ZSTD_MACROS = ["-DZSTD_MULTITHREAD=1", "-DZSTD_DISABLE_ASM=1", "-DZSTD_LEGACY_SUPPORT=0"]


def _lists() -> dict[str, list[str]]:
    lists: dict[str, list[str]] = {}
    for node in ast.parse((ROOT / "build_ffi.py").read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name in (
                "GLUE_SOURCES",
                "LIBLZMA_SOURCES",
                "ZLIB_SOURCES",
                "BZIP2_SOURCES",
                "ZSTD_SOURCES",
                "CXX_GLUE_SOURCES",
                "GRITTIBANZLI_SOURCES",
            ):
                lists[name] = ast.literal_eval(node.value)
    return lists


def codec_sources() -> list[Path]:
    """Every C and C++ file of the extension but CFFI's wrapper: our glue, xdelta3's unit, liblzma,
    zlib, libbzip2, zstd, and the deflate reconstructor with its glue."""
    lists = _lists()
    glue = [ROOT / "native" / name for name in lists["GLUE_SOURCES"]]
    zlib = [ROOT / "vendor/zlib" / name for name in lists.get("ZLIB_SOURCES", [])]
    bzip2 = [ROOT / "vendor/bzip2" / name for name in lists.get("BZIP2_SOURCES", [])]
    zstd = [ROOT / "vendor/zstd/lib" / name for name in lists.get("ZSTD_SOURCES", [])]
    cxx = [ROOT / "native" / name for name in lists.get("CXX_GLUE_SOURCES", [])]
    cxx += [ROOT / "vendor/grittibanzli" / name for name in lists.get("GRITTIBANZLI_SOURCES", [])]
    return glue + [LZMA / name for name in lists["LIBLZMA_SOURCES"]] + zlib + bzip2 + zstd + cxx


def include_flags() -> list[str]:
    dirs = [ROOT / "native", ROOT / "vendor/xdelta3", ROOT / "vendor/xz/src/common", ROOT / "vendor/zlib"]
    dirs.append(ROOT / "vendor/bzip2")
    dirs += [ROOT / "vendor/zstd/lib", ROOT / "vendor/grittibanzli"]
    dirs += [LZMA / d for d in ("api", "common", "check", "lz", "lzma", "rangecoder", "simple", "delta")]
    return [f"-I{d}" for d in dirs]


def sanitizer_env() -> dict[str, str]:
    """Abort on the first report; the documented upstream reports are suppressed, nothing else."""
    return {
        **os.environ,
        "ASAN_OPTIONS": "abort_on_error=1:detect_leaks=1:fast_unwind_on_malloc=0",
        "LSAN_OPTIONS": f"suppressions={HERE / 'lsan.supp'}",
        "UBSAN_OPTIONS": f"halt_on_error=1:print_stacktrace=1:suppressions={HERE / 'ubsan.supp'}",
    }


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None or not (ROOT / "native").is_dir() or not (ROOT / "build_ffi.py").is_file():
        pytest.skip(f"needs {tool} and the source tree (native/, vendor/, build_ffi.py)")
    return path


def _runtime(gcc: str, name: str) -> str:
    found = subprocess.run([gcc, f"-print-file-name={name}"], capture_output=True, text=True).stdout.strip()
    if not os.path.isabs(found):
        pytest.skip(f"gcc has no {name}")
    return found


class NativeTree:
    """What a test needs to compile the codec itself (tests cannot import this conftest)."""

    root = ROOT
    sources = staticmethod(codec_sources)
    zstd_macros = ZSTD_MACROS
    include_flags = staticmethod(include_flags)
    sanitizer_env = staticmethod(sanitizer_env)
    require = staticmethod(require)


@pytest.fixture(scope="session")
def native_tree() -> type[NativeTree]:
    return NativeTree


@pytest.fixture(scope="session")
def sanitized_package(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A copy of the deltaglider package whose extension is built with ASan and UBSan.

    Returns the folder to put on PYTHONPATH and the environment that runs Python with it (the
    sanitizer runtimes preloaded: the interpreter itself is not instrumented). Run Python from that
    folder, not from the source tree.
    """
    gcc = require("gcc")
    import deltaglider

    top = tmp_path_factory.mktemp("sanitized")
    package = top / "deltaglider"
    shutil.copytree(
        Path(deltaglider.__file__).parent,
        package,
        ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"),
    )
    wrapper = top / "_xdelta3.c"
    builder = runpy.run_path(str(ROOT / "build_ffi.py"))["ffibuilder"]
    builder.emit_c_code(str(wrapper))
    module = package / f"_xdelta3{sysconfig.get_config_var('EXT_SUFFIX')}"
    cmd = [
        gcc,
        "-shared",
        "-fPIC",
        "-O1",
        "-g",
        *SANITIZE,
        "-DHAVE_CONFIG_H=1",
        "-DZ_PREFIX=1",
        "-DBZ_NO_STDIO=1",
        *ZSTD_MACROS,
        *include_flags(),
    ]
    cmd += [f"-I{sysconfig.get_paths()['include']}", str(wrapper), *map(str, codec_sources())]
    # gcc compiles the .cc files as C++ by their suffix; the C++ runtime is linked by name.
    cmd += ["-o", str(module), "-lpthread", "-lstdc++"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=1200)
    assert done.returncode == 0, done.stderr[-4000:]
    env = sanitizer_env()
    # Python's own allocations at exit are not ours to judge.
    env["ASAN_OPTIONS"] = env["ASAN_OPTIONS"].replace("detect_leaks=1", "detect_leaks=0")
    env["LD_PRELOAD"] = f"{_runtime(gcc, 'libasan.so')}:{_runtime(gcc, 'libubsan.so')}"
    env["PYTHONPATH"] = os.pathsep.join([str(top), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    probe = subprocess.run(
        [sys.executable, "-c", "import deltaglider._xdelta3 as m; print(m.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=top,  # not the source tree, whose deltaglider/ would come first on sys.path
    )
    assert probe.stdout.strip() == str(module), probe.stdout + probe.stderr
    return top, env

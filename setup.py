"""Builds ``deltaglider._xdelta3`` (see build_ffi.py) with flags chosen per source group.

Our glue (``native/dg_*.c``) is compiled with the compiler's warnings on, and with ``-Werror`` when
``DG_WERROR=1`` (CI); the vendored xdelta3 and liblzma, and the wrapper CFFI generates, keep their
warnings quiet: they are not ours to fix (vendor/*/README.md). Release builds are optimised, carry no
debug information and are stripped at link time (the vendored libzstd optimised for size, ``-Os``);
``DG_DEBUG_BUILD=1`` builds unoptimised with debug
information instead. Every GCC/Clang flag beyond the basics is tried on the compiler first, so a
compiler that lacks one still builds.
"""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _is_zstd(source: str) -> bool:
    return os.path.normpath(source).split(os.sep)[:2] == ["vendor", "zstd"]


def _is_glue(source: str) -> bool:
    folder, name = os.path.split(os.path.normpath(source))
    return os.path.basename(folder) == "native" and name.startswith("dg_") and name.endswith((".c", ".cc"))


def _is_cxx(source: str) -> bool:
    return source.endswith(".cc")


class BuildExt(build_ext):  # type: ignore[misc]  # setuptools is untyped here
    """Compiles the glue and the rest with their own flags, then links them into one extension."""

    def _accepts(self, flags: list[str], link: bool = False) -> bool:
        """Whether the compiler (and, with ``link``, the linker) takes ``flags`` without complaint."""
        cache: dict[tuple[str, ...], bool] = self.__dict__.setdefault("_probe_cache", {})
        key = (*flags, "link" if link else "compile")
        if key in cache:
            return cache[key]
        ok = True
        with tempfile.TemporaryDirectory() as tmp:
            source = os.path.join(tmp, "probe.c")
            with open(source, "w", encoding="ascii") as f:
                f.write("int dg_probe(int x) { return x + 1; }\n")
            try:
                # -Werror: clang only warns about an unknown -W option, and an ignored flag is no flag.
                objects = self.compiler.compile(
                    [source], output_dir=tmp, extra_postargs=[*([] if link else flags), "-Werror"]
                )
                if link:
                    self.compiler.link_shared_object(
                        objects, os.path.join(tmp, "probe.so"), extra_postargs=flags
                    )
            except Exception:
                ok = False
        cache[key] = ok
        return ok

    def _pick(self, candidates: list[list[str]], link: bool = False) -> list[str]:
        return [flag for group in candidates if self._accepts(group, link) for flag in group]

    def _flags(self) -> tuple[list[str], list[str], list[str]]:
        """(flags for every source, extra flags for our C glue, link flags)."""
        debug = _env_flag("DG_DEBUG_BUILD")
        werror = _env_flag("DG_WERROR")
        if self.compiler.compiler_type == "msvc":
            common = ["/Od", "/Zi"] if debug else ["/O2"]
            glue = ["/W3", *(["/WX"] if werror else [])]
            return common, glue, ["/DEBUG"] if debug else []
        common = ["-O0", "-g"] if debug else ["-O3", "-g0"]
        # Hidden visibility keeps the statically linked liblzma and xdelta3 symbols private to the
        # extension, so they can never be resolved against (or interpose on) a system liblzma that
        # another extension in the same process has loaded.
        common += self._pick([["-fvisibility=hidden"]])
        glue = self._pick([["-Wall"], ["-Wextra"], ["-Wshadow"], ["-Wstrict-prototypes"]])
        if werror:
            glue.append("-Werror")
        link: list[str] = []
        if not debug:
            link = self._pick([["-Wl,-x"]] if sys.platform == "darwin" else [["-s"]], link=True)
        # The deflate reconstructor is C++ and links the system's libstdc++ (on the manylinux
        # allow-list), not a static copy: a static libstdc++ drags in its std::random_device, which
        # needs a newer glibc (arc4random) than the rest of the extension and raises the wheel's tag.
        # libstdc++'s headers give their template instantiations default visibility whatever
        # -fvisibility says: a version script keeps every symbol but the module's init local.
        exports = os.path.join(os.path.dirname(os.path.abspath(__file__)), "native", "exports.map")
        link += self._pick([[f"-Wl,--version-script={exports}"]], link=True)
        return common, glue, link

    def _cxx_flags(self, common: list[str], glue: bool) -> list[str]:
        """Flags for a C++ source: C++11, and for our glue the warnings its C siblings get."""
        if self.compiler.compiler_type == "msvc":
            return [*common, "/EHsc", *(["/W3"] if glue else [])]
        flags = [*common, "-std=c++11"]
        if glue:
            flags += self._pick([["-Wall"], ["-Wextra"], ["-Wshadow"]])
            if _env_flag("DG_WERROR"):
                flags.append("-Werror")
        return flags

    def build_extension(self, ext: Any) -> None:
        common, glue_flags, link_flags = self._flags()
        cxx = [s for s in ext.sources if _is_cxx(s)]
        glue = [s for s in ext.sources if _is_glue(s) and not _is_cxx(s)]
        zstd = [s for s in ext.sources if _is_zstd(s)]
        rest = [s for s in ext.sources if not _is_glue(s) and not _is_zstd(s) and not _is_cxx(s)]
        quiet = (
            []
            if self.compiler.compiler_type == "msvc"
            else self._pick([["-Wno-unused-function"], ["-Wno-unused-parameter"]])
        )
        macros = list(ext.define_macros)
        objects = self.compiler.compile(
            glue,
            output_dir=self.build_temp,
            macros=macros,
            include_dirs=ext.include_dirs,
            extra_postargs=[*common, *glue_flags],
        )
        # libzstd optimised for size: about half its -O3 size, and as fast on the levels measured
        # (vendor/zstd/README.md).
        size_flags = [{"-O3": "-Os", "/O2": "/O1"}.get(f, f) for f in common]
        objects += self.compiler.compile(
            zstd,
            output_dir=self.build_temp,
            macros=macros,
            include_dirs=ext.include_dirs,
            extra_postargs=[*size_flags, *quiet],
        )
        for source in cxx:
            objects += self.compiler.compile(
                [source],
                output_dir=self.build_temp,
                macros=macros,
                include_dirs=ext.include_dirs,
                extra_postargs=self._cxx_flags(common, glue=_is_glue(source)),
            )
        if cxx:
            ext.language = "c++"  # linked by the C++ driver, which brings the C++ runtime
        ext.sources = rest
        ext.depends = [*ext.depends, *glue, *zstd, *cxx]
        ext.extra_objects = [*ext.extra_objects, *objects]
        ext.extra_compile_args = [*common, *quiet]
        ext.extra_link_args = [*ext.extra_link_args, *link_flags]
        # The glue was just compiled: the link must happen even if the rest is up to date.
        self.force = True
        super().build_extension(ext)


setup(cmdclass={"build_ext": BuildExt}, cffi_modules=["build_ffi.py:ffibuilder"])

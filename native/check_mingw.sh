#!/usr/bin/env bash
# Compiles the extension's C sources for 64-bit Windows with MinGW-w64, syntax and types only
# (-fsyntax-only: nothing is linked or run). The Windows branches of the glue (file mapping, I/O,
# one-time init) are compiled nowhere else on Linux. Our glue must be warning-free (-Werror); the
# vendored xdelta3, liblzma and libbzip2 must compile.
#
# The C++ sources (our glue over the deflate reconstructor, and grittibanzli) go through MinGW's g++.
#
# usage: native/check_mingw.sh      (needs x86_64-w64-mingw32-gcc and -g++: apt-get install
#                                    gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cc="${MINGW_CC:-x86_64-w64-mingw32-gcc}"
cxx="${MINGW_CXX:-x86_64-w64-mingw32-g++}"
command -v "$cc" >/dev/null || { echo "$cc not found (apt-get install gcc-mingw-w64-x86-64)" >&2; exit 2; }
command -v "$cxx" >/dev/null || { echo "$cxx not found (apt-get install g++-mingw-w64-x86-64)" >&2; exit 2; }
cd "$root"

mapfile -t glue < <(python3 -c '
import ast
for node in ast.parse(open("build_ffi.py").read()).body:
    if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
        if node.targets[0].id == "GLUE_SOURCES":
            print("\n".join("native/" + s for s in ast.literal_eval(node.value)))
        if node.targets[0].id == "LIBLZMA_SOURCES":
            print("\n".join("vendor/xz/src/liblzma/" + s for s in ast.literal_eval(node.value)))
        if node.targets[0].id == "BZIP2_SOURCES":
            print("\n".join("vendor/bzip2/" + s for s in ast.literal_eval(node.value)))
        if node.targets[0].id == "ZSTD_SOURCES":
            print("\n".join("vendor/zstd/lib/" + s for s in ast.literal_eval(node.value)))
        if node.targets[0].id == "CXX_GLUE_SOURCES":
            print("\n".join("native/" + s for s in ast.literal_eval(node.value)))
        if node.targets[0].id == "GRITTIBANZLI_SOURCES":
            print("\n".join("vendor/grittibanzli/" + s for s in ast.literal_eval(node.value)))
')
includes=(-Inative -Ivendor/xdelta3 -Ivendor/xz/src/common -Ivendor/zlib -Ivendor/bzip2 -Ivendor/zstd/lib -Ivendor/grittibanzli)
for d in api common check lz lzma rangecoder simple delta; do includes+=(-Ivendor/xz/src/liblzma/$d); done

failed=0
for src in "${glue[@]}"; do
  compiler="$cc"
  case "$src" in
    native/dg_*.c) flags=(-Wall -Wextra -Wshadow -Wstrict-prototypes -Werror) ;;
    native/dg_*.cc) compiler="$cxx"; flags=(-std=c++11 -Wall -Wextra -Wshadow -Werror) ;;
    *.cc) compiler="$cxx"; flags=(-std=c++11 -w) ;;
    *) flags=(-w) ;;  # vendored: must compile, its warnings are upstream's
  esac
  if ! "$compiler" -fsyntax-only -DHAVE_CONFIG_H=1 -DZ_PREFIX=1 -DBZ_NO_STDIO=1 -DZSTD_MULTITHREAD=1 -DZSTD_DISABLE_ASM=1 \
    -DZSTD_LEGACY_SUPPORT=0 "-DZSTDLIB_VISIBLE=" "-DZSTDERRORLIB_VISIBLE=" "${flags[@]}" "${includes[@]}" "$src"; then
    echo "FAILED: $src" >&2
    failed=1
  fi
done
[ "$failed" -eq 0 ] && echo "mingw-w64: ${#glue[@]} sources compile for Windows x64"
exit "$failed"

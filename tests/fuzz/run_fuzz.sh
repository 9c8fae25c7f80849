#!/usr/bin/env bash
# Coverage-guided fuzzing of the decoder (fuzz_decode.c) and of the deflate reconstructor
# (fuzz_reconstruct.c) with libFuzzer, ASan and UBSan.
#
# usage: tests/fuzz/run_fuzz.sh [SECONDS] [libFuzzer options...]
#   SECONDS defaults to 60 (the CI run) for the decoder, half that for the reconstructor; a long run
#   by hand: tests/fuzz/run_fuzz.sh 3600 -jobs=2
# Builds with clang into $DG_FUZZ_WORK (default: a fresh temporary folder), fuzzes a copy of the
# committed seed corpus, and exits non-zero on any crash, leak, sanitizer report or timeout; the input
# that caused it is left in the work folder (crash-*, leak-*, timeout-*), replay it with
#   $DG_FUZZ_WORK/fuzz_decode CRASH_FILE
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
seconds="${1:-60}"
shift || true
cc="${CC_FUZZ:-clang}"
cxx="${CXX_FUZZ:-clang++}"
work="${DG_FUZZ_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/dg-fuzz.XXXXXX")}"
mkdir -p "$work/corpus" "$work/corpus_reconstruct"

# The sources the extension is built from, as build_ffi.py lists them.
mapfile -t sources < <(cd "$root" && python3 - <<'PY'
import ast
lists = {}
for node in ast.parse(open("build_ffi.py").read()).body:
    if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
        if node.targets[0].id in ("GLUE_SOURCES", "LIBLZMA_SOURCES", "ZLIB_SOURCES", "BZIP2_SOURCES", "ZSTD_SOURCES"):
            lists[node.targets[0].id] = ast.literal_eval(node.value)
for name in lists["GLUE_SOURCES"]:
    print(f"native/{name}")
for name in lists["LIBLZMA_SOURCES"]:
    print(f"vendor/xz/src/liblzma/{name}")
for name in lists["ZLIB_SOURCES"]:
    print(f"vendor/zlib/{name}")
for name in lists["BZIP2_SOURCES"]:
    print(f"vendor/bzip2/{name}")
for name in lists["ZSTD_SOURCES"]:
    print(f"vendor/zstd/lib/{name}")
PY
)
mapfile -t cxx_sources < <(cd "$root" && python3 - <<'PY'
import ast
for node in ast.parse(open("build_ffi.py").read()).body:
    if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
        if node.targets[0].id == "CXX_GLUE_SOURCES":
            print("\n".join(f"native/{name}" for name in ast.literal_eval(node.value)))
        if node.targets[0].id == "GRITTIBANZLI_SOURCES":
            print("\n".join(f"vendor/grittibanzli/{name}" for name in ast.literal_eval(node.value)))
PY
)
includes=(-I"$root/native" -I"$root/vendor/xdelta3" -I"$root/vendor/xz/src/common" -I"$root/vendor/zlib" -I"$root/vendor/bzip2" -I"$root/vendor/zstd/lib" -I"$root/vendor/grittibanzli")
for d in api common check lz lzma rangecoder simple delta; do
  includes+=(-I"$root/vendor/xz/src/liblzma/$d")
done

binary="$work/fuzz_decode"
if [ ! -x "$binary" ] || [ -n "${DG_FUZZ_REBUILD:-}" ]; then
  echo "building $binary with $cc"
  (cd "$root" && "$cc" -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
    -DHAVE_CONFIG_H=1 -DZ_PREFIX=1 -DBZ_NO_STDIO=1 -DZSTD_MULTITHREAD=1 -DZSTD_DISABLE_ASM=1 \
    -DZSTD_LEGACY_SUPPORT=0 "-DZSTDLIB_VISIBLE=" "-DZSTDERRORLIB_VISIBLE=" -DDG_FUZZ_SOURCE_DIR="\"$here/sources\"" "${includes[@]}" \
    "$here/fuzz_decode.c" "${sources[@]}" -o "$binary" -lpthread 2>&1 | grep -v "xdelta3-djw.h" || true)
  [ -x "$binary" ] || { echo "build failed" >&2; exit 1; }
fi

# The reconstructor's target: its C harness and the C glue it reports through, compiled as C, and the
# C++ sources by the C++ driver, which links the C++ runtime.
reconstructor="$work/fuzz_reconstruct"
if [ ! -x "$reconstructor" ] || [ -n "${DG_FUZZ_REBUILD:-}" ]; then
  echo "building $reconstructor with $cxx"
  (cd "$root" && "$cxx" -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
    -DHAVE_CONFIG_H=1 -DZ_PREFIX=1 -DBZ_NO_STDIO=1 -DZSTD_MULTITHREAD=1 -DZSTD_DISABLE_ASM=1 \
    -DZSTD_LEGACY_SUPPORT=0 "-DZSTDLIB_VISIBLE=" "-DZSTDERRORLIB_VISIBLE=" -DDG_FUZZ_SOURCE_DIR="\"$here/sources\"" "${includes[@]}" \
    -x c "$here/fuzz_reconstruct.c" "${sources[@]}" -x c++ "${cxx_sources[@]}" \
    -o "$reconstructor" -lpthread 2>&1 | grep -v "xdelta3-djw.h\|treating 'c' input as 'c++'" || true)
  [ -x "$reconstructor" ] || { echo "build failed" >&2; exit 1; }
fi

cp -n "$here"/corpus/* "$work/corpus/" 2>/dev/null || true
cp -n "$here"/corpus_reconstruct/* "$work/corpus_reconstruct/" 2>/dev/null || true
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:fast_unwind_on_malloc=0"
export LSAN_OPTIONS="suppressions=$root/tests/native/lsan.supp"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$root/tests/native/ubsan.supp"
echo "fuzzing for ${seconds}s in $work"
cd "$work"
# -rss_limit_mb: the decoder caps a stream at 256 MiB and the harness the output at 1 MiB.
"$binary" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/" "$@" "$work/corpus"
echo "corpus: $(ls "$work/corpus" | wc -l) inputs, $(du -sk "$work/corpus" | cut -f1) KiB in $work/corpus"
echo "fuzzing the reconstructor for $((seconds / 2 + 1))s"
"$reconstructor" -max_total_time="$((seconds / 2 + 1))" -max_len=16384 -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/reconstruct-" "$@" "$work/corpus_reconstruct"
echo "corpus: $(ls "$work/corpus_reconstruct" | wc -l) inputs in $work/corpus_reconstruct"

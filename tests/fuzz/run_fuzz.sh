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

# Every source is compiled once, instrumented (fuzzer-no-link: the harness's main comes at the link),
# two at a time, and both targets link from the same objects: the decoder's from the C ones, the
# reconstructor's from them and the C++ ones, by the C++ driver (which links the C++ runtime).
defines=(-DHAVE_CONFIG_H=1 -DZ_PREFIX=1 -DBZ_NO_STDIO=1 -DZSTD_MULTITHREAD=1 -DZSTD_DISABLE_ASM=1
  -DZSTD_LEGACY_SUPPORT=0 "-DZSTDLIB_VISIBLE=" "-DZSTDERRORLIB_VISIBLE=" -DDG_FUZZ_SOURCE_DIR="\"$here/sources\"")
instrument=(-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined)
binary="$work/fuzz_decode"
reconstructor="$work/fuzz_reconstruct"
if [ ! -x "$binary" ] || [ ! -x "$reconstructor" ] || [ -n "${DG_FUZZ_REBUILD:-}" ]; then
  echo "building $binary and $reconstructor with $cc and $cxx"
  objects="$work/objects"
  rm -rf "$objects" && mkdir -p "$objects"
  export cc cxx objects
  export DG_FUZZ_FLAGS="${instrument[*]} ${includes[*]}"
  compile() {  # SOURCE: its object in $objects, named after its path
    local out="$objects/$(printf '%s' "$1" | tr '/.' '__').o" tool="$cc"
    case "$1" in *.cc) tool="$cxx" ;; esac
    # shellcheck disable=SC2086
    "$tool" $DG_FUZZ_FLAGS "${@:2}" -c "$1" -o "$out" 2>&1 | grep -v "xdelta3-djw.h" || true
    [ -f "$out" ] || { echo "cannot compile $1" >&2; return 1; }
  }
  export -f compile
  (cd "$root" && printf '%s\0' "${sources[@]}" "${cxx_sources[@]}" "$here/fuzz_decode.c" "$here/fuzz_reconstruct.c" \
    | xargs -0 -P 2 -I{} bash -c 'compile "$@"' _ {} "${defines[@]}")
  harness_of() { printf '%s/%s.o' "$objects" "$(printf '%s' "$here/$1" | tr '/.' '__')"; }
  shared=()
  for source in "${sources[@]}"; do shared+=("$objects/$(printf '%s' "$source" | tr '/.' '__').o"); done
  cxx_objects=()
  for source in "${cxx_sources[@]}"; do cxx_objects+=("$objects/$(printf '%s' "$source" | tr '/.' '__').o"); done
  "$cc" -fsanitize=fuzzer,address,undefined "$(harness_of fuzz_decode.c)" "${shared[@]}" -o "$binary" -lpthread
  "$cxx" -fsanitize=fuzzer,address,undefined "$(harness_of fuzz_reconstruct.c)" "${shared[@]}" "${cxx_objects[@]}" \
    -o "$reconstructor" -lpthread
  [ -x "$binary" ] && [ -x "$reconstructor" ] || { echo "build failed" >&2; exit 1; }
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

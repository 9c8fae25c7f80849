#!/usr/bin/env bash
# Build the standalone harnesses of both candidates into $OUT (default /tmp/pf).
#   preflate:     fetch github:deus-libri/preflate  (commit 609eefaa96ac6c51d7b1a3fb29e0ed94d0f3623e, v0.3.5)
#   grittibanzli: fetch github:google/grittibanzli (commit 429cc56cfe139255e900cdaaa807719ef87e7e90)
# then: git -C <mirror> archive HEAD | tar x -C $OUT/preflate (resp. $OUT/gritti); needs g++.
# preflate's headers miss <cstdint>/<cstddef> for GCC >= 11: force-included, sources left unmodified.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${OUT:-/tmp/pf}"
pf="$out/preflate"
gb="$out/gritti"
pf_srcs="$(ls "$pf"/preflate_*.cpp | grep -v 'checker\|statistical_debug')"
for s in arithmetic_coder array_helper bit_helper bitstream const_division huffman_decoder \
         huffman_encoder huffman_helper memstream outputcachestream task_pool; do
  pf_srcs="$pf_srcs $pf/support/$s.cpp"
done
pf_flags=(-std=c++11 -include cstdint -include cstddef -I"$pf" -I"$pf/support" -pthread)
# shellcheck disable=SC2086
g++ -O3 "${pf_flags[@]}" -o "$out/pf_harness" "$here/pf_harness.cpp" $pf_srcs
g++ -O3 -std=c++11 -I"$gb" -o "$out/gb_harness" "$here/gb_harness.cpp" "$gb/grittibanzli.cc"
# Sanitizer builds for the corruption runs.
# shellcheck disable=SC2086
g++ -O1 -g -fsanitize=address "${pf_flags[@]}" -o "$out/pf_fuzz" "$here/pf_fuzz.cpp" $pf_srcs
g++ -O1 -g -fsanitize=address,undefined -std=c++11 -I"$gb" -o "$out/gb_fuzz" "$here/gb_fuzz.cpp" "$gb/grittibanzli.cc"
# Compiled size as it would sit in our extension: PIC, hidden symbols, stripped.
# shellcheck disable=SC2086
g++ -shared -fPIC -O2 -fvisibility=hidden "${pf_flags[@]}" -o "$out/libpf.so" $pf_srcs && strip "$out/libpf.so"
g++ -shared -fPIC -O2 -fvisibility=hidden -std=c++11 -I"$gb" -o "$out/libgb.so" "$gb/grittibanzli.cc" && strip "$out/libgb.so"
ls -l "$out"/pf_harness "$out"/gb_harness "$out"/libpf.so "$out"/libgb.so

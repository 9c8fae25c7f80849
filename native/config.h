/* Build configuration for the vendored xdelta3 and liblzma sources.
 *
 * Both vendored trees include "config.h" when HAVE_CONFIG_H is defined (build_ffi.py defines it), so
 * this one header replaces the autoconf/CMake probes of both upstream builds. Everything here is derived
 * from the compiler's own predefined macros, never hard-coded, so one source tree builds correctly for
 * 32- and 64-bit targets, big- and little-endian, without a configure step.
 */
#ifndef DG_CONFIG_H
#define DG_CONFIG_H

/* ---- type sizes (xdelta3.h static_asserts these against sizeof) ---- */
#if defined(__SIZEOF_SIZE_T__)
#  define SIZEOF_SIZE_T __SIZEOF_SIZE_T__
#  define SIZEOF_UNSIGNED_INT __SIZEOF_INT__
#  define SIZEOF_UNSIGNED_LONG __SIZEOF_LONG__
#  define SIZEOF_UNSIGNED_LONG_LONG __SIZEOF_LONG_LONG__
#elif defined(_MSC_VER)
/* MSVC has no __SIZEOF_*__; its data models are fixed: long is 32-bit on every Windows target. */
#  if defined(_WIN64)
#    define SIZEOF_SIZE_T 8
#  else
#    define SIZEOF_SIZE_T 4
#  endif
#  define SIZEOF_UNSIGNED_INT 4
#  define SIZEOF_UNSIGNED_LONG 4
#  define SIZEOF_UNSIGNED_LONG_LONG 8
#else
#  error "cannot derive type sizes: compiler defines neither __SIZEOF_SIZE_T__ nor _MSC_VER"
#endif

#if !defined(static_assert) && !defined(__cplusplus)
/* xdelta3.h uses C11 static_assert without including <assert.h> first on some paths. MSVC outside
 * its /std:c11 mode has no _Static_assert: the same check through an array of negative size. */
#  if (defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L) || defined(__GNUC__) || defined(__clang__)
#    define static_assert _Static_assert
#  else
#    define DG_JOIN2(a, b) a##b
#    define DG_JOIN(a, b) DG_JOIN2(a, b)
#    define static_assert(cond, msg) typedef char DG_JOIN(dg_static_assert_, __LINE__)[(cond) ? 1 : -1]
#  endif
#endif

/* ---- Windows API level ---- */
/* xdelta3.h asks for Windows 2000 (WINVER 0x0500) unless one is set, which hides the Vista-era
 * InitOnceExecuteOnce that dg_init.c needs. Windows 7 here (CPython 3.11 itself needs 8.1); set before
 * any system header, so every header sees the same value. */
#if defined(_WIN32) && !defined(WINVER)
#  define WINVER 0x0601
#  define _WIN32_WINNT 0x0601
#endif

/* ---- xdelta3 features ---- */
/* Deltas in existing buckets were written by the stock binary with LZMA secondary compression;
 * DJW and FGK are compiled in so every VCDIFF secondary ID the format defines decodes. */
#define SECONDARY_LZMA 1
#define SECONDARY_DJW 1
#define SECONDARY_FGK 1
#define XD3_ENCODER 1
#define XD3_MAIN 0
#define EXTERNAL_COMPRESSION 0
#define XD3_DEBUG 0
#define REGRESSION_TEST 0
#define SHELL_TESTS 0
#ifndef XD3_USE_LARGEFILE64
#  define XD3_USE_LARGEFILE64 1
#endif
/* 32-bit usize_t: the encoder's hash tables hold one usize_t per slot, so this halves them (2 bytes
 * of source table per window byte at -9 instead of 4) and makes the hashing the 3.0.x binary's.
 * Offsets stay 64-bit (xoff_t, LARGEFILE64), so sources past 4 GiB still work; a window or a VCDIFF
 * window of 4 GiB or more does not, and the glue caps source windows at 2 GiB anyway (3.1.x sizes
 * hash tables wrongly from 2^31 slots). Measured in bench/RESULTS.md; a build may override it. */
#ifndef XD3_USE_LARGESIZET
#  define XD3_USE_LARGESIZET 0
#endif
/* xdelta3 otherwise reads unaligned ints through casted pointers on x86 (undefined behaviour, and a
 * strict-aliasing violation that -O3 may exploit; UBSan flags it in xd3_forward_match). With 0 it
 * uses memcpy and byte loops; measured on two botocore wheels, encode time did not change. */
#define UNALIGNED_OK 0
/* liblzma is linked statically into the extension: no dllimport decoration on Windows. */
#define LZMA_API_STATIC 1

/* ---- liblzma: only the .xz stream encoder/decoder with LZMA1/LZMA2 ---- */
#define HAVE_STDBOOL_H 1
#define HAVE__BOOL 1
#define HAVE_STDINT_H 1
#define HAVE_INTTYPES_H 1
#define HAVE_ENCODERS 1
#define HAVE_DECODERS 1
#define HAVE_ENCODER_LZMA1 1
#define HAVE_ENCODER_LZMA2 1
#define HAVE_DECODER_LZMA1 1
#define HAVE_DECODER_LZMA2 1
/* Presets 0-3 use HC4, 4-9 BT4; the others are kept so any filter chain a decoder meets is valid. */
#define HAVE_MF_HC3 1
#define HAVE_MF_HC4 1
#define HAVE_MF_BT2 1
#define HAVE_MF_BT3 1
#define HAVE_MF_BT4 1
/* xdelta3 writes LZMA_CHECK_NONE; CRC32/CRC64 cover the stream headers, the index and any foreign
 * stream. SHA-256 checks are skipped (not failed) by the decoder, which xdelta3 asks for. */
#define HAVE_CHECK_CRC32 1
#define HAVE_CHECK_CRC64 1
/* All liblzma symbols stay internal to the extension (see build_ffi.py: -fvisibility=hidden). */
#define HAVE_VISIBILITY 0

#if defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#  define WORDS_BIGENDIAN 1
#endif

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86) \
    || defined(__aarch64__) || defined(_M_ARM64) || defined(__powerpc64__)
#  define TUKLIB_FAST_UNALIGNED_ACCESS 1
#endif

#endif /* DG_CONFIG_H */

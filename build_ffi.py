"""CFFI build script for ``deltaglider._xdelta3``: our C glue plus the vendored xdelta3, liblzma, zlib,
libbzip2, libzstd and grittibanzli.

Run by setuptools through ``cffi_modules`` in setup.py. Everything is compiled from ``native/`` and
``vendor/``; no system library is looked for or linked, so a machine with a C and a C++ compiler and
the Python headers builds the extension with nothing else installed.
"""

from __future__ import annotations

import os
import re
import sys

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))

# Relative paths: setuptools wants sources relative to setup.py, which is where builds run from.
NATIVE = "native"
XDELTA3 = os.path.join("vendor", "xdelta3")
LIBLZMA = os.path.join("vendor", "xz", "src", "liblzma")
XZ_COMMON = os.path.join("vendor", "xz", "src", "common")
ZLIB = os.path.join("vendor", "zlib")
BZIP2 = os.path.join("vendor", "bzip2")
ZSTD = os.path.join("vendor", "zstd", "lib")
GRITTIBANZLI = os.path.join("vendor", "grittibanzli")

# The deflate half of the pinned zlib (vendor/zlib/README.md): archive transforms recompress with it
# so that a rebuild writes the same bytes on every machine. Built with Z_PREFIX, so its symbols are
# z_deflate..., never the deflate... of the zlib that Python itself has loaded; reached only through
# the glue's dg_deflate_* (native/dg_deflate.c).
ZLIB_SOURCES = ["adler32.c", "crc32.c", "deflate.c", "trees.c", "zutil.c"]

# libbzip2 (vendor/bzip2/README.md): transforms rebuild .bz2 streams with it. Built without its stdio
# layer (BZ_NO_STDIO: the glue supplies bz_internal_error) and with every symbol renamed dg_BZ2_...,
# so it never clashes with the system libbz2 that Python's _bz2 module loads (hidden visibility,
# setup.py, keeps them out of the exports besides).
BZIP2_SOURCES = [
    "blocksort.c",
    "huffman.c",
    "crctable.c",
    "randtable.c",
    "compress.c",
    "decompress.c",
    "bzlib.c",
]
BZIP2_SYMBOLS = [
    "BZ2_blockSort",
    "BZ2_bsInitWrite",
    "BZ2_bzBuffToBuffCompress",
    "BZ2_bzBuffToBuffDecompress",
    "BZ2_bzCompress",
    "BZ2_bzCompressEnd",
    "BZ2_bzCompressInit",
    "BZ2_bzDecompress",
    "BZ2_bzDecompressEnd",
    "BZ2_bzDecompressInit",
    "BZ2_bzlibVersion",
    "BZ2_compressBlock",
    "BZ2_crc32Table",
    "BZ2_decompress",
    "BZ2_hbAssignCodes",
    "BZ2_hbCreateDecodeTables",
    "BZ2_hbMakeCodeLengths",
    "BZ2_indexIntoF",
    "BZ2_rNums",
    "bz_internal_error",
]

# libzstd's common, compress and decompress parts (vendor/zstd/README.md): no legacy formats, no
# dictionary builder. The worker threads (zstdmt_compress.c, pool.c, threading.c) are compiled in
# because the zstd tool compresses with them by default, and their frames differ from a
# single-threaded encoder's once the input passes one job.
ZSTD_SOURCES = [
    "common/debug.c",
    "common/entropy_common.c",
    "common/error_private.c",
    "common/fse_decompress.c",
    "common/pool.c",
    "common/threading.c",
    "common/xxhash.c",
    "common/zstd_common.c",
    "compress/fse_compress.c",
    "compress/hist.c",
    "compress/huf_compress.c",
    "compress/zstd_compress.c",
    "compress/zstd_compress_literals.c",
    "compress/zstd_compress_sequences.c",
    "compress/zstd_compress_superblock.c",
    "compress/zstd_double_fast.c",
    "compress/zstd_fast.c",
    "compress/zstd_lazy.c",
    "compress/zstd_ldm.c",
    "compress/zstd_opt.c",
    "compress/zstdmt_compress.c",
    "decompress/huf_decompress.c",
    "decompress/zstd_ddict.c",
    "decompress/zstd_decompress.c",
    "decompress/zstd_decompress_block.c",
]

# The deflate reconstructor (vendor/grittibanzli/README.md), C++: transforms rebuild with it the
# deflate streams no zlib setting reproduces. Reached only through native/dg_reconstruct.cc, C++ glue
# with a C interface (CXX_GLUE_SOURCES); setup.py compiles both as C++ and links the C++ runtime in.
GRITTIBANZLI_SOURCES = ["grittibanzli.cc"]
CXX_GLUE_SOURCES = ["dg_reconstruct.cc"]

LIBLZMA_SOURCES = [
    "common/common.c",
    "common/block_util.c",
    "common/block_encoder.c",
    "common/block_decoder.c",
    "common/block_header_encoder.c",
    "common/block_header_decoder.c",
    "common/filter_common.c",
    "common/filter_encoder.c",
    "common/filter_decoder.c",
    "common/filter_flags_encoder.c",
    "common/filter_flags_decoder.c",
    "common/index.c",
    "common/index_encoder.c",
    "common/index_decoder.c",
    "common/index_hash.c",
    "common/stream_encoder.c",
    "common/stream_decoder.c",
    "common/stream_flags_common.c",
    "common/stream_flags_encoder.c",
    "common/stream_flags_decoder.c",
    "common/vli_encoder.c",
    "common/vli_decoder.c",
    "common/vli_size.c",
    "check/check.c",
    "check/crc32_fast.c",
    "check/crc32_table.c",
    "check/crc64_fast.c",
    "check/crc64_table.c",
    "lz/lz_encoder.c",
    "lz/lz_encoder_mf.c",
    "lz/lz_decoder.c",
    "lzma/lzma_encoder.c",
    "lzma/lzma_encoder_presets.c",
    "lzma/lzma_encoder_optimum_fast.c",
    "lzma/lzma_encoder_optimum_normal.c",
    "lzma/lzma_decoder.c",
    "lzma/lzma2_encoder.c",
    "lzma/lzma2_decoder.c",
    "lzma/fastpos_table.c",
    "rangecoder/price_table.c",
]

# Our glue (native/dg_*.c, compiled with warnings on: setup.py), then the wrapper that compiles the
# vendored xdelta3 as one unit.
GLUE_SOURCES = [
    "dg_adler32.c",
    "dg_budget.c",
    "dg_bzip2.c",
    "dg_decoder.c",
    "dg_deflate.c",
    "dg_encoder.c",
    "dg_fault.c",
    "dg_fileio.c",
    "dg_files.c",
    "dg_handles.c",
    "dg_hugemem.c",
    "dg_init.c",
    "dg_lzma2.c",
    "dg_memio.c",
    "dg_memory.c",
    "dg_plan.c",
    "dg_probe.c",
    "dg_source.c",
    "dg_status.c",
    "dg_zstd.c",
    "xdelta3_unit.c",
]


def _require_vendored_tree() -> None:
    missing = [
        path
        for path in [os.path.join(XDELTA3, "xdelta3.c")]
        + [os.path.join(LIBLZMA, s) for s in LIBLZMA_SOURCES]
        + [os.path.join(NATIVE, s) for s in GLUE_SOURCES]
        + [os.path.join(ZLIB, s) for s in ZLIB_SOURCES]
        + [os.path.join(BZIP2, s) for s in BZIP2_SOURCES]
        + [os.path.join(ZSTD, s) for s in ZSTD_SOURCES]
        + [os.path.join(NATIVE, s) for s in CXX_GLUE_SOURCES]
        + [os.path.join(GRITTIBANZLI, s) for s in GRITTIBANZLI_SOURCES]
        if not os.path.exists(os.path.join(HERE, path))
    ]
    if missing:
        raise SystemExit(
            "deltaglider: vendored C sources are missing, cannot build the codec:\n  "
            + "\n  ".join(missing)
            + "\nBuild from a complete checkout or sdist; vendor/*/README.md says where they came from."
        )


def _cdef() -> str:
    """The CFFI declarations are the block of native/dg_codec.h between the DG_CDEF markers."""
    with open(os.path.join(HERE, NATIVE, "dg_codec.h"), encoding="utf-8") as header:
        text = header.read()
    match = re.search(r"/\* DG_CDEF_BEGIN \*/(.*)/\* DG_CDEF_END \*/", text, re.S)
    if match is None:
        raise SystemExit("deltaglider: native/dg_codec.h lacks its DG_CDEF markers")
    return match.group(1)


_require_vendored_tree()

ffibuilder = FFI()
ffibuilder.cdef(_cdef())
ffibuilder.set_source(
    "deltaglider._xdelta3",
    '#include "dg_codec.h"',
    sources=[os.path.join(NATIVE, s) for s in GLUE_SOURCES]
    + [os.path.join(LIBLZMA, s) for s in LIBLZMA_SOURCES]
    + [os.path.join(ZLIB, s) for s in ZLIB_SOURCES]
    + [os.path.join(BZIP2, s) for s in BZIP2_SOURCES]
    + [os.path.join(ZSTD, s) for s in ZSTD_SOURCES]
    + [os.path.join(NATIVE, s) for s in CXX_GLUE_SOURCES]
    + [os.path.join(GRITTIBANZLI, s) for s in GRITTIBANZLI_SOURCES],
    include_dirs=[
        NATIVE,
        XDELTA3,
        os.path.join(LIBLZMA, "api"),
        os.path.join(LIBLZMA, "common"),
        os.path.join(LIBLZMA, "check"),
        os.path.join(LIBLZMA, "lz"),
        os.path.join(LIBLZMA, "lzma"),
        os.path.join(LIBLZMA, "rangecoder"),
        os.path.join(LIBLZMA, "simple"),
        os.path.join(LIBLZMA, "delta"),
        XZ_COMMON,
        ZLIB,
        BZIP2,
        ZSTD,
        GRITTIBANZLI,
    ],
    define_macros=[
        ("HAVE_CONFIG_H", "1"),
        ("Z_PREFIX", "1"),
        ("BZ_NO_STDIO", "1"),
        # zstd marks its API visibility("default"), which would export it from our extension past
        # -fvisibility=hidden: emptied, every zstd symbol stays private (no clash with another
        # libzstd in the process). Its x86-64 assembly is left out (setuptools compiles C only).
        ("ZSTDLIB_VISIBLE", ""),
        ("ZSTDERRORLIB_VISIBLE", ""),
        ("ZSTD_MULTITHREAD", "1"),
        ("ZSTD_DISABLE_ASM", "1"),
        ("ZSTD_LEGACY_SUPPORT", "0"),
    ]
    + [(name, "dg_" + name) for name in BZIP2_SYMBOLS],
    # zstd's worker threads.
    libraries=[] if sys.platform == "win32" else ["pthread"],
    # Compiler flags are chosen per source group by setup.py's build_ext.
)

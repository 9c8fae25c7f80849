# The compiled CFFI module (built from build_ffi.py and native/dg_codec.h). Only deltaglider.codec
# imports it. C values (pointers, structs) are CFFI's untyped CData: their Any stays in codec.py,
# which converts every one of them to Python types before returning.
from typing import Any, TypeAlias, overload

CData: TypeAlias = Any

class FFI:
    def new(self, cdecl: str, init: object = ...) -> CData: ...
    def string(self, cdata: CData, maxlen: int = ...) -> bytes: ...
    def buffer(self, cdata: CData, size: int = ...) -> CData: ...
    NULL: CData
    @overload
    def from_buffer(self, python_buffer: object, require_writable: bool = ...) -> CData: ...
    @overload
    def from_buffer(self, cdecl: str, python_buffer: object, require_writable: bool = ...) -> CData: ...
    def sizeof(self, cdecl: str) -> int: ...

class Lib:
    DG_OK: int
    DG_ERR_CODEC: int
    DG_ERR_DECODE: int
    DG_ERR_NOMEM: int
    DG_ERR_TOO_LARGE: int
    DG_ERR_EXTERNAL: int
    DG_ERR_IO: int
    DG_SECONDARY_NONE: int
    DG_SECONDARY_LZMA: int
    DG_SECONDARY_DJW: int
    DG_SECONDARY_FGK: int
    DG_SECONDARY_AUTO: int
    DG_SEC_SKIP_DATA: int
    DG_SEC_SKIP_INST: int
    DG_SEC_SKIP_ADDR: int
    DG_DEFAULT_MEMORY_BUDGET: int
    def dg_auto_sec_skip(self, target: CData, target_len: int) -> int: ...
    def dg_plan_encode(
        self, source_len: int, target_len: int, reach: int, params: CData, plan: CData, status: CData
    ) -> int: ...
    def dg_probe_reach(
        self,
        source: CData,
        source_len: int,
        target: CData,
        target_len: int,
        reach: CData,
        status: CData,
    ) -> int: ...
    def dg_encode_memory(
        self,
        source: CData,
        source_len: int,
        target: CData,
        target_len: int,
        params: CData,
        out: CData,
        status: CData,
    ) -> int: ...
    def dg_decode_memory(
        self,
        source: CData,
        source_len: int,
        delta: CData,
        delta_len: int,
        max_output: int,
        allow_external: int,
        out: CData,
        status: CData,
    ) -> int: ...
    def dg_buffer_free(self, buf: CData) -> None: ...
    def dg_encode_file(
        self, source_fd: int, target_fd: int, delta_fd: int, params: CData, written: CData, status: CData
    ) -> int: ...
    def dg_decode_file(
        self,
        source_fd: int,
        delta_fd: int,
        output_fd: int,
        max_output: int,
        allow_external: int,
        written: CData,
        status: CData,
    ) -> int: ...
    def dg_fault_fail_allocation(self, nth: int) -> None: ...
    def dg_fault_pending(self) -> int: ...
    def dg_lzma2_new(self, preset: int, dict_size: int, status: Any) -> Any: ...
    def dg_lzma2_code(
        self,
        enc: Any,
        data: Any,
        size: int,
        out: Any,
        out_cap: int,
        finish: int,
        in_used: Any,
        out_made: Any,
        done: Any,
        status: Any,
    ) -> int: ...
    def dg_lzma2_free(self, enc: Any) -> None: ...
    def dg_lzma2_version(self) -> Any: ...
    # The pinned zlib's deflate (vendor/zlib, built with Z_PREFIX; declared in build_ffi.py).
    Z_OK: int
    Z_STREAM_END: int
    Z_BUF_ERROR: int
    Z_NO_FLUSH: int
    Z_FINISH: int
    Z_DEFLATED: int
    def deflateInit2_(  # noqa: N802 - zlib's own names
        self,
        strm: CData,
        level: int,
        method: int,
        window_bits: int,
        mem_level: int,
        strategy: int,
        version: CData,
        stream_size: int,
    ) -> int: ...
    def deflate(self, strm: CData, flush: int) -> int: ...
    def deflateEnd(self, strm: CData) -> int: ...  # noqa: N802
    def zlibVersion(self) -> CData: ...  # noqa: N802

ffi: FFI
lib: Lib

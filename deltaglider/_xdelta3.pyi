# The compiled CFFI module (built from build_ffi.py and native/dg_codec.h). Only deltaglider._native
# imports it. C values (pointers, structs) are CFFI's untyped CData: their Any stays in that package,
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
    def gc(self, cdata: CData, destructor: Any, size: int = ...) -> CData: ...
    def release(self, cdata: CData) -> None: ...

class Lib:
    DG_OK: int
    DG_ERR_CODEC: int
    DG_ERR_DECODE: int
    DG_ERR_NOMEM: int
    DG_ERR_TOO_LARGE: int
    DG_ERR_EXTERNAL: int
    DG_ERR_IO: int
    DG_FILE_NONE: int
    DG_FILE_SOURCE: int
    DG_FILE_TARGET: int
    DG_FILE_DELTA: int
    DG_FILE_OUTPUT: int
    DG_SECONDARY_NONE: int
    DG_SECONDARY_LZMA: int
    DG_SECONDARY_DJW: int
    DG_SECONDARY_FGK: int
    DG_SECONDARY_AUTO: int
    DG_SEC_SKIP_DATA: int
    DG_SEC_SKIP_INST: int
    DG_SEC_SKIP_ADDR: int
    DG_DEFAULT_MEMORY_BUDGET: int
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
    def dg_plan_memory(
        self,
        source: CData,
        source_len: int,
        target: CData,
        target_len: int,
        params: CData,
        plan: CData,
        status: CData,
    ) -> int: ...
    def dg_plan_file(
        self, source_fd: int, target_fd: int, params: CData, plan: CData, status: CData
    ) -> int: ...
    def dg_encode_memory(
        self,
        source: CData,
        source_len: int,
        target: CData,
        target_len: int,
        plan: CData,
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
        self, source_fd: int, target_fd: int, delta_fd: int, plan: CData, written: CData, status: CData
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
    def dg_lzma2_new(self, preset: int, dict_size: int, status: CData) -> CData: ...
    def dg_lzma2_code(
        self,
        enc: CData,
        data: CData,
        size: int,
        out: CData,
        out_cap: int,
        finish: int,
        in_used: CData,
        out_made: CData,
        done: CData,
        status: CData,
    ) -> int: ...
    def dg_lzma2_free(self, enc: CData) -> None: ...
    def dg_lzma2_version(self) -> CData: ...
    def dg_bzip2_new(self, block_size: int, work_factor: int, status: CData) -> CData: ...
    def dg_bzip2_code(
        self,
        enc: CData,
        data: CData,
        size: int,
        out: CData,
        out_cap: int,
        finish: int,
        in_used: CData,
        out_made: CData,
        done: CData,
        status: CData,
    ) -> int: ...
    def dg_bzip2_free(self, enc: CData) -> None: ...
    def dg_bzip2_version(self) -> CData: ...
    def dg_deflate_new(
        self, level: int, wbits: int, mem_level: int, strategy: int, status: CData
    ) -> CData: ...
    def dg_deflate_code(
        self,
        enc: CData,
        data: CData,
        size: int,
        out: CData,
        out_cap: int,
        finish: int,
        in_used: CData,
        out_made: CData,
        done: CData,
        status: CData,
    ) -> int: ...
    def dg_deflate_free(self, enc: CData) -> None: ...
    def dg_deflate_version(self) -> CData: ...
    DG_GRITTI_DECODED: int
    DG_GRITTI_CHOICES: int
    DG_GRITTI_DEFLATED: int
    def dg_gritti_split(self, deflated: CData, size: int, max_decoded: int, status: CData) -> CData: ...
    def dg_gritti_join(
        self,
        decoded: CData,
        size: int,
        choices: CData,
        choices_size: int,
        expected_size: int,
        status: CData,
    ) -> CData: ...
    def dg_gritti_size(self, result: CData, part: int) -> int: ...
    def dg_gritti_data(self, result: CData, part: int) -> CData: ...
    def dg_gritti_free(self, result: CData) -> None: ...
    def dg_zstd_enc_new(
        self,
        level: int,
        window_log: int,
        long_distance: int,
        checksum: int,
        pledged_size: int,
        workers: int,
        status: CData,
    ) -> CData: ...
    def dg_zstd_enc_code(
        self,
        enc: CData,
        data: CData,
        size: int,
        out: CData,
        out_cap: int,
        finish: int,
        in_used: CData,
        out_made: CData,
        done: CData,
        status: CData,
    ) -> int: ...
    def dg_zstd_enc_free(self, enc: CData) -> None: ...
    def dg_zstd_window_log(self, level: int, src_size: int) -> int: ...
    def dg_zstd_enc_memory(self, level: int, window_log: int, long_distance: int) -> int: ...
    def dg_zstd_min_level(self) -> int: ...
    def dg_zstd_max_level(self) -> int: ...
    def dg_zstd_version(self) -> CData: ...
    def dg_zstd_dec_new(self, window_log_max: int, status: CData) -> CData: ...
    def dg_zstd_dec_code(
        self,
        dec: CData,
        data: CData,
        size: int,
        out: CData,
        out_cap: int,
        in_used: CData,
        out_made: CData,
        done: CData,
        status: CData,
    ) -> int: ...
    def dg_zstd_dec_free(self, dec: CData) -> None: ...
    def dg_handles_live(self) -> int: ...
    def dg_appheader_external(self, hdr: CData, length: int, idents: CData) -> int: ...

ffi: FFI
lib: Lib

/* deltaglider's C glue over xdelta3: one-shot encode and decode that run the xdelta3 stream loop
 * themselves, so the library's own error message reaches the caller.
 *
 * This header is also the CFFI cdef (build_ffi.py reads the block between the DG_CDEF markers), so
 * it keeps to plain C declarations with fixed-size types that CFFI can parse.
 */
#ifndef DG_CODEC_H
#define DG_CODEC_H

#include <stddef.h>
#include <stdint.h>

/* DG_CDEF_BEGIN */
enum {
    DG_OK = 0,
    DG_ERR_CODEC = 1,        /* xdelta3 reported an error while encoding, or bad parameters */
    DG_ERR_DECODE = 2,       /* corrupt, truncated, empty delta, or wrong source (checksum) */
    DG_ERR_NOMEM = 3,        /* an allocation failed */
    DG_ERR_TOO_LARGE = 4,    /* decoded output went past the caller's limit */
    DG_ERR_EXTERNAL = 5,     /* app header names the binary's external compression */
    DG_ERR_IO = 6            /* reading or writing a file failed (errno in status.sys_errno) */
};

enum {
    DG_SECONDARY_NONE = 0,
    DG_SECONDARY_LZMA = 1,
    DG_SECONDARY_DJW = 2,
    DG_SECONDARY_FGK = 3,
    DG_SECONDARY_AUTO = 4    /* LZMA per section where a trial on its bytes shows it pays, at a
                              * stronger preset on text-like sections when the plan allows it
                              * (dg_sec_choice.h) */
};

/* Which file a DG_ERR_IO is about: the caller knows their names, the glue only their roles. */
enum {
    DG_FILE_NONE = 0,
    DG_FILE_SOURCE = 1,      /* the reference, both ways */
    DG_FILE_TARGET = 2,      /* what an encode reads */
    DG_FILE_DELTA = 3,       /* what a decode reads */
    DG_FILE_OUTPUT = 4       /* what either writes */
};

typedef struct {
    int code;              /* one of DG_OK / DG_ERR_* */
    int xd3_code;          /* xdelta3's return code, 0 when the error is not xdelta3's */
    int sys_errno;         /* errno for DG_ERR_IO */
    int file;              /* DG_FILE_* for DG_ERR_IO, else DG_FILE_NONE */
    char name[48];         /* symbolic name: xd3_strerror() or ours */
    char msg[256];         /* xdelta3's stream->msg or ours; for DG_ERR_EXTERNAL, the app header */
} dg_status;

typedef struct {
    uint8_t *data;         /* malloc'd by the glue; release with dg_buffer_free */
    size_t len;
    size_t cap;
} dg_buffer;

enum {
    /* Sections that secondary compression leaves alone (xdelta3's XD3_SEC_NO* per section). */
    DG_SEC_SKIP_DATA = 1,
    DG_SEC_SKIP_INST = 2,
    DG_SEC_SKIP_ADDR = 4
};

/* 512 MiB: what the encoder may allocate by default (hash tables, buffers, secondary state). */
#define DG_DEFAULT_MEMORY_BUDGET 536870912

typedef struct {
    int level;               /* 0..9 as xdelta3 -0..-9 */
    int secondary;           /* DG_SECONDARY_* */
    uint64_t src_window;     /* source window; 0 = chosen from the source size, the reach probe and
                              * memory_budget (the whole source, or the narrowest sliding window that
                              * covers how far content moved) */
    uint64_t memory_budget;  /* bytes the encoder may allocate; 0 = DG_DEFAULT_MEMORY_BUDGET */
    uint32_t large_step;     /* source checksum step; 0 = the level's, coarser only to fit the budget */
    uint32_t winsize;        /* target window; 0 = min(target size, 8 MiB) */
    int lzma_preset;         /* liblzma preset 0..9 for DG_SECONDARY_LZMA (the binary uses 0);
                              * DG_SECONDARY_AUTO picks its own */
    int sec_skip;            /* DG_SEC_SKIP_* mask */
} dg_encode_params;

/* What dg_plan_encode chose, and what it costs. An encode runs from one plan: dg_plan_memory or
 * dg_plan_file makes it from the content (the reach probe), then dg_encode_memory or
 * dg_encode_file runs it as it is. Both planners look at the same bytes the same way, so a delta
 * does not depend on whether its inputs came from memory or from files. */
typedef struct {
    uint64_t window;         /* source window (power of two; >= the source when covers_source) */
    uint64_t blksize;        /* source block size handed to xdelta3 */
    uint64_t reach;          /* the probe's reach (dg_probe_reach), UINT64_MAX when not probed */
    uint64_t hash_bytes;     /* source hash table plus target hash table and its chain */
    uint64_t memory;         /* estimated peak of everything the encoder allocates */
    uint32_t large_step;
    uint32_t winsize;
    uint32_t sprevsz;
    uint32_t iopt_size;      /* instruction buffer entries */
    int lzma_preset;         /* the LZMA preset the encoder uses (AUTO picks its own) */
    uint32_t usize_bytes;    /* sizeof(usize_t) this build was compiled with (XD3_USE_LARGESIZET) */
    int covers_source;       /* 1 when every source byte stays matchable for the whole target */
    /* What the plan was made for, which the encoders check it against. */
    uint64_t source_len;
    uint64_t target_len;     /* UINT64_MAX for a target that can only be streamed */
    int sec_skip;            /* params.sec_skip */
    dg_encode_params params;
} dg_encode_plan;

/* The plan from sizes alone. reach: what dg_probe_reach found for the pair, UINT64_MAX if unknown
 * (the window then covers the whole source as far as the budget allows). */
int dg_plan_encode(uint64_t source_len, uint64_t target_len, uint64_t reach,
                   const dg_encode_params *params, dg_encode_plan *plan, dg_status *status);

/* How far (in bytes) target content lies from its nearest copy in the source, sampled at
 * content-defined anchors; UINT64_MAX when the data defeats the sampling. See dg_probe.c. */
int dg_probe_reach(const uint8_t *source, uint64_t source_len, const uint8_t *target,
                   uint64_t target_len, uint64_t *reach, dg_status *status);

/* The plan of one encode from its content. dg_plan_file maps the files for the probe only when the
 * plan needs them (the caller keeps and closes the descriptors). */
int dg_plan_memory(const uint8_t *source, size_t source_len, const uint8_t *target, size_t target_len,
                   const dg_encode_params *params, dg_encode_plan *plan, dg_status *status);
int dg_plan_file(int source_fd, int target_fd, const dg_encode_params *params, dg_encode_plan *plan,
                 dg_status *status);

/* Runs a plan of dg_plan_memory or dg_plan_file; refuses one made for inputs of other sizes. */
int dg_encode_memory(const uint8_t *source, size_t source_len,
                     const uint8_t *target, size_t target_len,
                     const dg_encode_plan *plan, dg_buffer *out, dg_status *status);

/* max_output: decoding stops with DG_ERR_TOO_LARGE past this many bytes (UINT64_MAX: no limit).
 * allow_external: decode the VCDIFF even if its app header names external compression. */
int dg_decode_memory(const uint8_t *source, size_t source_len,
                     const uint8_t *delta, size_t delta_len,
                     uint64_t max_output, int allow_external,
                     dg_buffer *out, dg_status *status);

void dg_buffer_free(dg_buffer *buf);

/* File to file. The caller opens the descriptors (and owns them: they are not closed here); the
 * source is memory-mapped, the target or delta read in window-sized chunks, the output written as
 * it is produced. *written receives the bytes written to the output descriptor, also on failure.
 * I/O errors return DG_ERR_IO with status.sys_errno and status.file set. */
int dg_encode_file(int source_fd, int target_fd, int delta_fd, const dg_encode_plan *plan,
                   uint64_t *written, dg_status *status);

int dg_decode_file(int source_fd, int delta_fd, int output_fd, uint64_t max_output,
                   int allow_external, uint64_t *written, dg_status *status);

/* For tests: makes the nth allocation that an xdelta3 stream of the calling thread asks for from now
 * on fail (as if malloc had returned NULL), once; 0 disarms. dg_fault_pending is what is left of the
 * countdown: nonzero after a call means the call made fewer than nth allocations. */
void dg_fault_fail_allocation(uint64_t nth);
uint64_t dg_fault_pending(void);
/* A raw LZMA2 encoder of the vendored liblzma, for rebuilding .xz blocks byte for byte (see
 * native/dg_lzma2.c). preset: 0..9, | 0x80000000 for extreme; dict_size: as the block header says.
 * dg_lzma2_code returns DG_OK or a DG_ERR_*; *done turns 1 once finish has flushed everything. */
typedef struct dg_lzma2 dg_lzma2;
dg_lzma2 *dg_lzma2_new(uint32_t preset, uint32_t dict_size, dg_status *status);
int dg_lzma2_code(dg_lzma2 *enc, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                  int finish, size_t *in_used, size_t *out_made, int *done, dg_status *status);
void dg_lzma2_free(dg_lzma2 *enc);
const char *dg_lzma2_version(void);

/* A raw deflate stream of the vendored zlib, for rebuilding deflate members byte for byte (see
 * native/dg_deflate.c). Each dg_deflate_code is one deflate() call, finish selecting Z_FINISH over
 * Z_NO_FLUSH; *done turns 1 at the stream's end. */
typedef struct dg_deflate dg_deflate;
dg_deflate *dg_deflate_new(int level, int wbits, int mem_level, int strategy, dg_status *status);
int dg_deflate_code(dg_deflate *enc, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                    int finish, size_t *in_used, size_t *out_made, int *done, dg_status *status);
void dg_deflate_free(dg_deflate *enc);
const char *dg_deflate_version(void);

/* A bzip2 stream of the vendored libbzip2 (header, blocks, end of stream), for rebuilding .bz2
 * streams byte for byte (see native/dg_bzip2.c). block_size: 1..9 (bzip2 -1 .. -9); work_factor:
 * 0..250 (0: the library's default, 30). Each dg_bzip2_code is one BZ2_bzCompress call, finish
 * selecting BZ_FINISH over BZ_RUN; *done turns 1 at the stream's end. */
typedef struct dg_bzip2 dg_bzip2;
dg_bzip2 *dg_bzip2_new(int block_size, int work_factor, dg_status *status);
int dg_bzip2_code(dg_bzip2 *enc, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                  int finish, size_t *in_used, size_t *out_made, int *done, dg_status *status);
void dg_bzip2_free(dg_bzip2 *enc);
const char *dg_bzip2_version(void);

/* zstd frames of the vendored libzstd, for rebuilding .zst files and zstd members byte for byte (see
 * native/dg_zstd.c). Encoder: level, window_log (0: the level's), long-distance matching, checksum
 * flag, pledged_size (UINT64_MAX: unknown, no content size in the header), workers (0: this thread;
 * any number >= 1 writes the same bytes). dg_zstd_enc_code has dg_lzma2_code's contract. Decoder:
 * refuses frames whose window passes 2^window_log_max; *done turns 1 where a frame ends. */
typedef struct dg_zstd_enc dg_zstd_enc;
dg_zstd_enc *dg_zstd_enc_new(int level, uint32_t window_log, int long_distance, int checksum,
                             uint64_t pledged_size, int workers, dg_status *status);
int dg_zstd_enc_code(dg_zstd_enc *enc, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                     int finish, size_t *in_used, size_t *out_made, int *done, dg_status *status);
void dg_zstd_enc_free(dg_zstd_enc *enc);
uint32_t dg_zstd_window_log(int level, uint64_t src_size);
uint64_t dg_zstd_enc_memory(int level, uint32_t window_log, int long_distance);
int dg_zstd_min_level(void);
int dg_zstd_max_level(void);
const char *dg_zstd_version(void);
typedef struct dg_zstd_dec dg_zstd_dec;
dg_zstd_dec *dg_zstd_dec_new(uint32_t window_log_max, dg_status *status);
int dg_zstd_dec_code(dg_zstd_dec *dec, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                     size_t *in_used, size_t *out_made, int *done, dg_status *status);
void dg_zstd_dec_free(dg_zstd_dec *dec);

/* The deflate reconstructor (vendor/grittibanzli, native/dg_reconstruct.cc). dg_gritti_split: a
 * raw deflate stream into its decoded bytes and the choices that rebuild it (NULL with DG_ERR_CODEC
 * when it cannot, DG_ERR_TOO_LARGE past max_decoded). dg_gritti_join: the stream back from both (NULL
 * with DG_ERR_DECODE when the choices do not fit, or the stream is not expected_size bytes, unless that
 * is UINT64_MAX). A result
 * holds its parts until dg_gritti_free. */
enum { DG_GRITTI_DECODED = 0, DG_GRITTI_CHOICES = 1, DG_GRITTI_DEFLATED = 2 };
typedef struct dg_gritti dg_gritti;
dg_gritti *dg_gritti_split(const uint8_t *deflated, size_t size, uint64_t max_decoded, dg_status *status);
dg_gritti *dg_gritti_join(const uint8_t *decoded, size_t size, const uint8_t *choices, size_t choices_size,
                          uint64_t expected_size, dg_status *status);
size_t dg_gritti_size(const dg_gritti *result, int part);
const uint8_t *dg_gritti_data(const dg_gritti *result, int part);
void dg_gritti_free(dg_gritti *result);

/* For tests: how many dg_lzma2, dg_deflate, dg_bzip2, dg_zstd and dg_gritti handles are allocated and not yet freed. */
uint64_t dg_handles_live(void);

/* The xdelta3 binary writes the application header "<target>/<ident>/<source>/<ident>", an ident
 * naming the compressor it piped that side through (none for plain files). Finds the two idents:
 * their offsets and lengths in hdr. Returns 1 when either is set, else 0. The one reading of that
 * header: the decoder refuses by it, and Python reads idents through it. */
typedef struct {
    size_t target_at, target_len;
    size_t source_at, source_len;
} dg_appheader_idents;
int dg_appheader_external(const uint8_t *hdr, size_t len, dg_appheader_idents *idents);
/* DG_CDEF_END */

#endif /* DG_CODEC_H */

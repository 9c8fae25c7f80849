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
    DG_SECONDARY_AUTO = 4    /* LZMA at a stronger preset when the budget allows it, and not on the
                              * data section of an already-compressed target (dg_plan_encode) */
};

typedef struct {
    int code;              /* one of DG_OK / DG_ERR_* */
    int xd3_code;          /* xdelta3's return code, 0 when the error is not xdelta3's */
    int sys_errno;         /* errno for DG_ERR_IO */
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

/* What dg_plan_encode chose, and what it costs. Both encoders plan from the same sizes, params and
 * probe (a function of the bytes only), so a delta does not depend on whether its inputs came from
 * memory or from files. */
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
} dg_encode_plan;

/* The DG_SEC_SKIP_* mask DG_SECONDARY_AUTO uses for this target: DG_SEC_SKIP_DATA when a sample of it
 * looks already compressed (LZMA could not gain 1% on the data section), else 0. */
int dg_auto_sec_skip(const uint8_t *target, uint64_t target_len);

/* reach: what dg_probe_reach found for the pair, UINT64_MAX if unknown (the window then covers the
 * whole source as far as the budget allows). */
int dg_plan_encode(uint64_t source_len, uint64_t target_len, uint64_t reach,
                   const dg_encode_params *params, dg_encode_plan *plan, dg_status *status);

/* How far (in bytes) target content lies from its nearest copy in the source, sampled at
 * content-defined anchors; UINT64_MAX when the data defeats the sampling. See dg_probe.c. */
int dg_probe_reach(const uint8_t *source, uint64_t source_len, const uint8_t *target,
                   uint64_t target_len, uint64_t *reach, dg_status *status);

int dg_encode_memory(const uint8_t *source, size_t source_len,
                     const uint8_t *target, size_t target_len,
                     const dg_encode_params *params, dg_buffer *out, dg_status *status);

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
 * I/O errors return DG_ERR_IO with status.sys_errno set. */
int dg_encode_file(int source_fd, int target_fd, int delta_fd, const dg_encode_params *params,
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
/* DG_CDEF_END */

#endif /* DG_CODEC_H */

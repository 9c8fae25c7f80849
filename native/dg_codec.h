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
    DG_SECONDARY_FGK = 3
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

typedef struct {
    int level;             /* 0..9 as xdelta3 -0..-9 */
    int secondary;         /* DG_SECONDARY_* */
    uint64_t src_window;   /* bytes of source the encoder may match against; 0 = the whole source */
} dg_encode_params;

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
/* DG_CDEF_END */

#endif /* DG_CODEC_H */

/* Internal to the glue: the pieces the one-shot memory calls and the file calls share. Not part of
 * the CFFI interface. */
#ifndef DG_STREAM_H
#define DG_STREAM_H

#include "dg_codec.h"
#include "dg_alloc.h"

/* The reference, as one contiguous read-only view (a caller's buffer or a mapped file). It is the
 * stream's opaque pointer, so it also carries the decoder's memory budget (see dg_alloc.h). */
typedef struct {
    const uint8_t *data;
    uint64_t len;
    dg_mem_budget mem;
} dg_source_view;

/* Most memory one decoder stream may hold through xdelta3's allocation hooks. A valid delta needs
 * at most a few target windows' worth (xdelta3 refuses windows over 64 MiB); the limit stops deltas
 * that declare absurd section sizes before they are allocated. */
#define DG_DECODE_MEMORY_LIMIT ((uint64_t)256 << 20)

/* Hands out the next chunk of input, at most `want` bytes; sets *eof once nothing follows it. */
typedef struct dg_reader {
    int (*next)(struct dg_reader *reader, size_t want, const uint8_t **chunk, size_t *got, int *eof,
                dg_status *st);
    void *ctx;
} dg_reader;

typedef struct dg_sink {
    int (*write)(struct dg_sink *sink, const uint8_t *data, size_t len, dg_status *st);
    void *ctx;
    uint64_t written;
} dg_sink;

void dg_init_once(void);
uint32_t dg_adler32(uint32_t adler, const uint8_t *buf, size_t len);
/* xd3_config alloc/free hooks for encoder streams (dg_hugemem.c). */
void *dg_stream_alloc(void *opaque, size_t items, usize_t size);
void dg_stream_free(void *opaque, void *ptr);
int dg_fail(dg_status *st, int code, const char *name, const char *msg);
int dg_fail_errno(dg_status *st, int err, const char *what);
void dg_memory_sink_init(dg_sink *sink, dg_buffer *buf);

/* Whether dg_encoder_open reads the whole target (the reach probe, the AUTO sniff): the file encoder
 * maps it only then. */
int dg_encoder_wants_target(uint64_t source_len, const dg_encode_params *params);

/* target: the whole target when it is in memory or mapped, for the reach probe; NULL if it can only
 * be streamed (the window then covers the whole source). */
int dg_encoder_open(xd3_stream *stream, xd3_config *config, xd3_source *source,
                    const dg_source_view *view, const uint8_t *target, uint64_t target_len,
                    const dg_encode_params *params, dg_status *st);
int dg_run_encoder(xd3_stream *stream, dg_reader *input, dg_sink *output, dg_status *st);
int dg_decoder_open(xd3_stream *stream, xd3_config *config, xd3_source *source,
                    dg_source_view *view, dg_status *st);
int dg_run_decoder(xd3_stream *stream, dg_reader *input, dg_sink *output, uint64_t max_output,
                   int allow_external, dg_status *st);

#endif /* DG_STREAM_H */

/* Where the stream loops take input from and put output to: a reader hands out chunks of the target
 * or delta, a sink takes what xdelta3 produces. dg_memio.c has the in-memory ones, dg_fileio.c the
 * file ones. */
#ifndef DG_IO_H
#define DG_IO_H

/* xdelta3.h sets the feature macros: it comes before any system header (dg_codec.h has some). */
#include "config.h"
#include "xdelta3.h"
#include "dg_codec.h"

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

typedef struct {
    const uint8_t *data;
    size_t len;
    size_t pos;
} dg_memory_reader_ctx;

/* Reads data[0..len) through `ctx`, which must outlive the reader. */
void dg_memory_reader_init(dg_reader *reader, dg_memory_reader_ctx *ctx, const uint8_t *data, size_t len);
/* Appends to `buf`, growing it as needed. */
void dg_memory_sink_init(dg_sink *sink, dg_buffer *buf);
int dg_buffer_reserve(dg_buffer *buf, size_t need, dg_status *st);

#endif /* DG_IO_H */

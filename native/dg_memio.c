/* In-memory reader and sink (see dg_io.h), and the growable output buffer. */
#include "dg_io.h"
#include "dg_status.h"

#include <stdlib.h>
#include <string.h>

int dg_buffer_reserve(dg_buffer *buf, size_t need, dg_status *st)
{
    size_t cap;
    uint8_t *grown;
    if (need <= buf->cap) return DG_OK;
    cap = buf->cap ? buf->cap : 4096;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) { cap = need; break; }
        cap *= 2;
    }
    grown = (uint8_t *)realloc(buf->data, cap);
    if (grown == NULL) {
        return dg_fail(st, DG_ERR_NOMEM, "ENOMEM", "cannot grow the output buffer");
    }
    buf->data = grown;
    buf->cap = cap;
    return DG_OK;
}

void dg_buffer_free(dg_buffer *buf)
{
    if (buf == NULL) return;
    free(buf->data);
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
}

static int dg_memory_sink_write(dg_sink *sink, const uint8_t *data, size_t len, dg_status *st)
{
    dg_buffer *buf = (dg_buffer *)sink->ctx;
    int rc;
    /* An empty window (an empty target) leaves the buffer unallocated: memcpy to NULL is undefined
     * even for 0 bytes (UBSan). */
    if (len == 0) return DG_OK;
    if (len > SIZE_MAX - buf->len) {
        return dg_fail(st, DG_ERR_NOMEM, "ENOMEM", "output larger than the address space");
    }
    if ((rc = dg_buffer_reserve(buf, buf->len + len, st)) != DG_OK) return rc;
    memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    return DG_OK;
}

void dg_memory_sink_init(dg_sink *sink, dg_buffer *buf)
{
    sink->write = dg_memory_sink_write;
    sink->ctx = buf;
    sink->written = 0;
}

static int dg_memory_reader_next(dg_reader *reader, size_t want, const uint8_t **chunk, size_t *got,
                                 int *eof, dg_status *st)
{
    dg_memory_reader_ctx *m = (dg_memory_reader_ctx *)reader->ctx;
    size_t left = m->len - m->pos;
    size_t n = left < want ? left : want;
    (void)st;
    /* An empty input still needs a valid pointer for xd3_avail_input. */
    *chunk = m->data ? m->data + m->pos : (const uint8_t *)"";
    *got = n;
    m->pos += n;
    *eof = (m->pos == m->len);
    return DG_OK;
}

void dg_memory_reader_init(dg_reader *reader, dg_memory_reader_ctx *ctx, const uint8_t *data, size_t len)
{
    ctx->data = data;
    ctx->len = len;
    ctx->pos = 0;
    reader->next = dg_memory_reader_next;
    reader->ctx = ctx;
}

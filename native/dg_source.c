/* See dg_source.h. */
#include "dg_source.h"
#include "dg_status.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void dg_source_view_init(dg_source_view *view, const uint8_t *data, uint64_t len)
{
    view->data = data;
    view->len = len;
    dg_budget_init(&view->mem, 0);
}

int dg_fail_stream(dg_status *st, const xd3_stream *stream, int ret, int failure)
{
    const dg_source_view *view = (const dg_source_view *)stream->opaque;
    if (view != NULL && view->mem.refused != 0) {
        char text[sizeof st->msg];
        (void)snprintf(text, sizeof text,
                       "delta asks the decoder for %llu bytes at once, beyond its %llu-byte limit "
                       "(corrupt or hostile delta)",
                       (unsigned long long)view->mem.refused, (unsigned long long)view->mem.limit);
        st->xd3_code = ret;
        return dg_fail(st, failure, "XD3_INVALID_INPUT", text);
    }
    if (view != NULL && view->mem.failed != 0) {
        st->xd3_code = ret;
        return dg_fail(st, DG_ERR_NOMEM, "ENOMEM", stream->msg ? stream->msg : "out of memory");
    }
    return dg_fail_xd3(st, stream, ret, failure);
}

int dg_source_getblk(xd3_stream *stream, xd3_source *source, xoff_t blkno)
{
    const dg_source_view *view = (const dg_source_view *)stream->opaque;
    uint64_t offset;
    uint64_t left;
    if (blkno > (UINT64_MAX / source->blksize)) {
        stream->msg = "source block number out of range";
        return XD3_INVALID_INPUT;
    }
    offset = (uint64_t)blkno * source->blksize;
    if (offset >= view->len) {
        stream->msg = "delta reads past the end of the source";
        return XD3_INVALID_INPUT;
    }
    left = view->len - offset;
    source->curblkno = blkno;
    source->curblk = view->data + offset;
    source->onblk = (usize_t)(left < source->blksize ? left : source->blksize);
    return 0;
}

static uint64_t dg_pow2_at_least(uint64_t n)
{
    uint64_t p = XD3_ALLOCSIZE;
    while (p < n && p < ((uint64_t)1 << 62)) p <<= 1;
    return p;
}

int dg_attach_source(xd3_stream *stream, xd3_source *source, const dg_source_view *view,
                     uint64_t window, uint64_t blksize, dg_status *st)
{
    int ret;
    if (blksize == 0) {
        blksize = dg_pow2_at_least(view->len);
        if (blksize > DG_SOURCE_BLOCK_MAX) blksize = DG_SOURCE_BLOCK_MAX;
    }
    memset(source, 0, sizeof *source);
    source->blksize = (usize_t)blksize;
    source->max_winsize = (xoff_t)dg_pow2_at_least(window ? window : view->len);
    source->curblkno = (xoff_t)-1;
    source->name = "source";
    if ((ret = xd3_set_source_and_size(stream, source, (xoff_t)view->len)) != 0) {
        return dg_fail_stream(st, stream, ret, DG_ERR_CODEC);
    }
    return DG_OK;
}

/* The reference as xdelta3 sees it: one contiguous read-only view (a caller's buffer or a mapped
 * file), served block by block from C. */
#ifndef DG_SOURCE_H
#define DG_SOURCE_H

#include "config.h"
#include "xdelta3.h"
#include "dg_codec.h"
#include "dg_alloc.h"

/* The view is the stream's opaque pointer, so it also carries the decoder's memory budget. */
typedef struct {
    const uint8_t *data;
    uint64_t len;
    dg_mem_budget mem;
} dg_source_view;

/* Largest source block handed to xdelta3 at once. Blocks are only pointers into the view, so their
 * size costs nothing but a getblk call per block crossed; this keeps block arithmetic well inside
 * 32 bits for any window. */
#define DG_SOURCE_BLOCK_MAX ((uint64_t)1 << 26)

/* Every field set: no budget (limit 0), nothing used, refused or failed. The stream hooks and
 * dg_fail_stream read the budget, so a view must never reach a stream uninitialised. */
void dg_source_view_init(dg_source_view *view, const uint8_t *data, uint64_t len);

/* The getblk callback serving `view` (the stream's opaque). */
int dg_source_getblk(xd3_stream *stream, xd3_source *source, xoff_t blkno);

/* Hands the view to the stream as its source. window: what the encoder may match against (0: the
 * whole view); blksize 0: one block per DG_SOURCE_BLOCK_MAX of source (the decoder's choice). */
int dg_attach_source(xd3_stream *stream, xd3_source *source, const dg_source_view *view,
                     uint64_t window, uint64_t blksize, dg_status *st);

/* A failure of a stream whose opaque is a dg_source_view, as a status. A request the decoder's budget
 * refused means a delta asking for more than any valid delta needs: `failure` (a bad delta). Any
 * other failed allocation means the machine is short of memory: DG_ERR_NOMEM, whatever code
 * xdelta3 turned it into. Else as dg_fail_xd3. */
int dg_fail_stream(dg_status *st, const xd3_stream *stream, int ret, int failure);

#endif /* DG_SOURCE_H */

/* A memory cap for one xdelta3 stream, enforced through xd3_config's alloc/free hooks.
 *
 * The xdelta3 decoder allocates sizes it reads from the delta (xd3_decode_secondary allocates the
 * declared decompressed size of a section without a bound), so a damaged or hostile delta can ask
 * for terabytes, or for tens of gigabytes that overcommit grants and the OOM killer collects later.
 * Every allocation of the stream goes through here and is refused once the stream would hold more
 * than `limit` bytes; xdelta3 then fails with ENOMEM and the caller, seeing `refused`, reports it.
 */
#ifndef DG_ALLOC_H
#define DG_ALLOC_H

#include "config.h"
#include "xdelta3.h"

typedef struct {
    uint64_t limit;     /* most bytes the stream may hold at once */
    uint64_t used;      /* bytes it holds now */
    uint64_t peak;      /* most it held at once */
    uint64_t refused;   /* size of the first request refused, 0 if none */
} dg_mem_budget;

void dg_budget_init(dg_mem_budget *budget, uint64_t limit);

/* Signatures of xd3_alloc_func / xd3_free_func; `opaque` is the stream's dg_source_view, whose `mem`
 * is the budget. */
void *dg_budget_alloc(void *opaque, size_t items, usize_t size);
void dg_budget_free(void *opaque, void *ptr);

#endif /* DG_ALLOC_H */

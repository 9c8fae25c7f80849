/* xd3_config alloc/free hooks: every allocation an xdelta3 stream makes goes through one of these.
 *
 * Decoder streams get a memory cap (dg_budget.c): the xdelta3 decoder allocates sizes it reads from
 * the delta (xd3_decode_secondary allocates the declared decompressed size of a section without a
 * bound), so a damaged or hostile delta could ask for terabytes, or for tens of gigabytes that
 * overcommit grants and the OOM killer collects later. Allocations are refused once the stream
 * would hold more than `limit` bytes; xdelta3 then fails with ENOMEM and the decoder, seeing
 * `refused`, reports a bad delta. Encoder streams put their big hash tables on huge pages
 * (dg_hugemem.c). Both consult the test-only fault switch (dg_fault.c) first.
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
    uint64_t failed;    /* requests that got NULL, for any reason (xdelta3 reports some as XD3_INVALID) */
} dg_mem_budget;

void dg_budget_init(dg_mem_budget *budget, uint64_t limit);

/* Signatures of xd3_alloc_func / xd3_free_func. `opaque` is the stream's dg_source_view, whose `mem`
 * is the budget; the huge-page hooks only count failures there (encoders have no limit). */
void *dg_budget_alloc(void *opaque, size_t items, usize_t size);
void dg_budget_free(void *opaque, void *ptr);
void *dg_hugemem_alloc(void *opaque, size_t items, usize_t size);
void dg_hugemem_free(void *opaque, void *ptr);

/* 1 when the allocation hook calling it must fail this request (see dg_fault_fail_allocation). */
int dg_fault_take(void);

#endif /* DG_ALLOC_H */

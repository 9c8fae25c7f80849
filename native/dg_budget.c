/* The decoder's memory cap (see dg_alloc.h). */
#include "dg_alloc.h"
#include "dg_source.h"

#include <stddef.h>
#include <stdlib.h>

/* Each block carries its size in front so that free can give it back to the budget; the header is
 * as large as malloc's own alignment so the caller's pointer stays suitably aligned. */
typedef union {
    uint64_t size;
    max_align_t align;
} dg_block_header;

void dg_budget_init(dg_mem_budget *budget, uint64_t limit)
{
    budget->limit = limit;
    budget->used = 0;
    budget->peak = 0;
    budget->refused = 0;
    budget->failed = 0;
}

void *dg_budget_alloc(void *opaque, size_t items, usize_t size)
{
    dg_mem_budget *budget = &((dg_source_view *)opaque)->mem;
    dg_block_header *block;
    uint64_t bytes;
    if (dg_fault_take()) {
        budget->failed++;
        return NULL;
    }
    if (size != 0 && items > (SIZE_MAX - sizeof(dg_block_header)) / size) {
        if (budget->refused == 0) budget->refused = UINT64_MAX;
        budget->failed++;
        return NULL;
    }
    bytes = (uint64_t)items * size;
    if (bytes > budget->limit || budget->used > budget->limit - bytes) {
        if (budget->refused == 0) budget->refused = bytes;
        budget->failed++;
        return NULL;
    }
    block = (dg_block_header *)malloc(sizeof(dg_block_header) + (size_t)bytes);
    if (block == NULL) {
        budget->failed++;
        return NULL;
    }
    block->size = bytes;
    budget->used += bytes;
    if (budget->used > budget->peak) budget->peak = budget->used;
    return block + 1;
}

void dg_budget_free(void *opaque, void *ptr)
{
    dg_mem_budget *budget = &((dg_source_view *)opaque)->mem;
    dg_block_header *block;
    if (ptr == NULL) return;
    block = (dg_block_header *)ptr - 1;
    budget->used -= block->size;
    free(block);
}

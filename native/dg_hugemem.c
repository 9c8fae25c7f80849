/* Allocation hooks for xdelta3 encoder streams: the big blocks on transparent huge pages.
 *
 * The encoder's hash tables (up to hundreds of MiB) are read and written at random, one slot per input
 * byte: with 4 KiB pages nearly every access misses the TLB, and xd3_alloc0 touches every page up
 * front (32,768 page faults for a 128 MiB table). Backed by 2 MiB pages (madvise(MADV_HUGEPAGE), which
 * works where the system's transparent huge pages are "always" or "madvise"), encoding took 6% to 21%
 * less CPU on the benchmark pairs (bench/RESULTS.md). Blocks under DG_HUGE_MIN, and every block where
 * huge pages are unknown (Windows, other systems), come from malloc.
 *
 * Each block carries a 32-byte header before it saying how to release it, so the free hook works on
 * either kind; the source view (xd3_config.opaque) only counts failed allocations.
 */
/* MAP_ANONYMOUS and MADV_HUGEPAGE are not plain POSIX, which xdelta3.h asks for (_POSIX_SOURCE): the
 * system headers come first, under the C library's default feature set. */
#if !defined(_WIN32) && !defined(_DEFAULT_SOURCE)
#  define _DEFAULT_SOURCE 1
#endif
/* Only macros (no system header): the Windows API level must be set before any header reads it. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if !defined(_WIN32)
#  include <sys/mman.h>
#endif

/* The C library has settled its feature set; xdelta3.h defines its own _POSIX_SOURCE value. */
#undef _POSIX_SOURCE

#include "xdelta3.h"
#include "dg_alloc.h"
#include "dg_source.h"

#if defined(MADV_HUGEPAGE) && (defined(MAP_ANONYMOUS) || defined(MAP_ANON))
#  define DG_HAVE_HUGE 1
#  if !defined(MAP_ANONYMOUS)
#    define MAP_ANONYMOUS MAP_ANON
#  endif
#else
#  define DG_HAVE_HUGE 0
#endif

#define DG_HUGE_PAGE ((size_t)2 << 20)
#define DG_HUGE_MIN ((size_t)4 << 20)
#define DG_HEADER 32u
#define DG_KIND_HEAP UINT64_C(0x6467686561702121)  /* "dgheap!!" */
#define DG_KIND_MAP UINT64_C(0x64676d6170212121)   /* "dgmap!!!" */

typedef struct {
    uint64_t kind;
    void *base;     /* what malloc or mmap returned */
    size_t length;  /* mapping length (mmap only) */
    uint64_t pad;
} dg_block_header;
/* 32 bytes on 64-bit systems, less on 32-bit ones; the block after it keeps malloc's alignment. */
static_assert(sizeof(dg_block_header) <= DG_HEADER, "block header larger than its slot");

void *dg_hugemem_alloc(void *opaque, size_t items, usize_t size)
{
    dg_mem_budget *mem = &((dg_source_view *)opaque)->mem;
    size_t n;
    dg_block_header *h;
    uint8_t *base;
    if (dg_fault_take() || (size != 0 && items > (SIZE_MAX - DG_HUGE_PAGE - DG_HEADER) / size)) {
        mem->failed++;
        return NULL;
    }
    n = items * (size_t)size;
#if DG_HAVE_HUGE
    if (n >= DG_HUGE_MIN) {
        /* One spare huge page: room for the header and for aligning the block to 2 MiB. */
        size_t length = n + DG_HUGE_PAGE;
        uint8_t *user;
        base = (uint8_t *)mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (base == (uint8_t *)MAP_FAILED) {
            mem->failed++;
            return NULL;
        }
        user = (uint8_t *)(((uintptr_t)base + DG_HEADER + DG_HUGE_PAGE - 1) & ~(uintptr_t)(DG_HUGE_PAGE - 1));
        /* Advice only: where huge pages are off this fails and the block keeps 4 KiB pages. */
        (void)madvise(user, n, MADV_HUGEPAGE);
        h = (dg_block_header *)(void *)(user - DG_HEADER);
        h->kind = DG_KIND_MAP;
        h->base = base;
        h->length = length;
        return user;
    }
#endif
    base = (uint8_t *)malloc(n + DG_HEADER);
    if (base == NULL) {
        mem->failed++;
        return NULL;
    }
    h = (dg_block_header *)(void *)base;
    h->kind = DG_KIND_HEAP;
    h->base = base;
    h->length = 0;
    return base + DG_HEADER;
}

void dg_hugemem_free(void *opaque, void *ptr)
{
    dg_block_header *h;
    (void)opaque;
    if (ptr == NULL) return;
    h = (dg_block_header *)(void *)((uint8_t *)ptr - DG_HEADER);
#if DG_HAVE_HUGE
    if (h->kind == DG_KIND_MAP) {
        (void)munmap(h->base, h->length);
        return;
    }
#endif
    free(h->base);
}

/* The count of live native handles (dg_lzma2, dg_deflate), so that tests can see that every handle
 * Python made was freed, whether closed or collected. Atomic: handles are made and freed on any
 * thread, with the GIL released. */
#include "dg_codec.h"
#include "dg_handles.h"

#if defined(_MSC_VER)
#  include <intrin.h>
/* long: its interlocked intrinsics exist on every Windows target, 32-bit ones included. */
static volatile long dg_live;
void dg_handle_made(void) { _InterlockedIncrement(&dg_live); }
void dg_handle_freed(void) { _InterlockedDecrement(&dg_live); }
uint64_t dg_handles_live(void) { return (uint64_t)_InterlockedCompareExchange(&dg_live, 0, 0); }
#else
static uint64_t dg_live;
void dg_handle_made(void) { __atomic_add_fetch(&dg_live, 1, __ATOMIC_RELAXED); }
void dg_handle_freed(void) { __atomic_sub_fetch(&dg_live, 1, __ATOMIC_RELAXED); }
uint64_t dg_handles_live(void) { return __atomic_load_n(&dg_live, __ATOMIC_RELAXED); }
#endif

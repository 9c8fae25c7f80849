/* The allocation-failure switch behind dg_fault_fail_allocation (dg_codec.h), for tests.
 *
 * The countdown is per thread: arming it affects only the calling thread's next codec calls (the
 * CFFI wrapper releases the GIL but runs the call on the caller's thread), so it shares no mutable
 * state between threads and, unarmed, costs one thread-local load per hook allocation. xdelta3
 * allocates a few dozen blocks per stream, never per byte.
 */
#include "dg_alloc.h"
#include "dg_codec.h"

#if defined(_MSC_VER)
#  define DG_THREAD_LOCAL __declspec(thread)
#elif defined(__GNUC__) || defined(__clang__)
#  define DG_THREAD_LOCAL __thread
#else
#  define DG_THREAD_LOCAL _Thread_local
#endif

static DG_THREAD_LOCAL uint64_t dg_fault_countdown;

void dg_fault_fail_allocation(uint64_t nth)
{
    dg_fault_countdown = nth;
}

uint64_t dg_fault_pending(void)
{
    return dg_fault_countdown;
}

int dg_fault_take(void)
{
    if (dg_fault_countdown == 0) return 0;
    return --dg_fault_countdown == 0;
}

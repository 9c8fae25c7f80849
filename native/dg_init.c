/* One-time initialisation of xdelta3's shared tables, before any stream runs. */
#include "dg_stream.h"

#if defined(_WIN32)
#  include <windows.h>
#else
#  include <pthread.h>
#endif

/* xdelta3 3.1.x fills its static RFC 3284 code table lazily, on the first stream that needs it, with
 * no lock: a second thread can read a half-built table. Building it once, under the platform's
 * once-primitive, before any stream runs closes that race; it is done on first use rather than at
 * import so that importing the package stays cheap. */
static void dg_build_static_tables(void)
{
    xd3_stream stream;
    if (xd3_config_stream(&stream, NULL) == 0 && stream.code_table_func != NULL) {
        (void)stream.code_table_func();
    }
    xd3_free_stream(&stream);
}

#if defined(_WIN32)
static INIT_ONCE dg_tables_once = INIT_ONCE_STATIC_INIT;
static BOOL CALLBACK dg_tables_once_cb(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
    (void)once; (void)param; (void)ctx;
    dg_build_static_tables();
    return TRUE;
}
void dg_init_once(void) { InitOnceExecuteOnce(&dg_tables_once, dg_tables_once_cb, NULL, NULL); }
#else
static pthread_once_t dg_tables_once = PTHREAD_ONCE_INIT;
void dg_init_once(void) { (void)pthread_once(&dg_tables_once, dg_build_static_tables); }
#endif

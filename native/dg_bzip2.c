/* A bzip2 encoder from the vendored libbzip2, for archive transforms: a .bz2 stream is rebuilt with
 * the same library release on every machine (see deltaglider/transforms/bzip2_form.py). Python's bz2
 * module links whatever libbz2 the platform has; decoding may use it (any correct decoder gives the
 * same bytes), re-encoding must not.
 *
 * build_ffi.py compiles libbzip2 with BZ_NO_STDIO and renames every one of its symbols to dg_BZ2_...
 * (and hidden visibility keeps them out of the extension's exports), so they never clash with the
 * libbz2 that Python's _bz2 module loads into the same process. */
#include "dg_status.h"
#include "dg_handles.h"

#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

#include "bzlib.h"

#if defined(_MSC_VER)
#  define DG_BZ_THREAD_LOCAL __declspec(thread)
#elif defined(__GNUC__) || defined(__clang__)
#  define DG_BZ_THREAD_LOCAL __thread
#else
#  define DG_BZ_THREAD_LOCAL _Thread_local
#endif

struct dg_bzip2 {
    bz_stream strm;
    int broken; /* an internal check of the library failed: the state is only fit to be freed */
};

/* Where bz_internal_error returns to: set around every library call of this thread. libbzip2 built
 * with BZ_NO_STDIO calls it when one of its own consistency checks fails (a bug or bad memory, never
 * any input); the stock library would print and exit(3). Here the call fails instead. */
static DG_BZ_THREAD_LOCAL jmp_buf *dg_bz_escape;
static DG_BZ_THREAD_LOCAL int dg_bz_internal_code;

void bz_internal_error(int errcode);
void bz_internal_error(int errcode)
{
    dg_bz_internal_code = errcode;
    if (dg_bz_escape != NULL) longjmp(*dg_bz_escape, 1);
    abort(); /* only reachable from a library call not made through this file */
}

static int dg_bz_fail(dg_status *status, int ret)
{
    char msg[64];

    if (ret == BZ_MEM_ERROR) return dg_fail(status, DG_ERR_NOMEM, "ENOMEM", "bzip2 encoder out of memory");
    snprintf(msg, sizeof msg, "bzip2 encoder failed (%d)", ret);
    return dg_fail(status, DG_ERR_CODEC, "BZIP2", msg);
}

dg_bzip2 *dg_bzip2_new(int block_size, int work_factor, dg_status *status)
{
    dg_bzip2 *enc;
    int ret;

    dg_status_clear(status);
    enc = calloc(1, sizeof *enc);
    if (enc == NULL) {
        dg_fail(status, DG_ERR_NOMEM, "ENOMEM", "cannot allocate a bzip2 encoder");
        return NULL;
    }
    /* Verbosity 0: the library writes nothing anywhere (and has no stdio to write with). */
    ret = BZ2_bzCompressInit(&enc->strm, block_size, 0, work_factor);
    if (ret != BZ_OK) {
        free(enc);
        if (ret == BZ_PARAM_ERROR) {
            dg_fail(status, DG_ERR_CODEC, "BZ_PARAM_ERROR", "bzip2 parameters refused");
        } else {
            dg_bz_fail(status, ret);
        }
        return NULL;
    }
    dg_handle_made();
    return enc;
}

int dg_bzip2_code(dg_bzip2 *enc, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                  int finish, size_t *in_used, size_t *out_made, int *done, dg_status *status)
{
    jmp_buf escape;
    unsigned int in_n = in_len > UINT_MAX ? UINT_MAX : (unsigned int)in_len;
    unsigned int out_n = out_cap > UINT_MAX ? UINT_MAX : (unsigned int)out_cap;
    int ret;

    dg_status_clear(status);
    *in_used = 0;
    *out_made = 0;
    *done = 0;
    if (enc->broken) return dg_fail(status, DG_ERR_CODEC, "BZIP2", "bzip2 encoder failed earlier");
    enc->strm.next_in = (char *)in;
    enc->strm.avail_in = in_n;
    enc->strm.next_out = (char *)out;
    enc->strm.avail_out = out_n;
    if (setjmp(escape)) {
        char msg[64];

        dg_bz_escape = NULL;
        enc->broken = 1;
        snprintf(msg, sizeof msg, "libbzip2 internal error %d", dg_bz_internal_code);
        return dg_fail(status, DG_ERR_CODEC, "BZ_INTERNAL_ERROR", msg);
    }
    dg_bz_escape = &escape;
    ret = BZ2_bzCompress(&enc->strm, finish ? BZ_FINISH : BZ_RUN);
    dg_bz_escape = NULL;
    *in_used = in_n - enc->strm.avail_in;
    *out_made = out_n - enc->strm.avail_out;
    *done = ret == BZ_STREAM_END;
    if (ret == BZ_RUN_OK || ret == BZ_FINISH_OK || ret == BZ_STREAM_END) return DG_OK;
    /* BZ_RUN with no input and no output pending is "no progress", which the library reports as a
     * parameter error: for a caller that fed everything and drained the output, nothing happened. */
    if (ret == BZ_PARAM_ERROR && !finish && in_n == 0) return DG_OK;
    return dg_bz_fail(status, ret);
}

void dg_bzip2_free(dg_bzip2 *enc)
{
    if (enc == NULL) return;
    /* Frees the state's arrays whatever it was doing, an escaped internal error included. */
    BZ2_bzCompressEnd(&enc->strm);
    free(enc);
    dg_handle_freed();
}

const char *dg_bzip2_version(void)
{
    return BZ2_bzlibVersion();
}

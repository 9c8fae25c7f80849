/* A raw deflate encoder from the vendored zlib, for archive transforms: a deflate member is rebuilt
 * with the same library release on every machine (see deltaglider/transforms/deflater.py). Python's
 * zlib module would use the platform's zlib, whose output may differ between releases. Built with
 * Z_PREFIX, so these are z_deflate..., never the deflate... of the zlib Python itself has loaded. */
#include "dg_status.h"
#include "dg_handles.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "zlib.h"

struct dg_deflate {
    z_stream strm;
};

dg_deflate *dg_deflate_new(int level, int wbits, int mem_level, int strategy, dg_status *status)
{
    dg_deflate *enc;
    int rc;

    dg_status_clear(status);
    enc = calloc(1, sizeof *enc);
    if (enc == NULL) {
        dg_fail(status, DG_ERR_NOMEM, "ENOMEM", "cannot allocate a deflate encoder");
        return NULL;
    }
    /* Negative window bits: a raw stream, no zlib or gzip wrapper. */
    rc = deflateInit2(&enc->strm, level, Z_DEFLATED, -wbits, mem_level, strategy);
    if (rc != Z_OK) {
        free(enc);
        if (rc == Z_MEM_ERROR) {
            dg_fail(status, DG_ERR_NOMEM, "ENOMEM", "cannot allocate the deflate encoder's state");
        } else {
            dg_fail(status, DG_ERR_CODEC, "Z_STREAM_ERROR", "deflate parameters refused");
        }
        return NULL;
    }
    dg_handle_made();
    return enc;
}

int dg_deflate_code(dg_deflate *enc, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                    int finish, size_t *in_used, size_t *out_made, int *done, dg_status *status)
{
    char msg[64];
    unsigned int in_n = in_len > UINT_MAX ? UINT_MAX : (unsigned int)in_len;
    unsigned int out_n = out_cap > UINT_MAX ? UINT_MAX : (unsigned int)out_cap;
    int rc;

    dg_status_clear(status);
    enc->strm.next_in = (z_const Bytef *)in;
    enc->strm.avail_in = in_n;
    enc->strm.next_out = out;
    enc->strm.avail_out = out_n;
    rc = deflate(&enc->strm, finish ? Z_FINISH : Z_NO_FLUSH);
    *in_used = in_n - enc->strm.avail_in;
    *out_made = out_n - enc->strm.avail_out;
    *done = rc == Z_STREAM_END;
    if (rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR) return DG_OK;
    snprintf(msg, sizeof msg, "zlib deflate failed (%d)", rc);
    return dg_fail(status, DG_ERR_CODEC, "ZLIB", msg);
}

void dg_deflate_free(dg_deflate *enc)
{
    if (enc == NULL) return;
    deflateEnd(&enc->strm);
    free(enc);
    dg_handle_freed();
}

const char *dg_deflate_version(void)
{
    return zlibVersion();
}

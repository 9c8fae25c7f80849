/* See dg_status.h. */
#include "dg_status.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void dg_status_clear(dg_status *st)
{
    memset(st, 0, sizeof *st);
}

static void dg_copy_text(char *dst, size_t cap, const char *src)
{
    size_t n;
    if (src == NULL) src = "";
    n = strlen(src);
    if (n >= cap) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

int dg_fail(dg_status *st, int code, const char *name, const char *msg)
{
    st->code = code;
    dg_copy_text(st->name, sizeof st->name, name);
    dg_copy_text(st->msg, sizeof st->msg, msg);
    return code;
}

int dg_fail_errno(dg_status *st, int err, int file, const char *what)
{
    st->sys_errno = err;
    st->file = file;
    return dg_fail(st, DG_ERR_IO, "EIO", what);
}

int dg_fail_xd3(dg_status *st, const xd3_stream *stream, int ret, int failure)
{
    const char *name = xd3_strerror(ret);
    const char *msg = stream->msg;
    st->xd3_code = ret;
    /* The decoder reports one malformed header field (a code table size of 2 or less) as ENOMEM
     * with an "invalid ..." message: that is bad input, not a lack of memory. */
    if (ret == ENOMEM && msg != NULL && strncmp(msg, "invalid", 7) == 0) {
        return dg_fail(st, failure, "XD3_INVALID_INPUT", msg);
    }
    if (ret == ENOMEM) {
        return dg_fail(st, DG_ERR_NOMEM, "ENOMEM", msg ? msg : "out of memory");
    }
    if (name == NULL) {
        name = "XD3_ERROR";
    }
    if (msg == NULL) {
        msg = (ret > 0) ? strerror(ret) : "unspecified xdelta3 error";
    }
    return dg_fail(st, failure, name, msg);
}

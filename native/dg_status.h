/* Filling a dg_status: the one way every part of the glue reports a failure. */
#ifndef DG_STATUS_H
#define DG_STATUS_H

#include "config.h"
#include "xdelta3.h"
#include "dg_codec.h"

void dg_status_clear(dg_status *st);
int dg_fail(dg_status *st, int code, const char *name, const char *msg);
/* An I/O failure on the file of that role (DG_FILE_*). */
int dg_fail_errno(dg_status *st, int err, int file, const char *what);

/* An xdelta3 return code plus stream->msg as a status. `failure` is the DG_ERR_* for library errors
 * on this path (DG_ERR_DECODE while decoding, DG_ERR_CODEC while encoding); ENOMEM is DG_ERR_NOMEM. */
int dg_fail_xd3(dg_status *st, const xd3_stream *stream, int ret, int failure);

#endif /* DG_STATUS_H */

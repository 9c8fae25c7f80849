/* deltaglider's C glue over the vendored xdelta3 (see dg_codec.h for the contract).
 *
 * The xdelta3 stream loop is run here rather than through xd3_encode_memory/xd3_decode_memory
 * because those helpers free the stream before returning and so drop stream->msg, the only
 * description of what went wrong. Sources are served to xdelta3 from memory by a C getblk callback,
 * never through Python. No Python.h: the CFFI wrapper releases the GIL around every call.
 */
#include "config.h"
#include "xdelta3.h"
#include "dg_codec.h"
#include "dg_stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#  include <windows.h>
#else
#  include <pthread.h>
#endif

/* ---------------------------------------------------------------------------------------------- */
/* One-time initialisation.                                                                         */

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

/* ---------------------------------------------------------------------------------------------- */
/* Status helpers.                                                                                  */

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

int dg_fail_errno(dg_status *st, int err, const char *what)
{
    st->sys_errno = err;
    return dg_fail(st, DG_ERR_IO, "EIO", what);
}

/* Turns an xdelta3 return code plus stream->msg into a status. `failure` is the DG_ERR_* used for
 * library errors on this path (DG_ERR_DECODE while decoding, DG_ERR_CODEC while encoding). */
static int dg_fail_xd3(dg_status *st, xd3_stream *stream, int ret, int failure)
{
    const char *name = xd3_strerror(ret);
    const char *msg = stream->msg;
    st->xd3_code = ret;
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

/* ---------------------------------------------------------------------------------------------- */
/* Sinks and readers.                                                                              */

static int dg_buffer_reserve(dg_buffer *buf, size_t need, dg_status *st)
{
    size_t cap;
    uint8_t *grown;
    if (need <= buf->cap) return DG_OK;
    cap = buf->cap ? buf->cap : 4096;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) { cap = need; break; }
        cap *= 2;
    }
    grown = (uint8_t *)realloc(buf->data, cap);
    if (grown == NULL) {
        return dg_fail(st, DG_ERR_NOMEM, "ENOMEM", "cannot grow the output buffer");
    }
    buf->data = grown;
    buf->cap = cap;
    return DG_OK;
}

static int dg_memory_sink_write(dg_sink *sink, const uint8_t *data, size_t len, dg_status *st)
{
    dg_buffer *buf = (dg_buffer *)sink->ctx;
    int rc;
    if (len > SIZE_MAX - buf->len) {
        return dg_fail(st, DG_ERR_NOMEM, "ENOMEM", "output larger than the address space");
    }
    if ((rc = dg_buffer_reserve(buf, buf->len + len, st)) != DG_OK) return rc;
    memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    return DG_OK;
}

void dg_memory_sink_init(dg_sink *sink, dg_buffer *buf)
{
    sink->write = dg_memory_sink_write;
    sink->ctx = buf;
    sink->written = 0;
}

typedef struct {
    const uint8_t *data;
    size_t len;
    size_t pos;
} dg_memory_reader_ctx;

static int dg_memory_reader_next(dg_reader *reader, size_t want, const uint8_t **chunk, size_t *got,
                                 int *eof, dg_status *st)
{
    dg_memory_reader_ctx *m = (dg_memory_reader_ctx *)reader->ctx;
    size_t left = m->len - m->pos;
    size_t n = left < want ? left : want;
    (void)st;
    /* An empty input still needs a valid pointer for xd3_avail_input. */
    *chunk = m->data ? m->data + m->pos : (const uint8_t *)"";
    *got = n;
    m->pos += n;
    *eof = (m->pos == m->len);
    return DG_OK;
}

/* ---------------------------------------------------------------------------------------------- */
/* Source served from memory (a buffer or a mapped file).                                          */

static int dg_source_getblk(xd3_stream *stream, xd3_source *source, xoff_t blkno)
{
    const dg_source_view *view = (const dg_source_view *)stream->opaque;
    uint64_t offset;
    uint64_t left;
    if (blkno > (UINT64_MAX / source->blksize)) {
        stream->msg = "source block number out of range";
        return XD3_INVALID_INPUT;
    }
    offset = (uint64_t)blkno * source->blksize;
    if (offset >= view->len) {
        stream->msg = "delta reads past the end of the source";
        return XD3_INVALID_INPUT;
    }
    left = view->len - offset;
    source->curblkno = blkno;
    source->curblk = view->data + offset;
    source->onblk = (usize_t)(left < source->blksize ? left : source->blksize);
    return 0;
}

/* Largest source block handed to xdelta3 at once. Blocks are only pointers into the view, so their
 * size costs nothing but a getblk call per block crossed; this keeps block arithmetic well inside
 * 32 bits for any window. */
#define DG_SOURCE_BLOCK_MAX ((uint64_t)1 << 26)

static uint64_t dg_pow2_at_least(uint64_t n)
{
    uint64_t p = XD3_ALLOCSIZE;
    while (p < n && p < ((uint64_t)1 << 62)) p <<= 1;
    return p;
}

static int dg_attach_source(xd3_stream *stream, xd3_source *source, const dg_source_view *view,
                            uint64_t window, dg_status *st)
{
    int ret;
    uint64_t blksize = dg_pow2_at_least(view->len);
    if (blksize > DG_SOURCE_BLOCK_MAX) blksize = DG_SOURCE_BLOCK_MAX;
    memset(source, 0, sizeof *source);
    source->blksize = (usize_t)blksize;
    source->max_winsize = (xoff_t)dg_pow2_at_least(window ? window : view->len);
    source->curblkno = (xoff_t)-1;
    source->name = "source";
    if ((ret = xd3_set_source_and_size(stream, source, (xoff_t)view->len)) != 0) {
        return dg_fail_xd3(st, stream, ret, DG_ERR_CODEC);
    }
    return DG_OK;
}

/* ---------------------------------------------------------------------------------------------- */
/* Stream configuration.                                                                            */

static int dg_secondary_flags(int secondary, int *flags, dg_status *st)
{
    switch (secondary) {
    case DG_SECONDARY_NONE: return DG_OK;
    case DG_SECONDARY_LZMA: *flags |= XD3_SEC_LZMA; return DG_OK;
    case DG_SECONDARY_DJW: *flags |= XD3_SEC_DJW; return DG_OK;
    case DG_SECONDARY_FGK: *flags |= XD3_SEC_FGK; return DG_OK;
    default: return dg_fail(st, DG_ERR_CODEC, "EINVAL", "unknown secondary compressor");
    }
}

/* The same string matcher per level as the xdelta3 command line, so `level=9` means `-9`. */
static int dg_smatcher_for_level(int level)
{
    if (level <= 1) return XD3_SMATCH_FASTEST;
    if (level == 2) return XD3_SMATCH_FASTER;
    if (level <= 5) return XD3_SMATCH_FAST;
    if (level == 6) return XD3_SMATCH_DEFAULT;
    return XD3_SMATCH_SLOW;
}

int dg_encoder_open(xd3_stream *stream, xd3_config *config, xd3_source *source,
                    const dg_source_view *view, uint64_t target_len,
                    const dg_encode_params *params, dg_status *st)
{
    int ret;
    int flags = XD3_ADLER32;
    uint64_t winsize;

    memset(stream, 0, sizeof *stream);
    memset(config, 0, sizeof *config);
    if (params->level < 0 || params->level > 9) {
        return dg_fail(st, DG_ERR_CODEC, "EINVAL", "level must be between 0 and 9");
    }
    if ((ret = dg_secondary_flags(params->secondary, &flags, st)) != DG_OK) return ret;
    if (params->level == 0) flags |= XD3_NOCOMPRESS;

    /* As the command line: one target window per 8 MiB, shrunk to the input so that small pairs do
     * not allocate for a window they never fill. */
    winsize = target_len < XD3_DEFAULT_WINSIZE ? target_len : XD3_DEFAULT_WINSIZE;
    if (winsize < XD3_ALLOCSIZE) winsize = XD3_ALLOCSIZE;

    config->winsize = (usize_t)winsize;
    config->flags = flags;
    config->smatch_cfg = dg_smatcher_for_level(params->level);
    config->getblk = dg_source_getblk;
    config->opaque = (void *)view;

    if ((ret = xd3_config_stream(stream, config)) != 0) {
        return dg_fail_xd3(st, stream, ret, DG_ERR_CODEC);
    }
    if (view->len > 0 && (ret = dg_attach_source(stream, source, view, params->src_window, st)) != DG_OK) {
        return ret;
    }
    return DG_OK;
}

int dg_run_encoder(xd3_stream *stream, dg_reader *input, dg_sink *output, dg_status *st)
{
    const uint8_t *chunk = NULL;
    size_t got = 0;
    int eof = 0;
    int rc;

    if ((rc = input->next(input, stream->winsize, &chunk, &got, &eof, st)) != DG_OK) return rc;
    if (eof) xd3_set_flags(stream, stream->flags | XD3_FLUSH);
    xd3_avail_input(stream, chunk, (usize_t)got);

    for (;;) {
        int ret = xd3_encode_input(stream);
        switch (ret) {
        case XD3_INPUT:
            if (eof) goto done;
            if ((rc = input->next(input, stream->winsize, &chunk, &got, &eof, st)) != DG_OK) return rc;
            if (eof) xd3_set_flags(stream, stream->flags | XD3_FLUSH);
            xd3_avail_input(stream, chunk, (usize_t)got);
            continue;
        case XD3_OUTPUT:
            if ((rc = output->write(output, stream->next_out, stream->avail_out, st)) != DG_OK) return rc;
            output->written += stream->avail_out;
            xd3_consume_output(stream);
            continue;
        case XD3_GOTHEADER:
        case XD3_WINSTART:
        case XD3_WINFINISH:
            continue;
        default:
            return dg_fail_xd3(st, stream, ret, DG_ERR_CODEC);
        }
    }
done:
    {
        int ret = xd3_close_stream(stream);
        if (ret != 0) return dg_fail_xd3(st, stream, ret, DG_ERR_CODEC);
    }
    return DG_OK;
}

int dg_decoder_open(xd3_stream *stream, xd3_config *config, xd3_source *source,
                    const dg_source_view *view, dg_status *st)
{
    int ret;
    memset(stream, 0, sizeof *stream);
    memset(config, 0, sizeof *config);
    config->flags = XD3_ADLER32;
    config->getblk = dg_source_getblk;
    config->opaque = (void *)view;
    if ((ret = xd3_config_stream(stream, config)) != 0) {
        return dg_fail_xd3(st, stream, ret, DG_ERR_CODEC);
    }
    if (view->len > 0) {
        /* Decoding needs no hash tables, so the window can always span the whole source. */
        return dg_attach_source(stream, source, view, view->len, st);
    }
    return DG_OK;
}

/* The command line writes "<target>/<ident>/<source>/<ident>" and, when an ident is set, pipes the
 * decoded bytes through gzip/bzip2/xz/compress: decoding such a delta alone yields the decompressed
 * stream, not the stored file. Those must be reported, not silently decoded. */
static int dg_appheader_names_external(const uint8_t *hdr, size_t len)
{
    size_t i, field = 0, start = 0;
    for (i = 0; i <= len; i++) {
        if (i == len || hdr[i] == '/') {
            if ((field == 1 || field == 3) && i > start) return 1;
            field++;
            start = i + 1;
        }
    }
    return 0;
}

static int dg_check_appheader(xd3_stream *stream, dg_status *st)
{
    uint8_t *hdr = NULL;
    usize_t len = 0;
    char text[sizeof st->msg];
    size_t n;
    if (xd3_get_appheader(stream, &hdr, &len) != 0 || hdr == NULL) return DG_OK;
    if (!dg_appheader_names_external(hdr, len)) return DG_OK;
    n = len < sizeof text - 1 ? len : sizeof text - 1;
    memcpy(text, hdr, n);
    text[n] = '\0';
    return dg_fail(st, DG_ERR_EXTERNAL, "EXTERNAL_COMPRESSION", text);
}

int dg_run_decoder(xd3_stream *stream, dg_reader *input, dg_sink *output, uint64_t max_output,
                   int allow_external, dg_status *st)
{
    const uint8_t *chunk = NULL;
    size_t got = 0;
    int eof = 0;
    int rc;
    int got_header = 0;
    uint64_t fed = 0;

    if ((rc = input->next(input, (size_t)1 << 20, &chunk, &got, &eof, st)) != DG_OK) return rc;
    fed += got;
    xd3_avail_input(stream, chunk, (usize_t)got);

    for (;;) {
        int ret = xd3_decode_input(stream);
        switch (ret) {
        case XD3_INPUT:
            if (eof) goto done;
            if ((rc = input->next(input, (size_t)1 << 20, &chunk, &got, &eof, st)) != DG_OK) return rc;
            fed += got;
            xd3_avail_input(stream, chunk, (usize_t)got);
            continue;
        case XD3_GOTHEADER:
            got_header = 1;
            if (!allow_external && (rc = dg_check_appheader(stream, st)) != DG_OK) return rc;
            continue;
        case XD3_OUTPUT:
            if (stream->avail_out > max_output || output->written > max_output - stream->avail_out) {
                return dg_fail(st, DG_ERR_TOO_LARGE, "TOO_LARGE",
                               "decoded output is larger than the expected size");
            }
            if ((rc = output->write(output, stream->next_out, stream->avail_out, st)) != DG_OK) return rc;
            output->written += stream->avail_out;
            xd3_consume_output(stream);
            continue;
        case XD3_WINSTART:
        case XD3_WINFINISH:
            continue;
        default:
            return dg_fail_xd3(st, stream, ret, DG_ERR_DECODE);
        }
    }
done:
    if (!got_header) {
        return dg_fail(st, DG_ERR_DECODE, "XD3_INVALID_INPUT",
                       fed == 0 ? "delta is empty" : "delta ends inside its VCDIFF header");
    }
    {
        int ret = xd3_close_stream(stream);
        if (ret != 0) return dg_fail_xd3(st, stream, ret, DG_ERR_DECODE);
    }
    return DG_OK;
}

/* ---------------------------------------------------------------------------------------------- */
/* Public one-shot entry points.                                                                   */

static void dg_status_clear(dg_status *st)
{
    memset(st, 0, sizeof *st);
}

int dg_encode_memory(const uint8_t *source, size_t source_len,
                     const uint8_t *target, size_t target_len,
                     const dg_encode_params *params, dg_buffer *out, dg_status *status)
{
    xd3_stream stream;
    xd3_config config;
    xd3_source src;
    dg_source_view view;
    dg_memory_reader_ctx in_ctx;
    dg_reader reader;
    dg_sink sink;
    int rc;

    dg_status_clear(status);
    dg_init_once();
    view.data = source;
    view.len = source_len;
    in_ctx.data = target;
    in_ctx.len = target_len;
    in_ctx.pos = 0;
    reader.next = dg_memory_reader_next;
    reader.ctx = &in_ctx;
    dg_memory_sink_init(&sink, out);

    rc = dg_encoder_open(&stream, &config, &src, &view, target_len, params, status);
    if (rc == DG_OK) rc = dg_run_encoder(&stream, &reader, &sink, status);
    xd3_free_stream(&stream);
    return rc;
}

int dg_decode_memory(const uint8_t *source, size_t source_len,
                     const uint8_t *delta, size_t delta_len,
                     uint64_t max_output, int allow_external,
                     dg_buffer *out, dg_status *status)
{
    xd3_stream stream;
    xd3_config config;
    xd3_source src;
    dg_source_view view;
    dg_memory_reader_ctx in_ctx;
    dg_reader reader;
    dg_sink sink;
    int rc;

    dg_status_clear(status);
    dg_init_once();
    view.data = source;
    view.len = source_len;
    in_ctx.data = delta;
    in_ctx.len = delta_len;
    in_ctx.pos = 0;
    reader.next = dg_memory_reader_next;
    reader.ctx = &in_ctx;
    dg_memory_sink_init(&sink, out);
    if (max_output != UINT64_MAX) {
        /* Sized up front when the caller knows the size, capped so a wrong guess costs little. */
        uint64_t hint = max_output < ((uint64_t)1 << 26) ? max_output : ((uint64_t)1 << 26);
        if ((rc = dg_buffer_reserve(out, (size_t)hint, status)) != DG_OK) return rc;
    }

    rc = dg_decoder_open(&stream, &config, &src, &view, status);
    if (rc == DG_OK) rc = dg_run_decoder(&stream, &reader, &sink, max_output, allow_external, status);
    xd3_free_stream(&stream);
    return rc;
}

void dg_buffer_free(dg_buffer *buf)
{
    if (buf == NULL) return;
    free(buf->data);
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
}

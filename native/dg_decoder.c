/* The decoder stream: memory-capped (dg_budget.c), its application header checked for the binary's
 * external compression, each window's Adler-32 verified, its output capped by the caller's limit. */
#include "dg_stream.h"
#include "dg_status.h"

#include <stdio.h>
#include <string.h>

int dg_decoder_open(xd3_stream *stream, xd3_config *config, xd3_source *source,
                    dg_source_view *view, dg_status *st)
{
    int ret;
    memset(stream, 0, sizeof *stream);
    memset(config, 0, sizeof *config);
    /* Sizes the decoder allocates come from the delta itself: cap them (see dg_alloc.h). */
    dg_budget_init(&view->mem, DG_DECODE_MEMORY_LIMIT);
    config->alloc = dg_budget_alloc;
    config->freef = dg_budget_free;
    /* Window checksums are verified by dg_run_decoder with a faster Adler-32 (see dg_adler32.c). */
    config->flags = XD3_ADLER32 | XD3_ADLER32_NOVER;
    config->getblk = dg_source_getblk;
    config->opaque = (void *)view;
    if ((ret = xd3_config_stream(stream, config)) != 0) {
        return dg_fail_stream(st, stream, ret, DG_ERR_CODEC);
    }
    if (view->len > 0) {
        /* Decoding needs no hash tables, so the window can always span the whole source. */
        return dg_attach_source(stream, source, view, view->len, 0, st);
    }
    return DG_OK;
}

/* The command line writes "<target>/<ident>/<source>/<ident>" and, when an ident is set, pipes the
 * decoded bytes through gzip/bzip2/xz/compress: decoding such a delta alone yields the decompressed
 * stream, not the stored file. Those must be reported, not silently decoded. */
int dg_appheader_external(const uint8_t *hdr, size_t len, dg_appheader_idents *idents)
{
    size_t i, field = 0, start = 0;
    memset(idents, 0, sizeof *idents);
    for (i = 0; i <= len; i++) {
        if (i == len || hdr[i] == '/') {
            if (field == 1) {
                idents->target_at = start;
                idents->target_len = i - start;
            } else if (field == 3) {
                idents->source_at = start;
                idents->source_len = i - start;
            }
            field++;
            start = i + 1;
        }
    }
    return idents->target_len > 0 || idents->source_len > 0;
}

static int dg_check_appheader(xd3_stream *stream, dg_status *st)
{
    uint8_t *hdr = NULL;
    usize_t len = 0;
    char text[sizeof st->msg];
    dg_appheader_idents idents;
    size_t n;
    if (xd3_get_appheader(stream, &hdr, &len) != 0 || hdr == NULL) return DG_OK;
    if (!dg_appheader_external(hdr, len, &idents)) return DG_OK;
    n = len < sizeof text - 1 ? len : sizeof text - 1;
    memcpy(text, hdr, n);
    text[n] = '\0';
    return dg_fail(st, DG_ERR_EXTERNAL, "EXTERNAL_COMPRESSION", text);
}

/* xdelta3's window-indicator bit for "an Adler-32 of the target window follows" (VCD_ADLER32, private
 * to xdelta3.c; the bit after RFC 3284's VCD_SOURCE and VCD_TARGET). */
#define DG_VCD_ADLER32 0x04

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
            /* xdelta3 returns each decoded window whole, its checksum (if any) still in the stream. */
            if ((stream->dec_win_ind & DG_VCD_ADLER32) != 0
                && dg_adler32(1, stream->next_out, stream->avail_out) != stream->dec_adler32) {
                return dg_fail(st, DG_ERR_DECODE, "XD3_INVALID_INPUT", "target window checksum mismatch");
            }
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
            return dg_fail_stream(st, stream, ret, DG_ERR_DECODE);
        }
    }
done:
    if (!got_header) {
        return dg_fail(st, DG_ERR_DECODE, "XD3_INVALID_INPUT",
                       fed == 0 ? "delta is empty" : "delta ends inside its VCDIFF header");
    }
    {
        int ret = xd3_close_stream(stream);
        if (ret != 0) return dg_fail_stream(st, stream, ret, DG_ERR_DECODE);
    }
    return DG_OK;
}

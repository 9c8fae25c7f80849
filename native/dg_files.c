/* File-to-file encode and decode over the streams of dg_encoder.c and dg_decoder.c.
 *
 * The source is memory-mapped and served to xdelta3 straight from the mapping (its pages are the
 * page cache's, not the process's anonymous memory); the target or delta is read in window-sized
 * chunks into one buffer; the output is written as xdelta3 produces it. Memory therefore depends on
 * the plan (encode) or on the delta's window size (decode), never on the file sizes.
 *
 * The caller opens and closes the descriptors: Python creates the output under a temporary name and
 * renames it only on success, and nothing here calls back into Python.
 */
#include "dg_stream.h"
#include "dg_fileio.h"
#include "dg_status.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------- */
/* Public entry points.                                                                             */

int dg_encode_file(int source_fd, int target_fd, int delta_fd, const dg_encode_params *params,
                   uint64_t *written, dg_status *status)
{
    xd3_stream stream;
    xd3_config config;
    xd3_source src;
    dg_mapped_source mapped;
    dg_file_reader_ctx in_ctx;
    dg_file_sink_ctx out_ctx;
    dg_reader reader;
    dg_sink sink;
    uint64_t target_len = 0;
    int target_known = 0, target_is_dir = 0;
    int rc;

    dg_status_clear(status);
    memset(&stream, 0, sizeof stream);
    memset(&in_ctx, 0, sizeof in_ctx);
    memset(&out_ctx, 0, sizeof out_ctx);
    *written = 0;
    dg_init_once();

    rc = dg_map_file(source_fd, &mapped, "cannot map the source file", status);
    if (rc == DG_OK) {
        rc = dg_file_size(target_fd, &target_len, &target_known, &target_is_dir,
                          "cannot stat the target file", status);
    }
    if (rc == DG_OK && target_is_dir) rc = dg_fail_errno(status, EISDIR, "cannot read the target file");
    if (rc == DG_OK) {
        /* A target of unknown size (a pipe) gets the full target window. */
        if (!target_known) target_len = UINT64_MAX;
        in_ctx.fd = target_fd;
        in_ctx.what = "cannot read the target file";
        reader.next = dg_file_reader_next;
        reader.ctx = &in_ctx;
        rc = dg_file_sink_init(&sink, &out_ctx, delta_fd, status);
    }
    if (rc == DG_OK) {
        /* The reach probe and the AUTO sniff read the target before the first window: map it for
         * them, then let it go and stream it. A target that cannot be mapped (not a regular file) is
         * neither probed nor sniffed. */
        dg_mapped_source tmap;
        memset(&tmap, 0, sizeof tmap);
        if (target_known && target_len > 0 && dg_encoder_wants_target(mapped.view.len, params)) {
            rc = dg_map_file(target_fd, &tmap, "cannot map the target file", status);
        }
        if (rc == DG_OK) {
            rc = dg_encoder_open(&stream, &config, &src, &mapped.view,
                                 tmap.view.len == target_len ? tmap.view.data : NULL, target_len,
                                 params, status);
        }
        dg_unmap_file(&tmap);
    }
    if (rc == DG_OK) rc = dg_run_encoder(&stream, &reader, &sink, status);
    if (rc == DG_OK) rc = dg_file_sink_flush(&out_ctx, status);

    *written = out_ctx.on_disk;
    xd3_free_stream(&stream);
    free(in_ctx.buf);
    free(out_ctx.buf);
    dg_unmap_file(&mapped);
    return rc;
}

int dg_decode_file(int source_fd, int delta_fd, int output_fd, uint64_t max_output,
                   int allow_external, uint64_t *written, dg_status *status)
{
    xd3_stream stream;
    xd3_config config;
    xd3_source src;
    dg_mapped_source mapped;
    dg_file_reader_ctx in_ctx;
    dg_file_sink_ctx out_ctx;
    dg_reader reader;
    dg_sink sink;
    int rc;

    dg_status_clear(status);
    memset(&stream, 0, sizeof stream);
    memset(&in_ctx, 0, sizeof in_ctx);
    memset(&out_ctx, 0, sizeof out_ctx);
    *written = 0;
    dg_init_once();

    rc = dg_map_file(source_fd, &mapped, "cannot map the source file", status);
    if (rc == DG_OK) {
        in_ctx.fd = delta_fd;
        in_ctx.what = "cannot read the delta file";
        reader.next = dg_file_reader_next;
        reader.ctx = &in_ctx;
        rc = dg_file_sink_init(&sink, &out_ctx, output_fd, status);
    }
    if (rc == DG_OK) rc = dg_decoder_open(&stream, &config, &src, &mapped.view, status);
    if (rc == DG_OK) rc = dg_run_decoder(&stream, &reader, &sink, max_output, allow_external, status);
    if (rc == DG_OK) rc = dg_file_sink_flush(&out_ctx, status);

    *written = out_ctx.on_disk;
    xd3_free_stream(&stream);
    free(in_ctx.buf);
    free(out_ctx.buf);
    dg_unmap_file(&mapped);
    return rc;
}

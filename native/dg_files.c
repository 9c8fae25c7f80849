/* File-to-file plan, encode and decode over the streams of dg_encoder.c and dg_decoder.c.
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

/* The target's size for a plan: UINT64_MAX for one that can only be streamed (a pipe), which gets the
 * full target window. */
static int dg_target_size(int target_fd, uint64_t *target_len, int *known, dg_status *status)
{
    int is_dir = 0;
    int rc = dg_file_size(target_fd, target_len, known, &is_dir, DG_FILE_TARGET,
                          "cannot stat the target file", status);
    if (rc != DG_OK) return rc;
    if (is_dir) return dg_fail_errno(status, EISDIR, DG_FILE_TARGET, "cannot read the target file");
    if (!*known) *target_len = UINT64_MAX;
    return DG_OK;
}

int dg_plan_file(int source_fd, int target_fd, const dg_encode_params *params, dg_encode_plan *plan,
                 dg_status *status)
{
    dg_mapped_source mapped, tmap;
    uint64_t target_len = 0;
    int target_known = 0;
    int rc;

    dg_status_clear(status);
    memset(&tmap, 0, sizeof tmap);
    rc = dg_map_file(source_fd, &mapped, DG_FILE_SOURCE, "cannot map the source file", status);
    if (rc == DG_OK) rc = dg_target_size(target_fd, &target_len, &target_known, status);
    /* The reach probe reads the whole target: it is mapped for it only, and let go before the
     * encode streams it. A target that cannot be mapped (not a regular file) is not probed. */
    if (rc == DG_OK && target_known && target_len > 0
        && dg_encoder_wants_target(mapped.view.len, params)) {
        rc = dg_map_file(target_fd, &tmap, DG_FILE_TARGET, "cannot map the target file", status);
    }
    if (rc == DG_OK) {
        rc = dg_encoder_plan(mapped.view.data, mapped.view.len,
                             tmap.view.len == target_len ? tmap.view.data : NULL, target_len, params,
                             plan, status);
    }
    dg_unmap_file(&tmap);
    dg_unmap_file(&mapped);
    return rc;
}

int dg_encode_file(int source_fd, int target_fd, int delta_fd, const dg_encode_plan *plan,
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
    int target_known = 0;
    int rc;

    dg_status_clear(status);
    memset(&stream, 0, sizeof stream);
    memset(&in_ctx, 0, sizeof in_ctx);
    memset(&out_ctx, 0, sizeof out_ctx);
    *written = 0;
    dg_init_once();

    rc = dg_map_file(source_fd, &mapped, DG_FILE_SOURCE, "cannot map the source file", status);
    if (rc == DG_OK) rc = dg_target_size(target_fd, &target_len, &target_known, status);
    if (rc == DG_OK) {
        in_ctx.fd = target_fd;
        in_ctx.file = DG_FILE_TARGET;
        in_ctx.what = "cannot read the target file";
        reader.next = dg_file_reader_next;
        reader.ctx = &in_ctx;
        rc = dg_file_sink_init(&sink, &out_ctx, delta_fd, status);
    }
    if (rc == DG_OK) rc = dg_encoder_open(&stream, &config, &src, &mapped.view, target_len, plan, status);
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

    rc = dg_map_file(source_fd, &mapped, DG_FILE_SOURCE, "cannot map the source file", status);
    if (rc == DG_OK) {
        in_ctx.fd = delta_fd;
        in_ctx.file = DG_FILE_DELTA;
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

/* The one-shot in-memory entry points: dg_plan_memory, dg_encode_memory and dg_decode_memory (see
 * dg_codec.h).
 *
 * The xdelta3 stream loop is run by the glue (dg_encoder.c, dg_decoder.c) rather than through
 * xd3_encode_memory/xd3_decode_memory, because those helpers free the stream before returning and so
 * drop stream->msg, the only description of what went wrong. No Python.h: the CFFI wrapper releases
 * the GIL around every call.
 */
#include "dg_stream.h"
#include "dg_status.h"

int dg_plan_memory(const uint8_t *source, size_t source_len, const uint8_t *target, size_t target_len,
                   const dg_encode_params *params, dg_encode_plan *plan, dg_status *status)
{
    dg_status_clear(status);
    return dg_encoder_plan(source, source_len, target, target_len, params, plan, status);
}

int dg_encode_memory(const uint8_t *source, size_t source_len,
                     const uint8_t *target, size_t target_len,
                     const dg_encode_plan *plan, dg_buffer *out, dg_status *status)
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
    dg_source_view_init(&view, source, source_len);
    dg_memory_reader_init(&reader, &in_ctx, target, target_len);
    dg_memory_sink_init(&sink, out);

    rc = dg_encoder_open(&stream, &config, &src, &view, target_len, plan, status);
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
    dg_source_view_init(&view, source, source_len);
    dg_memory_reader_init(&reader, &in_ctx, delta, delta_len);
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

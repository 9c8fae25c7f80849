/* Internal to the glue: the encoder and decoder streams that the memory entry points (dg_memory.c)
 * and the file entry points (dg_files.c) share. Not part of the CFFI interface. */
#ifndef DG_STREAM_H
#define DG_STREAM_H

#include "config.h"
#include "xdelta3.h"
#include "dg_codec.h"
#include "dg_alloc.h"
#include "dg_io.h"
#include "dg_source.h"

/* Most memory one decoder stream may hold through xdelta3's allocation hooks. A valid delta needs
 * at most a few target windows' worth (xdelta3 refuses windows over 64 MiB); the limit stops deltas
 * that declare absurd section sizes before they are allocated. */
#define DG_DECODE_MEMORY_LIMIT ((uint64_t)256 << 20)

/* Builds xdelta3's static tables once per process (dg_init.c); every entry point calls it first. */
void dg_init_once(void);
uint32_t dg_adler32(uint32_t adler, const uint8_t *buf, size_t len);

/* Whether dg_encoder_plan reads the whole target (the reach probe): the file planner maps it only
 * then. */
int dg_encoder_wants_target(uint64_t source_len, const dg_encode_params *params);

/* The plan of one encode (dg_plan_memory, dg_plan_file). target: the whole target when it is in
 * memory or mapped, for the reach probe; NULL if it can only be streamed (the window
 * then covers the whole source). */
int dg_encoder_plan(const uint8_t *source, uint64_t source_len, const uint8_t *target,
                    uint64_t target_len, const dg_encode_params *params, dg_encode_plan *plan,
                    dg_status *st);
/* Configures the stream from the plan, which must be for a source of view->len bytes and a target
 * of target_len (UINT64_MAX: streamed, size unknown). Plans nothing. */
int dg_encoder_open(xd3_stream *stream, xd3_config *config, xd3_source *source,
                    const dg_source_view *view, uint64_t target_len, const dg_encode_plan *plan,
                    dg_status *st);
/* Makes a DG_SECONDARY_AUTO stream choose each section's secondary compression from a trial on its
 * bytes (dg_sec_choice.h, compiled inside xdelta3_unit.c); call after xd3_config_stream. */
void dg_sec_choice_install(xd3_stream *stream);
int dg_run_encoder(xd3_stream *stream, dg_reader *input, dg_sink *output, dg_status *st);
int dg_decoder_open(xd3_stream *stream, xd3_config *config, xd3_source *source,
                    dg_source_view *view, dg_status *st);
int dg_run_decoder(xd3_stream *stream, dg_reader *input, dg_sink *output, uint64_t max_output,
                   int allow_external, dg_status *st);

#endif /* DG_STREAM_H */

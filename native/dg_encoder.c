/* The encoder stream: planned from the content (the reach probe over dg_plan.c's rule), then
 * configured from that plan and run over a reader and a sink. */
#include "dg_stream.h"
#include "dg_plan.h"
#include "dg_status.h"

#include <string.h>

static int dg_secondary_flags(int secondary, int lzma_preset, int sec_skip, int *flags, dg_status *st)
{
    switch (secondary) {
    case DG_SECONDARY_NONE: return DG_OK;
    case DG_SECONDARY_LZMA:
    case DG_SECONDARY_AUTO:  /* LZMA, each section's setting chosen as it is written (dg_sec_choice.h) */
        /* xdelta3 hands the COMPLEVEL bits to lzma_lzma_preset(); the string matcher is chosen
         * explicitly (smatch_cfg), so they select nothing else. */
        *flags |= XD3_SEC_LZMA | (lzma_preset << XD3_COMPLEVEL_SHIFT);
        break;
    case DG_SECONDARY_DJW: *flags |= XD3_SEC_DJW; break;
    case DG_SECONDARY_FGK: *flags |= XD3_SEC_FGK; break;
    default: return dg_fail(st, DG_ERR_CODEC, "EINVAL", "unknown secondary compressor");
    }
    if (sec_skip & DG_SEC_SKIP_DATA) *flags |= XD3_SEC_NODATA;
    if (sec_skip & DG_SEC_SKIP_INST) *flags |= XD3_SEC_NOINST;
    if (sec_skip & DG_SEC_SKIP_ADDR) *flags |= XD3_SEC_NOADDR;
    return DG_OK;
}

int dg_encoder_wants_target(uint64_t source_len, const dg_encode_params *params)
{
    return source_len > DG_PROBE_MIN_SOURCE && params->src_window == 0;
}

int dg_encoder_plan(const uint8_t *source, uint64_t source_len, const uint8_t *target,
                    uint64_t target_len, const dg_encode_params *params, dg_encode_plan *plan,
                    dg_status *st)
{
    uint64_t reach = UINT64_MAX;
    int ret;

    if (target != NULL && source_len > DG_PROBE_MIN_SOURCE && params->src_window == 0) {
        /* (dg_encoder_wants_target says when this reads the target.) */
        if ((ret = dg_probe_reach(source, source_len, target, target_len, &reach, st)) != DG_OK) {
            return ret;
        }
        if (reach < DG_UNCOMPRESSED_MIN_REACH && !dg_target_compressed(target, target_len)) {
            reach = DG_UNCOMPRESSED_MIN_REACH;
        }
    }
    return dg_plan_encode(source_len, target_len, reach, params, plan, st);
}

int dg_encoder_open(xd3_stream *stream, xd3_config *config, xd3_source *source,
                    const dg_source_view *view, uint64_t target_len, const dg_encode_plan *plan,
                    dg_status *st)
{
    int ret;
    int flags = XD3_ADLER32;
    const dg_encode_params *params = &plan->params;
    const dg_matcher *m;

    memset(stream, 0, sizeof *stream);
    memset(config, 0, sizeof *config);
    if (plan->source_len != view->len || plan->target_len != target_len) {
        return dg_fail(st, DG_ERR_CODEC, "EINVAL",
                       "the encode was planned for inputs of other sizes (did a file change?)");
    }
    if ((ret = dg_secondary_flags(params->secondary, plan->lzma_preset, plan->sec_skip, &flags, st))
        != DG_OK) {
        return ret;
    }
    if (params->level == 0) flags |= XD3_NOCOMPRESS;

    m = dg_matcher_for_level(params->level);
    config->winsize = (usize_t)plan->winsize;
    config->sprevsz = (usize_t)plan->sprevsz;
    /* A fixed instruction buffer (the command line's 32768 entries at most) keeps memory bounded,
     * where xdelta3's "unlimited" one grows with the instructions of a window. */
    config->iopt_size = (usize_t)plan->iopt_size;
    config->flags = flags;
    if (plan->large_step == m->large_step) {
        config->smatch_cfg = (xd3_smatch_cfg)m->cfg;
    } else {
        config->smatch_cfg = XD3_SMATCH_SOFT;
        config->smatcher_soft.large_look = m->large_look;
        config->smatcher_soft.large_step = (usize_t)plan->large_step;
        config->smatcher_soft.small_look = m->small_look;
        config->smatcher_soft.small_chain = m->small_chain;
        config->smatcher_soft.small_lchain = m->small_lchain;
        config->smatcher_soft.max_lazy = m->max_lazy;
        config->smatcher_soft.long_enough = m->long_enough;
    }
    config->getblk = dg_source_getblk;
    config->opaque = (void *)view;
    /* The hash tables on huge pages where the system has them (see dg_hugemem.c). */
    config->alloc = dg_hugemem_alloc;
    config->freef = dg_hugemem_free;

    if ((ret = xd3_config_stream(stream, config)) != 0) {
        return dg_fail_stream(st, stream, ret, DG_ERR_CODEC);
    }
    if (params->secondary == DG_SECONDARY_AUTO) dg_sec_choice_install(stream);
    if (view->len > 0
        && (ret = dg_attach_source(stream, source, view, plan->window, plan->blksize, st)) != DG_OK) {
        return ret;
    }
    return DG_OK;
}

/* xd3_encode_secondary takes the first page of each compressed section from xd3_alloc_output and
 * writes through it unchecked, so a failed allocation there would be a NULL write (LZMA, DJW, FGK
 * alike). xd3_alloc_output serves stream->enc_free first: keeping one spare page per section on that
 * list before every step means that call never allocates. The spares are allocated here, checked,
 * with the stream's own hooks, and xd3_free_stream frees what is left of the list. */
#define DG_SPARE_OUTPUT_PAGES 3

static int dg_keep_spare_output(xd3_stream *stream, dg_status *st)
{
    int have = 0;
    const xd3_output *page;
    for (page = stream->enc_free; page != NULL && have < DG_SPARE_OUTPUT_PAGES; page = page->next_page) {
        have++;
    }
    while (have < DG_SPARE_OUTPUT_PAGES) {
        xd3_output *spare = (xd3_output *)stream->alloc(stream->opaque, 1, (usize_t)sizeof(xd3_output));
        uint8_t *base;
        if (spare == NULL) return dg_fail(st, DG_ERR_NOMEM, "ENOMEM", "cannot allocate an output page");
        base = (uint8_t *)stream->alloc(stream->opaque, XD3_ALLOCSIZE, 1);
        if (base == NULL) {
            stream->free(stream->opaque, spare);
            return dg_fail(st, DG_ERR_NOMEM, "ENOMEM", "cannot allocate an output page");
        }
        spare->base = base;
        spare->next = 0;
        spare->avail = XD3_ALLOCSIZE;
        spare->next_page = stream->enc_free;
        stream->enc_free = spare;
        have++;
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
        int ret;
        if ((rc = dg_keep_spare_output(stream, st)) != DG_OK) return rc;
        ret = xd3_encode_input(stream);
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
            return dg_fail_stream(st, stream, ret, DG_ERR_CODEC);
        }
    }
done:
    {
        int ret = xd3_close_stream(stream);
        if (ret != 0) return dg_fail_stream(st, stream, ret, DG_ERR_CODEC);
    }
    return DG_OK;
}

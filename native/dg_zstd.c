/* zstd frames from the vendored libzstd (vendor/zstd), for archive transforms: a .zst file, a .deb's
 * data.tar.zst or a .conda's members are stored as the delta of their decoded content and rebuilt
 * byte for byte on download, which needs the same library release on every machine (see
 * deltaglider/transforms/zstd_form.py). Decoding uses the same library: Python has no zstd module.
 *
 * The encoder is driven as the zstd command-line tool drives it: a level, the checksum flag, the
 * content size pledged when the frame records it, long-distance matching with its window for
 * --long, and worker threads (the tool's default since 1.5: its output is the same for any number
 * of workers, and differs from the single-threaded output once the input passes one job). */
#include "dg_status.h"
#include "dg_handles.h"

#include <stdlib.h>

#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_getCParams, ZSTD_estimateCStreamSize_usingCCtxParams */
#include "zstd.h"
#include "zstd_errors.h"

struct dg_zstd_enc {
    ZSTD_CCtx *cctx;
};

struct dg_zstd_dec {
    ZSTD_DCtx *dctx;
};

static int dg_zstd_set(ZSTD_CCtx *cctx, ZSTD_cParameter param, int value)
{
    return !ZSTD_isError(ZSTD_CCtx_setParameter(cctx, param, value));
}

dg_zstd_enc *dg_zstd_enc_new(int level, uint32_t window_log, int long_distance, int checksum,
                             uint64_t pledged_size, int workers, dg_status *status)
{
    dg_zstd_enc *enc;
    int ok;

    dg_status_clear(status);
    enc = calloc(1, sizeof *enc);
    if (enc == NULL || (enc->cctx = ZSTD_createCCtx()) == NULL) {
        free(enc);
        dg_fail(status, DG_ERR_NOMEM, "ENOMEM", "cannot allocate a zstd encoder");
        return NULL;
    }
    ok = dg_zstd_set(enc->cctx, ZSTD_c_compressionLevel, level)
         && dg_zstd_set(enc->cctx, ZSTD_c_checksumFlag, checksum != 0)
         && (!long_distance || dg_zstd_set(enc->cctx, ZSTD_c_enableLongDistanceMatching, 1))
         && (window_log == 0 || dg_zstd_set(enc->cctx, ZSTD_c_windowLog, (int)window_log))
         && (workers == 0 || dg_zstd_set(enc->cctx, ZSTD_c_nbWorkers, workers))
         && (pledged_size == UINT64_MAX
             || !ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(enc->cctx, pledged_size)));
    if (!ok) {
        ZSTD_freeCCtx(enc->cctx);
        free(enc);
        dg_fail(status, DG_ERR_CODEC, "ZSTD_PARAMETER", "zstd parameters refused");
        return NULL;
    }
    dg_handle_made();
    return enc;
}

int dg_zstd_enc_code(dg_zstd_enc *enc, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                     int finish, size_t *in_used, size_t *out_made, int *done, dg_status *status)
{
    ZSTD_inBuffer input = {in, in_len, 0};
    ZSTD_outBuffer output = {out, out_cap, 0};
    size_t left;

    dg_status_clear(status);
    left = ZSTD_compressStream2(enc->cctx, &output, &input, finish ? ZSTD_e_end : ZSTD_e_continue);
    *in_used = input.pos;
    *out_made = output.pos;
    *done = finish && left == 0;
    if (ZSTD_isError(left)) {
        if (ZSTD_getErrorCode(left) == ZSTD_error_memory_allocation)
            return dg_fail(status, DG_ERR_NOMEM, "ENOMEM", "zstd encoder out of memory");
        return dg_fail(status, DG_ERR_CODEC, "ZSTD_ERROR", ZSTD_getErrorName(left));
    }
    return DG_OK;
}

void dg_zstd_enc_free(dg_zstd_enc *enc)
{
    if (enc == NULL) return;
    ZSTD_freeCCtx(enc->cctx);
    free(enc);
    dg_handle_freed();
}

uint32_t dg_zstd_window_log(int level, uint64_t src_size)
{
    /* UINT64_MAX is ZSTD_CONTENTSIZE_UNKNOWN: the level's own window, as for a stream of unknown size. */
    return ZSTD_getCParams(level, src_size, 0).windowLog;
}

uint64_t dg_zstd_enc_memory(int level, uint32_t window_log, int long_distance)
{
    ZSTD_CCtx_params *params = ZSTD_createCCtxParams();
    size_t size;

    if (params == NULL) return UINT64_MAX;
    ZSTD_CCtxParams_init(params, level);
    if (long_distance) ZSTD_CCtxParams_setParameter(params, ZSTD_c_enableLongDistanceMatching, 1);
    if (window_log) ZSTD_CCtxParams_setParameter(params, ZSTD_c_windowLog, (int)window_log);
    size = ZSTD_estimateCStreamSize_usingCCtxParams(params);
    ZSTD_freeCCtxParams(params);
    return ZSTD_isError(size) ? UINT64_MAX : (uint64_t)size;
}

int dg_zstd_min_level(void)
{
    return ZSTD_minCLevel();
}

int dg_zstd_max_level(void)
{
    return ZSTD_maxCLevel();
}

const char *dg_zstd_version(void)
{
    return ZSTD_versionString();
}

dg_zstd_dec *dg_zstd_dec_new(uint32_t window_log_max, dg_status *status)
{
    dg_zstd_dec *dec;

    dg_status_clear(status);
    dec = calloc(1, sizeof *dec);
    if (dec == NULL || (dec->dctx = ZSTD_createDCtx()) == NULL) {
        free(dec);
        dg_fail(status, DG_ERR_NOMEM, "ENOMEM", "cannot allocate a zstd decoder");
        return NULL;
    }
    /* A frame asking for a larger window than this is refused before anything is allocated for it. */
    if (ZSTD_isError(ZSTD_DCtx_setParameter(dec->dctx, ZSTD_d_windowLogMax, (int)window_log_max))) {
        ZSTD_freeDCtx(dec->dctx);
        free(dec);
        dg_fail(status, DG_ERR_CODEC, "ZSTD_PARAMETER", "zstd window limit refused");
        return NULL;
    }
    dg_handle_made();
    return dec;
}

int dg_zstd_dec_code(dg_zstd_dec *dec, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                     size_t *in_used, size_t *out_made, int *done, dg_status *status)
{
    ZSTD_inBuffer input = {in, in_len, 0};
    ZSTD_outBuffer output = {out, out_cap, 0};
    size_t hint;

    dg_status_clear(status);
    hint = ZSTD_decompressStream(dec->dctx, &output, &input);
    *in_used = input.pos;
    *out_made = output.pos;
    *done = hint == 0; /* the frame ended, its checksum (if any) verified */
    if (ZSTD_isError(hint)) {
        if (ZSTD_getErrorCode(hint) == ZSTD_error_memory_allocation)
            return dg_fail(status, DG_ERR_NOMEM, "ENOMEM", "zstd decoder out of memory");
        return dg_fail(status, DG_ERR_DECODE, "ZSTD_ERROR", ZSTD_getErrorName(hint));
    }
    return DG_OK;
}

void dg_zstd_dec_free(dg_zstd_dec *dec)
{
    if (dec == NULL) return;
    ZSTD_freeDCtx(dec->dctx);
    free(dec);
    dg_handle_freed();
}

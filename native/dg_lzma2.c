/* A raw LZMA2 encoder from the vendored liblzma, for archive transforms: an .xz block's payload is
 * rebuilt with the same library release on every machine (see deltaglider/transforms/xz_form.py).
 * Python's lzma module would use the platform's liblzma, whose output may differ between releases. */
#include "dg_status.h"
#include "dg_handles.h"

#include <stdlib.h>

#include "lzma.h"

struct dg_lzma2 {
    lzma_stream strm;
    lzma_options_lzma opt;
};

dg_lzma2 *dg_lzma2_new(uint32_t preset, uint32_t dict_size, dg_status *status)
{
    lzma_filter filters[2];
    lzma_ret ret;
    dg_lzma2 *enc;

    dg_status_clear(status);
    enc = calloc(1, sizeof *enc);
    if (enc == NULL) {
        dg_fail(status, DG_ERR_NOMEM, "ENOMEM", "cannot allocate an LZMA2 encoder");
        return NULL;
    }
    if (lzma_lzma_preset(&enc->opt, preset)) {
        free(enc);
        dg_fail(status, DG_ERR_CODEC, "LZMA_OPTIONS_ERROR", "unsupported LZMA2 preset");
        return NULL;
    }
    /* The block header records the dictionary size the producer used (xz shrinks it for small
     * inputs); the rest of the preset stays as it is. */
    enc->opt.dict_size = dict_size;
    filters[0].id = LZMA_FILTER_LZMA2;
    filters[0].options = &enc->opt;
    filters[1].id = LZMA_VLI_UNKNOWN;
    filters[1].options = NULL;
    enc->strm = (lzma_stream)LZMA_STREAM_INIT;
    ret = lzma_raw_encoder(&enc->strm, filters);
    if (ret != LZMA_OK) {
        free(enc);
        if (ret == LZMA_MEM_ERROR) {
            dg_fail(status, DG_ERR_NOMEM, "ENOMEM", "cannot allocate the LZMA2 encoder's state");
        } else {
            dg_fail(status, DG_ERR_CODEC, "LZMA_OPTIONS_ERROR", "LZMA2 options refused");
        }
        return NULL;
    }
    dg_handle_made();
    return enc;
}

int dg_lzma2_code(dg_lzma2 *enc, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                  int finish, size_t *in_used, size_t *out_made, int *done, dg_status *status)
{
    lzma_ret ret;

    dg_status_clear(status);
    enc->strm.next_in = in;
    enc->strm.avail_in = in_len;
    enc->strm.next_out = out;
    enc->strm.avail_out = out_cap;
    ret = lzma_code(&enc->strm, finish ? LZMA_FINISH : LZMA_RUN);
    *in_used = in_len - enc->strm.avail_in;
    *out_made = out_cap - enc->strm.avail_out;
    *done = ret == LZMA_STREAM_END;
    if (ret == LZMA_STREAM_END || ret == LZMA_OK || ret == LZMA_BUF_ERROR) return DG_OK;
    if (ret == LZMA_MEM_ERROR) return dg_fail(status, DG_ERR_NOMEM, "ENOMEM", "LZMA2 encoder out of memory");
    return dg_fail(status, DG_ERR_CODEC, "LZMA_PROG_ERROR", "LZMA2 encoder failed");
}

void dg_lzma2_free(dg_lzma2 *enc)
{
    if (enc == NULL) return;
    lzma_end(&enc->strm);
    free(enc);
    dg_handle_freed();
}

const char *dg_lzma2_version(void)
{
    return lzma_version_string();
}

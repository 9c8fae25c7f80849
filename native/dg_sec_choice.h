/* DG_SECONDARY_AUTO's choice, made for each window's data section (the adds) from its own bytes:
 * LZMA at the binary's preset where a trial on a sample of them shows it pays, a stronger preset
 * where the sample compresses like text (and the plan reserved that preset's memory), no secondary
 * compression where it would only spend time (the adds of an already-compressed target). The
 * instruction and address sections are small and LZMA always pays on them: they keep the binary's
 * setting, untried.
 *
 * xdelta3 runs one LZMA stream per section across all windows of a delta and never discards what it
 * fed one (xd3_encode_lzma sets cfg->inefficient), so the choice is made before the section's encoder
 * sees a byte: declining returns XD3_NOSECOND, which xd3_encode_secondary treats as "leave this
 * section of this window raw" without touching the encoder. Decoders follow the per-window
 * VCD_DATACOMP/INSTCOMP/ADDRCOMP bits, so stock `xdelta3 -d` reads the result.
 *
 * The secondary type's struct is private to xdelta3.c, so this file is compiled inside that unit
 * (xdelta3_unit.c includes it) rather than on its own.
 */
#ifndef DG_SEC_CHOICE_H
#define DG_SEC_CHOICE_H

/* A data section this small is compressed without a trial (the trial would cost as much). */
#define DG_TRIAL_MIN 4096u
/* Bytes whose collision entropy is at least 7.95 bits leave LZMA under 0.6% to gain by coding them
 * alone, and xdelta3 has already taken out every repeat long enough for LZMA to code as a match:
 * such a sample is declined without running LZMA on it. Kept as the fraction 10/2473 ~ 2^-7.95. */
#define DG_FLAT_NUM 10u
#define DG_FLAT_DEN 2473u
/* The trial compresses at most this much of a section: slices spread evenly over it. */
#define DG_TRIAL_SLICES 8u
#define DG_TRIAL_SLICE 4096u
/* LZMA pays when the sample shrinks by at least 1/DG_TRIAL_PAYS_DIV (1%): below that it is deflated
 * or otherwise compressed data, where LZMA costs time and gains next to nothing. */
#define DG_TRIAL_PAYS_DIV 100u
/* The stronger preset pays where the sample compresses to under two thirds: text-like adds (source
 * tars), not the machine code of a binary, where it gains little for double the time. */
#define DG_TRIAL_STRONG_NUM 2u
#define DG_TRIAL_STRONG_DEN 3u

/* What the trial found. */
enum { DG_TRIAL_SKIP = 0, DG_TRIAL_LZMA = 1, DG_TRIAL_STRONG = 2 };

static usize_t dg_section_len(const xd3_output *page)
{
    usize_t n = 0;
    for (; page != NULL; page = page->next_page) n += page->next;
    return n;
}

/* Copies `len` bytes from logical offset `at` of the section into `out`. */
static void dg_section_copy(const xd3_output *page, usize_t at, uint8_t *out, usize_t len)
{
    while (page != NULL && at >= page->next) {
        at -= page->next;
        page = page->next_page;
    }
    while (page != NULL && len > 0) {
        usize_t take = page->next - at;
        if (take > len) take = len;
        memcpy(out, page->base + at, take);
        out += take;
        len -= take;
        at = 0;
        page = page->next_page;
    }
}

/* The trial: LZMA at the binary's preset over a sample of the section. Any failure to run it (no
 * memory) answers DG_TRIAL_LZMA, the setting a caller would otherwise have had. */
static int dg_section_trial(const xd3_output *input, usize_t len)
{
    uint8_t *sample, *packed;
    usize_t take, k2;
    size_t made = 0;
    lzma_options_lzma opts;
    lzma_filter filters[2];
    lzma_stream strm = LZMA_STREAM_INIT;
    lzma_ret lret;
    int verdict = DG_TRIAL_LZMA;
    uint64_t counts[256], pairs = 0;
    unsigned b;

    take = len <= DG_TRIAL_SLICES * DG_TRIAL_SLICE ? len : DG_TRIAL_SLICES * DG_TRIAL_SLICE;
    sample = (uint8_t *)malloc((size_t)take * 2);
    if (sample == NULL) return DG_TRIAL_LZMA;
    packed = sample + take;
    if (take == len) {
        dg_section_copy(input, 0, sample, len);
    } else {
        usize_t k;
        for (k = 0; k < DG_TRIAL_SLICES; k++) {
            usize_t at = (usize_t)((uint64_t)(len - DG_TRIAL_SLICE) * k / (DG_TRIAL_SLICES - 1));
            dg_section_copy(input, at, sample + (size_t)k * DG_TRIAL_SLICE, DG_TRIAL_SLICE);
        }
    }
    /* sum c(c-1) / (n(n-1)) estimates sum p^2 without the bias of a small sample. */
    memset(counts, 0, sizeof counts);
    for (k2 = 0; k2 < take; k2++) counts[sample[k2]]++;
    for (b = 0; b < 256; b++) pairs += counts[b] * (counts[b] ? counts[b] - 1 : 0);
    if (pairs * DG_FLAT_DEN <= (uint64_t)take * (take - 1) * DG_FLAT_NUM) {
        verdict = DG_TRIAL_SKIP;
        goto out;
    }
    if (lzma_lzma_preset(&opts, 0)) goto out;
    filters[0].id = LZMA_FILTER_LZMA2;
    filters[0].options = &opts;
    filters[1].id = LZMA_VLI_UNKNOWN;
    filters[1].options = NULL;
    if (lzma_raw_encoder(&strm, filters) != LZMA_OK) goto out;
    strm.next_in = sample;
    strm.avail_in = take;
    strm.next_out = packed;
    strm.avail_out = take;
    lret = lzma_code(&strm, LZMA_FINISH);
    made = take - strm.avail_out;
    if (lret == LZMA_STREAM_END) {
        if ((uint64_t)made * DG_TRIAL_STRONG_DEN < (uint64_t)take * DG_TRIAL_STRONG_NUM) {
            verdict = DG_TRIAL_STRONG;
        } else if ((uint64_t)made > (uint64_t)take - take / DG_TRIAL_PAYS_DIV) {
            verdict = DG_TRIAL_SKIP;
        }
    } else if (lret == LZMA_OK || lret == LZMA_BUF_ERROR) {
        verdict = DG_TRIAL_SKIP;  /* the output did not fit in the input's size */
    }
    lzma_end(&strm);
out:
    free(sample);
    return verdict;
}

/* Each section's encoder starts at the binary's preset, as with DG_SECONDARY_LZMA: where every
 * section pays, the two settings write the same bytes. The stream flags carry the plan's strongest
 * preset, which the data section gets only once its trial shows it pays (dg_choice_encode). */
static int dg_choice_init(xd3_stream *stream, xd3_lzma_stream *sec, int is_encode)
{
    int saved = stream->flags;
    int ret;
    stream->flags &= ~XD3_COMPLEVEL_MASK;
    ret = xd3_lzma_init(stream, sec, is_encode);
    stream->flags = saved;
    return ret;
}

static int dg_choice_encode(xd3_stream *stream, xd3_lzma_stream *sec, xd3_output *input,
                            xd3_output *output, xd3_sec_cfg *cfg)
{
    usize_t len = dg_section_len(input);
    int strong = (stream->flags & XD3_COMPLEVEL_MASK) >> XD3_COMPLEVEL_SHIFT;

    if (sec == (xd3_lzma_stream *)stream->sec_stream_d && len >= DG_TRIAL_MIN) {
        int verdict = dg_section_trial(input, len);
        if (verdict == DG_TRIAL_SKIP) return XD3_NOSECOND;
        /* Only before the section's encoder has been fed: the decoder's LZMA stream for the section
         * then starts from the same (new) state, whatever the preset. */
        if (verdict == DG_TRIAL_STRONG && strong > 0 && sec->lzma.total_in == 0) {
            if (lzma_lzma_preset(&sec->options, (uint32_t)strong)) {
                stream->msg = "invalid lzma preset";
                return XD3_INVALID;
            }
            if (lzma_stream_encoder(&sec->lzma, &sec->filters[0], LZMA_CHECK_NONE) != LZMA_OK) {
                stream->msg = "lzma stream init failed";
                return XD3_INTERNAL;
            }
        }
    }
    return xd3_encode_lzma(stream, sec, input, output, cfg);
}

static const xd3_sec_type dg_choice_sec_type = {
    VCD_LZMA_ID,
    "lzma",
    SEC_NOFLAGS,
    (xd3_sec_stream * (*)(xd3_stream *)) xd3_lzma_alloc,
    (void (*)(xd3_stream *, xd3_sec_stream *))xd3_lzma_destroy,
    (int (*)(xd3_stream *, xd3_sec_stream *, int))dg_choice_init,
    (int (*)(xd3_stream *, xd3_sec_stream *, const uint8_t **, const uint8_t *, uint8_t **,
             const uint8_t *))xd3_decode_lzma,
    (int (*)(xd3_stream *, xd3_sec_stream *, xd3_output *, xd3_output *, xd3_sec_cfg *))dg_choice_encode,
};

void dg_sec_choice_install(xd3_stream *stream)
{
    if (stream->sec_type == &lzma_sec_type) stream->sec_type = &dg_choice_sec_type;
}

#endif /* DG_SEC_CHOICE_H */

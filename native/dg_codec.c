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

#include "lzma.h"

#include <errno.h>
#include <stdio.h>
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
    if (ret == ENOMEM && stream->opaque != NULL
        && ((const dg_source_view *)stream->opaque)->mem.refused != 0) {
        char text[sizeof st->msg];
        (void)snprintf(text, sizeof text,
                       "delta asks the decoder for %llu bytes at once, beyond its %llu-byte limit "
                       "(corrupt or hostile delta)",
                       (unsigned long long)((const dg_source_view *)stream->opaque)->mem.refused,
                       (unsigned long long)DG_DECODE_MEMORY_LIMIT);
        return dg_fail(st, failure, "XD3_INVALID_INPUT", text);
    }
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
    /* An empty window (an empty target) leaves the buffer unallocated: memcpy to NULL is undefined
     * even for 0 bytes (UBSan). */
    if (len == 0) return DG_OK;
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

/* blksize 0: one block per DG_SOURCE_BLOCK_MAX of source (the decoder's choice). */
static int dg_attach_source(xd3_stream *stream, xd3_source *source, const dg_source_view *view,
                            uint64_t window, uint64_t blksize, dg_status *st)
{
    int ret;
    if (blksize == 0) {
        blksize = dg_pow2_at_least(view->len);
        if (blksize > DG_SOURCE_BLOCK_MAX) blksize = DG_SOURCE_BLOCK_MAX;
    }
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
/* Encoder plan: source window, checksum step and target window from the sizes and the budget.       */

/* xdelta3 3.1.x sizes a hash table with `1U << i` for i up to the bit width of usize_t, undefined from
 * i = 32 on: a table of 2^31 slots or more (a 4 GiB window at step 2) is sized wrongly. */
#define DG_MAX_WINDOW ((uint64_t)1 << 31)
/* Coarsest source checksum step the budget rule will pick before it gives up covering the whole
 * source and shrinks the window instead (xdelta3's own levels use 2 to 26). */
#define DG_MAX_STEP 16u
/* The source table is made up to this many times larger than the source needs while the budget
 * allows: xdelta3 keeps one candidate per slot and never checks it against the checksum, so a
 * sparser table both loses fewer candidates to collisions and wastes fewer failed match attempts. */
#define DG_SPREAD 4u
/* Sources up to this size always get a whole-source window: the probe would cost more than the few
 * bytes a sliding window could save. */
#define DG_PROBE_MIN_SOURCE ((uint64_t)1 << 20)
/* A sliding window sees about [position - window/2 + 2 blocks, position + window/2]; with 32 blocks
 * per window (as the binary cuts it) content displaced by `reach` is in view when window >= 2.5 x
 * reach. */
#define DG_SLIDING_BLOCKS 32u
#define DG_MIN_SLIDING_WINDOW ((uint64_t)1 << 20)
/* Smallest target window a tight memory budget shrinks the window to. */
#define DG_MIN_WINSIZE ((uint32_t)1 << 18)

/* The string matcher of each level as xdelta3-cfgs.h compiles it (the same as the command line),
 * kept here so that the soft matcher can run a level with a coarser source step. */
typedef struct {
    int cfg;
    usize_t large_look, large_step, small_look, small_chain, small_lchain, max_lazy, long_enough;
} dg_matcher;

static const dg_matcher dg_matchers[] = {
    {XD3_SMATCH_FASTEST, 9, 26, 4, 1, 1, 6, 6},   /* -0, -1 */
    {XD3_SMATCH_FASTER, 9, 15, 4, 1, 1, 18, 18},  /* -2 */
    {XD3_SMATCH_FAST, 9, 8, 4, 4, 1, 18, 35},     /* -3..-5 */
    {XD3_SMATCH_DEFAULT, 9, 3, 4, 8, 2, 36, 70},  /* -6 */
    {XD3_SMATCH_SLOW, 9, 2, 4, 44, 13, 90, 70},   /* -7..-9 */
};

static const dg_matcher *dg_matcher_for_level(int level)
{
    if (level <= 1) return &dg_matchers[0];
    if (level == 2) return &dg_matchers[1];
    if (level <= 5) return &dg_matchers[2];
    if (level == 6) return &dg_matchers[3];
    return &dg_matchers[4];
}

static uint64_t dg_pow2_floor(uint64_t n)
{
    uint64_t p = 1;
    if (n == 0) return 0;
    while (p <= n / 2) p <<= 1;
    return p;
}

static uint64_t dg_pow2_ceil(uint64_t n)
{
    uint64_t p = 1;
    while (p < n && p < ((uint64_t)1 << 62)) p <<= 1;
    return p;
}

/* Slots xd3_size_hashtable gives `slots` requested values: the largest power of two not above it,
 * at least 4. */
static uint64_t dg_table_slots(uint64_t values)
{
    uint64_t slots = dg_pow2_floor(values);
    return slots < 4 ? 4 : slots;
}

/* The source table xd3_encode_init allocates for a window and step. */
static uint64_t dg_source_table_bytes(uint64_t window, uint32_t step)
{
    return dg_table_slots(window / step) * sizeof(usize_t);
}

static int dg_lzma_preset_valid(int preset) { return preset >= 0 && preset <= 9; }

/* What one section's LZMA encoder allocates at a preset (xdelta3 keeps one per section). */
static uint64_t dg_lzma_encoder_bytes(int preset)
{
    lzma_options_lzma opts;
    lzma_filter filters[2];
    uint64_t bytes;
    if (lzma_lzma_preset(&opts, (uint32_t)preset)) return 0;
    filters[0].id = LZMA_FILTER_LZMA2;
    filters[0].options = &opts;
    filters[1].id = LZMA_VLI_UNKNOWN;
    filters[1].options = NULL;
    bytes = lzma_raw_encoder_memusage(filters);
    return bytes == UINT64_MAX ? 0 : bytes;
}

/* Instruction buffer entries: the binary's 32768, fewer for small windows, which cannot use them
 * (one entry per instruction, and instructions average well over 64 bytes) but would pay for
 * initialising them (1.5 MB, a third of the cost of encoding a 100 KB pair). */
static uint32_t dg_iopt_size(uint32_t winsize)
{
    uint32_t n = winsize / 64;
    if (n < 512) n = 512;
    if (n > XD3_DEFAULT_IOPT_SIZE) n = XD3_DEFAULT_IOPT_SIZE;
    return n;
}

/* Everything but the source table: target table and chain, input chunk, the window's encoded output
 * and its secondary-compressed copy, the instruction buffer, secondary compressor state. */
static uint64_t dg_fixed_bytes(const dg_matcher *m, int level, uint32_t winsize, uint32_t sprevsz,
                               const dg_encode_params *params)
{
    uint64_t bytes = (uint64_t)2 << 20;  /* stream, code tables, caches, allocator slack */
    if (level > 0) {
        bytes += dg_table_slots(winsize) * sizeof(usize_t);
        if (m->small_chain > 1 || m->small_lchain > 1) bytes += (uint64_t)sprevsz * sizeof(usize_t);
    }
    bytes += (uint64_t)3 * winsize;
    bytes += (uint64_t)dg_iopt_size(winsize) * sizeof(xd3_rinst);
    switch (params->secondary) {
    case DG_SECONDARY_LZMA:
    case DG_SECONDARY_AUTO:
        bytes += 3 * dg_lzma_encoder_bytes(params->lzma_preset);
        break;
    case DG_SECONDARY_DJW:
    case DG_SECONDARY_FGK:
        bytes += (uint64_t)1 << 20;
        break;
    default:
        break;
    }
    return bytes;
}

static int dg_plan_core(uint64_t source_len, uint64_t target_len, uint64_t reach,
                        const dg_encode_params *params, dg_encode_plan *plan, dg_status *st)
{
    const dg_matcher *m;
    uint64_t budget, fixed, avail, need, window, want;
    uint32_t winsize, sprevsz, step;

    memset(plan, 0, sizeof *plan);
    plan->reach = reach;
    if (params->level < 0 || params->level > 9) {
        return dg_fail(st, DG_ERR_CODEC, "EINVAL", "level must be between 0 and 9");
    }
    if (!dg_lzma_preset_valid(params->lzma_preset)) {
        return dg_fail(st, DG_ERR_CODEC, "EINVAL", "lzma_preset must be between 0 and 9");
    }
    if ((params->sec_skip & ~(DG_SEC_SKIP_DATA | DG_SEC_SKIP_INST | DG_SEC_SKIP_ADDR)) != 0) {
        return dg_fail(st, DG_ERR_CODEC, "EINVAL", "unknown sec_skip bits");
    }
    m = dg_matcher_for_level(params->level);
    budget = params->memory_budget ? params->memory_budget : (uint64_t)DG_DEFAULT_MEMORY_BUDGET;

    /* Target window: the binary's 8 MiB, shrunk to the input so that small pairs do not allocate
     * for a window they never fill. */
    if (params->winsize) {
        if (params->winsize < XD3_ALLOCSIZE || params->winsize > XD3_HARDMAXWINSIZE) {
            return dg_fail(st, DG_ERR_CODEC, "EINVAL", "winsize must be between 16 KiB and 64 MiB");
        }
        winsize = params->winsize;
    } else {
        winsize = target_len < XD3_DEFAULT_WINSIZE ? (uint32_t)target_len : XD3_DEFAULT_WINSIZE;
        if (winsize < XD3_ALLOCSIZE) winsize = XD3_ALLOCSIZE;
    }
    /* The small-match chain never needs to reach further back than the window itself. */
    sprevsz = (uint32_t)dg_pow2_ceil(winsize);
    if (sprevsz > XD3_DEFAULT_SPREVSZ) sprevsz = XD3_DEFAULT_SPREVSZ;

    fixed = dg_fixed_bytes(m, params->level, winsize, sprevsz, params);
    /* A budget too small for the target window's own tables and buffers gets a smaller window (more
     * VCDIFF windows, a little less compression) rather than a refusal; a quarter of the budget
     * stays for the source table. */
    while (!params->winsize && winsize > DG_MIN_WINSIZE && fixed > budget - budget / 4) {
        winsize /= 2;
        if (sprevsz > winsize) sprevsz = (uint32_t)dg_pow2_ceil(winsize);
        fixed = dg_fixed_bytes(m, params->level, winsize, sprevsz, params);
    }
    step = params->large_step ? params->large_step : (uint32_t)m->large_step;
    if (step < 1 || step > 1024) {
        return dg_fail(st, DG_ERR_CODEC, "EINVAL", "large_step must be between 1 and 1024");
    }

    window = 0;
    if (source_len > 0) {
        need = dg_pow2_ceil(source_len);
        if (need < XD3_ALLOCSIZE) need = XD3_ALLOCSIZE;
        if (need > DG_MAX_WINDOW) need = DG_MAX_WINDOW;
        avail = budget > fixed ? budget - fixed : 0;

        /* The window the content needs: all of the source, or a sliding window just wide enough
         * for how far the probe saw content move (see dg_probe.c for why narrower is better). */
        want = need;
        if (params->src_window) {
            want = dg_pow2_ceil(params->src_window);
            if (want < XD3_ALLOCSIZE) want = XD3_ALLOCSIZE;
            if (want > DG_MAX_WINDOW) want = DG_MAX_WINDOW;
        } else if (reach != UINT64_MAX && source_len > DG_PROBE_MIN_SOURCE
                   && reach < DG_MAX_WINDOW / 4) {
            uint64_t w = dg_pow2_ceil(reach / 2 * 5 + 1);
            if (w < DG_MIN_SLIDING_WINDOW) w = DG_MIN_SLIDING_WINDOW;
            if (w < need) want = w;
        }

        if (params->src_window || want < need) {
            window = want;
        } else if (dg_source_table_bytes(need, step) <= avail) {
            /* The whole source fits: spread the table while the budget allows (not for small
             * sources, where it changed nothing measurable but costs page faults per call). */
            window = need;
            while (source_len > DG_PROBE_MIN_SOURCE && window < (uint64_t)DG_SPREAD * need
                   && window < DG_MAX_WINDOW
                   && dg_source_table_bytes(window * 2, step) <= avail) {
                window *= 2;
            }
        } else {
            window = need;
        }
        /* Over the budget: keep the window with a coarser step (long moved runs matter more than
         * short matches in files this large), and only past DG_MAX_STEP shrink the window. */
        if (!params->src_window && dg_source_table_bytes(window, step) > avail) {
            if (!params->large_step) {
                while (step < DG_MAX_STEP && dg_source_table_bytes(window, step) > avail) step++;
            }
            while (window > XD3_ALLOCSIZE && dg_source_table_bytes(window, step) > avail) window /= 2;
        }
        plan->hash_bytes = dg_source_table_bytes(window, step);
        plan->covers_source = window >= source_len;
        if (plan->covers_source) {
            plan->blksize = dg_pow2_ceil(source_len);
            if (plan->blksize > DG_SOURCE_BLOCK_MAX) plan->blksize = DG_SOURCE_BLOCK_MAX;
        } else {
            plan->blksize = window / DG_SLIDING_BLOCKS;
        }
        if (plan->blksize < XD3_ALLOCSIZE) plan->blksize = XD3_ALLOCSIZE;
    } else {
        plan->covers_source = 1;
    }
    if (params->level > 0) {
        plan->hash_bytes += dg_table_slots(winsize) * sizeof(usize_t);
        if (m->small_chain > 1 || m->small_lchain > 1) {
            plan->hash_bytes += (uint64_t)sprevsz * sizeof(usize_t);
        }
    }
    plan->window = window;
    plan->large_step = step;
    plan->winsize = winsize;
    plan->sprevsz = sprevsz;
    plan->iopt_size = dg_iopt_size(winsize);
    plan->lzma_preset = params->lzma_preset;
    plan->usize_bytes = (uint32_t)sizeof(usize_t);
    plan->memory = fixed + (window ? dg_source_table_bytes(window, step) : 0);
    if (plan->memory > budget) {
        char msg[160];
        snprintf(msg, sizeof msg, "memory_budget of %llu bytes is too small: this encode needs %llu",
                 (unsigned long long)budget, (unsigned long long)plan->memory);
        return dg_fail(st, DG_ERR_CODEC, "EINVAL", msg);
    }
    return DG_OK;
}

/* DG_SECONDARY_AUTO is LZMA at this preset where its encoders' memory does not cost the source
 * window anything, else at the binary's preset 0. Measured (bench/RESULTS.md): 5.8% smaller deltas
 * on source tars, 0.2% on wheels (instruction and address sections), for 5-10% more encode time
 * and 35-50 MiB more memory; the data section of already-compressed targets, where preset 6 costs
 * 40-60% more time for 0.1%, AUTO does not compress at all. */
#define DG_AUTO_LZMA_PRESET 6
/* Below this target size AUTO keeps preset 0: the stronger preset's encoders zero tens of MiB of
 * hash tables up front, which would cost a small pair more than the whole encode. */
#define DG_AUTO_STRONG_MIN ((uint64_t)4 << 20)

int dg_plan_encode(uint64_t source_len, uint64_t target_len, uint64_t reach,
                   const dg_encode_params *params, dg_encode_plan *plan, dg_status *st)
{
    dg_encode_params lzma;
    dg_encode_plan fast;
    dg_status ignored;
    int rc;

    if (params->secondary != DG_SECONDARY_AUTO) {
        return dg_plan_core(source_len, target_len, reach, params, plan, st);
    }
    /* The plan with the binary's preset; the stronger one only if it keeps that plan's matching. */
    lzma = *params;
    lzma.lzma_preset = 0;
    if ((rc = dg_plan_core(source_len, target_len, reach, &lzma, &fast, st)) != DG_OK) return rc;
    if (target_len < DG_AUTO_STRONG_MIN) {
        *plan = fast;
        return DG_OK;
    }
    lzma.lzma_preset = DG_AUTO_LZMA_PRESET;
    memset(&ignored, 0, sizeof ignored);
    if (dg_plan_core(source_len, target_len, reach, &lzma, plan, &ignored) == DG_OK
        && plan->window == fast.window && plan->large_step == fast.large_step
        && plan->winsize == fast.winsize) {
        return DG_OK;
    }
    *plan = fast;
    return DG_OK;
}

/* ---------------------------------------------------------------------------------------------- */
/* Stream configuration.                                                                            */

static int dg_secondary_flags(int secondary, int lzma_preset, int sec_skip, int *flags, dg_status *st)
{
    switch (secondary) {
    case DG_SECONDARY_NONE: return DG_OK;
    case DG_SECONDARY_LZMA:
    case DG_SECONDARY_AUTO:  /* LZMA; dg_encoder_open adds the sniffed sec_skip */
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
    return (source_len > DG_PROBE_MIN_SOURCE && params->src_window == 0)
           || params->secondary == DG_SECONDARY_AUTO;
}

int dg_encoder_open(xd3_stream *stream, xd3_config *config, xd3_source *source,
                    const dg_source_view *view, const uint8_t *target, uint64_t target_len,
                    const dg_encode_params *params, dg_status *st)
{
    int ret;
    int flags = XD3_ADLER32;
    dg_encode_plan plan;
    const dg_matcher *m;
    uint64_t reach = UINT64_MAX;
    int sec_skip;

    memset(stream, 0, sizeof *stream);
    memset(config, 0, sizeof *config);
    if (target != NULL && view->len > DG_PROBE_MIN_SOURCE && params->src_window == 0) {
        /* (dg_encoder_wants_target says when this or the AUTO sniff reads the target.) */
        if ((ret = dg_probe_reach(view->data, view->len, target, target_len, &reach, st)) != DG_OK) {
            return ret;
        }
    }
    if ((ret = dg_plan_encode(view->len, target_len, reach, params, &plan, st)) != DG_OK) return ret;
    sec_skip = params->sec_skip;
    /* A target that can only be streamed is not sniffed: AUTO then compresses every section. */
    if (params->secondary == DG_SECONDARY_AUTO && target != NULL) {
        sec_skip |= dg_auto_sec_skip(target, target_len);
    }
    if ((ret = dg_secondary_flags(params->secondary, plan.lzma_preset, sec_skip, &flags, st)) != DG_OK) {
        return ret;
    }
    if (params->level == 0) flags |= XD3_NOCOMPRESS;

    m = dg_matcher_for_level(params->level);
    config->winsize = (usize_t)plan.winsize;
    config->sprevsz = (usize_t)plan.sprevsz;
    /* A fixed instruction buffer (the command line's 32768 entries at most) keeps memory bounded,
     * where xdelta3's "unlimited" one grows with the instructions of a window. */
    config->iopt_size = (usize_t)plan.iopt_size;
    config->flags = flags;
    if (plan.large_step == m->large_step) {
        config->smatch_cfg = (xd3_smatch_cfg)m->cfg;
    } else {
        config->smatch_cfg = XD3_SMATCH_SOFT;
        config->smatcher_soft.large_look = m->large_look;
        config->smatcher_soft.large_step = (usize_t)plan.large_step;
        config->smatcher_soft.small_look = m->small_look;
        config->smatcher_soft.small_chain = m->small_chain;
        config->smatcher_soft.small_lchain = m->small_lchain;
        config->smatcher_soft.max_lazy = m->max_lazy;
        config->smatcher_soft.long_enough = m->long_enough;
    }
    config->getblk = dg_source_getblk;
    config->opaque = (void *)view;
    /* The hash tables on huge pages where the system has them (see dg_hugemem.c). */
    config->alloc = dg_stream_alloc;
    config->freef = dg_stream_free;

    if ((ret = xd3_config_stream(stream, config)) != 0) {
        return dg_fail_xd3(st, stream, ret, DG_ERR_CODEC);
    }
    if (view->len > 0
        && (ret = dg_attach_source(stream, source, view, plan.window, plan.blksize, st)) != DG_OK) {
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
        return dg_fail_xd3(st, stream, ret, DG_ERR_CODEC);
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

    rc = dg_encoder_open(&stream, &config, &src, &view, target, target_len, params, status);
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

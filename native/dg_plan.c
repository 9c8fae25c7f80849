/* The encoder plan: source window, checksum step and target window from the sizes, the reach probe
 * and the memory budget (see dg_codec.h). A pure function of its arguments, so the memory and the
 * file encoders make the same choices. */
#include "dg_plan.h"
#include "dg_source.h"
#include "dg_status.h"

#include "lzma.h"

#include <stdio.h>
#include <string.h>

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
/* A sliding window sees about [position - window/2 + 2 blocks, position + window/2]; with 32 blocks
 * per window (as the binary cuts it) content displaced by `reach` is in view when window >= 2.5 x
 * reach. */
#define DG_SLIDING_BLOCKS 32u
#define DG_MIN_SLIDING_WINDOW ((uint64_t)1 << 20)
/* Smallest target window a tight memory budget shrinks the window to. */
#define DG_MIN_WINSIZE ((uint32_t)1 << 18)


static const dg_matcher dg_matchers[] = {
    {XD3_SMATCH_FASTEST, 9, 26, 4, 1, 1, 6, 6},   /* -0, -1 */
    {XD3_SMATCH_FASTER, 9, 15, 4, 1, 1, 18, 18},  /* -2 */
    {XD3_SMATCH_FAST, 9, 8, 4, 4, 1, 18, 35},     /* -3..-5 */
    {XD3_SMATCH_DEFAULT, 9, 3, 4, 8, 2, 36, 70},  /* -6 */
    {XD3_SMATCH_SLOW, 9, 2, 4, 44, 13, 90, 70},   /* -7..-9 */
};

const dg_matcher *dg_matcher_for_level(int level)
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
        bytes += 3 * dg_lzma_encoder_bytes(params->lzma_preset);
        break;
    case DG_SECONDARY_AUTO:
        /* Plus the trial's own encoder at the binary's preset, and its sample (dg_sec_choice.h). */
        bytes += 3 * dg_lzma_encoder_bytes(params->lzma_preset) + dg_lzma_encoder_bytes(0)
                 + ((uint64_t)64 << 10);
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

/* DG_SECONDARY_AUTO may raise the data section's LZMA to this preset where its trial shows text-like
 * adds (dg_sec_choice.h), if the encoders' memory at this preset does not cost the source window
 * anything: source tars come out markedly smaller for it. Every other section, and the adds of
 * binaries, stay at the binary's preset 0; the adds of compressed targets get no LZMA at all. */
#define DG_AUTO_LZMA_PRESET 6
/* Below this target size AUTO keeps preset 0: the stronger preset's encoders zero tens of MiB of
 * hash tables up front, which would cost a small pair more than the whole encode. */
#define DG_AUTO_STRONG_MIN ((uint64_t)4 << 20)

static int dg_plan_choose(uint64_t source_len, uint64_t target_len, uint64_t reach,
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

int dg_plan_encode(uint64_t source_len, uint64_t target_len, uint64_t reach,
                   const dg_encode_params *params, dg_encode_plan *plan, dg_status *st)
{
    int rc = dg_plan_choose(source_len, target_len, reach, params, plan, st);
    if (rc != DG_OK) return rc;
    plan->source_len = source_len;
    plan->target_len = target_len;
    plan->sec_skip = params->sec_skip;
    plan->params = *params;
    return DG_OK;
}

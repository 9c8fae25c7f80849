/* The reach probe: how far target content sits from where it is in the source.
 *
 * xdelta3 finds source matches through one hash table that holds one candidate per slot. A window that
 * covers the whole source finds content however far it moved, but for content repeated in the source
 * (tar headers, zip directory entries, padding) the candidate is whichever copy was hashed last, often
 * far from the aligned one, so copies split and their addresses grow: on two consecutive 115 MB
 * botocore source tars (bench/RESULTS.md) a whole-source window gave a delta 9% larger than the
 * binary's sliding 64 MiB window, and the 1 MiB sliding window this probe picks one 23% smaller. A
 * sliding window only sees [position - window/2, position + window/2], so it must be just wide
 * enough for the content's displacement.
 *
 * The probe measures that displacement. Content-defined anchors (a gear rolling hash with its top
 * bits zero, as content-defined chunkers cut) fall on the same content in both files whatever its
 * offset. The source's anchors go into a small table keyed by the hash of the 64 bytes before them;
 * each target anchor is looked up, the bytes are compared, and the displacement to the nearest
 * source copy is kept. The reach is the largest of those. It is a pure function of the two inputs,
 * so the in-memory and the file encoders choose the same window.
 */
#include "dg_status.h"

#include <stdlib.h>
#include <string.h>

/* About this many source anchors: enough to see moves of a few KiB in files of hundreds of MiB, few
 * enough that the table stays a few MiB. */
#define DG_PROBE_ANCHORS ((uint64_t)1 << 18)
/* Bytes compared before an anchor to confirm a match (the gear hash covers the last 64). */
#define DG_PROBE_CONFIRM 64u
/* Copies of one key kept. Content found more often than this in the source (boilerplate, padding)
 * is marked common and not measured: one of its copies is almost surely near, and the table cannot
 * tell which. */
#define DG_PROBE_DUPS 4u
#define DG_PROBE_COMMON UINT64_MAX

typedef struct {
    uint64_t key;  /* 0: empty slot */
    uint64_t pos;  /* offset just past the anchor's 64 bytes; DG_PROBE_COMMON for common content */
} dg_probe_slot;

/* The gear table: 256 pseudo-random 64-bit values from splitmix64 with a fixed seed, built on the
 * stack per call (no global state), 2 KiB. */
static void dg_gear_table(uint64_t gear[256])
{
    uint64_t x = UINT64_C(0x6a09e667f3bcc908);
    int i;
    for (i = 0; i < 256; i++) {
        uint64_t z = (x += UINT64_C(0x9e3779b97f4a7c15));
        z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
        gear[i] = z ^ (z >> 31);
    }
}

typedef struct {
    uint64_t key;
    uint64_t pos;
} dg_anchor;

typedef struct {
    dg_anchor *items;
    size_t len, cap;
} dg_anchor_list;

#define DG_LANES 4

/* Collects the anchors of data[0..len): positions where the gear hash of the 64 bytes before them
 * has its top `bits` bits clear, in file order. The gear hash is one long dependency chain (a shift
 * and an add per byte), so four equal parts of the input are hashed side by side; each part first
 * hashes the 64 bytes before it, which makes the anchors exactly those of one sequential scan.
 * Returns 1 when there are more than `cap` anchors (the data defeats sampling). */
static int dg_collect_anchors(const uint64_t gear[256], const uint8_t *data, uint64_t len, unsigned bits,
                              dg_anchor_list lanes[DG_LANES])
{
    const unsigned shift = 64u - bits;
    uint64_t start[DG_LANES + 1], h[DG_LANES], i, n;
    int k;

    for (k = 0; k < DG_LANES; k++) lanes[k].len = 0;
    /* Anchors need the 64 bytes before them (their key, and what confirms a match). */
    if (len <= DG_PROBE_CONFIRM) return 0;
    for (k = 0; k <= DG_LANES; k++) {
        if (len - DG_PROBE_CONFIRM < (uint64_t)DG_LANES << 16) {
            start[k] = k == 0 ? DG_PROBE_CONFIRM : len;  /* small input: one part */
        } else {
            start[k] = k == DG_LANES ? len
                                     : DG_PROBE_CONFIRM + (len - DG_PROBE_CONFIRM) / DG_LANES * (uint64_t)k;
        }
    }
    for (k = 0; k < DG_LANES; k++) {
        h[k] = 0;
        for (i = start[k] - DG_PROBE_CONFIRM; i < start[k]; i++) h[k] = (h[k] << 1) + gear[data[i]];
    }

#define DG_LANE_STEP(k, at)                                                               \
    do {                                                                                  \
        h[k] = (h[k] << 1) + gear[data[at]];                                              \
        if ((h[k] >> shift) == 0) {                                                       \
            if (lanes[k].len == lanes[k].cap) return 1;                                   \
            /* Keys are never 0 (0 marks an empty slot). */                              \
            lanes[k].items[lanes[k].len].key = h[k] | 1u;                                 \
            lanes[k].items[lanes[k].len].pos = (at) + 1;                                  \
            lanes[k].len++;                                                               \
        }                                                                                 \
    } while (0)

    /* The common length of the four parts, side by side; then what is left of each. */
    n = UINT64_MAX;
    for (k = 0; k < DG_LANES; k++) {
        uint64_t part = start[k + 1] - start[k];
        if (part < n) n = part;
    }
    for (i = 0; i < n; i++) {
        DG_LANE_STEP(0, start[0] + i);
        DG_LANE_STEP(1, start[1] + i);
        DG_LANE_STEP(2, start[2] + i);
        DG_LANE_STEP(3, start[3] + i);
    }
    for (k = 0; k < DG_LANES; k++) {
        for (i = start[k] + n; i < start[k + 1]; i++) DG_LANE_STEP(k, i);
    }
#undef DG_LANE_STEP
    return 0;
}

typedef struct {
    dg_probe_slot *slots;
    uint64_t mask;
    uint64_t used;
    uint64_t cap_used;  /* stop inserting beyond this load */
    const uint8_t *source;
    uint64_t source_len;
    const uint8_t *target;
    uint64_t reach;
    int overflow;
    int have_last;      /* the previous target anchor was found in the source */
    int64_t last_disp;  /* its displacement (source offset - target offset) */
    uint64_t last_dist;
} dg_probe;

static uint64_t dg_slot_of(uint64_t key, uint64_t mask)
{
    return ((key * UINT64_C(0x9e3779b97f4a7c15)) >> 32) & mask;
}

static int dg_probe_insert(dg_probe *p, uint64_t key, uint64_t pos)
{
    uint64_t i = dg_slot_of(key, p->mask);
    unsigned dups = 0;
    if (p->used >= p->cap_used) {
        p->overflow = 1;
        return 1;
    }
    while (p->slots[i].key != 0) {
        if (p->slots[i].key == key) {
            if (p->slots[i].pos == DG_PROBE_COMMON) return 0;
            if (++dups >= DG_PROBE_DUPS) {
                /* One copy too many: mark every copy common. */
                uint64_t j = dg_slot_of(key, p->mask);
                for (; p->slots[j].key != 0; j = (j + 1) & p->mask) {
                    if (p->slots[j].key == key) p->slots[j].pos = DG_PROBE_COMMON;
                }
                return 0;
            }
        }
        i = (i + 1) & p->mask;
    }
    p->slots[i].key = key;
    p->slots[i].pos = pos;
    p->used++;
    return 0;
}

static void dg_probe_lookup(dg_probe *p, uint64_t key, uint64_t pos)
{
    uint64_t i = dg_slot_of(key, p->mask);
    uint64_t nearest = UINT64_MAX;
    int64_t disp = 0;
    for (; p->slots[i].key != 0; i = (i + 1) & p->mask) {
        uint64_t spos = p->slots[i].pos, dist;
        if (p->slots[i].key != key) continue;
        if (spos == DG_PROBE_COMMON) {
            p->have_last = 0;
            return;
        }
        if (memcmp(p->source + spos - DG_PROBE_CONFIRM, p->target + pos - DG_PROBE_CONFIRM,
                   DG_PROBE_CONFIRM) != 0) {
            continue;
        }
        dist = spos > pos ? spos - pos : pos - spos;
        if (dist < nearest) {
            nearest = dist;
            disp = (int64_t)(spos - pos);
        }
    }
    if (nearest == UINT64_MAX) {
        p->have_last = 0;
        return;
    }
    /* A displacement counts once two consecutive anchors agree on it: a moved region of a few KiB.
     * A lone far anchor is a 64-byte coincidence (a JSON snippet that also occurs elsewhere), which
     * costs nothing to miss but would widen the window for the whole file. */
    if (p->have_last && p->last_disp == disp && p->last_dist > p->reach) p->reach = p->last_dist;
    p->have_last = 1;
    p->last_disp = disp;
    p->last_dist = nearest;
}

static void dg_anchor_lists_free(dg_anchor_list lanes[DG_LANES])
{
    int k;
    for (k = 0; k < DG_LANES; k++) free(lanes[k].items);
}

/* Room for twice the expected number of anchors per part; more means the data defeats sampling. */
static int dg_anchor_lists_alloc(dg_anchor_list lanes[DG_LANES], uint64_t len, unsigned bits)
{
    size_t cap = (size_t)((len >> bits) / DG_LANES * 2 + 1024);
    int k;
    for (k = 0; k < DG_LANES; k++) {
        lanes[k].len = 0;
        lanes[k].cap = cap;
        if ((lanes[k].items = (dg_anchor *)malloc(cap * sizeof(dg_anchor))) == NULL) return 1;
    }
    return 0;
}

int dg_probe_reach(const uint8_t *source, uint64_t source_len, const uint8_t *target,
                   uint64_t target_len, uint64_t *reach, dg_status *st)
{
    uint64_t gear[256];
    dg_probe p;
    dg_anchor_list lanes[DG_LANES];
    uint64_t nslots;
    unsigned bits = 0;
    size_t i;
    int k, rc = DG_OK;

    *reach = 0;
    if (source_len <= DG_PROBE_CONFIRM || target_len <= DG_PROBE_CONFIRM) return DG_OK;
    /* One anchor per 2^bits bytes on average: about DG_PROBE_ANCHORS of them in the source, and at
     * least one per 256 bytes for small files. */
    while (bits < 40 && (source_len >> bits) > DG_PROBE_ANCHORS) bits++;
    if (bits < 8) bits = 8;

    memset(&p, 0, sizeof p);
    memset(lanes, 0, sizeof lanes);
    nslots = 4 * DG_PROBE_ANCHORS;
    p.slots = (dg_probe_slot *)calloc((size_t)nslots, sizeof *p.slots);
    if (p.slots == NULL
        || dg_anchor_lists_alloc(lanes, source_len > target_len ? source_len : target_len, bits)) {
        rc = dg_fail(st, DG_ERR_NOMEM, "ENOMEM", "cannot allocate the reach probe");
        goto out;
    }
    p.mask = nslots - 1;
    /* Anchor counts vary with the data (a run of one byte value can anchor at every position), so
     * the table stops at half full: the probe then reports "unknown" and the window covers all. */
    p.cap_used = nslots / 2;
    p.source = source;
    p.source_len = source_len;
    p.target = target;
    dg_gear_table(gear);

    *reach = UINT64_MAX;
    if (dg_collect_anchors(gear, source, source_len, bits, lanes)) goto out;
    for (k = 0; k < DG_LANES; k++) {
        for (i = 0; i < lanes[k].len; i++) {
            if (dg_probe_insert(&p, lanes[k].items[i].key, lanes[k].items[i].pos)) goto out;
        }
    }
    if (dg_collect_anchors(gear, target, target_len, bits, lanes)) goto out;
    for (k = 0; k < DG_LANES; k++) {
        for (i = 0; i < lanes[k].len; i++) dg_probe_lookup(&p, lanes[k].items[i].key, lanes[k].items[i].pos);
    }
    *reach = p.reach;
out:
    dg_anchor_lists_free(lanes);
    free(p.slots);
    return rc;
}

/* ---------------------------------------------------------------------------------------------- */
/* Whether the target is already compressed.                                                      */

/* 64 samples of 4 KiB spread evenly over the target (all of it when smaller). */
#define DG_SNIFF_SAMPLES 64u
#define DG_SNIFF_BYTES 4096u

int dg_target_compressed(const uint8_t *target, uint64_t target_len)
{
    uint64_t counts[256];
    uint64_t n = 0, sumsq = 0;
    unsigned k;
    int b;

    if (target == NULL || target_len == 0) return 0;
    memset(counts, 0, sizeof counts);
    if (target_len <= (uint64_t)DG_SNIFF_SAMPLES * DG_SNIFF_BYTES) {
        uint64_t i;
        for (i = 0; i < target_len; i++) counts[target[i]]++;
        n = target_len;
    } else {
        for (k = 0; k < DG_SNIFF_SAMPLES; k++) {
            uint64_t at = (target_len - DG_SNIFF_BYTES) / (DG_SNIFF_SAMPLES - 1) * k;
            unsigned i;
            for (i = 0; i < DG_SNIFF_BYTES; i++) counts[target[at + i]]++;
        }
        n = (uint64_t)DG_SNIFF_SAMPLES * DG_SNIFF_BYTES;
    }
    /* Collision entropy -log2(sum p^2), a lower bound of the Shannon entropy that needs no libm: at
     * >= 7.9 bits per byte (sum c^2 * 2^7.9 <= n^2) the bytes are deflated or otherwise compressed
     * (wheels sample 7.99 bits; machine code and text 4 to 6). */
    for (b = 0; b < 256; b++) sumsq += counts[b] * counts[b];
    return sumsq * 2389u <= n * n * 10u;
}

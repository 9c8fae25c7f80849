/* Mutation fuzzer for the decoder, built with AddressSanitizer and UBSan by test_sanitized_decode.py.
 *
 * Encodes realistic pairs with every secondary compressor, then decodes damaged copies of the deltas
 * (byte flips, overwrites, truncations, insertions, spliced headers). Any memory error aborts the
 * run through the sanitizers; a decode that reports success with the right length but wrong bytes is
 * counted and fails the run. Optional arguments: pairs of files "SOURCE DELTA" made elsewhere (the
 * stock binary), which are fuzzed too.
 *
 * usage: fuzz_decode ITERATIONS [SOURCE DELTA]...
 */
#include "dg_codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rng(void)
{
    /* xorshift64*: deterministic, so a failing iteration can be replayed. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static uint8_t *make_source(size_t len)
{
    uint8_t *buf = malloc(len ? len : 1);
    size_t i = 0;
    if (buf == NULL) abort();
    while (i < len) {
        /* Runs of repeated words mixed with noise, as real binaries have. */
        size_t run = 1 + rng() % 64;
        uint8_t word = (uint8_t)(rng() % 8);
        for (size_t j = 0; j < run && i < len; j++, i++) {
            buf[i] = (rng() % 4 == 0) ? (uint8_t)rng() : (uint8_t)(word * 31 + j);
        }
    }
    return buf;
}

typedef struct {
    uint8_t *source;
    size_t source_len;
    uint8_t *delta;
    size_t delta_len;
    uint8_t *target; /* NULL when unknown (deltas given on the command line) */
    size_t target_len;
} seed_case;

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long size;
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    buf = malloc((size_t)size + 1);
    if (buf == NULL || fread(buf, 1, (size_t)size, f) != (size_t)size) exit(2);
    fclose(f);
    *len = (size_t)size;
    return buf;
}

static void make_case(seed_case *c, int secondary, size_t len)
{
    dg_encode_params params;
    dg_encode_plan plan;
    dg_buffer out = {0};
    dg_status st;
    size_t cut, keep;
    c->source_len = len;
    c->source = make_source(len);
    c->target_len = len + 700;
    c->target = malloc(c->target_len);
    if (c->target == NULL) abort();
    cut = len / 3;
    keep = len - cut;
    memcpy(c->target, c->source, cut);
    for (size_t i = 0; i < 700; i++) c->target[cut + i] = (uint8_t)rng();
    memcpy(c->target + cut + 700, c->source + cut, keep);
    memset(&params, 0, sizeof params);
    params.level = 9;
    params.secondary = secondary;
    if (dg_plan_memory(c->source, c->source_len, c->target, c->target_len, &params, &plan, &st) != DG_OK
        || dg_encode_memory(c->source, c->source_len, c->target, c->target_len, &plan, &out, &st) != DG_OK) {
        fprintf(stderr, "encode failed: %s\n", st.msg);
        exit(2);
    }
    c->delta = out.data;
    c->delta_len = out.len;
}

static size_t mutate(const seed_case *c, uint8_t *buf, size_t cap)
{
    size_t len = c->delta_len;
    int edits = 1 + (int)(rng() % 6);
    memcpy(buf, c->delta, len);
    for (int e = 0; e < edits; e++) {
        switch (rng() % 5) {
        case 0: buf[rng() % len] ^= (uint8_t)(1u << (rng() % 8)); break;
        case 1: buf[rng() % len] = (uint8_t)rng(); break;
        case 2: len = 1 + rng() % len; break;
        case 3:
            if (len + 16 < cap) {
                size_t at = rng() % len, n = 1 + rng() % 16;
                memmove(buf + at + n, buf + at, len - at);
                for (size_t i = 0; i < n; i++) buf[at + i] = (uint8_t)rng();
                len += n;
            }
            break;
        default: {
            /* Damage the first bytes, where the header and window sizes live. */
            size_t at = rng() % (len < 24 ? len : 24);
            buf[at] = (uint8_t)rng();
        }
        }
        if (len == 0) len = 1;
    }
    return len;
}

int main(int argc, char **argv)
{
    long iterations;
    seed_case cases[16];
    int ncases = 0;
    long wrong = 0, decoded = 0;
    if (argc < 2 || (argc - 2) % 2 != 0) {
        fprintf(stderr, "usage: %s ITERATIONS [SOURCE DELTA]...\n", argv[0]);
        return 2;
    }
    iterations = strtol(argv[1], NULL, 10);
    for (int s = DG_SECONDARY_NONE; s <= DG_SECONDARY_FGK; s++) {
        make_case(&cases[ncases++], s, 3000);
        make_case(&cases[ncases++], s, 40000);
    }
    for (int a = 2; a + 1 < argc && ncases < 16; a += 2) {
        seed_case *c = &cases[ncases++];
        memset(c, 0, sizeof *c);
        c->source = read_file(argv[a], &c->source_len);
        c->delta = read_file(argv[a + 1], &c->delta_len);
    }
    for (long it = 0; it < iterations; it++) {
        const seed_case *c = &cases[it % ncases];
        size_t cap = c->delta_len + 64;
        uint8_t *buf = malloc(cap);
        dg_buffer out = {0};
        dg_status st;
        size_t len;
        uint64_t limit;
        int rc;
        if (buf == NULL) abort();
        len = mutate(c, buf, cap);
        limit = c->target ? (uint64_t)c->target_len : ((uint64_t)64 << 20);
        rc = dg_decode_memory(c->source, c->source_len, buf, len, limit, (int)(it & 1), &out, &st);
        if (rc == DG_OK) {
            decoded++;
            if (c->target && out.len == c->target_len && memcmp(out.data, c->target, out.len) != 0) {
                wrong++;
                fprintf(stderr, "iteration %ld: damaged delta decoded to wrong bytes of the right size\n", it);
            }
        }
        dg_buffer_free(&out);
        free(buf);
    }
    printf("iterations=%ld decoded=%ld wrong=%ld\n", iterations, decoded, wrong);
    for (int i = 0; i < ncases; i++) {
        free(cases[i].source);
        free(cases[i].target);
        free(cases[i].delta);
    }
    return wrong ? 1 : 0;
}

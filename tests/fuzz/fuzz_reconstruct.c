/* libFuzzer target: the deflate reconstructor (native/dg_reconstruct.cc over vendor/grittibanzli),
 * on arbitrary choices and arbitrary deflate streams.
 *
 * An input is one selector byte and then the payload. The selector's low two bits pick the decoded
 * bytes (the first DG_FUZZ_SOURCE_BYTES of the decoder target's SOURCE_DIR/source0.bin ...
 * source2.bin, loaded once; 3 means none: the model's work per byte is large, and mutations want
 * many runs a second);
 * with bit 2 clear the payload is a recipe's choices, replayed over those bytes (dg_gritti_join, as a
 * rebuild does with what storage gave it), with bit 2 set it is a raw deflate stream, split into
 * decoded bytes and choices (dg_gritti_split, as an upload does with a file's member). The seed
 * corpus (tests/fuzz/corpus_reconstruct/) holds real choices and streams of those sources.
 *
 * Any outcome but a sanitizer report is fine: bad input must end in an error status, never in a
 * memory error, a leak or undefined behaviour (built with -fsanitize=fuzzer,address,undefined by
 * run_fuzz.sh).
 */
#include "dg_codec.h"

#include <stdio.h>
#include <stdlib.h>

#ifndef DG_FUZZ_SOURCE_DIR
#  define DG_FUZZ_SOURCE_DIR "tests/fuzz/sources"
#endif

#define DG_FUZZ_SOURCES 3
#define DG_FUZZ_SPLIT 4
#define DG_FUZZ_SOURCE_BYTES 4096
/* A split stream decoding past this is refused: keeps every run fast and small. */
#define DG_FUZZ_MAX_DECODED ((uint64_t)1 << 16)

static uint8_t *sources[DG_FUZZ_SOURCES + 1];
static size_t source_lens[DG_FUZZ_SOURCES + 1];

static void load_sources(void)
{
    char path[4096];
    for (int i = 0; i < DG_FUZZ_SOURCES; i++) {
        FILE *f;
        long len;
        snprintf(path, sizeof path, "%s/source%d.bin", DG_FUZZ_SOURCE_DIR, i);
        f = fopen(path, "rb");
        if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
            perror(path);
            abort();
        }
        sources[i] = malloc((size_t)len + 1);
        if (sources[i] == NULL || fread(sources[i], 1, (size_t)len, f) != (size_t)len) abort();
        source_lens[i] = (size_t)len < DG_FUZZ_SOURCE_BYTES ? (size_t)len : DG_FUZZ_SOURCE_BYTES;
        fclose(f);
    }
    sources[DG_FUZZ_SOURCES] = NULL;
    source_lens[DG_FUZZ_SOURCES] = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int loaded;
    dg_status status;
    dg_gritti *result;
    int which;

    if (!loaded) {
        load_sources();
        loaded = 1;
    }
    if (size < 1) return 0;
    which = data[0] & 3;
    if (data[0] & DG_FUZZ_SPLIT) {
        result = dg_gritti_split(data + 1, size - 1, DG_FUZZ_MAX_DECODED, &status);
    } else {
        result = dg_gritti_join(sources[which], source_lens[which], data + 1, size - 1, UINT64_MAX, &status);
    }
    if (result != NULL) {
        /* Touch every part, so a length that lies is read past by ASan. */
        volatile uint8_t sink = 0;
        for (int part = DG_GRITTI_DECODED; part <= DG_GRITTI_DEFLATED; part++) {
            const uint8_t *bytes = dg_gritti_data(result, part);
            size_t n = dg_gritti_size(result, part);
            for (size_t i = 0; i < n; i++) sink ^= bytes[i];
        }
        (void)sink;
        dg_gritti_free(result);
    } else if (status.code == DG_OK) {
        abort(); /* a failure must say so */
    }
    return 0;
}

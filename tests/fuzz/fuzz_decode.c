/* libFuzzer target: the decoder, in memory and file to file, on arbitrary deltas against real sources.
 *
 * An input is one selector byte and then the delta. The selector's low two bits pick the source the
 * delta is decoded against (the files SOURCE_DIR/source0.bin ... source2.bin, loaded once; 3 means
 * no source), bit 2 lets the application header name external compression, bit 3 decodes through
 * the file entry point (mapped source, chunked reader, buffered sink) instead of memory. The seed
 * corpus (tests/fuzz/corpus/) holds real deltas against those sources, so mutations start from
 * valid VCDIFF and reach the window, section and secondary decoders.
 *
 * Any outcome but a sanitizer report is fine: bad input must end in an error status, never in a
 * memory error, a leak or undefined behaviour (built with -fsanitize=fuzzer,address,undefined by
 * run_fuzz.sh).
 */
#define _GNU_SOURCE 1
#include "dg_codec.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef DG_FUZZ_SOURCE_DIR
#  define DG_FUZZ_SOURCE_DIR "tests/fuzz/sources"
#endif

#define DG_FUZZ_SOURCES 3
/* Output past this is cut off with DG_ERR_TOO_LARGE: keeps every run fast and small (the memory
 * decoder reserves this much up front; the seeds rebuild at most 50 KB). */
#define DG_FUZZ_MAX_OUTPUT ((uint64_t)1 << 20)

static uint8_t *sources[DG_FUZZ_SOURCES + 1];
static size_t source_lens[DG_FUZZ_SOURCES + 1];
static int source_fds[DG_FUZZ_SOURCES + 1];
static int delta_fd = -1;
static int output_fd = -1;

static int scratch_file(const char *dir)
{
    char path[4096];
    int fd;
    snprintf(path, sizeof path, "%s/dg-fuzz-XXXXXX", dir);
    fd = mkstemp(path);
    if (fd < 0) {
        perror("mkstemp");
        abort();
    }
    unlink(path);
    return fd;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = getenv("DG_FUZZ_SOURCES");
    const char *tmp = getenv("TMPDIR");
    int k;
    (void)argc;
    (void)argv;
    if (dir == NULL) dir = DG_FUZZ_SOURCE_DIR;
    for (k = 0; k < DG_FUZZ_SOURCES; k++) {
        char path[4096];
        FILE *f;
        long len;
        snprintf(path, sizeof path, "%s/source%d.bin", dir, k);
        if ((f = fopen(path, "rb")) == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0) {
            fprintf(stderr, "fuzz_decode: cannot read %s (set DG_FUZZ_SOURCES)\n", path);
            abort();
        }
        rewind(f);
        sources[k] = malloc(len ? (size_t)len : 1);
        if (sources[k] == NULL || fread(sources[k], 1, (size_t)len, f) != (size_t)len) abort();
        fclose(f);
        source_lens[k] = (size_t)len;
        if ((source_fds[k] = open(path, O_RDONLY)) < 0) abort();
    }
    /* "No source": an empty file for the file path, a NULL buffer for the memory path. */
    sources[DG_FUZZ_SOURCES] = NULL;
    source_lens[DG_FUZZ_SOURCES] = 0;
    source_fds[DG_FUZZ_SOURCES] = scratch_file(tmp ? tmp : "/tmp");
    delta_fd = scratch_file(tmp ? tmp : "/tmp");
    output_fd = scratch_file(tmp ? tmp : "/tmp");
    return 0;
}

static void decode_file(int k, const uint8_t *delta, size_t len, int allow_external)
{
    dg_status st;
    uint64_t written = 0;
    if (ftruncate(delta_fd, 0) != 0 || lseek(delta_fd, 0, SEEK_SET) != 0) abort();
    if (len > 0 && write(delta_fd, delta, len) != (ssize_t)len) abort();
    if (lseek(delta_fd, 0, SEEK_SET) != 0) abort();
    if (ftruncate(output_fd, 0) != 0 || lseek(output_fd, 0, SEEK_SET) != 0) abort();
    (void)dg_decode_file(source_fds[k], delta_fd, output_fd, DG_FUZZ_MAX_OUTPUT, allow_external,
                         &written, &st);
}

static void decode_memory(int k, const uint8_t *delta, size_t len, int allow_external)
{
    dg_buffer out = {0};
    dg_status st;
    int rc = dg_decode_memory(sources[k], source_lens[k], delta, len, DG_FUZZ_MAX_OUTPUT,
                              allow_external, &out, &st);
    /* A status must always name what went wrong. */
    if (rc != DG_OK && (st.code != rc || st.name[0] == '\0')) abort();
    if (rc == DG_OK && out.len > DG_FUZZ_MAX_OUTPUT) abort();
    dg_buffer_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int k, allow_external;
    if (size < 1) return 0;
    k = data[0] & 3;
    allow_external = (data[0] >> 2) & 1;
    if (data[0] & 8) {
        decode_file(k, data + 1, size - 1, allow_external);
    } else {
        decode_memory(k, data + 1, size - 1, allow_external);
    }
    return 0;
}

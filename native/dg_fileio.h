/* Files for the file entry points (dg_files.c): descriptor I/O, the source mapped read-only, a
 * reader of fixed-size chunks and a buffered output sink. */
#ifndef DG_FILEIO_H
#define DG_FILEIO_H

#include "dg_io.h"
#include "dg_source.h"

#if defined(_WIN32)
#  include <windows.h>
#endif

typedef struct {
    dg_source_view view;
    void *base;       /* mapping (or heap copy) to release */
    size_t length;
#if defined(_WIN32)
    HANDLE mapping;
#endif
} dg_mapped_source;

/* Size of a regular file; *known = 0 for anything else (a pipe, a terminal), and *is_dir for a
 * directory (which opens read-only on POSIX but cannot be read or mapped). `file` is the DG_FILE_*
 * role a failure names, here and in dg_map_file. */
int dg_file_size(int fd, uint64_t *size, int *known, int *is_dir, int file, const char *what,
                 dg_status *st);
/* Maps the whole file read-only; an empty file gives an empty view and no mapping. */
int dg_map_file(int fd, dg_mapped_source *src, int file, const char *what, dg_status *st);
void dg_unmap_file(dg_mapped_source *src);

/* Hands out full chunks of exactly `want` bytes until the last one, which carries *eof. The end is
 * known before that chunk goes out (one byte is read ahead), so that xdelta3 is flushed on the same
 * chunk as with the in-memory reader and the two paths cut the same windows: otherwise a target of
 * an exact multiple of the window would end with an extra, empty window. */
typedef struct {
    int fd;
    int file;          /* DG_FILE_* its failures name */
    const char *what;
    uint8_t *buf;
    size_t want;       /* chunk size, fixed at the first call */
    int lookahead;     /* buf[want] holds the first byte of the next chunk */
    int done;
} dg_file_reader_ctx;

/* The dg_reader `next` callback over a dg_file_reader_ctx (zeroed, then fd, file and what set). */
int dg_file_reader_next(dg_reader *reader, size_t want, const uint8_t **chunk, size_t *got, int *eof,
                        dg_status *st);

typedef struct {
    int fd;
    uint8_t *buf;
    size_t len;
    uint64_t on_disk;
} dg_file_sink_ctx;

int dg_file_sink_init(dg_sink *sink, dg_file_sink_ctx *ctx, int fd, dg_status *st);
/* Writes out what the sink still buffers; on_disk then counts every byte written. */
int dg_file_sink_flush(dg_file_sink_ctx *s, dg_status *st);

#endif /* DG_FILEIO_H */

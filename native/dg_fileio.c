/* File I/O for the file entry points (see dg_fileio.h).
 *
 * The source is memory-mapped and served to xdelta3 straight from the mapping (its pages are the
 * page cache's, not the process's anonymous memory); the target or delta is read in window-sized
 * chunks into one buffer; the output is written as xdelta3 produces it.
 */
#include "dg_fileio.h"
#include "dg_status.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#  include <io.h>
#  include <sys/types.h>
#  include <sys/stat.h>
#else
#  include <sys/mman.h>
#  include <sys/stat.h>
#  include <unistd.h>
#endif

/* Output is collected to this size before a write(): the encoder hands out 16 KiB pages, the decoder
 * whole windows (written directly). Small enough to come from the malloc heap, not a fresh mapping
 * that is faulted in on every call (a tenth of the cost of a 100 KB pair). */
#define DG_WRITE_BUFFER ((size_t)64 << 10)

/* ---------------------------------------------------------------------------------------------- */
/* Descriptor I/O: EINTR retried, short transfers continued, errno reported.                         */

#if defined(_WIN32)
typedef int dg_ssize;
static dg_ssize dg_sys_read(int fd, void *buf, size_t len)
{
    unsigned int n = len > (size_t)INT_MAX ? (unsigned int)INT_MAX : (unsigned int)len;
    return _read(fd, buf, n);
}
static dg_ssize dg_sys_write(int fd, const void *buf, size_t len)
{
    unsigned int n = len > (size_t)INT_MAX ? (unsigned int)INT_MAX : (unsigned int)len;
    return _write(fd, buf, n);
}
#else
typedef ssize_t dg_ssize;
static dg_ssize dg_sys_read(int fd, void *buf, size_t len)
{
    /* Some systems reject single transfers above INT_MAX bytes (macOS) or 2 GiB (Linux caps them). */
    if (len > (size_t)INT_MAX) len = (size_t)INT_MAX;
    return read(fd, buf, len);
}
static dg_ssize dg_sys_write(int fd, const void *buf, size_t len)
{
    if (len > (size_t)INT_MAX) len = (size_t)INT_MAX;
    return write(fd, buf, len);
}
#endif

/* Reads until `len` bytes or end of file; *got < len only at end of file. */
static int dg_read_full(int fd, uint8_t *buf, size_t len, size_t *got, int file, const char *what,
                        dg_status *st)
{
    size_t have = 0;
    while (have < len) {
        dg_ssize n = dg_sys_read(fd, buf + have, len - have);
        if (n < 0) {
            if (errno == EINTR) continue;
            return dg_fail_errno(st, errno, file, what);
        }
        if (n == 0) break;
        have += (size_t)n;
    }
    *got = have;
    return DG_OK;
}

static int dg_write_full(int fd, const uint8_t *data, size_t len, dg_status *st)
{
    while (len > 0) {
        dg_ssize n = dg_sys_write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return dg_fail_errno(st, errno, DG_FILE_OUTPUT, "cannot write the output file");
        }
        if (n == 0) {
            /* write() returning 0 for a non-empty request would loop forever; report it as full. */
            return dg_fail_errno(st, ENOSPC, DG_FILE_OUTPUT, "cannot write the output file");
        }
        data += n;
        len -= (size_t)n;
    }
    return DG_OK;
}

/* Size of a regular file; *known = 0 for anything else (a pipe, a terminal), and *is_dir for a
 * directory (which opens read-only on POSIX but cannot be read or mapped). */
int dg_file_size(int fd, uint64_t *size, int *known, int *is_dir, int file, const char *what,
                 dg_status *st)
{
#if defined(_WIN32)
    struct _stat64 sb;
    if (_fstat64(fd, &sb) != 0) return dg_fail_errno(st, errno, file, what);
    *known = (sb.st_mode & _S_IFMT) == _S_IFREG;
    *is_dir = (sb.st_mode & _S_IFMT) == _S_IFDIR;
#else
    struct stat sb;
    if (fstat(fd, &sb) != 0) return dg_fail_errno(st, errno, file, what);
    *known = S_ISREG(sb.st_mode) ? 1 : 0;
    *is_dir = S_ISDIR(sb.st_mode) ? 1 : 0;
#endif
    *size = *known ? (uint64_t)sb.st_size : 0;
    return DG_OK;
}

/* ---------------------------------------------------------------------------------------------- */
/* The source, mapped read-only.                                                                    */


#if defined(_WIN32)
/* Windows error codes are not errno values; the common ones are translated so that Python raises
 * the matching OSError subclass, the rest report EIO. */
static int dg_errno_from_win32(DWORD err)
{
    switch (err) {
    case ERROR_ACCESS_DENIED: return EACCES;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_COMMITMENT_LIMIT: return ENOMEM;
    case ERROR_INVALID_HANDLE: return EBADF;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL: return ENOSPC;
    default: return EIO;
    }
}
#endif

int dg_map_file(int fd, dg_mapped_source *src, int file, const char *what, dg_status *st)
{
    uint64_t size = 0;
    int known = 0, is_dir = 0;
    int rc;

    memset(src, 0, sizeof *src);
    dg_source_view_init(&src->view, NULL, 0);
    if ((rc = dg_file_size(fd, &size, &known, &is_dir, file, what, st)) != DG_OK) return rc;
    if (!known) return dg_fail_errno(st, is_dir ? EISDIR : EINVAL, file, what);
    if (size == 0) return DG_OK;  /* an empty source is no source: nothing to map */
    if (size > (uint64_t)SIZE_MAX) {
        return dg_fail(st, DG_ERR_NOMEM, "ENOMEM", "file is larger than this platform's address space");
    }
    src->length = (size_t)size;

#if defined(_WIN32)
    {
        HANDLE handle = (HANDLE)_get_osfhandle(fd);
        if (handle == INVALID_HANDLE_VALUE) return dg_fail_errno(st, EBADF, file, what);
        src->mapping = CreateFileMappingW(handle, NULL, PAGE_READONLY, 0, 0, NULL);
        if (src->mapping == NULL) {
            return dg_fail_errno(st, dg_errno_from_win32(GetLastError()), file, what);
        }
        src->base = MapViewOfFile(src->mapping, FILE_MAP_READ, 0, 0, 0);
        if (src->base == NULL) {
            int err = dg_errno_from_win32(GetLastError());
            CloseHandle(src->mapping);
            src->mapping = NULL;
            return dg_fail_errno(st, err, file, what);
        }
    }
#else
    src->base = mmap(NULL, src->length, PROT_READ, MAP_PRIVATE, fd, 0);
    if (src->base == MAP_FAILED) {
        src->base = NULL;
        return dg_fail_errno(st, errno, file, what);
    }
#endif
    dg_source_view_init(&src->view, (const uint8_t *)src->base, size);
    return DG_OK;
}

void dg_unmap_file(dg_mapped_source *src)
{
    if (src->base == NULL) return;
#if defined(_WIN32)
    UnmapViewOfFile(src->base);
    CloseHandle(src->mapping);
#else
    munmap(src->base, src->length);
#endif
    src->base = NULL;
}

/* ---------------------------------------------------------------------------------------------- */
/* Readers.                                                                                         */


int dg_file_reader_next(dg_reader *reader, size_t want, const uint8_t **chunk, size_t *got,
                               int *eof, dg_status *st)
{
    dg_file_reader_ctx *r = (dg_file_reader_ctx *)reader->ctx;
    size_t have = 0, n = 0;
    int rc;

    if (r->buf == NULL) {
        if (want == 0 || want == SIZE_MAX) return dg_fail(st, DG_ERR_CODEC, "EINVAL", "bad chunk size");
        if ((r->buf = (uint8_t *)malloc(want + 1)) == NULL) {
            return dg_fail(st, DG_ERR_NOMEM, "ENOMEM", "cannot allocate the input buffer");
        }
        r->want = want;
    } else if (want != r->want) {
        return dg_fail(st, DG_ERR_CODEC, "XD3_INTERNAL", "input chunk size changed mid-stream");
    }
    *chunk = r->buf;
    if (r->done) {
        *got = 0;
        *eof = 1;
        return DG_OK;
    }
    /* The previous chunk has been consumed (xdelta3 asks for input only between windows), so its
     * space can be reused. */
    if (r->lookahead) {
        r->buf[0] = r->buf[r->want];
        have = 1;
    }
    if ((rc = dg_read_full(r->fd, r->buf + have, r->want + 1 - have, &n, r->file, r->what, st)) != DG_OK) {
        return rc;
    }
    have += n;
    if (have == r->want + 1) {
        *got = r->want;
        r->lookahead = 1;
        *eof = 0;
    } else {
        *got = have;
        r->lookahead = 0;
        r->done = 1;
        *eof = 1;
    }
    return DG_OK;
}

/* ---------------------------------------------------------------------------------------------- */
/* The buffered output file.                                                                       */


int dg_file_sink_flush(dg_file_sink_ctx *s, dg_status *st)
{
    int rc;
    if (s->len == 0) return DG_OK;
    if ((rc = dg_write_full(s->fd, s->buf, s->len, st)) != DG_OK) return rc;
    s->on_disk += s->len;
    s->len = 0;
    return DG_OK;
}

static int dg_file_sink_write(dg_sink *sink, const uint8_t *data, size_t len, dg_status *st)
{
    dg_file_sink_ctx *s = (dg_file_sink_ctx *)sink->ctx;
    int rc;
    if (len == 0) return DG_OK;  /* an empty window: xdelta3 may hand a NULL pointer with it */
    if (len > DG_WRITE_BUFFER - s->len) {
        if ((rc = dg_file_sink_flush(s, st)) != DG_OK) return rc;
    }
    if (len >= DG_WRITE_BUFFER) {
        /* Whole decoded windows go straight to the file, without a copy. */
        if ((rc = dg_write_full(s->fd, data, len, st)) != DG_OK) return rc;
        s->on_disk += len;
        return DG_OK;
    }
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    return DG_OK;
}

int dg_file_sink_init(dg_sink *sink, dg_file_sink_ctx *ctx, int fd, dg_status *st)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->fd = fd;
    if ((ctx->buf = (uint8_t *)malloc(DG_WRITE_BUFFER)) == NULL) {
        return dg_fail(st, DG_ERR_NOMEM, "ENOMEM", "cannot allocate the output buffer");
    }
    sink->write = dg_file_sink_write;
    sink->ctx = ctx;
    sink->written = 0;
    return DG_OK;
}

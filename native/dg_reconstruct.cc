/* The deflate reconstructor (vendor/grittibanzli) behind a C interface, for archive transforms: a
 * deflate stream that no zlib setting reproduces is split into its decoded bytes and the choices that
 * rebuild it exactly (see deltaglider/transforms/reconstruct.py).
 *
 * Nothing thrown may cross into C: every entry point catches all exceptions (std::bad_alloc above
 * all) and reports them in the status. A result holds the library's vectors until it is freed; the
 * caller copies out what it keeps. The sizes the caller passes bound what a result may hold, so a
 * hostile choices stream cannot grow one past what its recipe recorded. */
#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

#include "grittibanzli.h"

extern "C" {
#include "dg_codec.h"
#include "dg_handles.h"
int dg_fail(dg_status *st, int code, const char *name, const char *msg);
void dg_status_clear(dg_status *st);
}

struct dg_gritti {
    std::vector<uint8_t> decoded;  /* dg_gritti_split only */
    std::vector<uint8_t> choices;  /* dg_gritti_split only */
    std::vector<uint8_t> deflated; /* dg_gritti_join only */
};

static const std::vector<uint8_t> *dg_gritti_part(const dg_gritti *result, int part)
{
    switch (part) {
    case DG_GRITTI_DECODED: return &result->decoded;
    case DG_GRITTI_CHOICES: return &result->choices;
    case DG_GRITTI_DEFLATED: return &result->deflated;
    default: return NULL;
    }
}

extern "C" dg_gritti *dg_gritti_split(const uint8_t *deflated, size_t size, uint64_t max_decoded,
                                      dg_status *status)
{
    dg_status_clear(status);
    dg_gritti *result = NULL;
    try {
        result = new dg_gritti();
        if (!grittibanzli::Grittibanzli(deflated, size, &result->decoded, &result->choices)) {
            delete result;
            dg_fail(status, DG_ERR_CODEC, "NOT_RECONSTRUCTED", "the deflate stream cannot be reconstructed");
            return NULL;
        }
        if (result->decoded.size() > max_decoded) {
            delete result;
            dg_fail(status, DG_ERR_TOO_LARGE, "TOO_LARGE", "the deflate stream decodes past the limit");
            return NULL;
        }
    } catch (const std::bad_alloc &) {
        delete result;
        dg_fail(status, DG_ERR_NOMEM, "ENOMEM", "out of memory reconstructing a deflate stream");
        return NULL;
    } catch (...) {
        delete result;
        dg_fail(status, DG_ERR_CODEC, "RECONSTRUCT", "the deflate reconstructor failed");
        return NULL;
    }
    dg_handle_made();
    return result;
}

extern "C" dg_gritti *dg_gritti_join(const uint8_t *decoded, size_t size, const uint8_t *choices,
                                     size_t choices_size, uint64_t expected_size, dg_status *status)
{
    dg_status_clear(status);
    dg_gritti *result = NULL;
    try {
        result = new dg_gritti();
        if (!grittibanzli::Ungrittibanzli(decoded, size, choices, choices_size, &result->deflated)) {
            delete result;
            dg_fail(status, DG_ERR_DECODE, "BAD_CHOICES", "the deflate choices do not fit the decoded bytes");
            return NULL;
        }
        if (expected_size != UINT64_MAX && result->deflated.size() != expected_size) {
            delete result;
            dg_fail(status, DG_ERR_DECODE, "WRONG_SIZE", "the deflate stream rebuilt to another size than recorded");
            return NULL;
        }
    } catch (const std::bad_alloc &) {
        delete result;
        dg_fail(status, DG_ERR_NOMEM, "ENOMEM", "out of memory rebuilding a deflate stream");
        return NULL;
    } catch (...) {
        delete result;
        dg_fail(status, DG_ERR_DECODE, "RECONSTRUCT", "the deflate reconstructor failed");
        return NULL;
    }
    dg_handle_made();
    return result;
}

extern "C" size_t dg_gritti_size(const dg_gritti *result, int part)
{
    const std::vector<uint8_t> *v = dg_gritti_part(result, part);
    return v == NULL ? 0 : v->size();
}

extern "C" const uint8_t *dg_gritti_data(const dg_gritti *result, int part)
{
    const std::vector<uint8_t> *v = dg_gritti_part(result, part);
    return v == NULL || v->empty() ? NULL : v->data();
}

extern "C" void dg_gritti_free(dg_gritti *result)
{
    if (result == NULL) return;
    delete result;
    dg_handle_freed();
}

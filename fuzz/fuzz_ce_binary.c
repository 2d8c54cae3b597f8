/*
 * Binary mode.  Input: header lines "name:value\n" up to an empty line,
 * then the body; so the fuzzer controls names, values and data.
 */

#include "fuzz_common.h"

#define FUZZ_MAX_HEADERS  32


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    em_header_t   h[FUZZ_MAX_HEADERS];
    const char   *p = (const char *) data, *end = p + size, *nl, *colon;
    size_t        n = 0;

    while (p < end && n < FUZZ_MAX_HEADERS) {
        nl = memchr(p, '\n', (size_t) (end - p));
        if (nl == NULL) {
            nl = end;
        }

        if (nl == p) {
            p++;
            break;
        }

        colon = memchr(p, ':', (size_t) (nl - p));
        if (colon != NULL) {
            h[n].name = p;
            h[n].name_len = (size_t) (colon - p);
            h[n].value = colon + 1;
            h[n].value_len = (size_t) (nl - colon - 1);
            n++;
        }

        p = nl < end ? nl + 1 : end;
    }

    fuzz_request(h, n, (const uint8_t *) p, (size_t) (end - p));
    return 0;
}

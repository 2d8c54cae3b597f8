/*
 * The JSON syntax check against jansson, and the span scanner on what the
 * check accepts.  The two parsers must agree except where jansson cannot
 * represent a value (numbers out of range, NUL in a key) and where jansson
 * is lax about a raw NUL byte.
 */

#include "fuzz_common.h"

#include "json_check.h"
#include "json_scan.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char    *s = (const char *) data, *why;
    json_error_t   e;
    json_t        *j;
    em_span_t      vs, spans[8];
    size_t         pos, start;
    int            ours;

    ours = em_json_check(s, size, &pos, &why);
    FUZZ_ASSERT(ours || (why != NULL && pos <= size));

    j = json_loadb(s, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);

    /* jansson takes a raw NUL for the end of some tokens ("2\0") */
    if (j != NULL) {
        FUZZ_ASSERT(ours || memchr(s, '\0', size) != NULL);
        json_decref(j);

    } else if (ours) {
        FUZZ_ASSERT(json_error_code(&e) == json_error_numeric_overflow
                    || json_error_code(&e) == json_error_null_byte_in_key);
    }

    if (!ours) {
        return 0;
    }

    start = em_json_ws(s, size, 0);

    if (s[start] == '{') {
        FUZZ_ASSERT(em_json_member(s, size, start, "data", 4, &vs) >= 0);

    } else if (s[start] == '[') {
        FUZZ_ASSERT(em_json_elements(s, size, start, spans, 8) >= 0);
    }

    return 0;
}

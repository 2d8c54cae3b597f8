/*
 * The type checks and header decoding on arbitrary bytes.  The first byte
 * picks the check.  Accepted values must also satisfy what callers rely
 * on (e.g. a valid URI-reference is ASCII without spaces).
 */

#include "fuzz_common.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char  *s, *why;
    size_t       len, i, dlen;
    char        *dec;
    int          valid;

    if (size == 0) {
        return 0;
    }

    s = (const char *) data + 1;
    len = size - 1;
    why = NULL;

    switch (data[0] % 11) {
    case 0:  valid = em_check_string(s, len, &why); break;
    case 1:  valid = em_check_uri(s, len, &why); break;
    case 2:  valid = em_check_uri_ref(s, len, &why); break;
    case 3:  valid = em_check_timestamp(s, len, &why); break;
    case 4:  valid = em_check_integer(s, len, &why); break;
    case 5:  valid = em_check_boolean(s, len, &why); break;
    case 6:  valid = em_check_attr_name(s, len, &why); break;
    case 7:  valid = em_check_media_type(s, len, &why); break;
    case 8:  valid = em_check_traceparent(s, len, &why); break;
    case 9:  valid = em_check_tracestate(s, len, &why); break;
    default:
        dec = em_ce_header_decode(s, len, &dlen, &why);
        FUZZ_ASSERT(dec != NULL || why != NULL);
        if (dec != NULL) {
            FUZZ_ASSERT(dec[dlen] == '\0' && dlen <= len);
        }
        free(dec);
        (void) em_media_type_is_json(s, len);
        return 0;
    }

    FUZZ_ASSERT(valid == 0 || valid == 1);
    FUZZ_ASSERT(valid || why != NULL);

    if (valid && (data[0] % 11 == 1 || data[0] % 11 == 2)) {
        for (i = 0; i < len; i++) {
            FUZZ_ASSERT((unsigned char) s[i] > 0x20
                        && (unsigned char) s[i] < 0x7F);
        }
    }

    return 0;
}

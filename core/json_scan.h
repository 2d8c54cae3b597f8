/*
 * Locating spans in JSON text that jansson has already accepted: the
 * original bytes of a member's value or of array elements, which jansson
 * does not expose.
 */

#ifndef EM_CORE_JSON_SCAN_H
#define EM_CORE_JSON_SCAN_H

#include <stddef.h>

typedef struct {
    size_t  b;      /* first byte */
    size_t  e;      /* one past the last byte */
} em_span_t;

/* Index of the first non-whitespace byte at or after i. */
size_t em_json_ws(const char *s, size_t len, size_t i);

/* End of the value starting at i, or (size_t) -1 when it is malformed. */
size_t em_json_value_end(const char *s, size_t len, size_t i);

/*
 * In the object starting at s[i] == '{', the value span of member key
 * (compared after unescaping).  1 found, 0 absent, -1 malformed.
 */
int em_json_member(const char *s, size_t len, size_t i, const char *key,
    size_t key_len, em_span_t *span);

/*
 * The spans of the first n elements of the array starting at s[i] == '['.
 * Returns how many were found, or -1 when malformed.
 */
long em_json_elements(const char *s, size_t len, size_t i, em_span_t *spans,
    size_t n);

#endif /* EM_CORE_JSON_SCAN_H */

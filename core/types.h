/*
 * Type helpers beyond the public checks of ce_http.h.
 */

#ifndef EM_CORE_TYPES_H
#define EM_CORE_TYPES_H

#include <stddef.h>

/* em_check_integer() that also returns the value. */
int em_parse_int32(const char *s, size_t len, long *out, const char **why);

/* 1 when s is a valid URI-reference with a scheme (an absolute URI). */
int em_uri_ref_is_absolute(const char *s, size_t len);

#endif /* EM_CORE_TYPES_H */

/*
 * Media types (RFC 2046 names, RFC 9110 8.3.1 syntax): the pieces mode
 * detection and the data rules need beyond the public checks.
 */

#ifndef EM_CORE_MEDIATYPE_H
#define EM_CORE_MEDIATYPE_H

#include <stddef.h>

/*
 * The "type/subtype" part of a Content-Type value, leading and trailing
 * whitespace skipped, parameters dropped.  Lenient on purpose: mode
 * detection must work even on a value that later fails validation.
 */
void em_media_essence(const char *s, size_t len, const char **ess,
    size_t *ess_len);

/*
 * Finds parameter name (case-insensitive) and copies its value, unquoted,
 * NUL-terminated, into buf.  1 found, 0 absent, -1 when the parameters do
 * not parse or the value does not fit.
 */
int em_media_param(const char *s, size_t len, const char *name, char *buf,
    size_t size);

#endif /* EM_CORE_MEDIATYPE_H */

/*
 * A strict RFC 8259 syntax check that, unlike jansson, puts no limit on
 * numbers: valid JSON is valid whatever the size of its numbers.
 */

#ifndef EM_CORE_JSON_CHECK_H
#define EM_CORE_JSON_CHECK_H

#include <stddef.h>

/* Nesting deeper than this is refused (jansson's own limit). */
#define EM_JSON_MAX_DEPTH  2048

/*
 * 1 when s is exactly one JSON text (whitespace around it allowed), valid
 * UTF-8 without lone surrogate escapes.  Else 0 with *why a static reason
 * and *pos the byte offset where the text went wrong.
 */
int em_json_check(const char *s, size_t len, size_t *pos, const char **why);

#endif /* EM_CORE_JSON_CHECK_H */

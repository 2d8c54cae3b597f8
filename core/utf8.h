/*
 * Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing
 * above U+10FFFF, no truncated sequences.
 */

#ifndef EM_CORE_UTF8_H
#define EM_CORE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length of the sequence at s (1..4) with *cp set, or 0 when invalid. */
size_t em_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);

int em_utf8_valid(const char *s, size_t len);

/* The largest length <= max that does not split a sequence of s. */
size_t em_utf8_cut(const char *s, size_t len, size_t max);

/* Appends cp as UTF-8 to out (at least 4 bytes free); returns its length. */
size_t em_utf8_encode(uint32_t cp, char *out);

#endif /* EM_CORE_UTF8_H */

/*
 * Percent-encoding of ce- header values (HTTP binding 3.1.3.2, shared by
 * the NATS binding).
 */

#ifndef EM_CORE_PCT_H
#define EM_CORE_PCT_H

#include <eventmesh/em.h>

/* Appends s with space, '"', '%' and every byte outside 0x21-0x7E as %XX. */
int em_pct_encode(em_buf_t *out, const char *s, size_t len);

/*
 * One round of percent-decoding into out (hex in either case).  Returns
 * NULL or the static reason: a '%' without two hex digits.
 */
const char *em_pct_decode(em_buf_t *out, const char *s, size_t len);

#endif /* EM_CORE_PCT_H */

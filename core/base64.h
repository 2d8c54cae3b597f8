/*
 * RFC 4648 base64, standard alphabet, '=' padding required: the CloudEvents
 * Binary type and the JSON format's data_base64.
 */

#ifndef EM_CORE_BASE64_H
#define EM_CORE_BASE64_H

#include <eventmesh/em.h>

/* Appends the decoded bytes; NULL or the static reason it is not base64. */
const char *em_base64_decode(em_buf_t *out, const char *s, size_t len);

int em_base64_encode(em_buf_t *out, const void *data, size_t len);

#endif /* EM_CORE_BASE64_H */

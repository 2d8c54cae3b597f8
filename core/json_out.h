/*
 * Writing JSON text: string escaping shared by the report and the
 * structured-mode encoder.
 */

#ifndef EM_CORE_JSON_OUT_H
#define EM_CORE_JSON_OUT_H

#include <eventmesh/em.h>

/*
 * Appends s as a quoted JSON string.  s must be valid UTF-8; NUL bytes
 * and controls are written as \uXXXX.
 */
int em_json_append_string(em_buf_t *b, const char *s, size_t len);

#endif /* EM_CORE_JSON_OUT_H */

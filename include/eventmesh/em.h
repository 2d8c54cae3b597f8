/*
 * nginx Event Mesh - shared core.
 *
 * Status codes and small helpers used by every core header.  The core is
 * free of nginx types so that the nginx module and the dispatcher can both
 * link it.
 */

#ifndef EVENTMESH_EM_H
#define EVENTMESH_EM_H

#include <stddef.h>
#include <stdint.h>

/*
 * Status codes.  The HTTP mapping is the ingress's (DESIGN.md section 2):
 * EM_EINVALID 400, EM_ETOOBIG 413, EM_EMEDIA 415.
 */
typedef enum {
    EM_OK = 0,
    EM_ERROR = -1,          /* internal failure (out of memory, ...) */
    EM_EINVALID = -2,       /* input violates a rule; see em_report_t */
    EM_ETOOBIG = -3,        /* input over a configured limit */
    EM_EMEDIA = -4,         /* unsupported media type or charset */
    EM_ENOTFOUND = -5
} em_status_t;

/* A growable byte buffer owned by the caller; always NUL-terminated. */
typedef struct {
    char    *data;
    size_t   len;
    size_t   cap;
} em_buf_t;

void em_buf_init(em_buf_t *b);
void em_buf_free(em_buf_t *b);
void em_buf_reset(em_buf_t *b);
int  em_buf_reserve(em_buf_t *b, size_t extra);
int  em_buf_append(em_buf_t *b, const void *p, size_t n);
int  em_buf_append_str(em_buf_t *b, const char *s);
int  em_buf_printf(em_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif /* EVENTMESH_EM_H */

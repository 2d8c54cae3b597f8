/*
 * em_buf_t: the growable, always NUL-terminated byte buffer every encoder
 * writes into.
 */

#include <eventmesh/em.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


void
em_buf_init(em_buf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}


void
em_buf_free(em_buf_t *b)
{
    free(b->data);
    em_buf_init(b);
}


void
em_buf_reset(em_buf_t *b)
{
    b->len = 0;
    if (b->data != NULL) {
        b->data[0] = '\0';
    }
}


int
em_buf_reserve(em_buf_t *b, size_t extra)
{
    size_t  need, cap;
    char   *p;

    /* one byte more than asked so that the buffer stays NUL-terminated */
    if (extra > SIZE_MAX - b->len - 1) {
        return EM_ERROR;
    }

    need = b->len + extra + 1;
    if (need <= b->cap) {
        return EM_OK;
    }

    cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }

    p = realloc(b->data, cap);
    if (p == NULL) {
        return EM_ERROR;
    }

    if (b->data == NULL) {
        p[0] = '\0';
    }

    b->data = p;
    b->cap = cap;
    return EM_OK;
}


int
em_buf_append(em_buf_t *b, const void *p, size_t n)
{
    if (em_buf_reserve(b, n) != EM_OK) {
        return EM_ERROR;
    }

    if (n) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
    b->data[b->len] = '\0';
    return EM_OK;
}


int
em_buf_append_str(em_buf_t *b, const char *s)
{
    return em_buf_append(b, s, strlen(s));
}


int
em_buf_printf(em_buf_t *b, const char *fmt, ...)
{
    va_list  ap;
    int      n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);

    if (n < 0 || em_buf_reserve(b, (size_t) n) != EM_OK) {
        return EM_ERROR;
    }

    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
    va_end(ap);

    b->len += (size_t) n;
    return EM_OK;
}

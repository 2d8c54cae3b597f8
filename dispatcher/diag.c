/*
 * Collected "file:line: reason" diagnostics.
 */

#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>


void
em_diag_init(em_diag_t *d)
{
    memset(d, 0, sizeof(*d));
}


void
em_diag_free(em_diag_t *d)
{
    size_t  i;

    for (i = 0; i < d->n; i++) {
        free(d->items[i].file);
        free(d->items[i].msg);
    }

    free(d->items);
    em_diag_init(d);
}


void
em_diag_add(em_diag_t *d, const char *file, unsigned line,
    const char *fmt, ...)
{
    va_list          ap;
    int              len;
    char            *msg, *f;
    size_t           cap;
    em_diag_item_t  *items;

    va_start(ap, fmt);
    len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);

    if (len < 0) {
        d->lost++;
        return;
    }

    msg = malloc((size_t) len + 1);
    f = strdup(file);

    if (msg == NULL || f == NULL) {
        goto lost;
    }

    va_start(ap, fmt);
    vsnprintf(msg, (size_t) len + 1, fmt, ap);
    va_end(ap);

    if (d->n == d->cap) {
        cap = d->cap ? d->cap * 2 : 8;
        items = realloc(d->items, cap * sizeof(*items));
        if (items == NULL) {
            goto lost;
        }

        d->items = items;
        d->cap = cap;
    }

    d->items[d->n].file = f;
    d->items[d->n].line = line;
    d->items[d->n].seq = d->n + d->lost;
    d->items[d->n].msg = msg;
    d->n++;
    return;

lost:

    free(msg);
    free(f);
    d->lost++;
}


size_t
em_diag_count(const em_diag_t *d)
{
    return d->n + d->lost;
}


static int
em_diag_cmp(const void *a, const void *b)
{
    const em_diag_item_t  *x = a, *y = b;
    int                    c;

    c = strcmp(x->file, y->file);
    if (c != 0) {
        return c;
    }

    if (x->line != y->line) {
        return x->line < y->line ? -1 : 1;
    }

    return x->seq < y->seq ? -1 : (x->seq > y->seq);
}


void
em_diag_print(em_diag_t *d, FILE *out)
{
    size_t  i;

    if (d->n > 1) {
        qsort(d->items, d->n, sizeof(d->items[0]), em_diag_cmp);
    }

    for (i = 0; i < d->n; i++) {
        if (d->items[i].line) {
            fprintf(out, "%s:%u: %s\n", d->items[i].file, d->items[i].line,
                    d->items[i].msg);

        } else {
            fprintf(out, "%s: %s\n", d->items[i].file, d->items[i].msg);
        }
    }

    if (d->lost) {
        fprintf(out, "(%zu more problems could not be shown: out of memory)\n",
                d->lost);
    }
}


void
em_diag_quote(char *dst, size_t size, const char *s, size_t len, size_t max)
{
    static const char     hex[] = "0123456789abcdef";
    const unsigned char  *p = (const unsigned char *) s;
    size_t                i, n, cut;
    char                  esc[5];
    size_t                elen;

    if (size == 0) {
        return;
    }

    cut = len > max ? max : len;
    n = 0;

    /* room is checked for the worst escape plus "\"...\"" and the NUL */
#define EM_QUOTE_PUT(c)  do { if (n + 1 < size) dst[n++] = (c); } while (0)

    EM_QUOTE_PUT('"');

    for (i = 0; i < cut; i++) {
        if (p[i] == '"' || p[i] == '\\') {
            esc[0] = '\\';
            esc[1] = (char) p[i];
            elen = 2;

        } else if (p[i] == '\n') {
            memcpy(esc, "\\n", 2);
            elen = 2;

        } else if (p[i] == '\t') {
            memcpy(esc, "\\t", 2);
            elen = 2;

        } else if (p[i] < 0x20 || p[i] >= 0x7f) {
            esc[0] = '\\';
            esc[1] = 'x';
            esc[2] = hex[p[i] >> 4];
            esc[3] = hex[p[i] & 0xf];
            elen = 4;

        } else {
            esc[0] = (char) p[i];
            elen = 1;
        }

        if (n + elen + 5 > size) {
            cut = i;
            len = i + 1;
            break;
        }

        memcpy(dst + n, esc, elen);
        n += elen;
    }

    EM_QUOTE_PUT('"');

    if (cut < len) {
        EM_QUOTE_PUT('.');
        EM_QUOTE_PUT('.');
        EM_QUOTE_PUT('.');
    }

#undef EM_QUOTE_PUT

    dst[n] = '\0';
}


void
em_diag_quote_name(char *dst, size_t size, const char *s, size_t len,
    size_t max)
{
    size_t  i;

    for (i = 0; i < len && i < max; i++) {
        if (s[i] <= ' ' || s[i] >= 0x7f || s[i] == '\'' || s[i] == '"'
            || s[i] == '\\')
        {
            break;
        }
    }

    if (len > 0 && i == len && len + 3 <= size) {
        snprintf(dst, size, "'%.*s'", (int) len, s);
        return;
    }

    em_diag_quote(dst, size, s, len, max);
}

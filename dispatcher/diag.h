/*
 * Diagnostics about the files the dispatcher reads (dispatcher.yaml, and
 * later the Trigger files): "file:line: reason", collected so that a user
 * sees every problem of a file at once, not only the first.
 */

#ifndef EM_DISPATCHER_DIAG_H
#define EM_DISPATCHER_DIAG_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
    char      *file;
    unsigned   line;            /* 1-based; 0 when the file as a whole */
    size_t     seq;             /* order of discovery, for a stable sort */
    char      *msg;
} em_diag_item_t;

typedef struct {
    em_diag_item_t  *items;
    size_t           n;
    size_t           cap;
    size_t           lost;      /* items dropped for lack of memory */
} em_diag_t;

void em_diag_init(em_diag_t *d);
void em_diag_free(em_diag_t *d);

void em_diag_add(em_diag_t *d, const char *file, unsigned line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Number of problems recorded, including those lost to memory shortage. */
size_t em_diag_count(const em_diag_t *d);

/* Prints "file:line: msg" lines, by file and line, in discovery order. */
void em_diag_print(em_diag_t *d, FILE *out);

/*
 * Writes s as a double-quoted, escaped and possibly shortened string fit
 * to quote user input in a message: control bytes, quotes, backslashes
 * and bytes that are not printable ASCII come out as escapes, and the
 * result is cut after max input bytes with "...".  Always NUL-terminates.
 */
void em_diag_quote(char *dst, size_t size, const char *s, size_t len,
    size_t max);

/*
 * A key or name for a message: 'name' when it is a plain word, else as
 * em_diag_quote() writes it.
 */
void em_diag_quote_name(char *dst, size_t size, const char *s, size_t len,
    size_t max);

/* The buffer em_diag_quote() and em_diag_quote_name() need. */
#define EM_DIAG_QUOTE_SIZE(max)  ((max) * 4 + 8)

#endif /* EM_DISPATCHER_DIAG_H */

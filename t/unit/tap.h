/*
 * A tiny TAP producer for the C unit tests: "ok N - name" lines and a
 * trailing plan.  tap_done() is the program's exit status.
 */

#ifndef EM_TAP_H
#define EM_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int  tap_count;
static int  tap_failed;

__attribute__((unused, format(printf, 2, 3)))
static int
ok(int cond, const char *fmt, ...)
{
    va_list  ap;

    tap_count++;
    printf("%sok %d - ", cond ? "" : "not ", tap_count);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");

    if (!cond) {
        tap_failed++;
    }

    fflush(stdout);
    return cond;
}

__attribute__((unused, format(printf, 1, 2)))
static void
diag(const char *fmt, ...)
{
    va_list  ap;

    printf("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

/* String equality; NULLs compare equal only to each other. */
__attribute__((unused, format(printf, 3, 4)))
static int
is_str(const char *got, const char *want, const char *fmt, ...)
{
    va_list  ap;
    char     name[512];
    int      cond;

    va_start(ap, fmt);
    vsnprintf(name, sizeof(name), fmt, ap);
    va_end(ap);

    cond = (got == NULL && want == NULL)
           || (got != NULL && want != NULL && strcmp(got, want) == 0);

    ok(cond, "%s", name);
    if (!cond) {
        diag("     got: %s%s%s", got ? "'" : "", got ? got : "NULL",
             got ? "'" : "");
        diag("expected: %s%s%s", want ? "'" : "", want ? want : "NULL",
             want ? "'" : "");
    }

    return cond;
}

__attribute__((unused, format(printf, 3, 4)))
static int
is_long(long got, long want, const char *fmt, ...)
{
    va_list  ap;
    char     name[512];

    va_start(ap, fmt);
    vsnprintf(name, sizeof(name), fmt, ap);
    va_end(ap);

    ok(got == want, "%s", name);
    if (got != want) {
        diag("     got: %ld", got);
        diag("expected: %ld", want);
    }

    return got == want;
}

__attribute__((unused))
static int
tap_done(void)
{
    printf("1..%d\n", tap_count);
    return tap_failed ? 1 : 0;
}

#endif /* EM_TAP_H */

/*
 * Counting, and on demand failing, allocations in a unit test: proves
 * that a hot path allocates nothing, and that every allocation failure
 * is handled.  Not under ASan, which owns malloc; COUNT_ALLOCS says
 * whether the counts are real.
 *
 * allocs counts malloc, calloc and realloc calls; the one numbered
 * alloc_fail_at (from 0, -1 for none) returns NULL.
 */

#ifndef EM_ALLOC_COUNT_H
#define EM_ALLOC_COUNT_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define COUNT_ALLOCS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COUNT_ALLOCS 0
#endif
#endif

#ifndef COUNT_ALLOCS
#define COUNT_ALLOCS 1
#endif

#if COUNT_ALLOCS

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);

static long  allocs;
static long  alloc_fail_at = -1;

static int
alloc_fails(void)
{
    return allocs++ == alloc_fail_at;
}

void *
malloc(size_t size)
{
    return alloc_fails() ? NULL : __libc_malloc(size);
}

void *
calloc(size_t n, size_t size)
{
    return alloc_fails() ? NULL : __libc_calloc(n, size);
}

void *
realloc(void *p, size_t size)
{
    return alloc_fails() ? NULL : __libc_realloc(p, size);
}

#endif

#endif /* EM_ALLOC_COUNT_H */

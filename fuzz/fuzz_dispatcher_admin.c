/*
 * libFuzzer target: the admin server's request parser, fed the way the
 * server feeds it (the buffer as it grows, then the rest after each
 * complete head), the path decoder, and the Retry-After parser.
 */

#include "admin.h"
#include "retry.h"

#include <stdint.h>
#include <string.h>

#define FUZZ_ASSERT(c)  do { if (!(c)) { __builtin_trap(); } } while (0)


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    em_admin_req_t   req;
    const char      *why, *p;
    char             path[EM_ADMIN_TARGET_MAX + 1];
    size_t           len, n;
    int64_t          ns;
    int              rc;

    p = (const char *) data;
    len = size;

    /* back-to-back requests, as a keep-alive connection delivers them */
    while (len > 0) {
        rc = em_admin_parse(p, len, &req, &why);

        if (rc <= 0) {
            FUZZ_ASSERT(rc == 0 || why != NULL);
            FUZZ_ASSERT(rc == 0 || rc == -400 || rc == -405 || rc == -414
                        || rc == -431 || rc == -505);
            break;
        }

        FUZZ_ASSERT((size_t) rc <= len && rc <= EM_ADMIN_HEAD_MAX);
        FUZZ_ASSERT(req.path_len <= EM_ADMIN_TARGET_MAX
                    && req.path[0] == '/'
                    && strlen(req.path) == req.path_len);

        memcpy(path, req.path, req.path_len + 1);
        n = req.path_len;
        if (em_admin_pct_decode(path, &n) == 0) {
            FUZZ_ASSERT(n <= req.path_len && strlen(path) == n);
        }

        p += rc;
        len -= (size_t) rc;
    }

    if (size < 64) {
        (void) em_retry_after_parse((const char *) data, size, 1714557600,
                                    &ns);
    }

    return 0;
}

/*
 * Event ids of legacy events: the client's, when it matches Kyma's UUID
 * pattern, or a random version 4 UUID.
 */

#include "legacy_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>


static int
em_hexdigit(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
           || (c >= 'A' && c <= 'F');
}


int
em_legacy_uuid_ok(const char *s, size_t len)
{
    size_t  i;

    if (len != 36) {
        return 0;
    }

    for (i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') {
                return 0;
            }

        } else if (!em_hexdigit(s[i])) {
            return 0;
        }
    }

    return 1;
}


/* n random bytes from the kernel, falling back to /dev/urandom. */
static int
em_random(unsigned char *p, size_t n)
{
    ssize_t  r;
    size_t   got;
    int      fd;

    for (got = 0; got < n; ) {
        r = getrandom(p + got, n - got, 0);
        if (r > 0) {
            got += (size_t) r;
            continue;
        }

        if (r < 0 && errno == EINTR) {
            continue;
        }

        break;
    }

    if (got == n) {
        return EM_OK;
    }

    fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return EM_ERROR;
    }

    while (got < n) {
        r = read(fd, p + got, n - got);
        if (r > 0) {
            got += (size_t) r;
            continue;
        }

        if (r < 0 && errno == EINTR) {
            continue;
        }

        break;
    }

    close(fd);

    return got == n ? EM_OK : EM_ERROR;
}


int
em_legacy_uuid_new(char out[37])
{
    static const char  hex[] = "0123456789abcdef";
    unsigned char      u[16];
    size_t             i, k;

    if (em_random(u, sizeof(u)) != EM_OK) {
        return EM_ERROR;
    }

    /* RFC 9562: version 4, variant 10 */
    u[6] = (unsigned char) ((u[6] & 0x0F) | 0x40);
    u[8] = (unsigned char) ((u[8] & 0x3F) | 0x80);

    for (i = 0, k = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out[k++] = '-';
        }
        out[k++] = hex[u[i] >> 4];
        out[k++] = hex[u[i] & 0xF];
    }

    out[k] = '\0';
    return EM_OK;
}

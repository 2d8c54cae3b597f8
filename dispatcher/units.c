/*
 * Durations and sizes, parsed exactly: no floating point, so that what a
 * user wrote and what JetStream stores compare equal on the next run.
 */

#include "units.h"

#include <stdio.h>
#include <string.h>


#define EM_DURATION_SYNTAX \
    "is not a duration (use 24h, 90m, 2m30s or 500ms)"

#define EM_SIZE_SYNTAX \
    "is not a size (use 1Gi, 512Mi, 100M or bytes)"


/* 128-bit intermediates keep exact arithmetic simple (GCC and clang) */
__extension__ typedef unsigned __int128  em_u128_t;


typedef struct {
    const char  *name;
    size_t       len;
    int64_t      ns;
} em_duration_unit_t;


static const em_duration_unit_t  em_duration_units[] = {
    { "ns", 2, 1 },
    { "us", 2, 1000 },
    { "\xc2\xb5s", 3, 1000 },         /* U+00B5 micro sign */
    { "\xce\xbcs", 3, 1000 },         /* U+03BC greek small letter mu */
    { "ms", 2, EM_NS_PER_MS },
    { "s", 1, EM_NS_PER_SEC },
    { "m", 1, 60 * EM_NS_PER_SEC },
    { "h", 1, 3600 * EM_NS_PER_SEC },
};


#define EM_NUNITS  (sizeof(em_duration_units) / sizeof(em_duration_units[0]))


static int
em_is_digit(char c)
{
    return c >= '0' && c <= '9';
}


int
em_duration_parse(const char *s, size_t len, int64_t *ns, const char **why)
{
    const char  *p, *end, *u;
    uint64_t     total, whole, frac, scale, part, unit;
    size_t       i, ulen;
    int          digits;

    p = s;
    end = s + len;

    if (len > 0 && (*p == '-' || *p == '+')) {
        *why = *p == '-' ? "must not be negative"
                         : "is not a duration (drop the '+')";
        return -1;
    }

    if (len == 1 && *p == '0') {
        *ns = 0;
        return 0;
    }

    if (len == 0) {
        *why = EM_DURATION_SYNTAX;
        return -1;
    }

    total = 0;

    while (p < end) {
        whole = 0;
        digits = 0;

        while (p < end && em_is_digit(*p)) {
            if (whole > (UINT64_MAX - 9) / 10) {
                goto too_long;
            }

            whole = whole * 10 + (uint64_t) (*p++ - '0');
            digits++;
        }

        frac = 0;
        scale = 1;

        if (p < end && *p == '.') {
            p++;

            while (p < end && em_is_digit(*p)) {
                /* digits beyond nanosecond precision of an hour are noise */
                if (scale <= UINT64_C(1000000000000000)) {
                    frac = frac * 10 + (uint64_t) (*p - '0');
                    scale *= 10;
                }

                p++;
                digits++;
            }
        }

        if (digits == 0) {
            *why = EM_DURATION_SYNTAX;
            return -1;
        }

        u = p;
        while (p < end && *p != '.' && !em_is_digit(*p)) {
            p++;
        }

        ulen = (size_t) (p - u);
        unit = 0;

        for (i = 0; i < EM_NUNITS; i++) {
            if (em_duration_units[i].len == ulen
                && memcmp(em_duration_units[i].name, u, ulen) == 0)
            {
                unit = (uint64_t) em_duration_units[i].ns;
                break;
            }
        }

        if (unit == 0) {
            *why = ulen == 0
                   ? "has no unit (use 24h, 90m, 2m30s or 500ms)"
                   : EM_DURATION_SYNTAX;
            return -1;
        }

        if (whole > (uint64_t) INT64_MAX / unit) {
            goto too_long;
        }

        /* truncated like Go's; frac * unit needs more than 64 bits */
        part = whole * unit
               + (uint64_t) ((em_u128_t) frac * unit / scale);

        if (part > (uint64_t) INT64_MAX - total) {
            goto too_long;
        }

        total += part;
    }

    *ns = (int64_t) total;
    return 0;

too_long:

    *why = "is too long (at most 2562047h)";
    return -1;
}


void
em_duration_format(int64_t ns, char *buf, size_t size)
{
    static const struct {
        const char  *name;
        int64_t      ns;
    } parts[] = {
        { "h", 3600 * EM_NS_PER_SEC },
        { "m", 60 * EM_NS_PER_SEC },
        { "s", EM_NS_PER_SEC },
        { "ms", EM_NS_PER_MS },
        { "us", 1000 },
        { "ns", 1 },
    };

    size_t   i, n;
    int64_t  q;
    int      r;

    if (size == 0) {
        return;
    }

    buf[0] = '\0';

    if (ns <= 0) {
        snprintf(buf, size, "%s", ns == 0 ? "0s" : "negative");
        return;
    }

    n = 0;

    for (i = 0; i < sizeof(parts) / sizeof(parts[0]) && ns > 0; i++) {
        q = ns / parts[i].ns;
        if (q == 0) {
            continue;
        }

        ns -= q * parts[i].ns;

        r = snprintf(buf + n, size - n, "%lld%s", (long long) q,
                     parts[i].name);
        if (r < 0 || (size_t) r >= size - n) {
            return;
        }

        n += (size_t) r;
    }
}


/* index of c in set (not NUL-terminated), or -1 */
static int
em_index_of(const char *set, size_t n, char c)
{
    const char  *p;

    p = memchr(set, c, n);
    return p ? (int) (p - set) : -1;
}


int
em_size_parse(const char *s, size_t len, int64_t *bytes, const char **why)
{
    const char  *p, *end, *suf;
    em_u128_t    m, limit, bound, five;
    unsigned     frac_digits, sig_digits, shift, twos, i;
    int          exp10, e, esign, any, k, seen_dot;
    size_t       slen;

    p = s;
    end = s + len;

    if (len > 0 && *p == '-') {
        *why = "must not be negative";
        return -1;
    }

    if (len > 0 && *p == '+') {
        p++;
    }

    /* the digits, integer and fraction, as one integer m */
    m = 0;
    frac_digits = 0;
    sig_digits = 0;
    seen_dot = 0;
    any = 0;

    for ( ;; ) {
        while (p < end && em_is_digit(*p)) {
            if (m != 0 || *p != '0') {
                if (++sig_digits > 30) {
                    *why = "has too many digits";
                    return -1;
                }
            }

            m = m * 10 + (unsigned) (*p++ - '0');
            frac_digits += seen_dot;
            any = 1;
        }

        if (p < end && *p == '.' && !seen_dot) {
            seen_dot = 1;
            p++;
            continue;
        }

        break;
    }

    if (!any) {
        *why = EM_SIZE_SYNTAX;
        return -1;
    }

    suf = p;
    slen = (size_t) (end - p);
    exp10 = -(int) frac_digits;
    shift = 0;

    if (slen == 0) {
        /* plain bytes */

    } else if (slen == 2 && suf[1] == 'i'
               && (k = em_index_of("KMGTPE", 6, suf[0])) >= 0)
    {
        shift = 10 * (unsigned) (k + 1);

    } else if (slen == 1 && (k = em_index_of("kMGTPE", 6, suf[0])) >= 0) {
        exp10 += 3 * (k + 1);

    } else if (slen >= 2 && (suf[0] == 'e' || suf[0] == 'E')) {
        p = suf + 1;
        esign = 1;
        if (*p == '-' || *p == '+') {
            esign = *p == '-' ? -1 : 1;
            p++;
        }

        if (p == end) {
            *why = EM_SIZE_SYNTAX;
            return -1;
        }

        e = 0;
        while (p < end && em_is_digit(*p)) {
            if (e < 1000) {
                e = e * 10 + (*p - '0');
            }
            p++;
        }

        if (p != end) {
            *why = EM_SIZE_SYNTAX;
            return -1;
        }

        exp10 += esign * e;

    } else if (slen == 1 && em_index_of("munK", 4, suf[0]) >= 0) {
        /* the usual slips: milli/micro/nano bytes, or K for k */
        *why = suf[0] == 'K'
               ? "is not a size: K is not a unit (use k for 1000 or Ki "
                 "for 1024)"
               : "is not a whole number of bytes (m, u and n are "
                 "fractions: did you mean M or Mi?)";
        return -1;

    } else {
        *why = EM_SIZE_SYNTAX;
        return -1;
    }

    if (m == 0) {
        *bytes = 0;
        return 0;
    }

    /*
     * value = m * 2^shift * 10^exp10, with m < 10^30.  A negative power of
     * ten must divide out exactly: the 5s come out of m first, the 2s
     * after the shift, and the bound keeps every step within 128 bits.
     */
    limit = (em_u128_t) INT64_MAX;

    if (exp10 < 0) {
        if (exp10 < -40) {
            goto fraction;
        }

        twos = (unsigned) -exp10;

        five = 1;
        for (i = 0; i < twos; i++) {
            five *= 5;
        }

        if (m % five != 0) {
            goto fraction;
        }

        m /= five;

        bound = limit << twos;
        for (i = 0; i < shift; i++) {
            m <<= 1;
            if (m > bound) {
                goto too_large;
            }
        }

        if (m % ((em_u128_t) 1 << twos) != 0) {
            goto fraction;
        }

        m >>= twos;

    } else {
        for (i = 0; i < (unsigned) exp10; i++) {
            m *= 10;
            if (m > limit) {
                goto too_large;
            }
        }

        for (i = 0; i < shift; i++) {
            m <<= 1;
            if (m > limit) {
                goto too_large;
            }
        }
    }

    if (m > limit) {
        goto too_large;
    }

    *bytes = (int64_t) m;
    return 0;

fraction:

    *why = "is not a whole number of bytes";
    return -1;

too_large:

    *why = "is too large (at most 8Ei - 1 bytes)";
    return -1;
}


void
em_size_format(int64_t bytes, char *buf, size_t size)
{
    static const char  bin[] = "KMGTPE";
    static const char  dec[] = "kMGTPE";
    char               b[EM_UNITS_FORMAT_SIZE], d[EM_UNITS_FORMAT_SIZE];
    int                i;
    int64_t            p;

    snprintf(b, sizeof(b), "%lld", (long long) bytes);
    snprintf(d, sizeof(d), "%lld", (long long) bytes);

    if (bytes > 0) {
        for (i = 5; i >= 0; i--) {
            if (bytes % (INT64_C(1) << (10 * (i + 1))) == 0) {
                snprintf(b, sizeof(b), "%lld%ci",
                         (long long) (bytes >> (10 * (i + 1))), bin[i]);
                break;
            }
        }

        p = INT64_C(1000000000000000000);
        for (i = 5; i >= 0; i--, p /= 1000) {
            if (bytes % p == 0) {
                snprintf(d, sizeof(d), "%lld%c", (long long) (bytes / p),
                         dec[i]);
                break;
            }
        }
    }

    /* the shorter spelling; binary on a tie, as sizes usually are */
    snprintf(buf, size, "%s", strlen(d) < strlen(b) ? d : b);
}

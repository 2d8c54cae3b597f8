/*
 * ISO 8601 durations for a Trigger's delivery spec (backoffDelay, timeout,
 * retryAfterMax), parsed into exact nanoseconds: no floating point, so
 * PT0.1S is 100000000 ns and not a rounding of it.
 */

#include "trigger.h"

#include <stdio.h>
#include <string.h>


#define EM_ISO_SYNTAX \
    "is not an ISO 8601 duration (use PT0.2S, PT10S, PT1M30S or P1D)"

#define EM_NS_SEC   INT64_C(1000000000)


__extension__ typedef unsigned __int128  em_iso_u128_t;


typedef struct {
    char      designator;
    int       time_part;        /* after the 'T' */
    int64_t   ns;               /* 0: refused (no fixed length) */
} em_iso_unit_t;


/* In the order ISO 8601 requires them. */
static const em_iso_unit_t  em_iso_units[] = {
    { 'Y', 0, 0 },
    { 'M', 0, 0 },
    { 'W', 0, 7 * 86400 * EM_NS_SEC },
    { 'D', 0, 86400 * EM_NS_SEC },
    { 'H', 1, 3600 * EM_NS_SEC },
    { 'M', 1, 60 * EM_NS_SEC },
    { 'S', 1, EM_NS_SEC },
};

#define EM_ISO_NUNITS  (sizeof(em_iso_units) / sizeof(em_iso_units[0]))


int
em_iso8601_duration_parse(const char *s, size_t len, int64_t *ns,
    const char **why)
{
    const char     *p, *end;
    size_t          u, next;
    int             in_time, digits, have_frac, components;
    uint64_t        whole, frac, scale;
    em_iso_u128_t   total, part;

    p = s;
    end = s + len;

    if (len > 0 && *p == '-') {
        *why = "must not be negative";
        return -1;
    }

    if (len == 0 || *p != 'P') {
        *why = EM_ISO_SYNTAX;
        return -1;
    }

    p++;
    in_time = 0;
    next = 0;
    components = 0;
    have_frac = 0;
    total = 0;

    while (p < end) {
        if (*p == 'T') {
            if (in_time) {
                *why = EM_ISO_SYNTAX;
                return -1;
            }

            in_time = 1;
            p++;

            if (p == end) {
                *why = "has a 'T' with nothing after it (e.g. PT10S)";
                return -1;
            }

            continue;
        }

        if (have_frac) {
            *why = "has a fraction before its last component (only the "
                   "last one may have one, e.g. PT1M30.5S)";
            return -1;
        }

        whole = 0;
        digits = 0;

        while (p < end && *p >= '0' && *p <= '9') {
            if (whole > (UINT64_MAX - 9) / 10) {
                *why = "is too long";
                return -1;
            }

            whole = whole * 10 + (uint64_t) (*p++ - '0');
            digits++;
        }

        if (digits == 0) {
            *why = EM_ISO_SYNTAX;
            return -1;
        }

        frac = 0;
        scale = 1;

        if (p < end && (*p == '.' || *p == ',')) {
            p++;
            digits = 0;

            while (p < end && *p >= '0' && *p <= '9') {
                /* below a nanosecond of a week, digits change nothing */
                if (scale <= UINT64_C(100000000000000000)) {
                    frac = frac * 10 + (uint64_t) (*p - '0');
                    scale *= 10;
                }

                p++;
                digits++;
            }

            if (digits == 0) {
                *why = EM_ISO_SYNTAX;
                return -1;
            }

            have_frac = 1;
        }

        if (p == end) {
            *why = "has a number without a unit (e.g. PT10S, P1D)";
            return -1;
        }

        for (u = next; u < EM_ISO_NUNITS; u++) {
            if (em_iso_units[u].designator == *p
                && em_iso_units[u].time_part == in_time)
            {
                break;
            }
        }

        if (u == EM_ISO_NUNITS) {
            if (!in_time && (*p == 'H' || *p == 'S')) {
                *why = "needs a 'T' before hours, minutes and seconds "
                       "(e.g. PT10S, P1DT12H)";

            } else if (*p >= 'a' && *p <= 'z') {
                *why = "must use upper-case designators (e.g. PT10S)";

            } else {
                *why = EM_ISO_SYNTAX;
            }

            return -1;
        }

        if (em_iso_units[u].ns == 0) {
            *why = "uses years or months, which have no fixed length: use "
                   "days (P30D) or weeks (P4W)";
            return -1;
        }

        p++;
        next = u + 1;
        components++;

        part = (em_iso_u128_t) whole * (uint64_t) em_iso_units[u].ns
               + (em_iso_u128_t) frac * (uint64_t) em_iso_units[u].ns / scale;
        total += part;

        if (total > (em_iso_u128_t) INT64_MAX) {
            *why = "is too long (at most about 292 years)";
            return -1;
        }
    }

    if (components == 0) {
        *why = EM_ISO_SYNTAX;
        return -1;
    }

    *ns = (int64_t) total;
    return 0;
}


void
em_iso8601_duration_format(int64_t ns, char *buf, size_t size)
{
    int64_t  days, hours, mins, secs, frac;
    size_t   n;
    int      w;
    char     digits[16];

    if (size == 0) {
        return;
    }

    if (ns <= 0) {
        snprintf(buf, size, "PT0S");
        return;
    }

    days = ns / (86400 * EM_NS_SEC);
    ns %= 86400 * EM_NS_SEC;
    hours = ns / (3600 * EM_NS_SEC);
    ns %= 3600 * EM_NS_SEC;
    mins = ns / (60 * EM_NS_SEC);
    ns %= 60 * EM_NS_SEC;
    secs = ns / EM_NS_SEC;
    frac = ns % EM_NS_SEC;

    n = 0;

#define EM_ISO_PUT(...)                                                      \
    do {                                                                     \
        w = snprintf(buf + n, size - n, __VA_ARGS__);                        \
        if (w < 0 || (size_t) w >= size - n) {                               \
            return;                                                          \
        }                                                                    \
        n += (size_t) w;                                                     \
    } while (0)

    EM_ISO_PUT("P");

    if (days) {
        EM_ISO_PUT("%lldD", (long long) days);
    }

    if (hours || mins || secs || frac) {
        EM_ISO_PUT("T");

        if (hours) {
            EM_ISO_PUT("%lldH", (long long) hours);
        }

        if (mins) {
            EM_ISO_PUT("%lldM", (long long) mins);
        }

        if (frac) {
            /* nine digits, trailing zeros dropped */
            snprintf(digits, sizeof(digits), "%09lld", (long long) frac);
            w = 9;
            while (w > 1 && digits[w - 1] == '0') {
                w--;
            }
            digits[w] = '\0';
            EM_ISO_PUT("%lld.%sS", (long long) secs, digits);

        } else if (secs) {
            EM_ISO_PUT("%lldS", (long long) secs);
        }
    }

#undef EM_ISO_PUT
}

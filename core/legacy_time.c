/*
 * event-time as Kyma checks it: Go's time.Parse(time.RFC3339, ...).  Go
 * is stricter than RFC 3339 in places (upper-case 'T' and 'Z' only, no
 * leap second) and laxer in others (a one-digit hour, ',' before the
 * fraction, offsets up to 24:60), and Kyma clients may depend on either.
 */

#include "legacy_int.h"


static int
em_t_digits(const char *s, size_t len, size_t i, size_t n, int *v)
{
    size_t  k;

    if (i > len || len - i < n) {
        return 0;
    }

    *v = 0;
    for (k = 0; k < n; k++) {
        if (s[i + k] < '0' || s[i + k] > '9') {
            return 0;
        }
        *v = *v * 10 + (s[i + k] - '0');
    }

    return 1;
}


static int
em_t_days_in(int y, int m)
{
    static const int  dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
                                31 };

    if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) {
        return 29;
    }

    return dim[m - 1];
}


/* Days since 1970-01-01 of a proleptic Gregorian date. */
static long long
em_t_days_from_civil(long long y, int m, int d)
{
    long long  era, yoe, doy, doe;

    /* years start in March so that the leap day ends them */
    y -= (m <= 2);
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}


static void
em_t_civil_from_days(long long z, long long *y, int *m, int *d)
{
    long long  era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;

    *d = (int) (doy - (153 * mp + 2) / 5 + 1);
    *m = (int) (mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}


int
em_go_rfc3339(const char *s, size_t len, em_buf_t *canon, int *range_ok)
{
    int        y, mo, d, h, mi, sec, oh, om, strict, neg, ns, um, ud;
    size_t     i, fb, fe, k;
    long long  t, days, yy;
    char       frac[11];   /* "." nine digits NUL */

    em_buf_reset(canon);
    *range_ok = 1;
    strict = 1;

    if (!em_t_digits(s, len, 0, 4, &y) || len < 5 || s[4] != '-'
        || !em_t_digits(s, len, 5, 2, &mo) || len < 8 || s[7] != '-'
        || !em_t_digits(s, len, 8, 2, &d) || len < 11 || s[10] != 'T')
    {
        return 0;
    }

    /* the hour is Go's "15": one digit or two */
    if (!em_t_digits(s, len, 11, 1, &h)) {
        return 0;
    }

    i = 12;
    if (i < len && s[i] >= '0' && s[i] <= '9') {
        h = h * 10 + (s[i] - '0');
        i++;

    } else {
        strict = 0;
    }

    if (i >= len || s[i] != ':' || !em_t_digits(s, len, i + 1, 2, &mi)
        || i + 3 >= len || s[i + 3] != ':'
        || !em_t_digits(s, len, i + 4, 2, &sec))
    {
        return 0;
    }

    i += 6;

    fb = fe = i;
    if (len - i >= 2 && (s[i] == '.' || s[i] == ',') && s[i + 1] >= '0'
        && s[i + 1] <= '9')
    {
        if (s[i] == ',') {
            strict = 0;
        }

        fb = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            i++;
        }
        fe = i;
    }

    oh = 0;
    om = 0;
    neg = 0;

    if (i < len && s[i] == 'Z') {
        i++;

    } else {
        if (len - i < 6 || s[i + 3] != ':' || (s[i] != '+' && s[i] != '-')
            || !em_t_digits(s, len, i + 1, 2, &oh)
            || !em_t_digits(s, len, i + 4, 2, &om))
        {
            return 0;
        }

        /* Go allows 24 hours and 60 minutes here; RFC 3339 does not */
        if (oh > 24 || om > 60) {
            return 0;
        }

        if (oh > 23 || om > 59) {
            strict = 0;
        }

        neg = (s[i] == '-');
        i += 6;
    }

    if (i != len || mo < 1 || mo > 12 || h > 23 || mi > 59 || sec > 59) {
        return 0;
    }

    if (d < 1 || d > em_t_days_in(y, mo)) {
        return 0;
    }

    if (strict) {
        return 1;
    }

    /* Go keeps nine digits of the fraction, cut, not rounded */
    ns = 0;
    for (k = fb; k < fe && k - fb < 9; k++) {
        ns = ns * 10 + (s[k] - '0');
    }
    for ( ; k - fb < 9; k++) {
        ns *= 10;
    }

    days = em_t_days_from_civil(y, mo, d);
    t = days * 86400 + h * 3600 + mi * 60 + sec;
    t += (neg ? 1 : -1) * (long long) (oh * 3600 + om * 60);

    days = (t >= 0 ? t : t - 86399) / 86400;
    t -= days * 86400;
    em_t_civil_from_days(days, &yy, &um, &ud);

    if (yy < 0 || yy > 9999) {
        *range_ok = 0;
        return 1;
    }

    /* RFC3339Nano: the fraction without trailing zeros, none when zero */
    frac[0] = '\0';
    if (ns != 0) {
        k = 9;
        while (ns % 10 == 0) {
            ns /= 10;
            k--;
        }
        frac[0] = '.';
        for (i = k; i > 0; i--) {
            frac[i] = (char) ('0' + ns % 10);
            ns /= 10;
        }
        frac[k + 1] = '\0';
    }

    if (em_buf_printf(canon, "%04lld-%02d-%02dT%02lld:%02lld:%02lld%sZ", yy,
                      um, ud, t / 3600, t % 3600 / 60, t % 60, frac)
        != EM_OK)
    {
        return -1;
    }

    return 1;
}

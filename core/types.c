/*
 * The CloudEvents type system (spec.md "Type System") as checks on the
 * canonical string form of a value.  Each check names the first rule the
 * value breaks, in words a sender can act on.
 */

#include <eventmesh/ce_http.h>

#include "types.h"
#include "utf8.h"

#include <arpa/inet.h>
#include <string.h>


int
em_check_string(const char *s, size_t len, const char **why)
{
    const unsigned char  *p = (const unsigned char *) s;
    uint32_t              cp;
    size_t                i, n;

    for (i = 0; i < len; i += n) {
        n = em_utf8_decode(p + i, len - i, &cp);
        if (n == 0) {
            *why = "must be valid UTF-8";
            return 0;
        }

        if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
            *why = "must not contain control characters (U+0000-U+001F, "
                   "U+007F-U+009F)";
            return 0;
        }

        if ((cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE) {
            *why = "must not contain Unicode noncharacters (U+FDD0-U+FDEF, "
                   "U+xxFFFE, U+xxFFFF)";
            return 0;
        }
    }

    return 1;
}


/* RFC 3986 character classes */

static int
em_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}


static int
em_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}


static int
em_hex(unsigned char c)
{
    return em_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}


static int
em_unreserved(unsigned char c)
{
    return em_alpha(c) || em_digit(c) || c == '-' || c == '.' || c == '_'
           || c == '~';
}


static int
em_subdelim(unsigned char c)
{
    return c != '\0' && strchr("!$&'()*+,;=", c) != NULL;
}


/*
 * Checks s[b..e) against *( unreserved / pct-encoded / sub-delims /
 * extra ), extra being the characters the component adds.
 */
static int
em_uri_chars(const char *s, size_t b, size_t e, const char *extra,
    const char **why)
{
    size_t  i;

    for (i = b; i < e; i++) {
        unsigned char  c = (unsigned char) s[i];

        if (c == '%') {
            if (e - i < 3 || !em_hex((unsigned char) s[i + 1])
                || !em_hex((unsigned char) s[i + 2]))
            {
                *why = "'%' must be followed by two hex digits (RFC 3986 "
                       "2.1)";
                return 0;
            }
            i += 2;
            continue;
        }

        if (em_unreserved(c) || em_subdelim(c)
            || (c != '\0' && strchr(extra, c) != NULL))
        {
            continue;
        }

        if (c == ' ') {
            *why = "must not contain spaces; percent-encode them as %20 "
                   "(RFC 3986)";

        } else if (c >= 0x80) {
            *why = "must be ASCII; percent-encode other characters "
                   "(RFC 3986 2.1)";

        } else {
            *why = "contains a character not allowed at that place in a "
                   "URI (RFC 3986)";
        }

        return 0;
    }

    return 1;
}


static int
em_uri_ip_literal(const char *s, size_t len, const char **why)
{
    char    buf[64];
    struct  in6_addr  a6;
    size_t  i;

    /* IPvFuture: "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ) */
    if (len && (s[0] == 'v' || s[0] == 'V')) {
        for (i = 1; i < len && em_hex((unsigned char) s[i]); i++) {
            /* void */
        }

        if (i > 1 && i + 1 < len && s[i] == '.') {
            for (i++; i < len; i++) {
                if (!em_unreserved((unsigned char) s[i])
                    && !em_subdelim((unsigned char) s[i]) && s[i] != ':')
                {
                    break;
                }
            }

            if (i == len) {
                return 1;
            }
        }

        *why = "invalid IPvFuture literal in the authority (RFC 3986 3.2.2)";
        return 0;
    }

    if (len == 0 || len >= sizeof(buf)) {
        *why = "invalid IPv6 literal in the authority (RFC 3986 3.2.2)";
        return 0;
    }

    /* inet_pton() reads a C string: a NUL inside must not end it early */
    for (i = 0; i < len; i++) {
        if (!em_hex((unsigned char) s[i]) && s[i] != ':' && s[i] != '.') {
            *why = "invalid IPv6 literal in the authority (RFC 3986 3.2.2)";
            return 0;
        }
    }

    memcpy(buf, s, len);
    buf[len] = '\0';

    if (inet_pton(AF_INET6, buf, &a6) != 1) {
        *why = "invalid IPv6 literal in the authority (RFC 3986 3.2.2)";
        return 0;
    }

    return 1;
}


static int
em_uri_authority(const char *s, size_t b, size_t e, const char **why)
{
    size_t  at, h, i;

    at = e;
    for (i = b; i < e; i++) {
        if (s[i] == '@') {
            at = i;
            break;
        }
    }

    if (at < e) {
        if (!em_uri_chars(s, b, at, ":", why)) {
            return 0;
        }
        h = at + 1;

    } else {
        h = b;
    }

    if (h < e && s[h] == '[') {
        for (i = h + 1; i < e && s[i] != ']'; i++) {
            /* void */
        }

        if (i == e) {
            *why = "an IP literal in the authority lacks its ']' (RFC 3986 "
                   "3.2.2)";
            return 0;
        }

        if (!em_uri_ip_literal(s + h + 1, i - h - 1, why)) {
            return 0;
        }

        i++;

    } else {
        for (i = h; i < e && s[i] != ':'; i++) {
            /* void */
        }

        if (!em_uri_chars(s, h, i, "", why)) {
            return 0;
        }
    }

    if (i == e) {
        return 1;
    }

    if (s[i] != ':') {
        *why = "unexpected character after the host (RFC 3986 3.2)";
        return 0;
    }

    for (i++; i < e; i++) {
        if (!em_digit((unsigned char) s[i])) {
            *why = "the port must be digits (RFC 3986 3.2.3)";
            return 0;
        }
    }

    return 1;
}


/* RFC 3986 4.1: URI-reference; absolute: 4.3 plus an optional fragment. */
static int
em_check_uri_any(const char *s, size_t len, int absolute, const char **why,
    int *is_absolute)
{
    size_t  i, p, q, f, a;
    int     scheme;

    if (len == 0) {
        *why = "must not be empty";
        return 0;
    }

    scheme = 0;

    if (em_alpha((unsigned char) s[0])) {
        for (i = 1; i < len; i++) {
            unsigned char  c = (unsigned char) s[i];

            if (!em_alpha(c) && !em_digit(c) && c != '+' && c != '-'
                && c != '.')
            {
                break;
            }
        }

        if (i < len && s[i] == ':') {
            scheme = 1;
            p = i + 1;
        }
    }

    if (!scheme) {
        if (absolute) {
            *why = "must be an absolute URI with a scheme, e.g. "
                   "https://example.com/schema (RFC 3986 4.3)";
            return 0;
        }
        p = 0;
    }

    if (is_absolute) {
        *is_absolute = scheme;
    }

    f = len;
    for (i = p; i < len; i++) {
        if (s[i] == '#') {
            f = i;
            break;
        }
    }

    q = f;
    for (i = p; i < f; i++) {
        if (s[i] == '?') {
            q = i;
            break;
        }
    }

    /* hier-part or relative-part is s[p..q) */

    if (q - p >= 2 && s[p] == '/' && s[p + 1] == '/') {
        for (a = p + 2; a < q && s[a] != '/'; a++) {
            /* void */
        }

        if (!em_uri_authority(s, p + 2, a, why)) {
            return 0;
        }

        p = a;

    } else if (!scheme) {
        /* path-noscheme: the first segment may not look like a scheme */
        for (i = p; i < q && s[i] != '/'; i++) {
            if (s[i] == ':') {
                *why = "a relative reference's first segment must not "
                       "contain ':' (RFC 3986 4.2); use an absolute URI or "
                       "prefix ./";
                return 0;
            }
        }
    }

    if (!em_uri_chars(s, p, q, ":@/", why)) {
        return 0;
    }

    if (q < f && !em_uri_chars(s, q + 1, f, ":@/?", why)) {
        return 0;
    }

    if (f < len && !em_uri_chars(s, f + 1, len, ":@/?", why)) {
        return 0;
    }

    return 1;
}


int
em_check_uri(const char *s, size_t len, const char **why)
{
    return em_check_uri_any(s, len, 1, why, NULL);
}


int
em_check_uri_ref(const char *s, size_t len, const char **why)
{
    return em_check_uri_any(s, len, 0, why, NULL);
}


int
em_uri_ref_is_absolute(const char *s, size_t len)
{
    const char  *why;
    int          abs;

    return em_check_uri_any(s, len, 0, &why, &abs) && abs;
}


static int
em_num(const char *s, size_t n)
{
    int     v;
    size_t  i;

    v = 0;
    for (i = 0; i < n; i++) {
        if (!em_digit((unsigned char) s[i])) {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }

    return v;
}


int
em_check_timestamp(const char *s, size_t len, const char **why)
{
    static const int  mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
                                  30, 31 };
    int     y, mo, d, h, mi, sec, oh, om, dim, utc;
    size_t  i;

    /* full-date "T" partial-time: 19 bytes before fraction and offset */
    if (len < 10 || em_num(s, 4) < 0 || s[4] != '-' || em_num(s + 5, 2) < 0
        || s[7] != '-' || em_num(s + 8, 2) < 0)
    {
        *why = "must be an RFC 3339 date-time such as "
               "2024-01-31T12:00:00Z";
        return 0;
    }

    y = em_num(s, 4);
    mo = em_num(s + 5, 2);
    d = em_num(s + 8, 2);

    if (len == 10) {
        *why = "an RFC 3339 date-time needs a time after the date "
               "(2024-01-31T12:00:00Z)";
        return 0;
    }

    if (s[10] == ' ') {
        *why = "date and time must be separated by 'T', not a space "
               "(RFC 3339)";
        return 0;
    }

    if (s[10] != 'T' && s[10] != 't') {
        *why = "date and time must be separated by 'T' (RFC 3339)";
        return 0;
    }

    if (len < 19 || em_num(s + 11, 2) < 0 || s[13] != ':'
        || em_num(s + 14, 2) < 0 || s[16] != ':' || em_num(s + 17, 2) < 0)
    {
        *why = "the time must be hh:mm:ss (RFC 3339)";
        return 0;
    }

    h = em_num(s + 11, 2);
    mi = em_num(s + 14, 2);
    sec = em_num(s + 17, 2);

    i = 19;

    if (i < len && s[i] == '.') {
        for (i++; i < len && em_digit((unsigned char) s[i]); i++) {
            /* void */
        }

        if (i == 20) {
            *why = "a fraction of a second needs at least one digit after "
                   "'.' (RFC 3339)";
            return 0;
        }
    }

    if (i == len) {
        *why = "an RFC 3339 date-time requires a time offset (Z or "
               "\xC2\xB1hh:mm)";
        return 0;
    }

    if (s[i] == 'Z' || s[i] == 'z') {
        oh = 0;
        om = 0;
        i++;

    } else if (s[i] == '+' || s[i] == '-') {
        if (len - i != 6 || em_num(s + i + 1, 2) < 0 || s[i + 3] != ':'
            || em_num(s + i + 4, 2) < 0)
        {
            *why = "the time offset must be Z or \xC2\xB1hh:mm with a colon "
                   "(RFC 3339)";
            return 0;
        }

        oh = em_num(s + i + 1, 2);
        om = em_num(s + i + 4, 2);

        if (oh > 23 || om > 59) {
            *why = "the time offset must be within -23:59..+23:59";
            return 0;
        }

        if (s[i] == '+') {
            oh = -oh;
            om = -om;
        }

        i += 6;

    } else {
        *why = "an RFC 3339 date-time requires a time offset (Z or "
               "\xC2\xB1hh:mm)";
        return 0;
    }

    if (i != len) {
        *why = "unexpected characters after the time offset (RFC 3339)";
        return 0;
    }

    if (mo < 1 || mo > 12) {
        *why = "the month must be 01-12";
        return 0;
    }

    dim = mdays[mo - 1];
    if (mo == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) {
        dim = 29;
    }

    if (d < 1 || d > dim) {
        *why = "the day does not exist in that month";
        return 0;
    }

    if (h > 23) {
        *why = "the hour must be 00-23";
        return 0;
    }

    if (mi > 59) {
        *why = "the minute must be 00-59";
        return 0;
    }

    if (sec > 60) {
        *why = "the second must be 00-59 (60 only for a leap second)";
        return 0;
    }

    if (sec == 60) {
        /* the offset was negated above: local + (-offset) is UTC */
        utc = ((h * 60 + mi + oh * 60 + om) % 1440 + 1440) % 1440;
        if (utc != 23 * 60 + 59) {
            *why = "second 60 is only valid for a leap second, at 23:59 UTC "
                   "(RFC 3339 5.7)";
            return 0;
        }
    }

    return 1;
}


int
em_parse_int32(const char *s, size_t len, long *out, const char **why)
{
    long    v;
    size_t  i;
    int     neg;

    i = 0;
    neg = 0;

    if (len && s[0] == '-') {
        neg = 1;
        i = 1;
    }

    if (i == len) {
        *why = "must be an integer (optional '-' then digits)";
        return 0;
    }

    if (s[i] == '0' && len - i > 1) {
        *why = "an integer must not have leading zeros";
        return 0;
    }

    v = 0;
    for ( ; i < len; i++) {
        if (!em_digit((unsigned char) s[i])) {
            *why = "must be an integer (optional '-' then digits; no '+', "
                   "'.', exponent or spaces)";
            return 0;
        }

        v = v * 10 + (s[i] - '0');
        if (v > 2147483648L) {
            break;
        }
    }

    if (i < len || v > 2147483648L || (!neg && v > 2147483647L)) {
        for ( ; i < len; i++) {
            if (!em_digit((unsigned char) s[i])) {
                *why = "must be an integer (optional '-' then digits; no "
                       "'+', '.', exponent or spaces)";
                return 0;
            }
        }

        *why = "an Integer must be within -2147483648..2147483647";
        return 0;
    }

    *out = neg ? -v : v;
    return 1;
}


int
em_check_integer(const char *s, size_t len, const char **why)
{
    long  v;

    return em_parse_int32(s, len, &v, why);
}


int
em_check_boolean(const char *s, size_t len, const char **why)
{
    if ((len == 4 && memcmp(s, "true", 4) == 0)
        || (len == 5 && memcmp(s, "false", 5) == 0))
    {
        return 1;
    }

    *why = "a Boolean must be true or false (lowercase)";
    return 0;
}


int
em_check_attr_name(const char *s, size_t len, const char **why)
{
    size_t  i;

    if (len == 0) {
        *why = "an attribute name must not be empty";
        return 0;
    }

    for (i = 0; i < len; i++) {
        unsigned char  c = (unsigned char) s[i];

        if (!(c >= 'a' && c <= 'z') && !em_digit(c)) {
            *why = "attribute names may only use lowercase ASCII letters "
                   "and digits [a-z0-9]";
            return 0;
        }
    }

    if (len == 4 && memcmp(s, "data", 4) == 0) {
        *why = "\"data\" is reserved and cannot be an attribute name";
        return 0;
    }

    return 1;
}


static int
em_lowhex(const char *s, size_t n, int *all_zero)
{
    size_t  i;

    *all_zero = 1;

    for (i = 0; i < n; i++) {
        unsigned char  c = (unsigned char) s[i];

        if (!em_digit(c) && !(c >= 'a' && c <= 'f')) {
            return 0;
        }

        if (c != '0') {
            *all_zero = 0;
        }
    }

    return 1;
}


int
em_check_traceparent(const char *s, size_t len, const char **why)
{
    int     zero;
    size_t  i;

    /* version "-" trace-id "-" parent-id "-" flags: 2+1+32+1+16+1+2 */
    if (len < 55 || !em_lowhex(s, 2, &zero) || s[2] != '-'
        || !em_lowhex(s + 3, 32, &zero) || s[35] != '-'
        || !em_lowhex(s + 36, 16, &zero) || s[52] != '-'
        || !em_lowhex(s + 53, 2, &zero))
    {
        *why = "traceparent must be <version>-<trace-id>-<parent-id>-<flags>"
               " in lowercase hex, e.g. 00-4bf92f3577b34da6a3ce929d0e0e4736"
               "-00f067aa0ba902b7-01 (W3C Trace Context)";
        return 0;
    }

    if (s[0] == 'f' && s[1] == 'f') {
        *why = "traceparent version ff is invalid (W3C Trace Context)";
        return 0;
    }

    (void) em_lowhex(s + 3, 32, &zero);
    if (zero) {
        *why = "the trace-id of traceparent must not be all zeros";
        return 0;
    }

    (void) em_lowhex(s + 36, 16, &zero);
    if (zero) {
        *why = "the parent-id of traceparent must not be all zeros";
        return 0;
    }

    if (s[0] == '0' && s[1] == '0') {
        if (len != 55) {
            *why = "a version 00 traceparent is exactly 55 characters";
            return 0;
        }
        return 1;
    }

    /* later versions may append fields after a '-' */
    if (len > 55 && s[55] != '-') {
        *why = "fields after the flags of a traceparent must follow a '-'";
        return 0;
    }

    /*
     * What a later version appends is unknown to us, but it comes from an
     * HTTP header and becomes a String attribute: visible ASCII only, so
     * that it can be stored and sent on as a header again.
     */
    for (i = 56; i < len; i++) {
        if ((unsigned char) s[i] < 0x21 || (unsigned char) s[i] > 0x7e) {
            *why = "fields after the flags of a traceparent must be "
                   "visible ASCII characters";
            return 0;
        }
    }

    return 1;
}


int
em_check_tracestate(const char *s, size_t len, const char **why)
{
    size_t  i, b, e, eq, members;

    members = 0;
    i = 0;

    while (i <= len) {
        b = i;
        while (i < len && s[i] != ',') {
            i++;
        }
        e = i;
        i++;

        while (b < e && (s[b] == ' ' || s[b] == '\t')) {
            b++;
        }
        while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) {
            e--;
        }

        /* empty list members are allowed and ignored (W3C 3.3.1) */
        if (b == e) {
            continue;
        }

        for (eq = b; eq < e && s[eq] != '='; eq++) {
            /* void */
        }

        if (eq == e || eq == b || eq == e - 1) {
            *why = "tracestate must be a comma-separated list of key=value "
                   "members (W3C Trace Context)";
            return 0;
        }

        if (++members > 32) {
            *why = "tracestate may hold at most 32 list members (W3C Trace "
                   "Context)";
            return 0;
        }
    }

    return 1;
}

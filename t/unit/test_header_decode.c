/*
 * em_ce_header_decode(): HTTP binding 3.1.3.2, step by step.
 */

#include "tap.h"

#include <eventmesh/ce_http.h>

#include <stdlib.h>


static void
good(const char *in, const char *want, size_t want_len, const char *name)
{
    const char  *err = NULL;
    size_t       len = 0;
    char        *out;

    out = em_ce_header_decode(in, strlen(in), &len, &err);
    ok(out != NULL && len == want_len && memcmp(out, want, len) == 0
       && out[len] == '\0', "decodes %s", name);
    if (out == NULL) {
        diag("err: %s", err);
    }
    free(out);
}


static void
bad(const char *in, size_t in_len, const char *fragment, const char *name)
{
    const char  *err = NULL;
    size_t       len = 0;
    char        *out;

    out = em_ce_header_decode(in, in_len, &len, &err);
    ok(out == NULL && err != NULL && strstr(err, fragment) != NULL,
       "rejects %s (%s)", name, fragment);
    if (out != NULL || err == NULL || strstr(err, fragment) == NULL) {
        diag("err: %s", err ? err : "(none)");
    }
    free(out);
}


int
main(void)
{
    good("plain", "plain", 5, "a plain value");
    good("", "", 0, "an empty value");
    good("%41%42", "AB", 2, "uppercase hex");
    good("%c3%a9", "\xC3\xA9", 2, "lowercase hex");
    good("1%2E0", "1.0", 3, "unnecessary encoding");
    good("%2525", "%25", 3, "exactly one round");
    good("%00", "\0", 1, "an encoded NUL (the String check rejects it)");
    good("a b \"c\"", "a b \"c\"", 7, "raw spaces and quotes (tolerated)");
    good("\"quoted\"", "quoted", 6, "a quoted-string");
    good("\"\"", "", 0, "an empty quoted-string");
    good("\"a\\\\b\\\"c\"", "a\\b\"c", 5, "quoted-pairs");
    good("\"%41\"", "A", 1, "percent-decoding after unquoting");
    good("%F0%9F%98%80", "\xF0\x9F\x98\x80", 4, "a 4-byte sequence");
    good("%EF%BF%BF", "\xEF\xBF\xBF", 3,
         "a noncharacter (valid UTF-8; the String check rejects it)");

    bad("%", 1, "two hex digits", "a lone %");
    bad("%4", 2, "two hex digits", "a truncated escape");
    bad("%G1", 3, "two hex digits", "a non-hex escape");
    bad("50%off", 6, "two hex digits", "a bare % inside");
    bad("%C0%A0", 6, "not valid UTF-8", "overlong C0 A0");
    bad("%E0%80%80", 9, "not valid UTF-8", "overlong 3-byte NUL");
    bad("%ED%A0%80", 9, "not valid UTF-8", "a high surrogate");
    bad("%ED%BF%BF", 9, "not valid UTF-8", "a low surrogate");
    bad("%F4%90%80%80", 12, "not valid UTF-8", "U+110000");
    bad("%F8%88%80%80%80", 15, "not valid UTF-8", "a 5-byte form");
    bad("%E2%82", 6, "not valid UTF-8", "a truncated sequence");
    bad("%80", 3, "not valid UTF-8", "a lone continuation byte");
    bad("\xC3\xA9", 2, "printable US-ASCII", "raw UTF-8");
    bad("a\rb", 3, "control", "a raw CR");
    bad("a\0b", 3, "control", "a raw NUL");
    bad("a\x7F", 2, "control", "a raw DEL");
    bad("\"open", 5, "unterminated quoted string", "an open quote");
    bad("\"a\\", 3, "backslash", "a trailing backslash");
    bad("\"a\"b", 4, "after the closing quote", "text after the quote");
    bad("\"%zz\"", 5, "two hex digits", "a bad escape inside quotes");

    return tap_done();
}

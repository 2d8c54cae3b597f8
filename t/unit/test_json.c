/*
 * The JSON helpers behind structured mode: the syntax check (no number
 * limits), the span scanner, strict base64, percent-encoding.
 */

#include "tap.h"

#include "base64.h"
#include "json_check.h"
#include "json_scan.h"
#include "pct.h"

#include <stdlib.h>


static void
check(const char *s, int want, const char *fragment)
{
    const char  *why = NULL;
    size_t       pos = 0;
    int          got;

    got = em_json_check(s, strlen(s), &pos, &why);

    if (want) {
        ok(got == 1, "JSON accepted: %s", s);
        if (!got) {
            diag("why: %s at %zu", why, pos);
        }

    } else {
        ok(got == 0 && strstr(why, fragment) != NULL,
           "JSON rejected: %s (%s)", s, fragment);
        if (got || strstr(why, fragment) == NULL) {
            diag("got %d why: %s", got, why ? why : "(none)");
        }
    }
}


static void
test_check(void)
{
    char  *deep;
    size_t i;

    check("{}", 1, NULL);
    check(" [ ] ", 1, NULL);
    check("0", 1, NULL);
    check("-0.0e-0", 1, NULL);
    check("18446744073709551616", 1, NULL);
    check("1E400", 1, NULL);
    check("\"\\ud83d\\ude00 \\u00e9 \\n\\/\"", 1, NULL);
    check("{\"a\":[true,false,null,{\"b\":{}}],\"a\":1}", 1, NULL);
    check("", 0, "no JSON value");
    check("01", 0, "after the JSON value");
    check("1.", 0, "after '.'");
    check("1e", 0, "exponent");
    check("+1", 0, "unexpected character");
    check("[1,]", 0, "unexpected character");
    check("{\"a\" 1}", 0, "':'");
    check("{\"a\":1,}", 0, "string key");
    check("{1:2}", 0, "string key");
    check("[1 2]", 0, "',' or ']'");
    check("{\"a\":1 \"b\":2}", 0, "',' or '}'");
    check("[[1]", 0, "ends inside");
    check("\"abc", 0, "unterminated");
    check("\"a\x01\"", 0, "control character");
    check("\"\\x\"", 0, "invalid escape");
    check("\"\\u12\"", 0, "four hex digits");
    check("\"\\ud800\"", 0, "low surrogate");
    check("\"\\udc00\"", 0, "lone low surrogate");
    check("\"\\ud800\\u0041\"", 0, "low surrogate");
    check("\"\xC0\xAF\"", 0, "UTF-8");
    check("tru", 0, "unexpected character");
    check("nulll", 0, "after the JSON value");

    deep = malloc(2 * EM_JSON_MAX_DEPTH + 3);
    for (i = 0; i <= EM_JSON_MAX_DEPTH; i++) {
        deep[i] = '[';
        deep[2 * EM_JSON_MAX_DEPTH + 1 - i] = ']';
    }
    deep[2 * EM_JSON_MAX_DEPTH + 2] = '\0';
    check(deep, 0, "nested too deeply");
    deep[0] = ' ';
    deep[2 * EM_JSON_MAX_DEPTH + 1] = ' ';
    check(deep, 1, NULL);
    free(deep);
}


static void
test_scan(void)
{
    const char  *o = "{ \"x\" : \"}\\\"data\" , \"da\\u0074a\" : "
                     "[ 1, {\"data\":2} ] , \"z\":0}";
    const char  *a = "[ {\"a\":1} ,\"s,]\" , 3.5e1,[[]] ]";
    em_span_t    vs, sp[4];
    long         n;

    ok(em_json_member(o, strlen(o), 0, "data", 4, &vs) == 1
       && vs.e - vs.b == 17 && strncmp(o + vs.b, "[ 1, {\"data\":2} ]", 17)
       == 0, "member found by unescaped name, span exact");
    ok(em_json_member(o, strlen(o), 0, "z", 1, &vs) == 1
       && vs.e - vs.b == 1 && o[vs.b] == '0', "last member found");
    ok(em_json_member(o, strlen(o), 0, "dat", 3, &vs) == 0,
       "prefix of a name does not match");
    ok(em_json_member("{}", 2, 0, "data", 4, &vs) == 0, "empty object");
    ok(em_json_member("[]", 2, 0, "data", 4, &vs) == -1, "not an object");

    n = em_json_elements(a, strlen(a), 0, sp, 4);
    ok(n == 4, "four elements");
    if (n == 4) {
        ok(strncmp(a + sp[0].b, "{\"a\":1}", sp[0].e - sp[0].b) == 0
           && sp[0].e - sp[0].b == 7, "element 0 span");
        ok(strncmp(a + sp[1].b, "\"s,]\"", sp[1].e - sp[1].b) == 0
           && sp[1].e - sp[1].b == 5, "string element with ',' and ']'");
        ok(sp[2].e - sp[2].b == 5, "number element span");
        ok(sp[3].e - sp[3].b == 4, "nested array element span");
    }
    ok(em_json_elements("[]", 2, 0, sp, 4) == 0, "empty array");
    ok(em_json_elements("[1,", 3, 0, sp, 4) == -1, "truncated array");
}


static void
test_base64(void)
{
    em_buf_t     b;
    const char  *why;

    em_buf_init(&b);
    ok(em_base64_decode(&b, "", 0) == NULL && b.len == 0, "empty base64");
    ok(em_base64_decode(&b, "TWFu", 4) == NULL && b.len == 3
       && memcmp(b.data, "Man", 3) == 0, "no padding needed");
    em_buf_reset(&b);
    ok(em_base64_decode(&b, "TWE=", 4) == NULL && b.len == 2, "one '='");
    em_buf_reset(&b);
    ok(em_base64_decode(&b, "TQ==", 4) == NULL && b.len == 1, "two '='");
    em_buf_reset(&b);
    why = em_base64_decode(&b, "TQ=", 3);
    ok(why && strstr(why, "multiple of 4"), "missing padding");
    em_buf_reset(&b);
    why = em_base64_decode(&b, "T===", 4);
    ok(why && strstr(why, "padding"), "three '='");
    em_buf_reset(&b);
    why = em_base64_decode(&b, "TQ==TWFu", 8);
    ok(why && strstr(why, "padding"), "padding in the middle");
    em_buf_reset(&b);
    why = em_base64_decode(&b, "TW\nu", 4);
    ok(why && strstr(why, "alphabet"), "newline rejected");
    em_buf_reset(&b);

    em_base64_encode(&b, "\x00\xFF\x10", 3);
    is_str(b.data, "AP8Q", "encode 3 bytes");
    em_buf_reset(&b);
    em_base64_encode(&b, "ab", 2);
    is_str(b.data, "YWI=", "encode with padding");
    em_buf_free(&b);
}


static void
test_pct(void)
{
    em_buf_t  b;
    char      all[256];
    size_t    i;

    for (i = 0; i < 256; i++) {
        all[i] = (char) i;
    }

    em_buf_init(&b);
    em_pct_encode(&b, all, 256);
    for (i = 0; i < b.len; i++) {
        if ((unsigned char) b.data[i] < 0x21
            || (unsigned char) b.data[i] > 0x7E || b.data[i] == '"')
        {
            break;
        }
    }
    ok(i == b.len, "encoded form is printable ASCII without '\"'");
    ok(strstr(b.data, "%20") && strstr(b.data, "%22") && strstr(b.data, "%25")
       && strstr(b.data, "%7F") && strstr(b.data, "%FF")
       && strstr(b.data, "&'()*+,-./0123456789:;<=>?@"),
       "space, quote, percent, DEL and high bytes encoded, the rest not");

    {
        em_buf_t  d;

        em_buf_init(&d);
        ok(em_pct_decode(&d, b.data, b.len) == NULL && d.len == 256
           && memcmp(d.data, all, 256) == 0, "decode inverts encode");
        em_buf_free(&d);
    }
    em_buf_free(&b);
}


int
main(void)
{
    test_check();
    test_scan();
    test_base64();
    test_pct();
    return tap_done();
}

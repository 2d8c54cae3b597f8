/*
 * CESQL (include/eventmesh/cesql.h) beyond the TCK: every parse error
 * with its column and message, each function at its edges, LIKE escapes,
 * integer overflow, casts and their errors, precedence, constant folding,
 * the limits, the canonical text, out-of-memory behaviour, and the
 * promise that evaluation allocates nothing once the scratch has grown.
 */

#include <eventmesh/cesql.h>
#include <eventmesh/event.h>

#include "cesql_int.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>


/* --- counting allocations ---------------------------------------------- */

#include "alloc_count.h"


/* --- helpers ------------------------------------------------------------ */

static em_event_t          *ev;
static em_cesql_scratch_t   scratch;


static void
set(em_event_t *e, const char *name, const char *value, em_type_t type)
{
    if (em_event_set(e, name, value, strlen(value), type) != EM_OK) {
        abort();
    }
}


static em_event_t *
test_event(void)
{
    em_event_t  *e;

    e = em_event_new();
    if (e == NULL) {
        abort();
    }

    set(e, "specversion", "1.0", EM_TYPE_STRING);
    set(e, "id", "myId", EM_TYPE_STRING);
    set(e, "source", "/src", EM_TYPE_URI_REF);
    set(e, "type", "com.example.created", EM_TYPE_STRING);
    set(e, "time", "2018-04-26T14:48:09+02:00", EM_TYPE_TIMESTAMP);
    set(e, "myint", "10", EM_TYPE_INTEGER);
    set(e, "mybool", "true", EM_TYPE_BOOLEAN);
    set(e, "mystr", "h\xc3\xa9llo w\xc3\xb6rld", EM_TYPE_STRING);
    set(e, "num", "42", EM_TYPE_STRING);
    set(e, "path", "C:\\dir", EM_TYPE_STRING);
    set(e, "badint", "x1", EM_TYPE_INTEGER);
    set(e, "badbool", "yes", EM_TYPE_BOOLEAN);
    set(e, "empty", "", EM_TYPE_STRING);

    return e;
}


/* "b:1", "i:-5", "s:text" */
static void
describe(const em_cesql_value_t *v, char *buf, size_t size)
{
    switch (v->type) {
    case EM_CESQL_BOOLEAN:
        snprintf(buf, size, "b:%d", v->b);
        break;
    case EM_CESQL_INTEGER:
        snprintf(buf, size, "i:%d", (int) v->i);
        break;
    default:
        snprintf(buf, size, "s:%.*s", (int) v->len, v->s);
        break;
    }
}


static em_cesql_t *
compile(const char *expr)
{
    em_cesql_compile_error_t  err;
    em_cesql_t               *e;

    e = em_cesql_compile(expr, strlen(expr), NULL, &err);
    if (e == NULL) {
        diag("compile '%s': %s", expr, err.message);
    }

    return e;
}


/* s with control characters escaped, for a one-line test name */
static const char *
printable(const char *s)
{
    static char  buf[4][512];
    static int   k;
    char        *p;
    size_t       n;

    p = buf[k++ % 4];

    for (n = 0; *s && n + 5 < sizeof(buf[0]); s++) {
        if ((unsigned char) *s < 0x20) {
            n += (size_t) snprintf(p + n, 5, "\\x%02x", (unsigned char) *s);
        } else {
            p[n++] = *s;
        }
    }

    p[n] = '\0';
    return p;
}


/* expr evaluates to want ("b:1", ...) with the error kind want_err */
static void
check(const char *expr, const char *want, em_cesql_error_t want_err)
{
    em_cesql_value_t   v;
    em_cesql_error_t   rc;
    em_cesql_t        *e;
    char               got[256];

    e = compile(expr);
    if (e == NULL) {
        ok(0, "%s compiles", expr);
        return;
    }

    rc = em_cesql_eval(e, ev, &scratch, &v);
    describe(&v, got, sizeof(got));

    if (!ok(strcmp(got, want) == 0 && rc == want_err, "%s -> %s%s%s",
            printable(expr), printable(want), want_err ? ", " : "",
            em_cesql_error_name(want_err)))
    {
        diag("got %s%s%s", got, rc ? ", " : "", em_cesql_error_name(rc));
    }

    em_cesql_free(e);
}

#define OK_(expr, want)        check(expr, want, EM_CESQL_OK)


/* expr fails to compile with kind, at column, with message (if not NULL) */
static void
bad(const char *expr, size_t len, em_cesql_error_t kind, size_t column,
    const char *message)
{
    em_cesql_compile_error_t  err;
    em_cesql_t               *e;

    e = em_cesql_compile(expr, len, NULL, &err);

    if (!ok(e == NULL && err.kind == kind && err.column == column
            && (message == NULL || strcmp(err.message, message) == 0),
            "error: %s -> %s at column %zu", printable(expr),
            em_cesql_error_name(kind), column))
    {
        diag("got %s %s at column %zu: %s", e ? "no error" : "",
             em_cesql_error_name(err.kind), err.column, err.message);
        if (message) {
            diag("expected: %s", message);
        }
    }

    em_cesql_free(e);
}

#define BAD(expr, kind, col, msg)  bad(expr, strlen(expr), kind, col, msg)
#define PARSE(expr, col, msg)      BAD(expr, EM_CESQL_EPARSE, col, msg)


static void
text(const char *expr, const char *want)
{
    em_cesql_t  *e, *again;

    e = compile(expr);
    if (e == NULL) {
        ok(0, "text of %s", expr);
        return;
    }

    is_str(em_cesql_text(e), want, "text: %s -> %s", expr, want);

    again = compile(em_cesql_text(e));
    ok(again != NULL && strcmp(em_cesql_text(again), want) == 0,
       "text: %s reads back as itself", want);

    em_cesql_free(again);
    em_cesql_free(e);
}


static size_t
nodes(const char *expr)
{
    em_cesql_t  *e;
    size_t       n;

    e = compile(expr);
    if (e == NULL) {
        return 0;
    }

    n = em_cesql_node_count(e->root);
    em_cesql_free(e);
    return n;
}


static char *
repeat(const char *head, const char *unit, size_t n, const char *tail)
{
    size_t  i, hl, ul, tl;
    char   *s;

    hl = strlen(head);
    ul = strlen(unit);
    tl = strlen(tail);

    s = malloc(hl + ul * n + tl + 1);
    if (s == NULL) {
        abort();
    }

    memcpy(s, head, hl);
    for (i = 0; i < n; i++) {
        memcpy(s + hl + i * ul, unit, ul);
    }
    memcpy(s + hl + n * ul, tail, tl + 1);
    return s;
}


/* --- parse errors ------------------------------------------------------- */

static void
test_parse_errors(void)
{
    PARSE("", 1, "unexpected end of expression at column 1");
    PARSE("   ", 4, "unexpected end of expression at column 4");
    PARSE("ABC(", 5, "unexpected end of expression at column 5");
    PARSE("1 +", 4, "unexpected end of expression at column 4");
    PARSE("(1", 3, "unexpected end of expression at column 3 (expected ')' "
          "to close the '(' at column 1)");
    PARSE("(1))", 4, "unexpected ')' at column 4");
    PARSE("(((", 4, NULL);
    PARSE("a b", 3, "unexpected name 'b' at column 3");
    PARSE("1 @ 2", 3, "unexpected character '@' at column 3");
    PARSE("a ! b", 3, "'!' at column 3 must be followed by '=' (use NOT for "
          "negation)");
    PARSE("1 == 1", 4, "unexpected '=' at column 4");
    PARSE("'abc", 1, "string literal opened at column 1 is not closed");
    PARSE("x = 'abc\\'", 5, "string literal opened at column 5 is not "
          "closed");
    PARSE("'a' 'b'", 5, "unexpected string 'b' at column 5");
    PARSE("'a\\' LIKE 'a\\'", 12, "unexpected name 'a' at column 12");
    PARSE("TRUE()", 5, "unexpected '(' at column 5");
    PARSE("x LIKE 123", 8, "unexpected integer 123 at column 8 (the pattern "
          "of LIKE at column 3 must be a string literal)");
    PARSE("x LIKE y", 8, NULL);
    PARSE("x LIKE", 7, NULL);
    PARSE("x IN 1", 6, "unexpected integer 1 at column 6 (IN at column 3 "
          "needs a list in parentheses)");
    PARSE("x IN ()", 7, "unexpected ')' at column 7 (the list of IN at "
          "column 3 needs at least one value)");
    PARSE("x IN (1, 2", 11, NULL);
    PARSE("x IN (1 2)", 9, "unexpected integer 2 at column 9 (expected ',' "
          "or ')' in the list of IN at column 3)");
    PARSE("x IN (1,)", 9, NULL);
    PARSE("x NOT = 1", 7, "unexpected '=' at column 7 (expected LIKE or IN "
          "after NOT)");
    PARSE("a NOT b", 7, NULL);
    PARSE("NOT", 4, NULL);
    PARSE("EXISTS", 7, NULL);
    PARSE("EXISTS 'a'", 8, "unexpected string 'a' at column 8 (EXISTS at "
          "column 1 needs an attribute name)");
    PARSE("EXISTS my_ext", 8, "invalid attribute name 'my_ext' at column 8: "
          "attribute names are letters and digits");
    PARSE("my_ext = 1", 1, NULL);
    PARSE("f1(2)", 1, "invalid function name 'f1' at column 1: function "
          "names are letters and '_'");
    PARSE("_f(2)", 1, NULL);
    PARSE("CONCAT(1,,2)", 10, "unexpected ',' at column 10");
    PARSE("CONCAT(1 2)", 10, "unexpected integer 2 at column 10 (expected "
          "',' or ')' in the call at column 1)");
    PARSE("2147483648", 1, "integer at column 1 is outside the 32-bit range "
          "-2147483648..2147483647");
    PARSE("-2147483649", 1, NULL);
    PARSE("- 2147483648", 3, NULL);
    PARSE("x = 99999999999999999999999", 5, NULL);
    PARSE("+ 1", 1, "unexpected '+' at column 1 (a sign must touch the "
          "digits of an integer)");
    PARSE("+x", 1, NULL);
    PARSE("\x01", 1, "unexpected byte 0x01 at column 1");
    PARSE("x = \xc3\xa9", 5, "unexpected byte 0xc3 at column 5 (text "
          "outside quotes must be ASCII)");
    PARSE("'a\xff'", 3, "invalid UTF-8 in string literal at column 3");
    PARSE("'\xc3'", 2, NULL);
    bad("'a\0b'", 5, EM_CESQL_EPARSE, 3,
        "NUL byte in string literal at column 3");
    PARSE("abc def ghi jkl mno pqr stu vwx yz0 123", 5, NULL);

    BAD("FOO(1, 2)", EM_CESQL_EMISSING_FUNCTION, 1,
        "unknown function FOO/2 at column 1");
    BAD("x = foo()", EM_CESQL_EMISSING_FUNCTION, 5,
        "unknown function FOO/0 at column 5");
    BAD("left(1)", EM_CESQL_EMISSING_FUNCTION, 1,
        "unknown function LEFT/1 at column 1 (LEFT takes 2 arguments)");
    BAD("ABS(1, 2)", EM_CESQL_EMISSING_FUNCTION, 1,
        "unknown function ABS/2 at column 1 (ABS takes 1 argument)");
    BAD("SUBSTRING('a')", EM_CESQL_EMISSING_FUNCTION, 1,
        "unknown function SUBSTRING/1 at column 1 (SUBSTRING takes 2 or 3 "
        "arguments)");
    BAD("CONCAT_WS()", EM_CESQL_EMISSING_FUNCTION, 1,
        "unknown function CONCAT_WS/0 at column 1 (CONCAT_WS takes at least "
        "1 argument)");
    BAD("AVERYLONGFUNCTIONNAMETHATGOESONANDON(1)",
        EM_CESQL_EMISSING_FUNCTION, 1,
        "unknown function AVERYLONGFUNCTIONNAMETHATGOESONA.../1 at column 1");
}


/* --- functions ---------------------------------------------------------- */

static void
test_functions(void)
{
    check("ABS(0)", "i:0", EM_CESQL_OK);
    OK_("ABS(-1)", "i:1");
    OK_("ABS(2147483647)", "i:2147483647");
    OK_("ABS(-2147483647)", "i:2147483647");
    check("ABS(-2147483648)", "i:2147483647", EM_CESQL_EMATH);
    check("ABS(-2147483648) + 0", "i:0", EM_CESQL_EMATH);
    OK_("ABS('-5')", "i:5");
    OK_("ABS(TRUE)", "i:1");
    check("ABS('x')", "i:0", EM_CESQL_ECAST);
    check("ABS(missing)", "i:0", EM_CESQL_EMISSING_ATTRIBUTE);

    OK_("LENGTH('')", "i:0");
    OK_("LENGTH('h\xc3\xa9llo')", "i:5");
    OK_("LENGTH('\xe6\x97\xa5\xe6\x9c\xac')", "i:2");
    OK_("LENGTH('\xf0\x9f\x98\x80')", "i:1");
    OK_("LENGTH(mystr)", "i:11");
    OK_("LENGTH(123)", "i:3");
    OK_("LENGTH(-5)", "i:2");
    OK_("LENGTH(FALSE)", "i:5");
    check("LENGTH(missing)", "i:0", EM_CESQL_EMISSING_ATTRIBUTE);

    OK_("CONCAT()", "s:");
    OK_("CONCAT('a')", "s:a");
    OK_("CONCAT('', '')", "s:");
    OK_("CONCAT('a', 1, TRUE)", "s:a1true");
    OK_("CONCAT(myint, mybool, id)", "s:10truemyId");
    check("CONCAT('a', missing)", "s:", EM_CESQL_EMISSING_ATTRIBUTE);

    OK_("CONCAT_WS(',')", "s:");
    OK_("CONCAT_WS(',', 'a')", "s:a");
    OK_("CONCAT_WS(', ', 'a', 'b', 'c')", "s:a, b, c");
    OK_("CONCAT_WS('', 'a', 'b')", "s:ab");
    OK_("CONCAT_WS(1, 2, 3)", "s:213");
    OK_("CONCAT_WS('-', '', '')", "s:-");

    OK_("LOWER('ABC')", "s:abc");
    OK_("LOWER('\xc3\x80\xc3\x89\xc3\x8e')", "s:\xc3\xa0\xc3\xa9\xc3\xae");
    OK_("LOWER('\xce\x91\xce\x92\xce\x93')", "s:\xce\xb1\xce\xb2\xce\xb3");
    OK_("LOWER('\xc4\xb0')", "s:i");
    OK_("LOWER('\xc7\x84')", "s:\xc7\x86");
    OK_("LOWER(123)", "s:123");
    OK_("UPPER('stra\xc3\x9f" "e')", "s:STRA\xc3\x9f" "E");
    OK_("UPPER('\xc7\x86')", "s:\xc7\x84");
    OK_("UPPER('\xc9\x90')", "s:\xe2\xb1\xaf");
    OK_("UPPER('\xe2\xb1\xa5')", "s:\xc8\xba");
    OK_("UPPER('\xef\xac\x80')", "s:\xef\xac\x80");
    OK_("UPPER(TRUE)", "s:TRUE");
    OK_("UPPER('')", "s:");
    OK_("UPPER(mystr)", "s:H\xc3\x89LLO W\xc3\x96RLD");

    OK_("TRIM('')", "s:");
    OK_("TRIM('   ')", "s:");
    OK_("TRIM(' a ')", "s:a");
    OK_("TRIM('a b')", "s:a b");
    OK_("TRIM('\t\n a \r\v\f')", "s:a");
    OK_("TRIM('\xe3\x80\x80" "a\xc2\xa0')", "s:a");
    OK_("TRIM('\xe2\x80\x8b a')", "s:\xe2\x80\x8b a");
    OK_("TRIM(12)", "s:12");

    OK_("LEFT('abc', 0)", "s:");
    OK_("LEFT('abc', 2)", "s:ab");
    OK_("LEFT('abc', 3)", "s:abc");
    OK_("LEFT('abc', 2147483647)", "s:abc");
    OK_("LEFT('h\xc3\xa9llo', 2)", "s:h\xc3\xa9");
    OK_("LEFT(12345, 2)", "s:12");
    check("LEFT('abc', -1)", "s:abc", EM_CESQL_EFUNCTION_EVALUATION);
    check("LEFT('', -1)", "s:", EM_CESQL_EFUNCTION_EVALUATION);
    check("LEFT('abc', 'x')", "s:", EM_CESQL_ECAST);
    check("CONCAT(LEFT('abc', -1))", "s:", EM_CESQL_EFUNCTION_EVALUATION);

    OK_("RIGHT('abc', 0)", "s:");
    OK_("RIGHT('abc', 2)", "s:bc");
    OK_("RIGHT('abc', 2147483647)", "s:abc");
    OK_("RIGHT('h\xc3\xa9llo', 4)", "s:\xc3\xa9llo");
    check("RIGHT('abc', -2147483648)", "s:abc",
          EM_CESQL_EFUNCTION_EVALUATION);

    OK_("SUBSTRING('abc', 3)", "s:c");
    OK_("SUBSTRING('abc', -3)", "s:abc");
    OK_("SUBSTRING('abc', -1)", "s:c");
    OK_("SUBSTRING('', 0)", "s:");
    OK_("SUBSTRING('abc', 0, 5)", "s:");
    OK_("SUBSTRING('abc', 2, 0)", "s:");
    OK_("SUBSTRING('abc', -2, 1)", "s:b");
    OK_("SUBSTRING('abc', 1, 2147483647)", "s:abc");
    OK_("SUBSTRING('h\xc3\xa9llo', 2, 3)", "s:\xc3\xa9ll");
    OK_("substring(mystr, -5)", "s:w\xc3\xb6rld");
    check("SUBSTRING('abc', 4)", "s:", EM_CESQL_EFUNCTION_EVALUATION);
    check("SUBSTRING('abc', -4)", "s:", EM_CESQL_EFUNCTION_EVALUATION);
    check("SUBSTRING('', 1)", "s:", EM_CESQL_EFUNCTION_EVALUATION);
    check("SUBSTRING('abc', 2, -1)", "s:", EM_CESQL_EFUNCTION_EVALUATION);
    check("SUBSTRING('abc', 0, -1)", "s:", EM_CESQL_EFUNCTION_EVALUATION);
    check("SUBSTRING('abc', -2147483648)", "s:",
          EM_CESQL_EFUNCTION_EVALUATION);
    check("SUBSTRING('abc', 2147483647, 1)", "s:",
          EM_CESQL_EFUNCTION_EVALUATION);

    OK_("INT('+5')", "i:5");
    OK_("INT('007')", "i:7");
    OK_("INT('-0')", "i:0");
    OK_("INT('2147483647')", "i:2147483647");
    OK_("INT('-2147483648')", "i:-2147483648");
    OK_("INT(num)", "i:42");
    OK_("INT(myint)", "i:10");
    OK_("INT(mybool)", "i:1");
    check("INT('2147483648')", "i:0", EM_CESQL_ECAST);
    check("INT('-2147483649')", "i:0", EM_CESQL_ECAST);
    check("INT('')", "i:0", EM_CESQL_ECAST);
    check("INT('+')", "i:0", EM_CESQL_ECAST);
    check("INT(' 1')", "i:0", EM_CESQL_ECAST);
    check("INT('1 ')", "i:0", EM_CESQL_ECAST);
    check("INT('0x10')", "i:0", EM_CESQL_ECAST);
    check("INT('1.5')", "i:0", EM_CESQL_ECAST);

    OK_("BOOL('true')", "b:1");
    OK_("BOOL('TrUe')", "b:1");
    OK_("BOOL('FALSE')", "b:0");
    OK_("BOOL(0)", "b:0");
    OK_("BOOL(-1)", "b:1");
    OK_("BOOL(mybool)", "b:1");
    check("BOOL('yes')", "b:0", EM_CESQL_ECAST);
    check("BOOL('1')", "b:0", EM_CESQL_ECAST);
    check("BOOL(' true')", "b:0", EM_CESQL_ECAST);
    check("BOOL('')", "b:0", EM_CESQL_ECAST);

    OK_("STRING(0)", "s:0");
    OK_("STRING(-2147483648)", "s:-2147483648");
    OK_("STRING(2147483647)", "s:2147483647");
    OK_("STRING(TRUE)", "s:true");
    OK_("STRING(myint)", "s:10");
    OK_("STRING(time)", "s:2018-04-26T14:48:09+02:00");

    OK_("IS_INT(1)", "b:1");
    OK_("IS_INT('12')", "b:1");
    OK_("IS_INT(TRUE)", "b:1");
    OK_("IS_INT('1.5')", "b:0");
    OK_("IS_INT('abc')", "b:0");
    OK_("IS_INT(num)", "b:1");
    check("IS_INT(missing)", "b:0", EM_CESQL_EMISSING_ATTRIBUTE);
    OK_("IS_BOOL('TRUE')", "b:1");
    OK_("IS_BOOL('x')", "b:0");
    OK_("IS_BOOL(5)", "b:1");
    OK_("IS_BOOL(FALSE)", "b:1");

    /* names in any case */
    OK_("length('a')", "i:1");
    OK_("Concat_Ws('-', 'a', 'b')", "s:a-b");
    OK_("is_int(1)", "b:1");
}


/* --- LIKE --------------------------------------------------------------- */

static void
test_like(void)
{
    OK_("'a%' LIKE 'a\\%'", "b:1");
    OK_("'ab' LIKE 'a\\%'", "b:0");
    OK_("'a_' LIKE 'a\\_'", "b:1");
    OK_("'ab' LIKE 'a\\_'", "b:0");
    OK_("'a%b' LIKE 'a\\%b'", "b:1");
    OK_("'axb' LIKE 'a\\%b'", "b:0");
    OK_("'a\\b' LIKE 'a\\b'", "b:1");

    /* one backslash in the value; "\\" in a pattern is one backslash */
    OK_("path LIKE 'C:\\\\%'", "b:1");
    OK_("path LIKE 'C:\\\\d_r'", "b:1");
    OK_("path LIKE 'C:\\d%'", "b:1");
    OK_("path LIKE 'C:\\%'", "b:0");
    OK_("path = 'C:\\dir'", "b:1");

    OK_("'' LIKE '%'", "b:1");
    OK_("'' LIKE ''", "b:1");
    OK_("'' LIKE '_'", "b:0");
    OK_("'abc' LIKE '%%%'", "b:1");
    OK_("'abc' LIKE 'ab%'", "b:1");
    OK_("'abc' LIKE 'abc%'", "b:1");
    OK_("'ab' LIKE 'abc%'", "b:0");
    OK_("'abc' LIKE '%bc'", "b:1");
    OK_("'c' LIKE '%bc'", "b:0");
    OK_("'abc' LIKE '%b%'", "b:1");
    OK_("'abc' LIKE '%x%'", "b:0");
    OK_("'abc' LIKE 'ABC'", "b:0");
    OK_("'abc' LIKE 'a%c%'", "b:1");
    OK_("'abcabc' LIKE '%b_a%'", "b:1");
    OK_("'aaa' LIKE 'a%a%a'", "b:1");
    OK_("'aa' LIKE 'a%a%a'", "b:0");
    OK_("'mississippi' LIKE '%iss%ipp%'", "b:1");
    OK_("'mississippi' LIKE 'm%iss%s_ppi'", "b:1");
    OK_("'mississippi' LIKE 'm%iss%ppp%'", "b:0");

    /* _ is one character, however many bytes */
    OK_("'\xc3\xa9' LIKE '_'", "b:1");
    OK_("'\xc3\xa9' LIKE '__'", "b:0");
    OK_("'\xc3\xa9" "a' LIKE '__'", "b:1");
    OK_("mystr LIKE 'h_llo w_rld'", "b:1");
    OK_("mystr LIKE '%\xc3\xb6%'", "b:1");

    OK_("\"a'b\" LIKE \"a'%\"", "b:1");
    OK_("10 LIKE '1_'", "b:1");
    OK_("mybool LIKE 't%'", "b:1");
    OK_("myint NOT LIKE '1%'", "b:0");
    check("missing NOT LIKE 'a'", "b:0", EM_CESQL_EMISSING_ATTRIBUTE);
}


/* --- arithmetic, comparison, logic, precedence ------------------------- */

static void
test_operators(void)
{
    check("2147483647 + 1", "i:0", EM_CESQL_EMATH);
    check("-2147483648 - 1", "i:0", EM_CESQL_EMATH);
    check("65536 * 65536", "i:0", EM_CESQL_EMATH);
    check("-2147483648 / -1", "i:0", EM_CESQL_EMATH);
    OK_("-2147483648 % -1", "i:0");
    check("-(-2147483648)", "i:0", EM_CESQL_EMATH);
    check("-'-2147483648'", "i:0", EM_CESQL_EMATH);
    check("-'2147483648'", "i:0", EM_CESQL_ECAST);
    OK_("2147483647 * -1", "i:-2147483647");
    OK_("-2147483647 - 1", "i:-2147483648");
    OK_("7 / -2", "i:-3");
    OK_("-7 / 2", "i:-3");
    OK_("-7 % 2", "i:-1");
    OK_("7 % -2", "i:1");
    check("5 % 0", "i:0", EM_CESQL_EMATH);
    check("0 / 0", "i:0", EM_CESQL_EMATH);
    check("(1 / 0) = 0", "b:0", EM_CESQL_EMATH);
    check("'a' + 1", "i:0", EM_CESQL_ECAST);
    check("missing + (1 / 0)", "i:0", EM_CESQL_EMISSING_ATTRIBUTE);
    check("(1 / 0) + missing", "i:0", EM_CESQL_EMATH);
    OK_("myint * 2", "i:20");

    check("'abc' < 'abd'", "b:0", EM_CESQL_ECAST);
    OK_("num > 41", "b:1");
    OK_("myint = '10'", "b:1");
    OK_("'10' = myint", "b:1");
    OK_("mybool = 'TRUE'", "b:0");
    OK_("'TRUE' = mybool", "b:1");
    check("'abc' = 1", "b:0", EM_CESQL_ECAST);
    OK_("1 = 'abc'", "b:0");
    OK_("'a' <> 'b'", "b:1");
    OK_("'a' != 'a'", "b:0");
    check("'x' != 1", "b:0", EM_CESQL_ECAST);

    OK_("myint IN ('10', 'x')", "b:1");
    check("myint IN ('x', '10')", "b:0", EM_CESQL_ECAST);
    OK_("'x' NOT IN (1)", "b:1");
    check("missing IN (1)", "b:0", EM_CESQL_EMISSING_ATTRIBUTE);
    check("1 IN (missing)", "b:0", EM_CESQL_EMISSING_ATTRIBUTE);
    check("1 NOT IN (missing)", "b:0", EM_CESQL_EMISSING_ATTRIBUTE);
    OK_("id IN (type, source, 'myId')", "b:1");

    OK_("TRUE OR FALSE AND FALSE", "b:0");
    OK_("FALSE AND FALSE OR TRUE", "b:1");
    OK_("TRUE XOR TRUE XOR TRUE", "b:1");
    OK_("'true' AND 1", "b:1");
    check("'x' OR TRUE", "b:0", EM_CESQL_ECAST);
    OK_("TRUE OR 'x'", "b:1");
    check("missing = 1 OR TRUE", "b:0", EM_CESQL_EMISSING_ATTRIBUTE);
    OK_("TRUE OR missing = 1", "b:1");
    OK_("FALSE AND 1 / 0 = 1", "b:0");
    check("FALSE XOR missing", "b:0", EM_CESQL_EMISSING_ATTRIBUTE);
    OK_("NOT TRUE = FALSE", "b:1");
    OK_("NOT 0", "b:1");
    OK_("NOT 10", "b:0");
    check("NOT 'x'", "b:0", EM_CESQL_ECAST);
    check("missing", "b:0", EM_CESQL_EMISSING_ATTRIBUTE);

    OK_("2 + 3 * 4", "i:14");
    OK_("(2 + 3) * 4", "i:20");
    OK_("10 - 2 - 3", "i:5");
    OK_("100 / 10 / 5", "i:2");
    OK_("2 * 3 % 4", "i:2");
    OK_("- 2 * 3", "i:-6");
    OK_("-myint * 2", "i:-20");
    OK_("5--3", "i:8");
    OK_("5 - -3", "i:8");
    OK_("5 -3", "i:2");
    OK_("1 + 2 = 3", "b:1");
    OK_("1 < 2 = TRUE", "b:1");
    OK_("'a' LIKE 'a' = TRUE", "b:1");
    OK_("1 + 2 LIKE '3'", "i:1");
    OK_("1 IN (1) AND 2 IN (2)", "b:1");
    OK_("1 IN (1) IN (TRUE)", "b:1");
    OK_("TRUE AND (FALSE OR TRUE)", "b:1");

    OK_("EXISTS id", "b:1");
    OK_("EXISTS myint", "b:1");
    OK_("EXISTS missing", "b:0");
    OK_("NOT EXISTS missing", "b:1");
    OK_("exists MYSTR", "b:1");
}


/* --- attributes --------------------------------------------------------- */

static void
test_attributes(void)
{
    em_cesql_value_t   v;
    em_cesql_t        *e;
    em_event_t        *empty;

    OK_("myint", "i:10");
    OK_("MyInt + 1", "i:11");
    OK_("mybool", "b:1");
    OK_("time", "s:2018-04-26T14:48:09+02:00");
    OK_("source", "s:/src");
    OK_("badint", "s:x1");
    OK_("badbool", "s:yes");
    OK_("empty", "s:");
    OK_("empty = ''", "b:1");
    OK_("specversion = '1.0'", "b:1");

    /* the event is assumed valid: EXISTS of a required attribute is true
       even when it is not there, reading it is a missing attribute */
    empty = em_event_new();
    e = compile("EXISTS specversion AND EXISTS id AND EXISTS source "
                "AND EXISTS type");
    ok(e != NULL && em_cesql_eval(e, empty, &scratch, &v) == EM_CESQL_OK
       && v.b, "EXISTS of a required attribute is true on any event");
    em_cesql_free(e);

    e = compile("id");
    ok(e != NULL && em_cesql_eval(e, empty, &scratch, &v)
                    == EM_CESQL_EMISSING_ATTRIBUTE
       && v.type == EM_CESQL_BOOLEAN && !v.b,
       "reading an absent required attribute: false, missingAttribute");
    em_cesql_free(e);
    em_event_free(empty);
}


/* --- match, names ------------------------------------------------------- */

static void
test_match(void)
{
    static const struct {
        const char  *expr;
        int          match;
    } m[] = {
        { "TRUE", 1 },
        { "id = 'myId'", 1 },
        { "FALSE", 0 },
        { "1", 0 },
        { "'true'", 0 },
        { "missing", 0 },
        { "missing = 'x' OR TRUE", 0 },
        { "1 / 0 = 0", 0 },
        { "NOT (1 / 0 = 0)", 0 },
        { "type LIKE 'com.example.%' AND myint > 5", 1 },
    };
    em_cesql_t  *e;
    size_t       i;

    for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        e = compile(m[i].expr);
        ok(e != NULL && em_cesql_match(e, ev, &scratch) == m[i].match,
           "match: %s -> %d", m[i].expr, m[i].match);
        em_cesql_free(e);
    }

    is_str(em_cesql_error_name(EM_CESQL_OK), "", "error name of OK");
    is_str(em_cesql_error_name(EM_CESQL_EPARSE), "parse", "parse");
    is_str(em_cesql_error_name(EM_CESQL_EMATH), "math", "math");
    is_str(em_cesql_error_name(EM_CESQL_ECAST), "cast", "cast");
    is_str(em_cesql_error_name(EM_CESQL_EMISSING_FUNCTION),
           "missingFunction", "missingFunction");
    is_str(em_cesql_error_name(EM_CESQL_EFUNCTION_EVALUATION),
           "functionEvaluation", "functionEvaluation");
    is_str(em_cesql_error_name(EM_CESQL_EMISSING_ATTRIBUTE),
           "missingAttribute", "missingAttribute");
    is_str(em_cesql_error_name(EM_CESQL_EGENERIC), "generic", "generic");
}


/* --- canonical text ----------------------------------------------------- */

static void
test_text(void)
{
    text("a=1", "a = 1");
    text("  A  =  1  ", "a = 1");
    text("a = 1 and b = 2 or c", "((a = 1) AND (b = 2)) OR c");
    text("x AND y and z", "x AND y AND z");
    text("x AND (y OR z)", "x AND (y OR z)");
    text("not exists Foo", "NOT EXISTS foo");
    text("NOT x LIKE 'a'", "(NOT x) LIKE 'a'");
    text("NOT (x LIKE 'a')", "NOT (x LIKE 'a')");
    text("x not like 'a%'", "x NOT LIKE 'a%'");
    text("x in (1,2,'3')", "x IN (1, 2, '3')");
    text("x not in (y)", "x NOT IN (y)");
    text("concat_ws('-', a)", "CONCAT_WS('-', a)");
    text("concat()", "CONCAT()");
    text("1+2*3", "1 + (2 * 3)");
    text("(1+2)*3", "(1 + 2) * 3");
    text("a <> b", "a != b");
    text("--5", "- -5");
    text("- 5", "- 5");
    text("- 0", "- 0");
    text("-5", "-5");
    text("-x", "-x");
    text("--x", "- -x");
    text("-(1 + x)", "-(1 + x)");
    text("-abs(x)", "-ABS(x)");
    text("+7", "7");
    text("true", "TRUE");
    text("FaLsE", "FALSE");
    text("\"abc\"", "'abc'");
    text("\"a'b\"", "'a\\'b'");
    text("'a\\\"b'", "'a\\\"b'");
    text("\"a\\'b\"", "\"a\\'b\"");
    text("'a\\\\'", "'a\\\\'");
    text("x LIKE 'a\\%\\_'", "x LIKE 'a\\%\\_'");
    text("-2147483648", "-2147483648");
}


/* --- constant folding --------------------------------------------------- */

static void
test_folding(void)
{
    em_cesql_value_t   v;
    em_cesql_t        *e;

    is_long((long) nodes("1 + 2 * 3 = x"), 3,
            "1 + 2 * 3 = x folds to 7 = x (3 nodes)");
    is_long((long) nodes("UPPER('abc') = x"), 3,
            "UPPER('abc') = x folds to 'ABC' = x");
    is_long((long) nodes("CONCAT('a', x)"), 3, "CONCAT('a', x) stays");
    is_long((long) nodes("x OR TRUE"), 3, "x OR TRUE stays (x first)");
    is_long((long) nodes("1 / 0"), 3, "1 / 0 stays, to fail every time");
    is_long((long) nodes("x LIKE 'a' AND LENGTH('abc') = 3"), 4,
            "a constant operand of AND folds");

    e = compile("LENGTH('abc') + 1");
    ok(e != NULL && em_cesql_constant(e, &v) && v.type == EM_CESQL_INTEGER
       && v.i == 4, "LENGTH('abc') + 1 is the constant 4");
    is_str(e ? em_cesql_text(e) : NULL, "LENGTH('abc') + 1",
           "the text is what was written, not the folded value");
    em_cesql_free(e);

    /* no attribute is read: the event lacks it and there is no error */
    e = compile("FALSE AND missing = 1");
    ok(e != NULL && em_cesql_constant(e, &v) && v.type == EM_CESQL_BOOLEAN
       && !v.b, "FALSE AND missing = 1 is the constant false");
    ok(e != NULL && em_cesql_eval(e, ev, &scratch, &v) == EM_CESQL_OK
       && !v.b, "... and evaluates without reading missing");
    em_cesql_free(e);

    e = compile("TRUE OR x");
    ok(e != NULL && em_cesql_constant(e, &v) && v.b,
       "TRUE OR x is the constant true");
    em_cesql_free(e);

    e = compile("CONCAT(UPPER('a'), LOWER('B'), 'c')");
    ok(e != NULL && em_cesql_constant(e, &v) && v.type == EM_CESQL_STRING
       && v.len == 3 && memcmp(v.s, "Abc", 3) == 0,
       "a string result is copied into the expression");
    em_cesql_free(e);

    e = compile("EXISTS id");
    ok(e != NULL && !em_cesql_constant(e, NULL), "EXISTS id is no constant");
    em_cesql_free(e);

    e = compile("1 / 0");
    ok(e != NULL && !em_cesql_constant(e, NULL), "1 / 0 is no constant");
    em_cesql_free(e);
}


/* --- limits ------------------------------------------------------------- */

static void
test_limits(void)
{
    em_cesql_compile_error_t   err;
    em_cesql_limits_t          lim;
    em_cesql_value_t           v;
    em_cesql_t                *e;
    char                      *s;
    size_t                     n;

    memset(&lim, 0, sizeof(lim));
    lim.max_length = 10;

    e = em_cesql_compile("1234567890", 10, &lim, &err);
    ok(e != NULL, "max_length 10: 10 bytes compile");
    em_cesql_free(e);

    e = em_cesql_compile("12345678901", 11, &lim, &err);
    ok(e == NULL && err.kind == EM_CESQL_EGENERIC && err.column == 11
       && strcmp(err.message, "expression is 11 bytes long, more than "
                 "max_length 10") == 0, "max_length 10: 11 bytes refused");

    s = repeat("", " ", 4096, "");
    s[0] = '1';
    e = em_cesql_compile(s, 4096, NULL, &err);
    ok(e != NULL, "default max_length: 4096 bytes compile");
    em_cesql_free(e);
    e = em_cesql_compile(s, 4097, NULL, &err);
    ok(e == NULL && err.kind == EM_CESQL_EGENERIC,
       "default max_length: 4097 bytes refused");
    free(s);

    lim.max_length = 0;
    lim.max_depth = 5;

    e = em_cesql_compile("NOT NOT NOT NOT TRUE", 20, &lim, &err);
    ok(e != NULL, "max_depth 5: a tree 5 deep compiles");
    em_cesql_free(e);

    e = em_cesql_compile("NOT NOT NOT NOT NOT TRUE", 24, &lim, &err);
    ok(e == NULL && err.kind == EM_CESQL_EGENERIC && err.column == 1
       && strcmp(err.message, "expression nests deeper than max_depth 5 at "
                 "column 1") == 0, "max_depth 5: 6 deep refused: %s",
       err.message);

    e = em_cesql_compile("a = (((((1)))))", 15, &lim, &err);
    ok(e == NULL && err.kind == EM_CESQL_EGENERIC,
       "max_depth 5: parentheses count too");

    /* defaults: 64 levels; never a stack overflow, however deep */
    s = repeat("", "NOT ", 63, "TRUE");
    e = compile(s);
    ok(e != NULL && em_cesql_eval(e, ev, &scratch, &v) == EM_CESQL_OK
       && v.b == 0, "63 NOTs: 64 levels compile and evaluate");
    em_cesql_free(e);
    free(s);

    s = repeat("", "NOT ", 64, "TRUE");
    e = em_cesql_compile(s, strlen(s), NULL, &err);
    ok(e == NULL && err.kind == EM_CESQL_EGENERIC
       && strstr(err.message, "max_depth 64") != NULL,
       "64 NOTs: 65 levels refused");
    free(s);

    lim.max_length = 1 << 22;
    lim.max_depth = 0;

    n = 1000000;
    s = repeat("", "(", n, "");
    e = em_cesql_compile(s, n, &lim, &err);
    ok(e == NULL && err.kind == EM_CESQL_EGENERIC,
       "a million '(': refused, no stack overflow");
    free(s);

    s = repeat("", "-", n, "1");
    e = em_cesql_compile(s, n + 1, &lim, &err);
    ok(e == NULL && err.kind == EM_CESQL_EGENERIC,
       "a million '-': refused, no stack overflow");
    free(s);

    s = repeat("1", " + 1", 100, "");
    e = em_cesql_compile(s, strlen(s), &lim, &err);
    ok(e == NULL && err.kind == EM_CESQL_EGENERIC,
       "a chain of 100 '+' is 101 levels deep: refused");
    free(s);

    s = repeat("x = 0", " OR x = 1", 2000, "");
    e = em_cesql_compile(s, strlen(s), &lim, &err);
    ok(e != NULL && em_cesql_eval(e, ev, &scratch, &v)
                    == EM_CESQL_EMISSING_ATTRIBUTE,
       "a chain of 2000 ORs is one level: it compiles");
    em_cesql_free(e);
    free(s);

    lim.max_depth = 1000000;
    s = repeat("", "NOT ", 300, "TRUE");
    e = em_cesql_compile(s, strlen(s), &lim, &err);
    ok(e == NULL && strstr(err.message, "max_depth 256") != NULL,
       "max_depth is capped at 256");
    free(s);
}


/* --- no allocation per evaluation --------------------------------------- */

static void
test_no_alloc(void)
{
#if COUNT_ALLOCS
    static const char *const  exprs[] = {
        ("CONCAT(UPPER(id), '-', LOWER(mystr), myint, STRING(mybool)) "
         "LIKE 'MYID-%w_rld10true'"),
        "type LIKE 'com.%.created' AND myint IN (1, 2, '10')",
        "SUBSTRING(CONCAT_WS(',', id, source, type), 3, 10) = 'Id,/src,co'",
        "TRIM(CONCAT('  ', mystr, '  ')) = mystr OR missing = 1",
        "LEFT(time, 4) = '2018' AND RIGHT(time, 6) = '+02:00'",
        "missing = 1",
        "ABS(myint - 100) > 50 XOR EXISTS subject",
    };
    em_cesql_scratch_t   s;
    em_cesql_value_t     v;
    em_cesql_t          *e[sizeof(exprs) / sizeof(exprs[0])];
    em_event_t          *big;
    size_t               i, k, cap;
    long                 before;
    char                 value[5000];

    memset(&s, 0, sizeof(s));

    for (i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++) {
        e[i] = compile(exprs[i]);
        if (e[i] == NULL) {
            ok(0, "compile %s", exprs[i]);
            return;
        }
    }

    ok(em_cesql_match(e[0], ev, &s), "the first expression matches");

    /* warm up: the scratch grows to the largest need */
    for (i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++) {
        em_cesql_eval(e[i], ev, &s, &v);
    }

    before = allocs;
    for (k = 0; k < 2000; k++) {
        for (i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++) {
            em_cesql_eval(e[i], ev, &s, &v);
        }
    }
    is_long(allocs - before, 0, "14000 evaluations, 0 allocations");

    /* a longer value grows the scratch once, then it is reused */
    big = test_event();
    memset(value, 'w', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    set(big, "mystr", value, EM_TYPE_STRING);

    cap = s.cap;
    before = allocs;
    em_cesql_eval(e[0], big, &s, &v);
    ok(allocs - before > 0 && s.cap > cap,
       "a 5000-byte attribute grows the scratch (%zu -> %zu bytes)", cap,
       s.cap);

    cap = s.cap;
    before = allocs;
    for (k = 0; k < 1000; k++) {
        em_cesql_eval(e[0], big, &s, &v);
        em_cesql_eval(e[0], ev, &s, &v);
    }
    is_long(allocs - before, 0, "then 2000 evaluations, 0 allocations");
    is_long((long) s.cap, (long) cap, "and the scratch stays as it is");

    em_event_free(big);
    for (i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++) {
        em_cesql_free(e[i]);
    }
    em_cesql_scratch_free(&s);

#else
    ok(1, "# SKIP allocation counting under ASan");
#endif
}


/* --- out of memory ------------------------------------------------------ */

static void
test_oom(void)
{
#if COUNT_ALLOCS
    static const char  expr[] = "CONCAT(UPPER(id), 'x') LIKE 'M_ID%' "
                                "AND myint IN (1, 10) OR LENGTH('ab') = 2";
    em_cesql_compile_error_t   err;
    em_cesql_scratch_t         s;
    em_cesql_value_t           v;
    em_cesql_error_t           rc;
    em_cesql_t                *e;
    long                       n, refused;
    int                        sane;

    sane = 1;
    refused = 0;

    for (n = 0; n < 1000; n++) {
        alloc_fail_at = allocs + n;
        e = em_cesql_compile(expr, sizeof(expr) - 1, NULL, &err);
        alloc_fail_at = -1;

        if (e != NULL) {
            break;
        }

        refused++;
        if (err.kind != EM_CESQL_OK
            || strcmp(err.message, "out of memory") != 0)
        {
            diag("allocation %ld failing: %s", n, err.message);
            sane = 0;
        }
    }

    ok(e != NULL && refused > 0 && sane,
       "out of memory at each of %ld allocations: NULL, kind OK", refused);

    memset(&s, 0, sizeof(s));
    alloc_fail_at = allocs;
    rc = em_cesql_eval(e, ev, &s, &v);
    alloc_fail_at = -1;
    ok(rc == EM_CESQL_EGENERIC && v.type == EM_CESQL_BOOLEAN && !v.b,
       "no memory for the scratch: false, generic error");

    ok(em_cesql_eval(e, ev, &s, &v) == EM_CESQL_OK && v.b,
       "then with memory: true");

    em_cesql_scratch_free(&s);
    em_cesql_free(e);

#else
    ok(1, "# SKIP allocation failures under ASan");
#endif
}


int
main(void)
{
    ev = test_event();
    memset(&scratch, 0, sizeof(scratch));

    test_parse_errors();
    test_functions();
    test_like();
    test_operators();
    test_attributes();
    test_match();
    test_text();
    test_folding();
    test_limits();
    test_no_alloc();
    test_oom();

    em_cesql_scratch_free(&scratch);
    em_event_free(ev);
    return tap_done();
}

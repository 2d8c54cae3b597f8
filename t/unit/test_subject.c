/*
 * Broker naming: subject tokens (injective, no wildcard, no empty token),
 * subjects, stream names, namespace/broker references.
 */

#include "tap.h"

#include <eventmesh/subject.h>

#include <stdlib.h>


static char *
subj(const char *type)
{
    em_buf_t  b;

    em_buf_init(&b);
    if (em_subject_for(&b, "default", 7, "default", 7, type, strlen(type))
        != EM_OK)
    {
        em_buf_free(&b);
        return NULL;
    }

    return b.data;
}


/* Every token non-empty and free of wildcards, whitespace and controls. */
static int
valid_subject(const char *s)
{
    size_t  i, tok;

    tok = 0;
    for (i = 0; s[i]; i++) {
        unsigned char  c = (unsigned char) s[i];

        if (c == '.') {
            if (tok == 0) {
                return 0;
            }
            tok = 0;
            continue;
        }

        if (c == '*' || c == '>' || c <= ' ' || c >= 0x7F) {
            return 0;
        }
        tok++;
    }

    return tok > 0;
}


static void
test_tokens(void)
{
    static const struct {
        const char  *type;
        const char  *want;
    } cases[] = {
        { "com.example.created", "em.default.default.com.example.created" },
        { "order-v1_x", "em.default.default.order-v1_x" },
        { "a*b", "em.default.default.a~2Ab" },
        { ">", "em.default.default.~3E" },
        { "a b", "em.default.default.a~20b" },
        { "a~b", "em.default.default.a~7Eb" },
        { "", "em.default.default.~" },
        { "a..b", "em.default.default.a.~.b" },
        { ".a.", "em.default.default.~.a.~" },
        { "caf\xC3\xA9", "em.default.default.caf~C3~A9" },
        { "tab\there", "em.default.default.tab~09here" },
    };
    size_t  i;
    char   *s;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        s = subj(cases[i].type);
        is_str(s, cases[i].want, "subject of type '%s'", cases[i].type);
        ok(s != NULL && valid_subject(s), "'%s' gives a valid subject",
           cases[i].type);
        free(s);
    }
}


static void
test_injective(void)
{
    /* pairs that a naive mapping would merge */
    static const char  *types[] = {
        "a.b", "a~2Eb", "a_b", "a-b", "a b", "a~20b", "", "~", ".", "..",
        "a.", ".a", "a", "A", "a*", "a~2A", "~7E", "~~", "a>", "a~3E",
    };
    size_t  i, j, n = sizeof(types) / sizeof(types[0]);
    char   *s[sizeof(types) / sizeof(types[0])];
    int     distinct = 1, valid = 1;

    for (i = 0; i < n; i++) {
        s[i] = subj(types[i]);
        valid &= s[i] != NULL && valid_subject(s[i]);
    }

    for (i = 0; i < n; i++) {
        for (j = i + 1; j < n; j++) {
            if (s[i] && s[j] && strcmp(s[i], s[j]) == 0) {
                diag("'%s' and '%s' both give %s", types[i], types[j], s[i]);
                distinct = 0;
            }
        }
    }

    ok(valid, "all %zu tricky types give valid subjects", n);
    ok(distinct, "all %zu tricky types give distinct subjects", n);

    for (i = 0; i < n; i++) {
        free(s[i]);
    }
}


/* Exhaustive over short byte strings: distinct inputs, distinct subjects. */
static void
test_injective_exhaustive(void)
{
    static const char   alphabet[] = { 'a', '.', '~', '*', ' ', '_', '\0',
                                       (char) 0xC3 };
    char              **out;
    char                in[3];
    size_t              k = sizeof(alphabet), n, i, j, len, idx, total;
    int                 distinct = 1, valid = 1;
    em_buf_t            b;

    /* all strings of length 0..3 over the alphabet */
    total = 1 + k + k * k + k * k * k;
    out = calloc(total, sizeof(char *));
    n = 0;

    for (len = 0; len <= 3; len++) {
        size_t  combos = len == 0 ? 1 : len == 1 ? k : len == 2 ? k * k
                                                                : k * k * k;

        for (idx = 0; idx < combos; idx++) {
            size_t  v = idx;

            for (i = 0; i < len; i++) {
                in[i] = alphabet[v % k];
                v /= k;
            }

            em_buf_init(&b);
            em_subject_for(&b, "ns", 2, "b", 1, in, len);
            valid &= valid_subject(b.data);
            out[n++] = b.data;
        }
    }

    for (i = 0; i < n && distinct; i++) {
        for (j = i + 1; j < n; j++) {
            if (strcmp(out[i], out[j]) == 0) {
                diag("collision: %s", out[i]);
                distinct = 0;
                break;
            }
        }
    }

    ok(valid, "%zu generated types give valid subjects", n);
    ok(distinct, "%zu generated types give distinct subjects", n);

    for (i = 0; i < n; i++) {
        free(out[i]);
    }
    free(out);
}


static void
test_names(void)
{
    em_buf_t     b;
    const char  *why;
    size_t       slash;

    em_buf_init(&b);

    em_subject_wildcard(&b, "prod", 4, "orders", 6);
    is_str(b.data, "em.prod.orders.>", "wildcard subject of a broker");

    em_stream_name(&b, "prod", 4, "orders", 6);
    is_str(b.data, "EM_prod_orders", "stream name");

    em_stream_name(&b, "a_b", 3, "c", 1);
    is_str(b.data, "EM_a~5Fb_c", "'_' in a part is escaped in stream names");

    em_stream_name(&b, "a", 1, "b_c", 3);
    ok(strcmp(b.data, "EM_a~5Fb_c") != 0, "(a_b,c) and (a,b_c) differ");

    em_stream_name(&b, "x.y", 3, "z*", 2);
    is_str(b.data, "EM_x~2Ey_z~2A", "'.' and '*' escaped in stream names");

    em_buf_free(&b);

    ok(em_broker_ref_parse("default/default", 15, &slash, &why)
       && slash == 7, "default/default parses, slash at 7");
    ok(em_broker_ref_parse("a1-b/c", 6, &slash, &why) && slash == 4,
       "dashes and digits inside names");
    ok(!em_broker_ref_parse("default", 7, &slash, &why)
       && strstr(why, "namespace/broker") != NULL, "no slash rejected");
    ok(!em_broker_ref_parse("a/b/c", 5, &slash, &why)
       && strstr(why, "exactly one") != NULL, "two slashes rejected");
    ok(!em_broker_ref_parse("/b", 2, &slash, &why)
       && strstr(why, "empty") != NULL, "empty namespace rejected");
    ok(!em_broker_ref_parse("a/", 2, &slash, &why)
       && strstr(why, "empty") != NULL, "empty broker rejected");
    ok(!em_broker_ref_parse("Prod/b", 6, &slash, &why)
       && strstr(why, "lowercase") != NULL, "uppercase rejected");
    ok(!em_broker_ref_parse("-a/b", 4, &slash, &why)
       && strstr(why, "start and end") != NULL, "leading dash rejected");
    ok(!em_broker_ref_parse("a/b-", 4, &slash, &why)
       && strstr(why, "start and end") != NULL, "trailing dash rejected");
    {
        char  ref[2 + 64];

        memcpy(ref, "a/", 2);
        memset(ref + 2, 'x', 64);
        ok(em_broker_ref_parse(ref, 2 + 63, &slash, &why),
           "63-character broker name accepted");
        ok(!em_broker_ref_parse(ref, 2 + 64, &slash, &why)
           && strstr(why, "63") != NULL, "64-character broker name rejected");
    }
    ok(!em_broker_ref_parse("a_b/c", 5, &slash, &why),
       "underscore rejected (it is the stream-name separator)");
}


int
main(void)
{
    test_tokens();
    test_injective();
    test_injective_exhaustive();
    test_names();
    return tap_done();
}

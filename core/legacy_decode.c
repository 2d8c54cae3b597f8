/*
 * The legacy body read as Kyma reads it: Go's json.Decoder decoding into
 * PublishRequestV1 behind http.MaxBytesReader.  Clients saw Go's error
 * texts in "moreInfo" and relied on its leniency (case-insensitive keys,
 * trailing bytes ignored), so both are reproduced: a scanner with the
 * same states and messages as Go's, then a walk that assigns the members
 * with Go's rules.
 */

#include "legacy_int.h"
#include "json_scan.h"

#include <string.h>


/* What Go names the decoding target in its type errors. */
#define EM_GO_TARGET  "api.PublishRequestV1"
#define EM_GO_STRUCT  "PublishRequestV1"


/* The members of PublishRequestV1, in struct order. */
static const char  *em_legacy_fields[] = {
    "event-type", "event-type-version", "event-id", "event-time", "data"
};

#define EM_LF_DATA  4


static int
em_go_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}


/*
 * 2^1024 - 2^970: the smallest decimal that strconv.ParseFloat rounds to
 * +Inf (half way between the largest float64 and 2^1024, ties to even).
 */
static const char  em_go_float_limit[] =
    "17976931348623158079372897140530341507993413271003782693617377898044"
    "49682927647509466490179775872070963302864166928879109465555478519404"
    "02630657488671505820681908902000708383676273854845817711531764475730"
    "27006985557136695962284291481986083493647529271907416844436551070434"
    "2711559699508093042880177904174497792";


int
em_go_float_overflows(const char *s, size_t len)
{
    size_t     i, ib, ie, fb, fe, nd, k, j;
    long long  exp, m;
    int        neg;

    i = (len && s[0] == '-') ? 1 : 0;

    ib = i;
    while (i < len && em_go_digit(s[i])) {
        i++;
    }
    ie = i;

    fb = fe = i;
    if (i < len && s[i] == '.') {
        fb = ++i;
        while (i < len && em_go_digit(s[i])) {
            i++;
        }
        fe = i;
    }

    exp = 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        neg = 0;
        if (i < len && (s[i] == '+' || s[i] == '-')) {
            neg = (s[i] == '-');
            i++;
        }

        for ( ; i < len && em_go_digit(s[i]); i++) {
            /* beyond this the verdict no longer changes */
            if (exp < 1000000000LL) {
                exp = exp * 10 + (s[i] - '0');
            }
        }

        if (neg) {
            exp = -exp;
        }
    }

    /* the digits are int then fraction; k is the first non-zero one */
    nd = (ie - ib) + (fe - fb);

#define EM_DIGIT(x)  ((x) < ie - ib ? s[ib + (x)] : s[fb + (x) - (ie - ib)])

    for (k = 0; k < nd && EM_DIGIT(k) == '0'; k++) {
        /* void */
    }

    if (k == nd) {
        return 0;
    }

    /* the value lies in [10^(m-1), 10^m) */
    m = (long long) (ie - ib) - (long long) k + exp;

    if (m != (long long) sizeof(em_go_float_limit) - 1) {
        return m > (long long) sizeof(em_go_float_limit) - 1;
    }

    for (j = 0; j < sizeof(em_go_float_limit) - 1; j++) {
        if (k + j == nd) {
            /* the remaining digits are zeros; the limit's are not */
            return 0;
        }

        if (EM_DIGIT(k + j) != em_go_float_limit[j]) {
            return EM_DIGIT(k + j) > em_go_float_limit[j];
        }
    }

#undef EM_DIGIT

    return 1;
}


/* The first number in data that float64 cannot hold, as Go meets them. */
static int
em_go_data_overflow(const char *s, size_t b, size_t e, size_t *nb,
    size_t *ne)
{
    size_t  i, j;

    for (i = b; i < e; ) {
        if (s[i] == '"') {
            for (i++; i < e && s[i] != '"'; i++) {
                if (s[i] == '\\') {
                    i++;
                }
            }
            i++;
            continue;
        }

        if (s[i] != '-' && !em_go_digit(s[i])) {
            i++;
            continue;
        }

        for (j = i; j < e && (em_go_digit(s[j]) || s[j] == '-'
                              || s[j] == '+' || s[j] == '.' || s[j] == 'e'
                              || s[j] == 'E'); j++)
        {
            /* void */
        }

        if (em_go_float_overflows(s + i, j - i)) {
            *nb = i;
            *ne = j;
            return 1;
        }

        i = j;
    }

    return 0;
}


/*
 * Whether Go's decoder puts the member with this (unquoted) key into
 * field: ASCII letters compared without case, and the two non-ASCII
 * runes whose fold set holds an ASCII letter (U+017F long s, U+212A
 * Kelvin sign).
 */
static int
em_go_key_matches(const char *k, size_t klen, const char *field)
{
    const unsigned char  *p = (const unsigned char *) k;
    size_t                i, f;
    unsigned char         a, b;

    for (i = 0, f = 0; i < klen; f++) {
        if (field[f] == '\0') {
            return 0;
        }

        b = (unsigned char) field[f];

        if (p[i] < 0x80) {
            a = p[i++];
            if (a >= 'A' && a <= 'Z') {
                a = (unsigned char) (a - 'A' + 'a');
            }

        } else if (klen - i >= 2 && p[i] == 0xC5 && p[i + 1] == 0xBF) {
            a = 's';
            i += 2;

        } else if (klen - i >= 3 && p[i] == 0xE2 && p[i + 1] == 0x84
                   && p[i + 2] == 0xAA)
        {
            a = 'k';
            i += 3;

        } else {
            return 0;
        }

        if (a != b) {
            return 0;
        }
    }

    return field[f] == '\0';
}


static const char *
em_go_kind(char c)
{
    switch (c) {
    case '{': return "object";
    case '[': return "array";
    case '"': return "string";
    case 't':
    case 'f': return "bool";
    default:  return "number";
    }
}


static em_status_t
em_go_type_error(em_buf_t *err, const char *kind, const char *field)
{
    int  rc;

    em_buf_reset(err);

    if (field == NULL) {
        rc = em_buf_printf(err, "json: cannot unmarshal %s into Go value of "
                           "type " EM_GO_TARGET, kind);
    } else {
        rc = em_buf_printf(err, "json: cannot unmarshal %s into Go struct "
                           "field " EM_GO_STRUCT ".%s of type string", kind,
                           field);
    }

    return rc == EM_OK ? EM_EINVALID : EM_ERROR;
}


static em_buf_t *
em_legacy_req_field(em_legacy_req_t *req, size_t f)
{
    switch (f) {
    case 0:  return &req->event_type;
    case 1:  return &req->version;
    case 2:  return &req->id;
    default: return &req->time;
    }
}


/*
 * The members of the object at s[b] assigned as Go's decoder assigns them.
 * The text passed the scanner, so the walk needs no syntax checks.  Go
 * keeps decoding after a type error but reports only the first, and no
 * later member can change that answer, so the walk stops there.
 */
static em_status_t
em_go_decode_object(const char *s, size_t b, size_t e, em_legacy_req_t *req,
    em_buf_t *err)
{
    em_buf_t  key;
    size_t    i, kb, ke, vb, ve, f, nb, ne;
    int       rc;

    em_buf_init(&key);
    rc = EM_OK;

    i = em_json_ws(s, e, b + 1);

    while (i < e && s[i] == '"') {
        kb = i;
        ke = em_json_value_end(s, e, kb);
        if (ke == (size_t) -1) {
            rc = EM_EINVALID;
            break;
        }

        vb = em_json_ws(s, e, em_json_ws(s, e, ke) + 1);
        ve = em_json_value_end(s, e, vb);
        if (ve == (size_t) -1 || ve == vb) {
            rc = EM_EINVALID;
            break;
        }

        rc = em_go_unquote(s + kb, ke - kb, &key);
        if (rc != EM_OK) {
            break;
        }

        for (f = 0; f <= EM_LF_DATA; f++) {
            if (em_go_key_matches(key.data, key.len, em_legacy_fields[f])) {
                break;
            }
        }

        if (f == EM_LF_DATA) {
            req->has_data = (s[vb] != 'n');
            req->data_b = vb;
            req->data_e = ve;

            if (em_go_data_overflow(s, vb, ve, &nb, &ne)) {
                em_buf_reset(err);
                rc = em_buf_printf(err, "json: cannot unmarshal number %.*s "
                                   "into Go struct field " EM_GO_STRUCT
                                   ".data of type float64", (int) (ne - nb),
                                   s + nb);
                rc = (rc == EM_OK) ? EM_EINVALID : EM_ERROR;
                break;
            }

        } else if (f < EM_LF_DATA) {
            if (s[vb] == '"') {
                rc = em_go_unquote(s + vb, ve - vb,
                                   em_legacy_req_field(req, f));
                if (rc != EM_OK) {
                    break;
                }

            } else if (s[vb] != 'n') {
                /* null leaves a string as it was */
                rc = em_go_type_error(err, em_go_kind(s[vb]),
                                      em_legacy_fields[f]);
                break;
            }
        }

        i = em_json_ws(s, e, ve);
        if (i < e && s[i] == ',') {
            i = em_json_ws(s, e, i + 1);
        }
    }

    em_buf_free(&key);
    return rc;
}


void
em_legacy_req_init(em_legacy_req_t *r)
{
    memset(r, 0, sizeof(*r));
    em_buf_init(&r->event_type);
    em_buf_init(&r->version);
    em_buf_init(&r->id);
    em_buf_init(&r->time);
}


void
em_legacy_req_free(em_legacy_req_t *r)
{
    em_buf_free(&r->event_type);
    em_buf_free(&r->version);
    em_buf_free(&r->id);
    em_buf_free(&r->time);
}


em_status_t
em_legacy_decode(const char *s, size_t len, size_t max, int truncated,
    em_legacy_req_t *req, em_buf_t *err)
{
    size_t       n, vb, ve;
    int          eof;
    em_status_t  rc;

    n = len;
    eof = !truncated;

    if (max != 0 && len > max) {
        n = max;
        eof = 0;
    }

    rc = em_go_scan(s, n, eof, &vb, &ve, err);
    if (rc != EM_OK) {
        return rc;
    }

    switch (s[vb]) {
    case '{':
        return em_go_decode_object(s, vb, ve, req, err);

    case 'n':
        /* null into a struct changes nothing */
        return EM_OK;

    default:
        return em_go_type_error(err, em_go_kind(s[vb]), NULL);
    }
}

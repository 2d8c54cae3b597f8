/*
 * What a server answers a JetStream publish: the PubAck or API error JSON,
 * the status line of the header block, and INFO's JSON, all on the same
 * bytes.  Every answer must have one kind with its fields in range, and
 * the spans must point into the parsed document or the input.
 */

#include <eventmesh/nats_proto.h>

#include <jansson.h>
#include <string.h>

#define FUZZ_ASSERT(c)  do { if (!(c)) { __builtin_trap(); } } while (0)


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char        *s = (const char *) data;
    unsigned           status;
    json_t            *doc;
    json_error_t       e;
    em_nats_span_t     text;
    em_nats_info_t     info;
    em_nats_puback_t   ack;
    char               err[EM_NATS_ERROR_SIZE];

    switch (em_nats_puback_parse(s, size, &ack)) {

    case EM_NATS_PUBACK_STORED:
        FUZZ_ASSERT(ack.doc != NULL && ack.stream.data != NULL);
        FUZZ_ASSERT(ack.seq <= (uint64_t) INT64_MAX);
        FUZZ_ASSERT(ack.code == 0 && ack.err_code == 0);
        FUZZ_ASSERT(ack.duplicate == 0 || ack.duplicate == 1);
        FUZZ_ASSERT(strlen(ack.stream.data) <= ack.stream.len);
        break;

    case EM_NATS_PUBACK_API_ERROR:
        FUZZ_ASSERT(ack.doc != NULL && ack.description.data != NULL);
        FUZZ_ASSERT(ack.code <= (uint64_t) INT64_MAX);
        FUZZ_ASSERT(ack.err_code <= (uint64_t) INT64_MAX);
        FUZZ_ASSERT(ack.stream.len == 0);
        break;

    case EM_NATS_PUBACK_MALFORMED:
        FUZZ_ASSERT(ack.doc == NULL && ack.code == 0);
        FUZZ_ASSERT(ack.description.len > 0);

        /* what the parser refuses is no object with a valid answer */
        doc = json_loadb(s, size, 0, &e);
        FUZZ_ASSERT(doc == NULL || !json_is_object(doc)
                    || json_object_get(doc, "error") != NULL
                    || !json_is_string(json_object_get(doc, "stream"))
                    || !json_is_integer(json_object_get(doc, "seq"))
                    || json_integer_value(json_object_get(doc, "seq")) < 0);
        json_decref(doc);
        break;

    default:
        FUZZ_ASSERT(0);
    }

    em_nats_puback_free(&ack);
    FUZZ_ASSERT(ack.doc == NULL);

    if (em_nats_info_parse(s, size, &info, err, sizeof(err)) == EM_OK) {
        FUZZ_ASSERT(info.max_payload <= EM_NATS_MAX_PAYLOAD);
        FUZZ_ASSERT(strlen(info.version) < sizeof(info.version));

    } else {
        FUZZ_ASSERT(err[0] != '\0' && strlen(err) < sizeof(err));
    }

    if (em_nats_status_parse(s, size, &status, &text) == EM_OK) {
        FUZZ_ASSERT(size >= 10 && memcmp(s, "NATS/1.0", 8) == 0);
        FUZZ_ASSERT(status == 0 || (status >= 100 && status <= 999));
        FUZZ_ASSERT(status == 0 || text.len > 0);
        FUZZ_ASSERT(status != 0 || text.len == 0);
        FUZZ_ASSERT(text.len == 0 || text.data == NULL
                    || (text.data >= s && text.data + text.len <= s + size)
                    || strcmp(text.data, "NATS error status") == 0);
        FUZZ_ASSERT(memchr(text.data ? text.data : "", '\r', text.len)
                    == NULL);
    }

    return 0;
}

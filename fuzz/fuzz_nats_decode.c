/*
 * The dispatcher's side: a NATS header block as stored in JetStream.
 * Input: the header block, then (after the first "\r\n\r\n") the payload.
 * A decoded event must re-encode to a block that decodes to itself.
 */

#include "fuzz_common.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char  *p = (const char *) data, *sep, *err;
    size_t       hlen;
    em_event_t  *ev, *back;
    em_buf_t     hdr;

    sep = memmem(p, size, "\r\n\r\n", 4);
    hlen = sep ? (size_t) (sep - p) + 4 : size;

    ev = NULL;
    err = NULL;

    if (em_nats_decode(p, hlen, data + hlen, size - hlen, &ev, &err)
        != EM_OK)
    {
        FUZZ_ASSERT(ev == NULL && err != NULL);
        return 0;
    }

    em_buf_init(&hdr);
    FUZZ_ASSERT(em_nats_encode_headers(ev, &hdr) == EM_OK);
    back = NULL;
    FUZZ_ASSERT(em_nats_decode(hdr.data, hdr.len, ev->data, ev->data_len,
                               &back, &err) == EM_OK);
    FUZZ_ASSERT(fuzz_same_event(ev, back, 1));

    em_event_free(back);
    em_event_free(ev);
    em_buf_free(&hdr);
    return 0;
}

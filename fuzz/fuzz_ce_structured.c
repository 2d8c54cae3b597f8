/* Structured mode: the input is the body of an application/cloudevents+json
 * request. */

#include "fuzz_common.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    em_header_t  h;

    h.name = "Content-Type";
    h.name_len = 12;
    h.value = "application/cloudevents+json; charset=utf-8";
    h.value_len = strlen(h.value);

    fuzz_request(&h, 1, data, size);
    return 0;
}

/*
 * Nats-Msg-Id: the JetStream de-duplication key.  Derived from source and
 * id because the spec makes that pair the event's identity, so a client's
 * retry within the duplicate window is stored once.
 */

#include <eventmesh/codec.h>

#include <openssl/evp.h>
#include <string.h>


static void
em_be64(unsigned char out[8], uint64_t v)
{
    int  i;

    for (i = 7; i >= 0; i--) {
        out[i] = (unsigned char) (v & 0xFF);
        v >>= 8;
    }
}


void
em_msg_id(const char *source, size_t source_len, const char *id,
    size_t id_len, char out[EM_MSG_ID_LEN + 1])
{
    static const char  hex[] = "0123456789abcdef";
    unsigned char      md[EVP_MAX_MD_SIZE], len[8];
    unsigned int       mdlen, i;
    EVP_MD_CTX        *ctx;

    mdlen = 0;
    ctx = EVP_MD_CTX_new();

    if (ctx == NULL
        || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1
        || (em_be64(len, source_len), EVP_DigestUpdate(ctx, len, 8)) != 1
        || EVP_DigestUpdate(ctx, source, source_len) != 1
        || (em_be64(len, id_len), EVP_DigestUpdate(ctx, len, 8)) != 1
        || EVP_DigestUpdate(ctx, id, id_len) != 1
        || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1
        || mdlen != EM_MSG_ID_LEN / 2)
    {
        /*
         * libcrypto failing on SHA-256 means it could not allocate; an
         * empty id only turns de-duplication off for this message.
         */
        EVP_MD_CTX_free(ctx);
        out[0] = '\0';
        return;
    }

    EVP_MD_CTX_free(ctx);

    for (i = 0; i < mdlen; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0xF];
    }
    out[EM_MSG_ID_LEN] = '\0';
}

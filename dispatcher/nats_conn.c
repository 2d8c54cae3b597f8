/*
 * Connecting to NATS with cnats.
 */

#include "nats_conn.h"
#include "conf_walk.h"

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>


/*
 * cnats 3.4 frees OpenSSL's list of compression methods when the library
 * is closed (nats_CloseAndWait), and OpenSSL frees the same list again in
 * its exit handler: after TLS was used, the process crashed on its way
 * out.  OpenSSL is given no list instead, before cnats makes its
 * context, so that both frees are of nothing; the old list stays
 * reachable (volatile: a store never read is otherwise dropped) for any
 * context made before.  TLS compression is off in every client anyway.
 */
static STACK_OF(SSL_COMP) *volatile  em_nats_comp_methods;
static pthread_once_t                em_nats_comp_once = PTHREAD_ONCE_INIT;


static void
em_nats_comp_detach(void)
{
    /* the built-in list is loaded once, on the first call */
    (void) SSL_COMP_get_compression_methods();

    em_nats_comp_methods = SSL_COMP_set0_compression_methods(NULL);
}


int
em_nats_servers_text(const em_config_t *cf, em_buf_t *out)
{
    size_t  i;

    em_buf_reset(out);

    /* allocated even for an empty list, so that data is never NULL */
    if (em_buf_append(out, "", 0) != EM_OK) {
        return EM_ERROR;
    }

    for (i = 0; i < cf->nservers; i++) {
        if (em_buf_printf(out, "%s%s", i ? ", " : "", cf->servers[i])
            != EM_OK)
        {
            return EM_ERROR;
        }
    }

    return EM_OK;
}


const char *
em_nats_error_text(natsStatus s)
{
    const char  *text, *p;
    natsStatus   last;

    text = nats_GetLastError(&last);
    if (text != NULL && text[0] != '\0' && last == s) {
        /* cnats prefixes "(file.c:123): ", which helps nobody running us */
        if (text[0] == '(') {
            p = strstr(text, "): ");
            if (p != NULL && p[3] != '\0') {
                return p + 3;
            }
        }

        return text;
    }

    return natsStatus_GetText(s);
}


static int
em_nats_fail(em_buf_t *err, const char *what, natsStatus s)
{
    em_buf_reset(err);
    em_buf_printf(err, "%s: %s", what, em_nats_error_text(s));
    return EM_ERROR;
}


/*
 * The name the servers' certificates must hold: nats.tls.name, else the
 * servers' host when they all have the same one.  cnats checks one name
 * for every server, so servers under different names need nats.tls.name;
 * without it only the chain is verified.  NULL, or a string to free.
 */
static char *
em_nats_tls_name(const em_config_t *cf)
{
    size_t       i, len, first_len;
    const char  *url, *rest, *host, *first;
    unsigned     port;

    if (cf->tls.name != NULL) {
        return strdup(cf->tls.name);
    }

    first = NULL;
    first_len = 0;

    for (i = 0; i < cf->nservers; i++) {
        url = cf->servers[i];
        rest = strstr(url, "://");
        rest = rest ? rest + 3 : url;

        if (em_conf_host_port(rest, strlen(rest), &host, &len, &port) != 0) {
            return NULL;
        }

        if (first == NULL) {
            first = host;
            first_len = len;

        } else if (len != first_len || memcmp(host, first, len) != 0) {
            return NULL;
        }
    }

    return first ? strndup(first, first_len) : NULL;
}


static natsStatus
em_nats_tls_options(const em_config_t *cf, natsOptions *opts)
{
    const em_tls_conf_t  *tls;
    natsStatus            s;
    char                 *name;

    tls = &cf->tls;

    (void) pthread_once(&em_nats_comp_once, em_nats_comp_detach);

    s = natsOptions_SetSecure(opts, true);

    if (s == NATS_OK && tls->ca != NULL) {
        s = natsOptions_LoadCATrustedCertificates(opts, tls->ca);
    }

    if (s == NATS_OK && tls->cert != NULL) {
        s = natsOptions_LoadCertificatesChain(opts, tls->cert, tls->key);
    }

    if (s != NATS_OK) {
        return s;
    }

    if (!tls->verify) {
        return natsOptions_SkipServerVerification(opts, true);
    }

    name = em_nats_tls_name(cf);

    if (name != NULL) {
        s = natsOptions_SetExpectedHostname(opts, name);
        free(name);
    }

    return s;
}


natsStatus
em_nats_options(const em_config_t *cf, const char *client_name,
    int64_t timeout_ms, natsOptions **out)
{
    natsOptions  *opts;
    natsStatus    s;

    *out = NULL;

    s = natsOptions_Create(&opts);
    if (s != NATS_OK) {
        return s;
    }

    s = natsOptions_SetServers(opts, (const char **) cf->servers,
                               (int) cf->nservers);

    /* the configured order is the operator's preference */
    if (s == NATS_OK) {
        s = natsOptions_SetNoRandomize(opts, true);
    }

    if (s == NATS_OK && cf->user != NULL) {
        s = natsOptions_SetUserInfo(opts, cf->user, cf->password);
    }

    if (s == NATS_OK && cf->token != NULL) {
        s = natsOptions_SetToken(opts, cf->token);
    }

    if (s == NATS_OK && cf->tls.enabled) {
        s = em_nats_tls_options(cf, opts);
    }

    if (s == NATS_OK) {
        s = natsOptions_SetTimeout(opts, timeout_ms);
    }

    if (s == NATS_OK) {
        s = natsOptions_SetName(opts, client_name);
    }

    if (s != NATS_OK) {
        natsOptions_Destroy(opts);
        return s;
    }

    *out = opts;
    return NATS_OK;
}


int
em_nats_connect(const em_config_t *cf, const char *client_name,
    int64_t timeout_ms, int reconnect, natsConnection **nc, em_buf_t *err)
{
    natsOptions  *opts;
    natsStatus    s;
    em_buf_t      servers;

    *nc = NULL;

    s = em_nats_options(cf, client_name, timeout_ms, &opts);
    if (s != NATS_OK) {
        return em_nats_fail(err, "cannot set up the NATS client", s);
    }

    s = natsOptions_SetAllowReconnect(opts, reconnect ? true : false);

    if (s == NATS_OK && reconnect) {
        /* the daemon outlives any outage; it never gives up */
        s = natsOptions_SetMaxReconnect(opts, -1);
    }

    if (s != NATS_OK) {
        natsOptions_Destroy(opts);
        return em_nats_fail(err, "cannot set up the NATS client", s);
    }

    s = natsConnection_Connect(nc, opts);
    natsOptions_Destroy(opts);

    if (s == NATS_OK) {
        return EM_OK;
    }

    *nc = NULL;

    em_buf_init(&servers);
    if (em_nats_servers_text(cf, &servers) != EM_OK) {
        em_buf_free(&servers);
        return em_nats_fail(err, "cannot connect to NATS", s);
    }

    em_buf_reset(err);

    switch (s) {

    case NATS_NO_SERVER:
        (void) em_buf_printf(err, "cannot connect to NATS at %s: no server "
                             "answered (each tried for up to %lld ms); is "
                             "nats-server running there?", servers.data,
                             (long long) timeout_ms);
        break;

    case NATS_TIMEOUT:
        (void) em_buf_printf(err, "cannot connect to NATS at %s: no NATS "
                             "answer within %lld ms (is that port a NATS "
                             "server?)", servers.data,
                             (long long) timeout_ms);
        break;

    case NATS_NOT_PERMITTED:
    case NATS_CONNECTION_AUTH_FAILED:
        if (cf->user == NULL && cf->token == NULL) {
            (void) em_buf_printf(err, "NATS at %s requires credentials "
                                 "(%s): set nats.user and nats.password, or "
                                 "nats.token", servers.data,
                                 em_nats_error_text(s));

        } else {
            (void) em_buf_printf(err, "NATS at %s refused the credentials "
                                 "(%s): check nats.user and nats.password, "
                                 "or nats.token", servers.data,
                                 em_nats_error_text(s));
        }
        break;

    case NATS_PROTOCOL_ERROR:
    case NATS_IO_ERROR:
    case NATS_CONNECTION_CLOSED:
        if (!cf->tls.enabled) {
            goto other;
        }

        /* a refused client certificate is only seen as a dropped login */
        (void) em_buf_printf(err, "NATS at %s dropped the TLS connection "
                             "at login (%s): %s", servers.data,
                             em_nats_error_text(s),
                             cf->tls.cert == NULL
                             ? "if it requires client certificates, set "
                               "nats.tls.cert and nats.tls.key"
                             : "check that it trusts nats.tls.cert");
        break;

    case NATS_SSL_ERROR:
        (void) em_buf_printf(err, "TLS with NATS at %s failed (%s): check "
                             "nats.tls.ca, cert, key and name",
                             servers.data, em_nats_error_text(s));
        break;

    case NATS_SECURE_CONNECTION_WANTED:
        (void) em_buf_printf(err, "NATS at %s does not offer TLS, but "
                             "nats.tls or a tls:// server asks for it",
                             servers.data);
        break;

    default:
    other:
        (void) em_buf_printf(err, "cannot connect to NATS at %s: %s",
                             servers.data, em_nats_error_text(s));
        break;
    }

    em_buf_free(&servers);
    return EM_ERROR;
}


/*
 * Copyright (C) nginx Event Mesh authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_event_mesh_nats.h"


/*
 * TLS towards NATS with nginx's own SSL layer.  A NATS server sends its
 * INFO in clear text first; the client then starts the handshake on the
 * same socket and sends CONNECT over TLS.  The context is built once from
 * the configuration; verification follows nginx's upstream SSL: the
 * handshake completes whatever the certificate, and the chain and the
 * name are checked afterwards, so that the log can say which failed.
 */


#define NGX_EM_NATS_TLS_DEFAULT_PROTOCOLS                                     \
    (NGX_CONF_BITMASK_SET|NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3)


#if (NGX_SSL)

static ngx_int_t ngx_em_nats_tls_is_address(ngx_str_t *name);


ngx_conf_bitmask_t  ngx_em_nats_tls_protocols[] = {
    { ngx_string("TLSv1"), NGX_SSL_TLSv1 },
    { ngx_string("TLSv1.1"), NGX_SSL_TLSv1_1 },
    { ngx_string("TLSv1.2"), NGX_SSL_TLSv1_2 },
    { ngx_string("TLSv1.3"), NGX_SSL_TLSv1_3 },
    { ngx_null_string, 0 }
};

#endif


void
ngx_em_nats_tls_conf_init(ngx_em_nats_conf_t *nc)
{
    nc->tls = NGX_CONF_UNSET;
    nc->tls_verify = NGX_CONF_UNSET;
    nc->tls_verify_depth = NGX_CONF_UNSET_UINT;
    nc->tls_protocols = 0;
    nc->tls_passwords = NGX_CONF_UNSET_PTR;

    ngx_str_null(&nc->tls_ciphers);
    ngx_str_null(&nc->tls_name);
    ngx_str_null(&nc->tls_trusted_certificate);
    ngx_str_null(&nc->tls_certificate);
    ngx_str_null(&nc->tls_certificate_key);

    ngx_str_null(&nc->tls_url);

#if (NGX_SSL)
    nc->ssl = NULL;
#endif
}


char *
ngx_em_nats_tls_conf_merge(ngx_conf_t *cf, ngx_em_nats_conf_t *nc)
{
    const char           *set;
#if (NGX_SSL)
    ngx_pool_cleanup_t   *cln;
#endif

    if (nc->tls == 0 && nc->tls_url.data != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "NATS server \"%V\" asks for TLS, but "
                           "\"event_mesh_nats_tls\" is off",
                           &nc->tls_url);
        return NGX_CONF_ERROR;
    }

    ngx_conf_init_value(nc->tls, nc->tls_url.data != NULL);

    /* a TLS setting that would silently do nothing is a mistake */

    set = NULL;

    if (nc->tls_trusted_certificate.data) {
        set = "event_mesh_nats_tls_trusted_certificate";

    } else if (nc->tls_certificate.data) {
        set = "event_mesh_nats_tls_certificate";

    } else if (nc->tls_certificate_key.data) {
        set = "event_mesh_nats_tls_certificate_key";

    } else if (nc->tls_name.data) {
        set = "event_mesh_nats_tls_name";

    } else if (nc->tls_verify != NGX_CONF_UNSET) {
        set = "event_mesh_nats_tls_verify";

    } else if (nc->tls_verify_depth != NGX_CONF_UNSET_UINT) {
        set = "event_mesh_nats_tls_verify_depth";

    } else if (nc->tls_protocols) {
        set = "event_mesh_nats_tls_protocols";

    } else if (nc->tls_ciphers.data) {
        set = "event_mesh_nats_tls_ciphers";

    } else if (nc->tls_passwords != NGX_CONF_UNSET_PTR) {
        set = "event_mesh_nats_tls_password_file";
    }

    if (!nc->tls) {
        if (set != NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%s\" needs \"event_mesh_nats_tls on\"",
                               set);
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

#if !(NGX_SSL)

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "TLS towards NATS needs nginx built with OpenSSL");
    return NGX_CONF_ERROR;

#else

    ngx_conf_init_value(nc->tls_verify, 1);
    ngx_conf_init_uint_value(nc->tls_verify_depth, 1);
    ngx_conf_init_ptr_value(nc->tls_passwords, NULL);

    if (nc->tls_protocols == 0) {
        nc->tls_protocols = NGX_EM_NATS_TLS_DEFAULT_PROTOCOLS;
    }

    if (nc->tls_ciphers.data == NULL) {
        ngx_str_set(&nc->tls_ciphers, "DEFAULT");
    }

    if (nc->tls_certificate.data && nc->tls_certificate_key.data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no \"event_mesh_nats_tls_certificate_key\" for "
                           "\"event_mesh_nats_tls_certificate\" \"%V\"",
                           &nc->tls_certificate);
        return NGX_CONF_ERROR;
    }

    if (nc->tls_certificate_key.data && nc->tls_certificate.data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no \"event_mesh_nats_tls_certificate\" for "
                           "\"event_mesh_nats_tls_certificate_key\" \"%V\"",
                           &nc->tls_certificate_key);
        return NGX_CONF_ERROR;
    }

    nc->ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
    if (nc->ssl == NULL) {
        return NGX_CONF_ERROR;
    }

    nc->ssl->log = cf->log;

    if (ngx_ssl_create(nc->ssl, nc->tls_protocols, NULL) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(nc->ssl);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = nc->ssl;

    if (ngx_ssl_ciphers(cf, nc->ssl, &nc->tls_ciphers, 0) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"event_mesh_nats_tls_ciphers\" \"%V\"",
                           &nc->tls_ciphers);
        return NGX_CONF_ERROR;
    }

    if (nc->tls_certificate.data
        && ngx_ssl_certificate(cf, nc->ssl, &nc->tls_certificate,
                               &nc->tls_certificate_key, nc->tls_passwords)
           != NGX_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "cannot use \"event_mesh_nats_tls_certificate\" "
                           "\"%V\" with its key \"%V\"",
                           &nc->tls_certificate, &nc->tls_certificate_key);
        return NGX_CONF_ERROR;
    }

    if (!nc->tls_verify) {
        return NGX_CONF_OK;
    }

    if (ngx_ssl_trusted_certificate(cf, nc->ssl,
                                    &nc->tls_trusted_certificate,
                                    nc->tls_verify_depth)
        != NGX_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "cannot use "
                           "\"event_mesh_nats_tls_trusted_certificate\" "
                           "\"%V\"", &nc->tls_trusted_certificate);
        return NGX_CONF_ERROR;
    }

    /*
     * Like the NATS clients, trust the system's authorities when no file
     * is named: a server with a public certificate needs no setting.
     */

    if (nc->tls_trusted_certificate.data == NULL
        && SSL_CTX_set_default_verify_paths(nc->ssl->ctx) != 1)
    {
        ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0,
                      "SSL_CTX_set_default_verify_paths() failed: set "
                      "\"event_mesh_nats_tls_trusted_certificate\"");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;

#endif
}


#if (NGX_SSL)

char *
ngx_em_nats_tls_conf_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t   *field, *value, full;

    field = (ngx_str_t *) (p + cmd->offset);

    if (field->data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;
    full = value[1];

    if (full.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "empty file name in \"%V\" directive", &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (ngx_conf_full_name(cf->cycle, &full, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* said here, the error names the directive and its line */

    if (access((char *) full.data, R_OK) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "cannot read \"%V\" in \"%V\" directive",
                           &full, &cmd->name);
        return NGX_CONF_ERROR;
    }

    *field = full;

    return NGX_CONF_OK;
}


char *
ngx_em_nats_tls_conf_password_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char  *p = conf;

    ngx_str_t     *value;
    ngx_array_t  **field;

    field = (ngx_array_t **) (p + cmd->offset);

    if (*field != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    *field = ngx_ssl_read_password_file(cf, &value[1]);

    /* nginx wipes them once the configuration is read */

    return (*field == NULL) ? NGX_CONF_ERROR : NGX_CONF_OK;
}


ngx_int_t
ngx_em_nats_tls_start(ngx_connection_t *c, ngx_em_nats_conf_t *nc,
    ngx_str_t *name)
{
    /*
     * A peer connection comes without a pool; SSL needs one for its state.
     * Whoever closes the connection destroys it.
     */

    if (c->pool == NULL) {
        c->pool = ngx_create_pool(128, c->log);
        if (c->pool == NULL) {
            return NGX_ERROR;
        }
    }

    if (ngx_ssl_create_connection(nc->ssl, c, NGX_SSL_CLIENT) != NGX_OK) {
        return NGX_ERROR;
    }

    /* RFC 6066: no SNI for an address */

    if (name->len == 0 || ngx_em_nats_tls_is_address(name)) {
        return NGX_OK;
    }

    /* the name is NUL-terminated, from the configuration */

    if (SSL_set_tlsext_host_name(c->ssl->connection, (char *) name->data)
        == 0)
    {
        ngx_ssl_error(NGX_LOG_ERR, c->log, 0,
                      "SSL_set_tlsext_host_name(\"%V\") failed", name);
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_em_nats_tls_check(ngx_connection_t *c, ngx_em_nats_conf_t *nc,
    ngx_str_t *name, ngx_uint_t level, ngx_log_t *log)
{
    long   rc;
    X509  *cert;
    int    match;

    if (!nc->tls_verify) {
        return NGX_OK;
    }

    rc = SSL_get_verify_result(c->ssl->connection);

    if (rc != X509_V_OK) {
        ngx_log_error(level, log, 0,
                      "NATS server certificate verify error: (%l:%s)",
                      rc, X509_verify_cert_error_string(rc));
        return NGX_ERROR;
    }

    if (!ngx_em_nats_tls_is_address(name)) {

        if (ngx_ssl_check_host(c, name) != NGX_OK) {
            goto mismatch;
        }

        return NGX_OK;
    }

    /* ngx_ssl_check_host() compares DNS names only */

    cert = SSL_get_peer_certificate(c->ssl->connection);
    if (cert == NULL) {
        ngx_log_error(level, log, 0,
                      "NATS server sent no certificate");
        return NGX_ERROR;
    }

    match = X509_check_ip_asc(cert, (char *) name->data, 0);

    X509_free(cert);

    if (match == 1) {
        return NGX_OK;
    }

mismatch:

    ngx_log_error(level, log, 0,
                  "NATS server certificate does not match \"%V\" (set "
                  "\"event_mesh_nats_tls_name\" to the name it holds)",
                  name);

    return NGX_ERROR;
}


void
ngx_em_nats_tls_close(ngx_connection_t *c)
{
    /* waiting for close_notify would outlive the connection's owner */
    c->ssl->no_wait_shutdown = 1;
    c->ssl->no_send_shutdown = 1;

    (void) ngx_ssl_shutdown(c);
}


static ngx_int_t
ngx_em_nats_tls_is_address(ngx_str_t *name)
{
    u_char  buf[NGX_SOCKADDR_STRLEN];

    if (ngx_inet_addr(name->data, name->len) != INADDR_NONE) {
        return 1;
    }

#if (NGX_HAVE_INET6)
    if (ngx_inet6_addr(name->data, name->len, buf) == NGX_OK) {
        return 1;
    }
#else
    (void) buf;
#endif

    return 0;
}

#endif /* NGX_SSL */

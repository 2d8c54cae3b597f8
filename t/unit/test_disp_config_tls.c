/*
 * nats.tls of dispatcher.yaml: the keys, files resolved against the
 * configuration's directory and checked when it is read, tls:// servers,
 * and every mistake reported with its line.
 */

#include "tap.h"

#include "config.h"

#include <stdlib.h>
#include <unistd.h>


static char   dir[] = "/tmp/em-tls-conf-XXXXXX";
static char   conf_path[sizeof(dir) + 32];
static char  *last_msgs;


static void
touch(const char *name)
{
    char   path[sizeof(dir) + 32];
    FILE  *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    if (f != NULL) {
        fputs("not checked here: cnats reads it\n", f);
        fclose(f);
    }
}


static void
rm(const char *name)
{
    char  path[sizeof(dir) + 32];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
}


/* Loads "nats:\n" + nats; the diagnostics as text in *msgs (freed by us). */
static int
load(em_config_t *cf, const char *nats, char **msgs)
{
    char          text[2048];
    em_diag_t     d;
    size_t        len;
    FILE         *out;
    int           rc;

    snprintf(text, sizeof(text),
             "nats:\n%s"
             "brokers:\n  - namespace: default\n    name: default\n", nats);

    em_diag_init(&d);
    rc = em_config_load_string(cf, conf_path, text, strlen(text), &d);

    free(last_msgs);
    last_msgs = NULL;
    len = 0;
    out = open_memstream(&last_msgs, &len);
    if (out != NULL) {
        em_diag_print(&d, out);
        fclose(out);
    }

    em_diag_free(&d);
    *msgs = last_msgs ? last_msgs : "";

    return rc;
}


static int
has(const char *msgs, const char *want)
{
    if (strstr(msgs, want) != NULL) {
        return 1;
    }

    diag("messages: %s", msgs);
    diag("expected: %s", want);
    return 0;
}


static const char *
in_dir(const char *name)
{
    static char  path[sizeof(dir) + 32];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return path;
}


int
main(void)
{
    em_config_t   cf;
    char         *m;
    char          abs_ca[sizeof(dir) + 64];

    if (mkdtemp(dir) == NULL) {
        ok(0, "a temporary directory");
        return tap_done();
    }

    snprintf(conf_path, sizeof(conf_path), "%s/dispatcher.yaml", dir);
    touch("ca.pem");
    touch("client.pem");
    touch("client.key");

    /* every key */
    if (ok(load(&cf, "  servers: [nats://nats.example.com:4222]\n"
                     "  tls:\n    ca: ca.pem\n    cert: client.pem\n"
                     "    key: client.key\n    name: nats.example.com\n"
                     "    verify: true\n", &m) == 0, "every key loads"))
    {
        ok(cf.tls.enabled && cf.tls.verify, "on, verifying");
        is_str(cf.tls.ca, in_dir("ca.pem"),
               "ca is resolved against the file's directory");
        is_str(cf.tls.cert, in_dir("client.pem"), "cert too");
        is_str(cf.tls.key, in_dir("client.key"), "key too");
        is_str(cf.tls.name, "nats.example.com", "name as given");
        em_config_free(&cf);
    }

    snprintf(abs_ca, sizeof(abs_ca), "  tls:\n    ca: %s\n", in_dir("ca.pem"));
    if (ok(load(&cf, abs_ca, &m) == 0, "an absolute path")) {
        is_str(cf.tls.ca, in_dir("ca.pem"), "is kept");
        ok(cf.tls.cert == NULL && cf.tls.name == NULL, "the rest unset");
        em_config_free(&cf);
    }

    if (ok(load(&cf, "  tls: {}\n", &m) == 0, "tls: {}")) {
        ok(cf.tls.enabled && cf.tls.verify && cf.tls.ca == NULL,
           "turns TLS on with the defaults");
        em_config_free(&cf);
    }

    if (ok(load(&cf, "  tls:\n", &m) == 0, "tls: without a value")) {
        ok(cf.tls.enabled, "turns TLS on too");
        em_config_free(&cf);
    }

    if (ok(load(&cf, "  servers: [nats://a:4222, tls://b:4222]\n", &m) == 0,
           "a tls:// server")) {
        ok(cf.tls.enabled, "turns TLS on for all");
        em_config_free(&cf);
    }

    if (ok(load(&cf, "  servers: [nats://a:4222]\n", &m) == 0, "nats://")) {
        ok(!cf.tls.enabled, "no TLS");
        em_config_free(&cf);
    }

    if (ok(load(&cf, "  tls:\n    verify: false\n    cert: client.pem\n"
                     "    key: client.key\n", &m) == 0,
           "verify false with a client certificate"))
    {
        ok(cf.tls.enabled && !cf.tls.verify, "verify off");
        em_config_free(&cf);
    }

    /* mistakes */

    ok(load(&cf, "  tls:\n    ca: nope.pem\n", &m) != 0
       && has(m, "dispatcher.yaml:3: nats.tls.ca: cannot read ")
       && has(m, "nope.pem: No such file or directory"),
       "a file that cannot be read: its key, line, path and why");

    ok(load(&cf, "  tls:\n    cert: client.pem\n", &m) != 0
       && has(m, ":3: nats.tls.cert: a client certificate needs "
                 "nats.tls.key"),
       "a certificate without its key");

    ok(load(&cf, "  tls:\n    key: client.key\n", &m) != 0
       && has(m, ":3: nats.tls.key: a private key needs nats.tls.cert"),
       "a key without its certificate");

    ok(load(&cf, "  tls:\n    verify: maybe\n", &m) != 0
       && has(m, ":3: nats.tls.verify: \"maybe\" is not true or false"),
       "verify must be a boolean");

    ok(load(&cf, "  tls:\n    verify: false\n    ca: ca.pem\n", &m) != 0
       && has(m, ":3: nats.tls.verify: false checks nothing"),
       "verify false with a CA is a contradiction");

    ok(load(&cf, "  tls:\n    cafile: ca.pem\n", &m) != 0
       && has(m, "cafile") && has(m, "nats.tls"),
       "an unknown key is named");

    ok(load(&cf, "  tls: [ca.pem]\n", &m) != 0
       && has(m, ":2: nats.tls: expected a mapping"),
       "tls must be a mapping");

    ok(load(&cf, "  tls:\n    name: \"\"\n", &m) != 0
       && has(m, "nats.tls.name: must not be empty"),
       "an empty name");

    ok(load(&cf, "  servers: [ws://a:4222]\n", &m) != 0
       && has(m, "is not a NATS URL (use nats://host:port or "
                 "tls://host:port)"),
       "another scheme");

    ok(load(&cf, "  tls:\n    ca: nope.pem\n    cert: gone.pem\n"
                 "    key: client.key\n", &m) != 0
       && has(m, "nats.tls.ca: cannot read") && has(m, "nats.tls.cert: "
                                                     "cannot read"),
       "every unreadable file is reported at once");

    free(last_msgs);

    rm("ca.pem");
    rm("client.pem");
    rm("client.key");
    rmdir(dir);

    return tap_done();
}

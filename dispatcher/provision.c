/*
 * provision: one JetStream stream per broker, brought in line with
 * dispatcher.yaml.  Settings the dispatcher does not own are kept as they
 * are on the server, so an operator's own tuning survives.
 */

#include "provision.h"

#include "log.h"
#include "nats_conn.h"
#include "stream.h"

#include <string.h>


typedef struct {
    natsConnection  *nc;
    jsCtx           *js;
    jsOptions        jo;
    FILE            *out;
    em_buf_t         text;
    em_buf_t         changes;
} em_provision_t;


/* Advice for the JetStream errors a user can do something about. */
static const char *
em_provision_hint(jsErrCode code)
{
    switch ((int) code) {

    case JSStreamSubjectOverlapErr:
        return " (another stream already takes these subjects: see "
               "nats stream ls)";

    case JSStreamReplicasNotSupportedErr:
        return " (a single NATS server holds one replica: set "
               "channel.replicas to 1)";

    case JSInsufficientResourcesErr:
    case JSStorageResourcesExceededErr:
    case JSMemoryResourcesExceededErr:
        return " (lower channel.size, or give JetStream more room: "
               "max_file_store / max_memory_store in nats-server.conf)";

    default:
        return "";
    }
}


static void
em_provision_api_error(const em_stream_spec_t *spec, const char *action,
    natsStatus s, jsErrCode code)
{
    const em_broker_conf_t  *b = spec->broker;

    if (s == NATS_TIMEOUT) {
        em_log_error("%s/%s: cannot %s stream %s: JetStream did not answer "
                     "within %d ms", b->ns, b->name, action, spec->name,
                     EM_NATS_API_TIMEOUT_MS);
        return;
    }

    em_log_error("%s/%s: cannot %s stream %s: %s%s", b->ns, b->name, action,
                 spec->name, em_nats_error_text(s), em_provision_hint(code));
}


/*
 * JetStream may adjust what it is given; a difference left after a
 * create or update would make every later run "update" again, so say so.
 */
static void
em_provision_verify(em_provision_t *p, const em_stream_spec_t *spec,
    const jsStreamInfo *si)
{
    em_stream_cmp_t  cmp;

    if (si == NULL || si->Config == NULL) {
        return;
    }

    if (em_stream_spec_compare(spec, si->Config, &cmp, &p->changes) != EM_OK)
    {
        return;
    }

    if (cmp != EM_STREAM_SAME) {
        em_log_warn("%s/%s: JetStream stored stream %s with different "
                    "settings than asked: %s", spec->broker->ns,
                    spec->broker->name, spec->name, p->changes.data);
    }
}


static int
em_provision_create(em_provision_t *p, em_stream_spec_t *spec)
{
    jsStreamConfig  cfg;
    jsStreamInfo   *si;
    jsErrCode       code;
    natsStatus      s;

    jsStreamConfig_Init(&cfg);
    em_stream_spec_apply(spec, &cfg);

    si = NULL;
    code = 0;
    s = js_AddStream(&si, p->js, &cfg, &p->jo, &code);
    if (s != NATS_OK) {
        em_provision_api_error(spec, "create", s, code);
        return -1;
    }

    if (em_stream_spec_describe(spec, &p->text) != EM_OK) {
        jsStreamInfo_Destroy(si);
        em_log_error("out of memory");
        return -1;
    }

    fprintf(p->out, "%s/%s: created stream %s (%s)\n", spec->broker->ns,
            spec->broker->name, spec->name, p->text.data);

    em_provision_verify(p, spec, si);
    jsStreamInfo_Destroy(si);
    return 0;
}


static int
em_provision_update(em_provision_t *p, em_stream_spec_t *spec,
    const jsStreamInfo *cur)
{
    jsStreamConfig   cfg;
    jsStreamInfo    *si;
    jsErrCode        code;
    natsStatus       s;
    em_stream_cmp_t  cmp;

    if (em_stream_spec_compare(spec, cur->Config, &cmp, &p->text) != EM_OK) {
        em_log_error("out of memory");
        return -1;
    }

    switch (cmp) {

    case EM_STREAM_SAME:
        fprintf(p->out, "%s/%s: stream %s unchanged\n", spec->broker->ns,
                spec->broker->name, spec->name);
        return 0;

    case EM_STREAM_IMMUTABLE:
        em_log_error("%s/%s: %s", spec->broker->ns, spec->broker->name,
                     p->text.data);
        return -1;

    case EM_STREAM_CHANGED:
        break;
    }

    /* a copy: cur keeps owning its strings, cfg borrows them and spec's */
    cfg = *cur->Config;
    em_stream_spec_apply(spec, &cfg);

    si = NULL;
    code = 0;
    s = js_UpdateStream(&si, p->js, &cfg, &p->jo, &code);
    if (s != NATS_OK) {
        em_provision_api_error(spec, "update", s, code);
        return -1;
    }

    fprintf(p->out, "%s/%s: updated stream %s: %s\n", spec->broker->ns,
            spec->broker->name, spec->name, p->text.data);

    em_provision_verify(p, spec, si);
    jsStreamInfo_Destroy(si);
    return 0;
}


static int
em_provision_broker(em_provision_t *p, const em_broker_conf_t *b)
{
    em_stream_spec_t  spec;
    jsStreamInfo     *si;
    jsErrCode         code;
    natsStatus        s;
    int               rc;

    if (em_stream_spec_init(&spec, b) != EM_OK) {
        em_log_error("%s/%s: out of memory", b->ns, b->name);
        return -1;
    }

    si = NULL;
    code = 0;
    s = js_GetStreamInfo(&si, p->js, spec.name, &p->jo, &code);

    if (s == NATS_OK) {
        rc = em_provision_update(p, &spec, si);
        jsStreamInfo_Destroy(si);

    } else if (s == NATS_NOT_FOUND || code == JSStreamNotFoundErr) {
        rc = em_provision_create(p, &spec);

    } else {
        em_provision_api_error(&spec, "look up", s, code);
        rc = -1;
    }

    em_stream_spec_free(&spec);
    return rc;
}


/* Fails early and clearly when the server has no JetStream at all. */
static int
em_provision_check_js(em_provision_t *p)
{
    jsAccountInfo  *ai;
    jsErrCode       code;
    natsStatus      s;
    char            url[256];

    if (natsConnection_GetConnectedUrl(p->nc, url, sizeof(url)) != NATS_OK) {
        snprintf(url, sizeof(url), "the NATS server");
    }

    ai = NULL;
    code = 0;
    s = js_GetAccountInfo(&ai, p->js, &p->jo, &code);
    jsAccountInfo_Destroy(ai);

    if (s == NATS_OK) {
        return 0;
    }

    if (s == NATS_NO_RESPONDERS || code == JSNotEnabledErr) {
        em_log_error("JetStream is not enabled on %s: start nats-server "
                     "with -js (or a jetstream {} block in its "
                     "configuration)", url);

    } else if (code == JSNotEnabledForAccountErr) {
        em_log_error("JetStream is not enabled for this account on %s: "
                     "enable it for the account in nats-server.conf", url);

    } else if (s == NATS_TIMEOUT) {
        em_log_error("JetStream on %s did not answer within %d ms", url,
                     EM_NATS_API_TIMEOUT_MS);

    } else {
        em_log_error("JetStream on %s: %s", url, em_nats_error_text(s));
    }

    return -1;
}


int
em_provision(const em_config_t *cf, FILE *out)
{
    em_provision_t  p;
    natsStatus      s;
    size_t          i, failed;
    em_buf_t        err;
    int             rc;

    memset(&p, 0, sizeof(p));
    p.out = out;
    em_buf_init(&p.text);
    em_buf_init(&p.changes);
    em_buf_init(&err);

    rc = 1;

    if (em_nats_connect(cf, "event-mesh-dispatcher provision",
                        EM_NATS_CONNECT_TIMEOUT_MS, 0, &p.nc, &err)
        != EM_OK)
    {
        em_log_error("%s", err.data ? err.data : "cannot connect to NATS");
        goto done;
    }

    jsOptions_Init(&p.jo);
    p.jo.Wait = EM_NATS_API_TIMEOUT_MS;

    s = natsConnection_JetStream(&p.js, p.nc, &p.jo);
    if (s != NATS_OK) {
        em_log_error("cannot set up JetStream: %s", em_nats_error_text(s));
        goto done;
    }

    if (em_provision_check_js(&p) != 0) {
        goto done;
    }

    failed = 0;

    for (i = 0; i < cf->nbrokers; i++) {
        if (em_provision_broker(&p, &cf->brokers[i]) != 0) {
            failed++;
        }
    }

    fflush(out);

    if (failed > 0) {
        em_log_error("%zu of %zu brokers could not be provisioned", failed,
                     cf->nbrokers);
    }

    rc = failed > 0 ? 1 : 0;

done:

    jsCtx_Destroy(p.js);
    natsConnection_Destroy(p.nc);
    em_buf_free(&p.text);
    em_buf_free(&p.changes);
    em_buf_free(&err);

    return rc;
}

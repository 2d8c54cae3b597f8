/*
 * event-mesh-dispatcher: command line.
 *
 *   event-mesh-dispatcher -c FILE             run the daemon
 *   event-mesh-dispatcher provision -c FILE   create or update the streams
 *   event-mesh-dispatcher --check -c FILE     validate and exit
 */

#include "config.h"
#include "diag.h"
#include "log.h"
#include "provision.h"
#include "run.h"
#include "trigger.h"
#include "version.h"

#include <nats/nats.h>
#include <yaml.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* Exit statuses; 2 also for "not implemented", which is not a usage error */
#define EM_EXIT_OK              0
#define EM_EXIT_FAILURE         1
#define EM_EXIT_USAGE           64


typedef enum {
    EM_CMD_RUN = 0,
    EM_CMD_PROVISION,
    EM_CMD_CHECK,
    EM_CMD_HELP,
    EM_CMD_VERSION
} em_command_t;

typedef struct {
    em_command_t    command;
    const char     *config;
    em_log_level_t  level;
} em_args_t;


static void
em_usage(FILE *out)
{
    fprintf(out,
        "usage: event-mesh-dispatcher [provision | --check] -c FILE "
        "[--log-level LEVEL]\n"
        "       event-mesh-dispatcher --help | --version\n"
        "\n"
        "  -c, --config FILE   dispatcher.yaml (NATS servers, brokers, "
        "triggers directory)\n"
        "  provision           create or update every broker's JetStream "
        "stream, then exit\n"
        "  --check             validate the configuration, then exit\n"
        "  --log-level LEVEL   error, warn, info (default) or debug\n"
        "  -h, --help          this text\n"
        "  -V, --version       the version\n"
        "\n"
        "Without provision or --check the dispatcher runs as a daemon.\n"
        "\n"
        "The daemon reloads its configuration on SIGHUP and stops "
        "gracefully on\n"
        "SIGTERM or SIGINT.\n"
        "\n"
        "Exit status: 0 success (or a graceful stop); 1 invalid "
        "configuration,\n"
        "failed provisioning or a daemon that cannot start; 64 usage.\n");
}


static int
em_args_parse(int argc, char **argv, em_args_t *a)
{
    int          i, have_command;
    const char  *arg, *value;

    memset(a, 0, sizeof(*a));
    a->command = EM_CMD_RUN;
    a->level = EM_LOG_INFO;
    have_command = 0;

    for (i = 1; i < argc; i++) {
        arg = argv[i];
        value = NULL;

        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            a->command = EM_CMD_HELP;
            return 0;
        }

        if (strcmp(arg, "-V") == 0 || strcmp(arg, "--version") == 0) {
            a->command = EM_CMD_VERSION;
            return 0;
        }

        if (strcmp(arg, "provision") == 0 || strcmp(arg, "--check") == 0) {
            if (have_command) {
                em_log_error("use one of provision and --check, once");
                return -1;
            }

            have_command = 1;
            a->command = arg[0] == 'p' ? EM_CMD_PROVISION : EM_CMD_CHECK;
            continue;
        }

        if (strncmp(arg, "--config=", 9) == 0) {
            value = arg + 9;

        } else if (strncmp(arg, "--log-level=", 12) == 0) {
            if (em_log_level_parse(arg + 12, &a->level) != 0) {
                em_log_error("--log-level: \"%s\" is not one of error, "
                             "warn, info, debug", arg + 12);
                return -1;
            }
            continue;

        } else if (strcmp(arg, "-c") == 0 || strcmp(arg, "--config") == 0
                   || strcmp(arg, "--log-level") == 0)
        {
            if (i + 1 == argc) {
                em_log_error("%s needs a value", arg);
                return -1;
            }

            if (strcmp(arg, "--log-level") == 0) {
                if (em_log_level_parse(argv[++i], &a->level) != 0) {
                    em_log_error("--log-level: \"%s\" is not one of error, "
                                 "warn, info, debug", argv[i]);
                    return -1;
                }
                continue;
            }

            value = argv[++i];

        } else {
            em_log_error("unknown argument \"%s\"", arg);
            return -1;
        }

        if (a->config != NULL) {
            em_log_error("-c is given more than once");
            return -1;
        }

        if (value[0] == '\0') {
            em_log_error("-c needs a file name");
            return -1;
        }

        a->config = value;
    }

    if (a->config == NULL) {
        em_log_error("missing -c FILE (the dispatcher.yaml to use)");
        return -1;
    }

    return 0;
}


static int
em_load(const char *path, em_config_t *cf)
{
    em_diag_t  diag;
    size_t     n;

    em_diag_init(&diag);

    if (em_config_load(cf, path, &diag) != 0) {
        em_diag_print(&diag, stderr);
        n = em_diag_count(&diag);
        em_log_error("%s: %zu problem%s found", path, n, n == 1 ? "" : "s");
        em_diag_free(&diag);
        return -1;
    }

    em_diag_free(&diag);
    return 0;
}


/*
 * --check for the Trigger files: loaded exactly as the daemon loads them,
 * every problem on stderr as "file:line: reason", warnings (which do not
 * fail the check) as "file:line: warning: reason", each good Trigger on
 * stdout.
 */
static int
em_check_triggers(const em_config_t *cf)
{
    em_diag_t          diag;
    em_trigger_set_t   set;
    const em_diag_item_t  *w;
    const em_trigger_t    *t;
    size_t             i, n;
    int                rc;

    em_diag_init(&diag);
    rc = em_triggers_load(cf, &set, &diag);

    for (i = 0; i < set.warnings.n; i++) {
        w = &set.warnings.items[i];
        if (w->line) {
            fprintf(stderr, "%s:%u: warning: %s\n", w->file, w->line, w->msg);
        } else {
            fprintf(stderr, "%s: warning: %s\n", w->file, w->msg);
        }
    }

    if (rc != 0) {
        em_diag_print(&diag, stderr);
        n = em_diag_count(&diag);
        em_log_error("%s: %zu problem%s found", cf->triggers_dir, n,
                     n == 1 ? "" : "s");
        em_diag_free(&diag);
        em_triggers_free(&set);
        return EM_EXIT_FAILURE;
    }

    em_diag_free(&diag);

    printf("%s: %zu trigger%s OK\n", cf->triggers_dir, set.n,
           set.n == 1 ? "" : "s");

    for (i = 0; i < set.n; i++) {
        t = &set.items[i];
        printf("%s:%u: %s/%s -> %s%s\n", t->file, t->line, t->ns, t->name,
               t->subscriber_uri,
               t->broker_conf == NULL ? " (BrokerNotFound)" : "");
    }

    if (set.n == 0) {
        em_log_warn("%s holds no Trigger files (*.yaml, *.yml): nothing "
                    "will be delivered", cf->triggers_dir);
    }

    em_triggers_free(&set);
    return EM_EXIT_OK;
}


static int
em_check(const em_config_t *cf)
{
    size_t  i;

    printf("%s: configuration OK (%zu broker%s:", cf->path, cf->nbrokers,
           cf->nbrokers == 1 ? "" : "s");

    for (i = 0; i < cf->nbrokers; i++) {
        printf(" %s/%s", cf->brokers[i].ns, cf->brokers[i].name);
    }

    printf(")\n");

    return em_check_triggers(cf);
}


int
main(int argc, char **argv)
{
    em_args_t    args;
    em_config_t  cf;
    int          rc;

    em_log_setup(EM_LOG_INFO, EM_LOG_STYLE_PLAIN);

    if (em_args_parse(argc, argv, &args) != 0) {
        em_usage(stderr);
        return EM_EXIT_USAGE;
    }

    em_log_setup(args.level, EM_LOG_STYLE_PLAIN);

    switch (args.command) {

    case EM_CMD_HELP:
        em_usage(stdout);
        return EM_EXIT_OK;

    case EM_CMD_VERSION:
        printf("event-mesh-dispatcher %s (cnats %s, libyaml %s)\n",
               EM_DISPATCHER_VERSION, nats_GetVersion(),
               yaml_get_version_string());
        return EM_EXIT_OK;

    default:
        break;
    }

    if (em_load(args.config, &cf) != 0) {
        return EM_EXIT_FAILURE;
    }

    switch (args.command) {

    case EM_CMD_CHECK:
        rc = em_check(&cf);
        break;

    case EM_CMD_PROVISION:
        rc = em_provision(&cf, stdout) == 0 ? EM_EXIT_OK : EM_EXIT_FAILURE;

        /* join cnats's threads so that nothing runs past main */
        nats_CloseAndWait(2000);
        break;

    default:
        /* the daemon reads the file again itself, as each reload does */
        em_config_free(&cf);
        return em_run(args.config) == 0 ? EM_EXIT_OK : EM_EXIT_FAILURE;
    }

    em_config_free(&cf);
    return rc;
}

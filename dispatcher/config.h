/*
 * dispatcher.yaml (DESIGN.md section 4): NATS servers and credentials, the
 * admin listen address, the Trigger directory, the subscriber URL template
 * and the brokers with their channel (JetStream stream) settings.
 */

#ifndef EM_DISPATCHER_CONFIG_H
#define EM_DISPATCHER_CONFIG_H

#include "config_tls.h"
#include "diag.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    EM_STORAGE_FILE = 0,
    EM_STORAGE_MEMORY
} em_storage_t;

typedef struct {
    char          *ns;                  /* namespace */
    char          *name;
    unsigned       line;                /* of the broker's entry */

    em_storage_t   storage;             /* channel.storage */
    int64_t        max_age;             /* channel.maxAge, ns; 0 = forever */
    int64_t        size;                /* channel.size, bytes */
    int64_t        max_inactivity;      /* channel.maxInactivity, ns */
    int            replicas;            /* channel.replicas, 1..5 */
    int64_t        duplicate_window;    /* channel.duplicateWindow, ns */
} em_broker_conf_t;

typedef struct {
    char              *path;            /* the file, as given */

    char             **servers;         /* nats.servers, nats:// or tls:// */
    size_t             nservers;
    char              *user;            /* nats.user, or NULL */
    char              *password;        /* nats.password, or NULL */
    char              *token;           /* nats.token, or NULL */
    em_tls_conf_t      tls;             /* nats.tls */

    char              *admin_listen;    /* admin.listen, host:port */
    char              *admin_host;      /* without brackets for IPv6 */
    unsigned           admin_port;

    char              *triggers;        /* as written */
    char              *triggers_dir;    /* resolved against the file's dir */

    char              *subscriber_template;

    em_broker_conf_t  *brokers;
    size_t             nbrokers;
} em_config_t;

/* Defaults, DESIGN.md sections 3 and 4. */
#define EM_CONF_DEFAULT_SERVER          "nats://127.0.0.1:4222"
#define EM_CONF_DEFAULT_ADMIN           "127.0.0.1:9090"
#define EM_CONF_DEFAULT_TRIGGERS        "triggers"
#define EM_CONF_DEFAULT_TEMPLATE \
    "http://{name}.{namespace}.svc.cluster.local"
#define EM_CONF_DEFAULT_MAX_AGE         (INT64_C(24) * 3600 * 1000000000)
#define EM_CONF_DEFAULT_SIZE            (INT64_C(1) << 30)
#define EM_CONF_DEFAULT_MAX_INACTIVITY  (INT64_C(48) * 3600 * 1000000000)
#define EM_CONF_DEFAULT_REPLICAS        1
#define EM_CONF_DEFAULT_DUP_WINDOW      (INT64_C(2) * 60 * 1000000000)
#define EM_CONF_MAX_REPLICAS            5

/*
 * Reads and validates path.  Returns 0 with *cf filled, or -1 with every
 * problem found recorded in diag as "file:line: reason"; *cf is then
 * empty (safe to free).
 */
int em_config_load(em_config_t *cf, const char *path, em_diag_t *diag);

/* Same, from memory (tests, fuzzing); name stands for the file. */
int em_config_load_string(em_config_t *cf, const char *name,
    const char *data, size_t len, em_diag_t *diag);

void em_config_free(em_config_t *cf);

const char *em_storage_name(em_storage_t storage);

#endif /* EM_DISPATCHER_CONFIG_H */

/* The HTTP service (libmicrohttpd): configuration, the route table, and the entry point. Only
 * src/service/ includes microhttpd.h. */
#ifndef CERTVET_SERVICE_H
#define CERTVET_SERVICE_H

#include <stddef.h>

#include <jansson.h>

enum cv_role {
    CV_ROLE_NONE = 0, /* public routes: health, readiness, metrics, the OpenAPI document */
    CV_ROLE_READ,
    CV_ROLE_WRITE,
    CV_ROLE_ADMIN,
};

/* One row of the route table, the single source of truth for paths, methods and roles. 'path'
 * uses "{id}" for one path segment. */
struct cv_route_def {
    const char *method;
    const char *path;
    enum cv_role role;
    const char *name; /* metrics and log label, e.g. "certificates.get" */
};

/* The route table and its length (defined in src/service/routes.c). */
extern const struct cv_route_def cv_routes[];
extern const size_t cv_n_routes;

struct cv_api_key {
    char *name;      /* owned; logged instead of the key */
    char sha256[65]; /* hex digest of the key */
    enum cv_role role;
};

struct cv_service_config {
    char *listen_address; /* owned; default "127.0.0.1" */
    int port;             /* default 8080; 0 picks a free port (printed on start) */
    int threads;          /* MHD thread pool size, default 2 */
    char *redis_url;      /* owned; NULL: start an embedded redis-server */
    char *redis_prefix;   /* owned; default "certvet:" */
    int redis_timeout_ms;
    char *data_dir;     /* owned; default "./var" (embedded Redis lives there) */
    char *redis_server; /* owned; default "redis-server" */
    char *config_dir;   /* owned; reference data */
    char **listings;    /* owned */
    size_t n_listings;
    char *profiles_path;     /* owned; scoring profiles, NULL: config_dir/profiles.json */
    char *registries_path;   /* owned; registry connectors (docs/REGISTRIES.md), NULL: none */
    struct cv_api_key *keys; /* owned */
    size_t n_keys;
    size_t body_bytes, batch_records, header_bytes;
    int connection_timeout_s, connections;
    int cache_ttl_s;
    int expiring_within, surveillance_grace;
    int reference_refresh_s; /* listing sources re-fetched every this many seconds; 0: never */
    char *ready_file;        /* owned; if set, "host:port\n" is written there once listening */
    /* `certvet scan` (docs/SCAN.md); each string owned, NULL when unset. The environment
     * (CERTVET_WEBHOOK_URL, CERTVET_SMTP_URL, ...) overrides them; secrets are never in the
     * file, only the names of the environment variables holding them. */
    char *scan_thresholds;      /* "90,60,30,7,0" */
    int scan_within;            /* days on the attention list, default 30 */
    char *webhook_url;          /* notify.webhook_url */
    char *webhook_secret_env;   /* default "CERTVET_WEBHOOK_SECRET" */
    char *smtp_url, *smtp_from; /* notify.smtp_url, notify.smtp_from */
    char *smtp_to;              /* comma-separated recipients */
    char *smtp_user;            /* or NULL */
    char *smtp_password_env;    /* default "CERTVET_SMTP_PASSWORD" */
};

/* Fills the defaults. */
void cv_service_config_init(struct cv_service_config *c);
void cv_service_config_cleanup(struct cv_service_config *c);

/* Loads a JSON config file over the defaults (config/certvet.sample.json documents every key),
 * then applies the environment overrides CERTVET_LISTEN ("host:port"), CERTVET_REDIS_URL and
 * CERTVET_DATA_DIR. 'path' may be NULL (defaults and environment only). Errors name the key. */
int cv_service_config_load(struct cv_service_config *c, const char *path, char *err, size_t cap);

/* Sets listen_address and port from "HOST:PORT" ("[ADDR]:PORT" for IPv6; ":PORT" keeps the
 * address), as --listen and CERTVET_LISTEN give them. Returns CV_OK, or CV_ERR_USAGE with the
 * reason in 'err'. */
int cv_service_config_set_listen(struct cv_service_config *c, const char *hostport, char *err,
                                 size_t cap);

/* Appends a copy of 'path' to the listings. CV_OK, CV_ERR_NOMEM or CV_ERR_TOO_LARGE. */
int cv_service_config_add_listing(struct cv_service_config *c, const char *path);

/* The Redis store ('ctx', a struct cv_store) as the listing sources' keeper of last good copies
 * (struct cv_source_keeper's get and put, include/certvet/sources.h). */
struct cv_source_copy;
int cv_service_keeper_get(void *ctx, const char *name, struct cv_source_copy *out);
int cv_service_keeper_put(void *ctx, const char *name, const struct cv_source_copy *c);

/* Runs the service until SIGTERM or SIGINT, then drains in-flight requests and returns 0; returns
 * 2 when it cannot start (the reason is logged). */
int cv_service_run(const struct cv_service_config *c);

/* The canonical supplier document (SPEC 3.3: id, name, aliases, country, identifiers,
 * categories) for 'in', whose id must be 'id' or absent; unknown fields and wrong types are
 * refused. Returns a new reference, or NULL with the field and problem in 'msg'. Used by
 * PUT /v1/suppliers/{id} and `certvet import --suppliers`. */
json_t *cv_supplier_document(const json_t *in, const char *id, char *msg, size_t cap);

/* Names: "read", "write", "admin"; parse returns 0 or CV_ERR_INVALID. */
const char *cv_role_name(enum cv_role r);
int cv_role_parse(const char *s, enum cv_role *out);

#endif

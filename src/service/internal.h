/* What the service's files share (private to src/service/): the server context, one request's
 * state, the helpers that answer a request, metrics and logs. Only src/service/ includes
 * microhttpd.h. */
#ifndef CERTVET_SERVICE_INTERNAL_H
#define CERTVET_SERVICE_INTERNAL_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>

#include "certvet/buf.h"
#include "certvet/certificate.h"
#include "certvet/date.h"
#include "certvet/registry.h"
#include "certvet/reader.h"
#include "certvet/refdata.h"
#include "certvet/score.h"
#include "certvet/service.h"
#include "certvet/sources.h"
#include "certvet/store.h"

#define CV_MAX_ROUTES           32           /* rows the route table may have (metrics arrays) */
#define CV_NO_ROUTE             ((size_t)-1) /* a request that matched no route */
#define CV_PATH_ID_MAX          128          /* bytes of a path's {id} segment */
#define CV_REQUEST_ID_MAX       64           /* bytes of an X-Request-Id we echo */
#define CV_OPENAPI_MAX_BYTES    (1024 * 1024)
#define CV_RESPONSE_MAX_BYTES   (64 * 1024 * 1024) /* a generated body (CSV, metrics) */
#define CV_LIST_DEFAULT         100                /* ?limit= default for lists */
#define CV_LIST_MAX             1000
#define CV_ERRORS_KEPT          1000 /* refused records listed in one reply; the rest are counted */
#define CV_SUPPLIER_ALIASES_MAX 64   /* aliases used for HOLDER_MISMATCH */
#define CV_CERT_ARENA_LIMIT     CV_RECORD_MAX_BYTES

/* One version of the reference data, read-only once published and shared by the requests that
 * started while it was current (reference.c). */
struct cv_ref_snapshot {
    struct cv_reference ref; /* never moved: ref.ref points into it */
    atomic_long users;       /* the server while current, plus each request holding it */
    json_t *sources;         /* [{name, kind, format, status, fetched_at, error}], owned */
};

/* The one server context: built by cv_service_run, read-only while requests run (but for the
 * atomics and the reference data, swapped under 'ref_lock'). */
struct cv_server {
    const struct cv_service_config *cfg;
    pthread_mutex_t ref_lock;        /* guards 'current' */
    struct cv_ref_snapshot *current; /* what new requests get (cv_refs_acquire) */
    pthread_mutex_t refresh_lock;    /* one refresh at a time; guards 'sources' */
    struct cv_sources sources;       /* config_dir/sources.json, loaded on the first refresh */
    bool sources_loaded;
    pthread_t refresher_thread; /* when reference.refresh_s > 0 */
    bool refresher_running, refresher_stop;
    pthread_mutex_t refresher_lock; /* guards refresher_stop */
    pthread_cond_t refresher_wake;
    struct cv_store_config store_cfg;
    char *openapi; /* owned; NULL when docs/openapi.yaml was not found */
    size_t openapi_len;
    struct cv_profiles profiles;        /* scoring profiles, loaded at start, read-only */
    struct cv_registry_set *registries; /* registry connectors, or NULL; thread-safe */
    atomic_bool draining;               /* SIGTERM seen: answers carry "Connection: close" */
    atomic_long in_flight;              /* requests between their first call and their completion */
    uint64_t id_seed;                   /* random, for generated request ids */
    atomic_ulong id_counter;
};

/* One request: created on MHD's first call, owned by MHD's req_cls, released in the completed
 * callback (the one release point). */
struct cv_request {
    struct MHD_Connection *conn;     /* borrowed */
    struct cv_server *srv;           /* borrowed */
    struct cv_ref_snapshot *snap;    /* held from the first call to the release point */
    const struct cv_reference *refs; /* &snap->ref: the reference data of this request */
    const char *url;                 /* MHD's, valid for the request's life */
    char method[12];
    size_t route; /* index in cv_routes, or CV_NO_ROUTE */
    char id[CV_PATH_ID_MAX + 1];
    enum cv_role role;
    const struct cv_api_key *key;  /* borrowed from the configuration; NULL when none */
    bool wants_body;               /* POST/PUT routes buffer their body */
    struct cv_buf body;            /* limit: limits.body_bytes */
    size_t discarded;              /* body bytes dropped unread (after an early answer) */
    bool final;                    /* the request is fully received: answers may be queued */
    bool queued;                   /* a response is queued; nothing more to do */
    bool queue_failed;             /* out of memory, or MHD refused: the connection is dropped */
    char allow[48];                /* the Allow header of a 405 */
    unsigned status;               /* the answer's status, 0 until there is one */
    struct MHD_Response *deferred; /* an answer decided before the request was complete */
    char request_id[CV_REQUEST_ID_MAX + 1];
    struct timespec start; /* CLOCK_MONOTONIC */
};

typedef void (*cv_handler)(struct cv_request *rq);

/* ---- routes.c --------------------------------------------------------------------------- */

/* Matches 'method' and 'url' against the route table. Returns the route index and copies the
 * {id} segment into 'id' (CV_PATH_ID_MAX + 1 bytes), or CV_NO_ROUTE with '*status' 404 (no such
 * path), 405 (path known, method not: 'allow' gets the methods, "GET, DELETE") or 400 (an {id}
 * segment too long or with characters outside [A-Za-z0-9._:@-]). HEAD matches GET routes. */
size_t cv_route_match(const char *method, const char *url, char *id, char *allow, size_t allow_cap,
                      unsigned *status);

/* Runs the handler of route 'rq->route'. */
void cv_route_dispatch(struct cv_request *rq);

/* ---- handlers (routes.c, handlers_*.c) ---------------------------------------------------- */

void cv_h_healthz(struct cv_request *rq);
void cv_h_readyz(struct cv_request *rq);
void cv_h_metrics(struct cv_request *rq);
void cv_h_openapi(struct cv_request *rq);
void cv_h_verify(struct cv_request *rq);
void cv_h_certificates_post(struct cv_request *rq);
void cv_h_certificate_get(struct cv_request *rq);
void cv_h_certificate_delete(struct cv_request *rq);
void cv_h_supplier_put(struct cv_request *rq);
void cv_h_suppliers_list(struct cv_request *rq);
void cv_h_supplier_get(struct cv_request *rq);
void cv_h_supplier_delete(struct cv_request *rq);
void cv_h_not_implemented(struct cv_request *rq);
void cv_h_alerts(struct cv_request *rq);
void cv_h_events(struct cv_request *rq);
void cv_h_reference_cbs(struct cv_request *rq);
void cv_h_reference_abs(struct cv_request *rq);
void cv_h_supplier_score(struct cv_request *rq);
void cv_h_profiles(struct cv_request *rq);

/* Loads the scoring profiles (paths.profiles, default config_dir/profiles.json) into
 * srv->profiles, checked against the current snapshot's catalog. Errors name profile and field. */
int cv_score_profiles_load(struct cv_server *srv, char *err, size_t cap);

/* The profile named by ?profile=, or NULL after answering 400 (absent or unknown). */
const struct cv_profile *cv_profile_or_respond(struct cv_request *rq);

/* Scores supplier 'id' (its document 'doc', for the holder check) against 'prof' as of 'as_of'
 * into '*out' = {profile, score, decision, coverage} (new reference). Returns CV_OK, a store
 * error, or CV_ERR_NOMEM. */
int cv_supplier_score_summary(struct cv_request *rq, struct cv_store *store, const char *id,
                              json_t *doc, const struct cv_profile *prof, cv_date as_of,
                              json_t **out);

/* ---- verification shared by the handlers (handlers_certificates.c) ---------------------- */

/* The supplier a certificate is linked to, for HOLDER_MISMATCH: name and aliases borrowed from
 * 'doc'. Loaded once per supplier id per request. */
struct cv_linked_supplier {
    char *id;    /* owned; the id 'doc' was loaded for ("" cached as absent) */
    json_t *doc; /* owned; NULL when the supplier is unknown or the store did not answer */
    const char *name;
    const char *aliases[CV_SUPPLIER_ALIASES_MAX];
    size_t n_aliases;
};

void cv_linked_supplier_cleanup(struct cv_linked_supplier *l);

/* Points 'l' at the supplier document 'doc' (a new reference is taken). */
void cv_linked_supplier_set(struct cv_linked_supplier *l, const char *id, json_t *doc);

/* Verifies 'cert' as of 'as_of' through the cache ('store' may be NULL), linking its supplier
 * ('link' caches the look-up; a store error there only skips the holder check). Returns the
 * verification as a new JSON reference, or NULL when out of memory. */
json_t *cv_verify_linked(struct cv_request *rq, struct cv_store *store,
                         struct cv_linked_supplier *link, const struct cv_certificate *cert,
                         cv_date as_of, int within);

/* Parses a stored certificate record ({"id","certificate",...}) into 'record' (new reference)
 * and fills 'cert' (reset first) from its "certificate". Returns CV_OK or CV_ERR_INVALID (a
 * record that is not ours: logged). */
int cv_record_parse(const char *json, json_t **record, struct cv_certificate *cert);

/* Today in UTC. */
cv_date cv_today_utc(void);

/* ---- reference.c ------------------------------------------------------------------------- */

/* Loads the reference data of the configuration as the first snapshot (and the locks). */
int cv_refs_init(struct cv_server *srv, char *err, size_t cap);

/* Takes a reference on the current snapshot (NULL only before cv_refs_init); release it with
 * cv_refs_release, which frees a replaced snapshot when its last user goes. */
struct cv_ref_snapshot *cv_refs_acquire(struct cv_server *srv);
void cv_refs_release(struct cv_ref_snapshot *s);

/* Fetches the listing sources (config_dir/sources.json, last good copies in the store), builds a
 * new snapshot with a new version and swaps it in for new requests. '*report' gets
 * {version, sources, certification_bodies, unusable} (new reference). Returns CV_OK, or an error
 * with 'err' (the current snapshot stays). One refresh runs at a time. */
int cv_refs_refresh(struct cv_server *srv, json_t **report, char *err, size_t cap);

/* Starts the periodic refresher when reference.refresh_s > 0 (a refresh at once, then every
 * refresh_s seconds). */
int cv_refs_start_refresher(struct cv_server *srv);

/* Stops the refresher, drops the current snapshot and the sources. */
void cv_refs_cleanup(struct cv_server *srv);

void cv_h_reference_refresh(struct cv_request *rq);

/* ---- server.c ----------------------------------------------------------------------------- */

/* This worker thread's store connection, opened on first use. NULL when the store cannot be
 * reached (retried after a short pause). */
struct cv_store *cv_store_try(struct cv_request *rq);

/* Same, but answers 503 store-unavailable (Retry-After: 1) when there is no store. */
struct cv_store *cv_store_or_respond(struct cv_request *rq);

/* Answers a failed store call 'rc': 404 for CV_ERR_NOT_FOUND ('what' names the thing), 400 for
 * CV_ERR_USAGE, 409 for CV_ERR_CONFLICT, 503 for CV_ERR_UNAVAILABLE, 500 otherwise. */
void cv_store_failed_respond(struct cv_request *rq, int rc, const char *what);

/* ---- http.c --------------------------------------------------------------------------------- */

/* Problems: the single table of problem types (slug, status, title) in http.c. */
enum cv_problem {
    CV_P_BAD_REQUEST = 0, /* 400 malformed request (parameters, ids) */
    CV_P_INVALID_JSON,    /* 400 */
    CV_P_INVALID_BODY,    /* 400 a body that cannot be read (CSV/XML syntax, empty) */
    CV_P_INVALID_FIELD,   /* 400 a field of a JSON body is missing or wrong */
    CV_P_UNAUTHORIZED,    /* 401 */
    CV_P_FORBIDDEN,       /* 403 */
    CV_P_NOT_FOUND,       /* 404 */
    CV_P_METHOD,          /* 405 */
    CV_P_CONFLICT,        /* 409 concurrent writers; retry */
    CV_P_BODY_TOO_LARGE,  /* 413 */
    CV_P_BATCH_TOO_LARGE, /* 413 */
    CV_P_MEDIA_TYPE,      /* 415 */
    CV_P_REFUSED,         /* 422 well-formed, but every record was refused */
    CV_P_INTERNAL,        /* 500 */
    CV_P_NOT_IMPLEMENTED, /* 501 */
    CV_P_STORE,           /* 503 store-unavailable */
    CV_P_COUNT
};

/* Queues 'resp' (taking ownership: it is destroyed here) with 'status' and the common headers
 * (X-Request-Id, Connection: close while draining). Before the request is complete the answer
 * is kept and queued on MHD's last call, unless 'now' (only on MHD's first call: an answer that
 * must not wait for the body; the connection is then closed). A NULL 'resp' (out of memory)
 * answers nothing: MHD drops the connection. */
void cv_http_send(struct cv_request *rq, unsigned status, struct MHD_Response *resp, bool now);

/* Queues the answer kept by cv_http_send before the request was complete. */
void cv_http_queue_deferred(struct cv_request *rq);

/* Answers 'status' with the JSON 'body' (reference stolen; NULL means out of memory: 500). */
void cv_http_json(struct cv_request *rq, unsigned status, json_t *body);

/* Answers 'status' with 'len' bytes of 'data' (ownership taken, freed with free()). */
void cv_http_body(struct cv_request *rq, unsigned status, const char *content_type, char *data,
                  size_t len);

/* Answers 'status' without a body (204). */
void cv_http_empty(struct cv_request *rq, unsigned status);

/* Answers the problem 'p' (application/problem+json) whose detail is the formatted text. 'errors'
 * (stolen, may be NULL) is added as "errors". 'now' as for cv_http_send. */
void cv_http_problem(struct cv_request *rq, enum cv_problem p, json_t *errors, bool now,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The problem table's status for 'p'. */
unsigned cv_problem_status(enum cv_problem p);

/* A header or query argument of the request, NULL when absent. */
const char *cv_http_header(struct cv_request *rq, const char *name);

/* Appends one RFC 4180 cell to 'b' (quoted when it holds a comma, quote or line break), then a
 * comma, or CRLF when it is the row's 'last'. NULL is an empty cell. */
void cv_csv_cell(struct cv_buf *b, const char *s, bool last);

/* True when the client asked for CSV (Accept: text/csv). */
bool cv_http_wants_csv(struct cv_request *rq);
const char *cv_http_query(struct cv_request *rq, const char *name);

/* Query arguments. Absent (or empty) → 'def'. Returns CV_OK, or CV_ERR_USAGE after answering 400
 * naming the parameter. */
int cv_query_date_or_respond(struct cv_request *rq, const char *name, cv_date def, cv_date *out);
int cv_query_long_or_respond(struct cv_request *rq, const char *name, long def, long min, long max,
                             long *out);

/* The media type of the request's Content-Type, lower-cased, without parameters, in 'out'
 * ('cap' bytes; "" when absent). */
void cv_http_media_type(struct cv_request *rq, char *out, size_t cap);

/* Parses the request body as JSON. Answers 415 unless the Content-Type is application/json (or
 * absent) and 400 for an empty or malformed body; returns NULL then. New reference. */
json_t *cv_body_json_or_respond(struct cv_request *rq);

/* Appends formatted text to 'b'. Returns CV_OK, CV_ERR_NOMEM or CV_ERR_TOO_LARGE (past the
 * buffer's limit). */
int cv_buf_printf(struct cv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A JSON object from a record error: {"source","line","index","field","message"} plus
 * "severity" ("error" or "warning"). New reference. */
struct cv_record_error;
json_t *cv_record_error_json(const struct cv_record_error *e);

/* Sets the request id: the client's X-Request-Id when it is 1..64 bytes of [A-Za-z0-9._:-],
 * else a new 16-hex-digit id. */
void cv_request_id_init(struct cv_request *rq, const char *from_client);

/* Writes one JSON log line on stderr: {"ts","level","msg",...fields}. 'fields' is stolen (may be
 * NULL). One write(2) per line, so threads never interleave. */
void cv_log(const char *level, const char *msg, json_t *fields);

/* The request line of docs/API.md, for a request that has completed. */
void cv_log_request(const struct cv_request *rq, double seconds, const char *termination);

/* ---- metrics.c ---------------------------------------------------------------------------- */

void cv_metrics_request(size_t route, const char *method, unsigned status, double seconds);
void cv_metrics_cache(int hit);
void cv_metrics_store(unsigned long errors, unsigned long reconnects);

/* Writes the Prometheus text exposition into 'out'. Returns CV_OK, or an error of
 * cv_buf_printf. */
int cv_metrics_render(struct cv_buf *out);

#endif

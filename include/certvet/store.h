/* The Redis store (SPEC 7): certificates, suppliers, indexes, streams and the verification cache.
 * Only src/store/ includes hiredis. One struct cv_store is one connection: not thread-safe, so
 * each thread of the service opens its own. Key layout: docs/STORAGE.md. */
#ifndef CERTVET_STORE_H
#define CERTVET_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "certvet/date.h"

#define CV_STORE_REPLY_MAX (64 * 1024 * 1024) /* a bulk reply larger than this is refused */

struct cv_store; /* opaque */

struct cv_store_config {
    /* "redis://[:password@]host[:port][/db]" or "unix:///path/to/socket[?db=N&password=P]". */
    const char *url;
    const char *prefix; /* key prefix, default "certvet:"; keys are hash-tagged (docs/STORAGE.md) */
    int timeout_ms;     /* connect and per-command timeout, default 2000 */
};

/* Connects. On failure returns CV_ERR_UNAVAILABLE (or CV_ERR_USAGE for a malformed URL) with a
 * message in 'err' ('cap' bytes); on success '*out' is set (free with cv_store_close). A store
 * whose connection fails later reconnects by itself on the next call. */
int cv_store_open(const struct cv_store_config *cfg, struct cv_store **out, char *err, size_t cap);
void cv_store_close(struct cv_store *s);

/* The first error since the last successful call (like hiredis' errstr); "" when none. */
const char *cv_store_errstr(const struct cv_store *s);

/* PING. CV_OK or CV_ERR_UNAVAILABLE. */
int cv_store_ping(struct cv_store *s);

/* One certificate as stored. Strings are borrowed for the duration of the call. */
struct cv_stored_cert {
    const char *id;           /* stable id (cv_certificate_id) */
    const char *json;         /* the record: canonical certificate JSON plus metadata */
    const char *supplier_id;  /* or NULL */
    cv_date effective_expiry; /* index score, or CV_DATE_NONE (not indexed) */
    cv_date surveillance_due; /* index score, or CV_DATE_NONE */
};

/* Writes a batch atomically (MULTI/EXEC): each record (upsert; a record that changes supplier
 * leaves the old supplier's set), its supplier set, both indexes, and one change-stream entry
 * per record naming 'actor' and the action ("upsert"). All or nothing. CV_OK or
 * CV_ERR_UNAVAILABLE. */
int cv_store_put_certificates(struct cv_store *s, const struct cv_stored_cert *certs, size_t n,
                              const char *actor);

/* Reads one record; '*json' is malloc'd (caller frees). CV_ERR_NOT_FOUND when absent. */
int cv_store_get_certificate(struct cv_store *s, const char *id, char **json);

/* Reads several records in one round trip (MGET). '*jsons' is a malloc'd array of 'n' malloc'd
 * strings, NULL where absent; free with cv_store_free_strings. */
int cv_store_get_certificates(struct cv_store *s, const char *const *ids, size_t n, char ***jsons);

/* Deletes a record with its index entries and supplier-set membership, logging the change.
 * CV_ERR_NOT_FOUND when absent. */
int cv_store_delete_certificate(struct cv_store *s, const char *id, const char *actor);

/* Suppliers: the record is JSON (SPEC 3.3). put is an upsert; delete removes the supplier and
 * its certificate set (the certificates stay, unlinked). Changes are logged with 'actor'. */
int cv_store_put_supplier(struct cv_store *s, const char *id, const char *json, const char *actor);
int cv_store_get_supplier(struct cv_store *s, const char *id, char **json);
int cv_store_delete_supplier(struct cv_store *s, const char *id, const char *actor);

/* Lists up to 'limit' supplier ids in id order after 'after' (NULL: from the start). '*ids' is a
 * malloc'd array of malloc'd strings ('*n' of them); '*next' is the cursor for the next page
 * (malloc'd), NULL when this was the last page. */
int cv_store_list_suppliers(struct cv_store *s, const char *after, size_t limit, char ***ids,
                            size_t *n, char **next);

/* The ids of a supplier's certificates (sorted), malloc'd as above. */
int cv_store_supplier_certificates(struct cv_store *s, const char *supplier_id, char ***ids,
                                   size_t *n);

enum cv_store_index {
    CV_INDEX_EXPIRY = 0,   /* by effective expiry */
    CV_INDEX_SURVEILLANCE, /* by surveillance due date */
};

/* Ids whose index date is <= 'until', oldest first, at most 'limit' (ZRANGEBYSCORE ... LIMIT):
 * work proportional to what is due, never a scan. Malloc'd as above. */
int cv_store_due(struct cv_store *s, enum cv_store_index index, cv_date until, size_t limit,
                 char ***ids, size_t *n);

/* The verification cache: a string under 'key' with a TTL. get returns CV_ERR_NOT_FOUND on a
 * miss. */
int cv_store_cache_get(struct cv_store *s, const char *key, char **value);
int cv_store_cache_put(struct cv_store *s, const char *key, const char *value, int ttl_seconds);

/* Streams: "events" (typed events) and "changes" (audit trail). add appends one entry whose
 * fields are 'n' name/value pairs; '*id_out' (may be NULL) receives the entry id (malloc'd). */
int cv_store_stream_add(struct cv_store *s, const char *stream, const char *const *names,
                        const char *const *values, size_t n, char **id_out);

/* Reads up to 'count' entries after id 'after' ("0" or NULL: from the start) as a JSON array
 * text [{"id": ..., "fields": {...}}] (malloc'd). */
int cv_store_stream_read(struct cv_store *s, const char *stream, const char *after, size_t count,
                         char **json);

/* Frees an array of 'n' malloc'd strings and the array. Accepts NULL. */
void cv_store_free_strings(char **v, size_t n);

/* Counters since start, for /metrics. */
struct cv_store_stats {
    unsigned long commands, errors, reconnects;
};
void cv_store_stats(const struct cv_store *s, struct cv_store_stats *out);

/* ---- embedded redis-server ------------------------------------------------------------- */

struct cv_embedded_redis; /* opaque */

/* Starts `redis-server` (found on PATH, or 'server_path') as a child process listening only on a
 * unix socket under 'data_dir' (created if missing), append-only file on, no TCP port, and waits
 * until it answers PING (up to 10 s). Writes the URL to connect to into 'url' ('url_cap').
 * Returns CV_OK and '*out', or an error with a message in 'err'. */
int cv_embedded_redis_start(const char *data_dir, const char *server_path,
                            struct cv_embedded_redis **out, char *url, size_t url_cap, char *err,
                            size_t cap);

/* Stops the child (SHUTDOWN, then SIGTERM, then SIGKILL after a grace period) and frees. */
void cv_embedded_redis_stop(struct cv_embedded_redis *r);

#endif

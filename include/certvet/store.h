/* The Redis store (SPEC 7): certificates, suppliers, indexes, streams and the verification cache.
 * Only src/store/ includes hiredis. One struct cv_store is one connection: not thread-safe, so
 * each thread of the service opens its own. Key layout: docs/STORAGE.md. */
#ifndef CERTVET_STORE_H
#define CERTVET_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "certvet/date.h"

#define CV_STORE_REPLY_MAX         (64 * 1024 * 1024) /* a reply larger than this is refused */
#define CV_STORE_BATCH_MAX         (50 * 1000) /* records per cv_store_put_certificates or MGET */
#define CV_STORE_ID_MAX            256     /* bytes in a certificate, supplier or cache key id */
#define CV_STORE_PREFIX_MAX        64      /* bytes in cv_store_config.prefix */
#define CV_STORE_STREAM_MAXLEN     1000000 /* entries kept per stream (approximate trimming) */
#define CV_STORE_STREAM_FIELDS_MAX 32      /* name/value pairs per stream entry */
#define CV_STORE_STREAM_READ_MAX   10000   /* entries per cv_store_stream_read */
#define CV_STORE_LIST_MAX          1000000 /* ids per list or due call (~30 MB, under the reply max) */

struct cv_store; /* opaque */

struct cv_store_config {
    /* "redis://[[user]:password@]host[:port][/db]" or
     * "unix:///path/to/socket[?db=N&password=P&user=U]" (user and password percent-encoded). */
    const char *url;
    const char *prefix; /* key prefix, default "certvet:"; keys are hash-tagged (docs/STORAGE.md) */
    int timeout_ms;     /* connect and per-command timeout, default 2000 */
};

/* Every call below may fail with CV_ERR_UNAVAILABLE (Redis unreachable, timed out, or an error
 * reply: the text is in cv_store_errstr), CV_ERR_TOO_LARGE (a reply past CV_STORE_REPLY_MAX),
 * CV_ERR_USAGE (an argument out of its limits: NULL, empty or too long id, zero limit) or
 * CV_ERR_NOMEM, besides the codes each one names. Output pointers are set to NULL / 0 on
 * failure. */

/* Connects and PINGs (so a wrong password fails here). On failure returns CV_ERR_UNAVAILABLE (or
 * CV_ERR_USAGE for a malformed URL or prefix, CV_ERR_UNSUPPORTED for "rediss://") with a message
 * in 'err' ('cap' bytes) that never shows the password; on success '*out' is set (free with
 * cv_store_close). A store whose connection fails later reconnects by itself on the next call. */
int cv_store_open(const struct cv_store_config *cfg, struct cv_store **out, char *err, size_t cap);
void cv_store_close(struct cv_store *s);

/* The first error since the last successful call (like hiredis' errstr); "" when none. A call
 * that returns CV_OK or CV_ERR_NOT_FOUND counts as successful. */
const char *cv_store_errstr(const struct cv_store *s);

/* Why the first error since the last successful call happened, when the adapter could tell
 * (set with it, cleared with it): what a caller may answer differently. */
enum cv_store_cause {
    CV_CAUSE_NONE = 0,       /* nothing particular (a timeout, a lost connection, ...) */
    CV_CAUSE_NOT_PERSISTING, /* Redis refuses writes: it cannot persist them (MISCONF) */
    CV_CAUSE_UNCONFIRMED,    /* written, but fewer replicas confirmed it than ?wait= asks */
};
enum cv_store_cause cv_store_cause(const struct cv_store *s);

/* PING. CV_OK or CV_ERR_UNAVAILABLE. */
int cv_store_ping(struct cv_store *s);

/* One certificate as stored. Strings are borrowed for the duration of the call. */
struct cv_stored_cert {
    const char *id;           /* stable id (cv_certificate_id) */
    const char *json;         /* the record: canonical certificate JSON plus metadata */
    const char *supplier_id;  /* or NULL */
    cv_date effective_expiry; /* index score, or CV_DATE_NONE (not indexed) */
    cv_date surveillance_due; /* index score, or CV_DATE_NONE */
    /* The certification-body index keys (cv_cb_name_key, cv_cb_id_key); each NULL or "" for
     * none. The certificate id is derived from the normalized CB name, so an id keeps its name
     * key for life. */
    const char *cb_keys[2];
    /* The verdict when written was invalid: the certificate is kept in the invalid index, which
     * the nightly scan reads with the due ones so that its attention list has every invalid
     * certificate (the scan keeps the index current as verdicts change). */
    bool invalid;
};

/* Writes a batch atomically (MULTI/EXEC): each record (upsert; a record that changes supplier
 * leaves the old supplier's set), its supplier set, both indexes, and one change-stream entry
 * per record naming 'actor' (NULL: "unknown") and the action ("upsert"). All or nothing:
 * the batch is one MULTI/EXEC, so Redis applies all of it or none (see docs/STORAGE.md for the
 * one exception, a key of the wrong type written by someone else). The same id twice in a batch
 * is applied in order. At most CV_STORE_BATCH_MAX records; n == 0 does nothing. Two round trips
 * (HMGET of the current supplier links, then the transaction); no WATCH, so concurrent writers
 * never make it retry: the last one wins for each record (docs/STORAGE.md). CV_OK or
 * CV_ERR_UNAVAILABLE. */
int cv_store_put_certificates(struct cv_store *s, const struct cv_stored_cert *certs, size_t n,
                              const char *actor);

/* Reads one record; '*json' is malloc'd (caller frees). CV_ERR_NOT_FOUND when absent. */
int cv_store_get_certificate(struct cv_store *s, const char *id, char **json);

/* Reads several records in one round trip (MGET). '*jsons' is a malloc'd array of 'n' malloc'd
 * strings, NULL where absent; free with cv_store_free_strings(*jsons, n). n == 0 gives NULL. */
int cv_store_get_certificates(struct cv_store *s, const char *const *ids, size_t n, char ***jsons);

/* Deletes a record with its index entries and supplier-set membership, logging the change.
 * CV_ERR_NOT_FOUND when absent; CV_ERR_CONFLICT when a concurrent writer kept changing the record
 * (its optimistic WATCH gave up after a few tries; nothing was deleted). */
int cv_store_delete_certificate(struct cv_store *s, const char *id, const char *actor);

/* Suppliers: the record is JSON (SPEC 3.3). put is an upsert; delete removes the supplier and
 * its certificate set (the certificates stay, unlinked: the supplier lists none of them until
 * they are put again; their records keep the supplier_id they were written with). Changes are
 * logged with 'actor'. get returns a malloc'd '*json' (caller frees) or CV_ERR_NOT_FOUND; delete
 * returns CV_ERR_NOT_FOUND when no supplier record exists, CV_ERR_CONFLICT as for
 * cv_store_delete_certificate. */
int cv_store_put_supplier(struct cv_store *s, const char *id, const char *json, const char *actor);
int cv_store_get_supplier(struct cv_store *s, const char *id, char **json);
int cv_store_delete_supplier(struct cv_store *s, const char *id, const char *actor);

/* Lists up to 'limit' (1..CV_STORE_LIST_MAX) supplier ids in byte order after 'after' (NULL: from
 * the start).
 * '*ids' is a malloc'd array of malloc'd strings ('*n' of them; NULL when none), freed with
 * cv_store_free_strings; '*next' is the cursor for the next page (malloc'd, the last id
 * returned), NULL when this was the last page. */
int cv_store_list_suppliers(struct cv_store *s, const char *after, size_t limit, char ***ids,
                            size_t *n, char **next);

/* The ids of the certificates linked to a supplier (sorted by bytes), malloc'd as above; none is
 * not an error ('*n' = 0). Two round trips: the set's members, checked against each certificate's
 * current link. */
int cv_store_supplier_certificates(struct cv_store *s, const char *supplier_id, char ***ids,
                                   size_t *n);

/* The verification cache: a string under 'key' with a TTL ('ttl_seconds' >= 1). get returns the
 * value malloc'd in '*value' (caller frees), or CV_ERR_NOT_FOUND on a miss. put waits for
 * nothing: the SET goes out with the connection's next command, in the same write, its reply
 * read before that command's (a failed put is only counted in the stats' errors), or earlier
 * through cv_store_flush_deferred or cv_store_close: CV_OK means queued. Cache keys are not
 * hash-tagged, so a Redis Cluster spreads them (docs/STORAGE.md). */
int cv_store_cache_get(struct cv_store *s, const char *key, char **value);
/* A supplier's record and a cache entry in one round trip (two GETs pipelined; not one MGET, as
 * cache keys and the dataset's keys sit in different Cluster slots). '*supplier_json' and
 * '*cached' are malloc'd, NULL where absent; CV_OK also when both are. */
int cv_store_get_supplier_and_cache(struct cv_store *s, const char *supplier_id,
                                    const char *cache_key, char **supplier_json, char **cached);
int cv_store_cache_put(struct cv_store *s, const char *key, const char *value, int ttl_seconds);

/* Streams: "events" (typed events), "changes" (audit trail) and "deliveries" (notification
 * delivery log); any other name is CV_ERR_USAGE.
 * add appends one entry whose fields are 'n' (1..CV_STORE_STREAM_FIELDS_MAX) name/value pairs,
 * trimming the stream to about CV_STORE_STREAM_MAXLEN entries; '*id_out' (may be NULL) receives the
 * entry id (malloc'd, caller frees). */
int cv_store_stream_add(struct cv_store *s, const char *stream, const char *const *names,
                        const char *const *values, size_t n, char **id_out);

/* One stream entry as read back; every string is malloc'd and freed by
 * cv_store_free_stream_entries. */
struct cv_stream_entry {
    char *id;      /* "<milliseconds>-<sequence>", the cursor for the next read */
    size_t n;      /* name/value pairs */
    char **names;  /* 'n' field names, in the order they were added */
    char **values; /* 'n' values */
};

/* Reads up to 'count' (1..CV_STORE_STREAM_READ_MAX) entries after id 'after' (exclusive; "0" or
 * NULL: from the start; otherwise "<ms>" or "<ms>-<seq>", else CV_ERR_USAGE), oldest first.
 * '*entries' is a malloc'd array of '*n' entries (NULL when none), freed with
 * cv_store_free_stream_entries. */
int cv_store_stream_read(struct cv_store *s, const char *stream, const char *after, size_t count,
                         struct cv_stream_entry **entries, size_t *n);

/* Frees 'n' entries and the array. Accepts NULL. */
void cv_store_free_stream_entries(struct cv_stream_entry *e, size_t n);

/* What needs attention, for the nightly scan and GET /v1/alerts: the ids in the expiry index up
 * to 'expiry_until', in the surveillance index up to 'surveillance_until' (at most 'limit' from
 * each, 1..CV_STORE_LIST_MAX, oldest first), every id of the invalid index (certificates whose
 * verdict was invalid when written or last scanned: puts keep it, and the scan with
 * cv_store_scan_invalid), and the 'n_extra' ids of 'extra' (may be NULL); sorted, without
 * duplicates, malloc'd as above. The three reads go in one round trip. */
int cv_store_attention_ids(struct cv_store *s, cv_date expiry_until, cv_date surveillance_until,
                           size_t limit, const char *const *extra, size_t n_extra, char ***ids,
                           size_t *n);

/* Ids of the certificates indexed under any of the certification-body keys 'keys' (1..16 of
 * them, each a cv_cb_name_key or cv_cb_id_key; SUNION), sorted, malloc'd as above. A deleted
 * certificate may still be listed (its record then reads back NULL): cv_store_cb_unlink removes
 * it. */
#define CV_STORE_CB_KEYS_MAX 16
int cv_store_cb_certificates(struct cv_store *s, const char *const *keys, size_t n_keys,
                             char ***ids, size_t *n);
int cv_store_cb_unlink(struct cv_store *s, const char *const *keys, size_t n_keys, const char *id);

/* The nightly scan's state of the certification bodies it has seen (docs/SCAN.md): a hash of
 * field -> opaque value under "<prefix>{cv}:scan-cbs". get returns every field and value
 * (malloc'd arrays of malloc'd strings, 'n' pairs; free each with cv_store_free_strings); put
 * sets one field, del removes one. */
int cv_store_scan_cbs_get(struct cv_store *s, char ***fields, char ***values, size_t *n);
int cv_store_scan_cbs_put(struct cv_store *s, const char *field, const char *value);
int cv_store_scan_cbs_del(struct cv_store *s, const char *field);

/* The nightly scan's writes, pipelined: cv_store_scan_begin, then any number of events (the
 * "events" stream, as cv_store_stream_add), scan states (a certificate's state, an opaque string
 * under "<prefix>{cv}:scan:<id>", docs/SCAN.md) and invalid-index marks (add or remove 'id'),
 * then cv_store_scan_flush, which sends them
 * together and reads every reply. Redis applies them in the order appended, so a state appended
 * after its events is never applied without them. No other store call may come between begin
 * and flush. flush returns the first error (CV_OK when all were applied). */
int cv_store_scan_begin(struct cv_store *s);
int cv_store_scan_event(struct cv_store *s, const char *const *names, const char *const *values,
                        size_t n);
int cv_store_scan_state(struct cv_store *s, const char *id, const char *value);
int cv_store_scan_invalid(struct cv_store *s, const char *id, bool invalid);
int cv_store_scan_flush(struct cv_store *s);

/* The scan states of 'n' certificates (1..CV_STORE_BATCH_MAX) in one MGET: '*values' is a
 * malloc'd array of 'n' malloc'd strings, NULL where none (free with cv_store_free_strings). */
int cv_store_scan_states_get(struct cv_store *s, const char *const *ids, size_t n, char ***values);

/* A lock shared by every process on this Redis: "<prefix>{cv}:lock:<name>" set to 'token' (SET NX
 * PX 'ttl_ms'). CV_ERR_CONFLICT when another holder has it. unlock deletes the key only while it
 * still holds 'token' (a lock that expired and was taken by another is left alone). */
int cv_store_lock(struct cv_store *s, const char *name, const char *token, long ttl_ms);
int cv_store_unlock(struct cv_store *s, const char *name, const char *token);

/* Frees an array of 'n' malloc'd strings and the array. Accepts NULL. */
void cv_store_free_strings(char **v, size_t n);

/* The last good copy of a listing source (SPEC 6), kept so that a failing source can be replaced
 * by what it served last. Strings are malloc'd when returned by cv_store_source_get (free with
 * cv_store_source_cleanup) and borrowed when passed to cv_store_source_put. */
struct cv_store_source {
    char *body; /* the bytes as fetched (binary-safe) */
    size_t body_len;
    char *etag;           /* or NULL */
    char *last_modified;  /* or NULL */
    long long fetched_at; /* Unix seconds when this copy was fetched */
};

/* Writes the copy of source 'name' (an id: at most CV_STORE_ID_MAX bytes) as a hash under
 * "<prefix>{cv}:source:<name>" (fields body, etag, last_modified, fetched_at), replacing the
 * previous one in one MULTI/EXEC. CV_OK or CV_ERR_UNAVAILABLE. */
int cv_store_source_put(struct cv_store *s, const char *name, const struct cv_store_source *src);

/* Reads the copy of source 'name' into '*out' (zeroed first). CV_ERR_NOT_FOUND when none. */
int cv_store_source_get(struct cv_store *s, const char *name, struct cv_store_source *out);

/* Frees the members of '*src' and zeroes it. Accepts NULL. */
void cv_store_source_cleanup(struct cv_store_source *src);

/* Counters since cv_store_open, for /metrics. */
struct cv_store_stats {
    unsigned long commands;   /* Redis commands sent, each pipelined one counted */
    unsigned long errors;     /* failures: connection, timeout, error reply, oversized reply */
    unsigned long reconnects; /* successful connections after the first one */
};
void cv_store_stats(const struct cv_store *s, struct cv_store_stats *out);

/* Writes the cache puts still buffered on 's' unless its user is in the middle of a command: the
 * one store function another thread may call while the store's own thread uses it (a service
 * calls it for each worker's store a few times a second, so that a worker that goes idle after
 * a put does not keep it). Never at the same time as cv_store_close. A failed write drops the
 * connection (the user reconnects; counted in the stats' errors). Accepts NULL. */
void cv_store_flush_deferred(struct cv_store *s);

/* ---- embedded redis-server ------------------------------------------------------------- */

struct cv_embedded_redis; /* opaque */

/* Starts `redis-server` (found on PATH, or 'server_path') as a child process listening only on a
 * unix socket under 'data_dir' (created if missing, mode 0700), append-only file on, no TCP port,
 * and waits until it answers PING (up to 10 s; while it answers LOADING, replaying a large
 * append-only file, up to 10 min). Writes the URL to connect to into 'url'
 * ('url_cap'). Returns CV_OK and '*out', or an error with a message in 'err': CV_ERR_USAGE when
 * the socket path would not fit a unix socket address (107 bytes) or 'url_cap' is too small,
 * CV_ERR_CONFLICT when another process holds the directory's lock or a server already answers on
 * the socket (it is never reused nor stopped: docs/STORAGE.md), CV_ERR_IO when the directory
 * cannot be made, CV_ERR_UNAVAILABLE when the server cannot be run or does not come up. The child
 * gets SIGTERM if the starting thread dies (Linux), so a killed certvet leaves no server behind.
 * The caller must not set SIGCHLD to SIG_IGN. */
int cv_embedded_redis_start(const char *data_dir, const char *server_path,
                            struct cv_embedded_redis **out, char *url, size_t url_cap, char *err,
                            size_t cap);

/* Stops the child (SHUTDOWN, which flushes the append-only file; then SIGTERM after 10 s, then
 * SIGKILL after 5 s more), reaps it, and frees. Accepts NULL. */
void cv_embedded_redis_stop(struct cv_embedded_redis *r);

#endif

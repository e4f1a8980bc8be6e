/* Certificates, suppliers, due-date indexes, event streams and the verification cache on Redis
 * (SPEC 7), over the connection adapter in redis.c. The key layout, and why every dataset key
 * carries one hash tag, is in docs/STORAGE.md. */
#include "certvet/store.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "certvet/error.h"
#include "certvet/strmap.h"
#include "redis.h"

#define DEFAULT_PREFIX     "certvet:"
#define DEFAULT_TIMEOUT_MS 2000
#define HASH_TAG           "{cv}" /* one Redis Cluster slot for the whole dataset */
#define WATCH_RETRIES      8      /* optimistic transactions tried before CV_ERR_CONFLICT */
#define RETRY_PAUSE_US     1000   /* up to (attempt + 1) times this, at random, between tries */
#define KEY_MAX            (CV_STORE_PREFIX_MAX + CV_STORE_ID_MAX + 32)
#define STREAM_ID_MAX      48 /* "(" + "<20 digits>-<20 digits>" + NUL */

/* Key kinds after "<prefix>{cv}:"; the trailing ':' of each kind keeps ids from colliding. */
#define K_CERT           "cert:"              /* string: certificate record JSON */
#define K_CERT_SUPPLIER  "cert-supplier"      /* hash: certificate id -> supplier id */
#define K_SUPPLIER       "supplier:"          /* string: supplier record JSON */
#define K_SUPPLIER_CERTS "supplier-certs:"    /* set: the supplier's certificate ids */
#define K_SUPPLIERS      "suppliers"          /* zset, all scores 0: supplier ids in byte order */
#define K_INDEX_EXPIRY   "index:expiry"       /* zset: certificate id by effective expiry day */
#define K_INDEX_SURV     "index:surveillance" /* zset: certificate id by surveillance due day */
#define K_STREAM         "stream:"            /* stream: "events" or "changes" */
#define K_CACHE          "cache:"             /* after the bare prefix, untagged: cache entries */
#define K_SOURCE         "source:"            /* hash: last good copy of a listing source */
#define K_SCAN           "scan:"              /* string: a certificate's last scan state */
#define K_SCAN_CBS       "scan-cbs"           /* hash: CB id -> the scan's last view of it */
#define K_INDEX_CB       "index:cb:"          /* set: certificate ids by CB name or id key */
#define K_INDEX_INVALID  "index:invalid"      /* set: ids of certificates last seen invalid */
#define K_LOCK           "lock:"              /* string: a lock holder's token, with a TTL */

struct cv_store {
    struct cv_redis *r;
    char tagged[CV_STORE_PREFIX_MAX + sizeof(HASH_TAG) + 2]; /* "<prefix>{cv}:" */
    char cache[CV_STORE_PREFIX_MAX + sizeof(K_CACHE)];       /* "<prefix>cache:" */
    unsigned seed;                                           /* rand_r, for retry jitter */
    size_t piped;   /* commands appended since cv_store_scan_begin, replies unread */
    int pipe_error; /* the first error of an append since cv_store_scan_begin */
};

/* The streams a caller may name (a table, not strings scattered in handlers). */
static const char *const stream_names[] = {"events", "changes", "deliveries"};

/* ---- helpers ----------------------------------------------------------------------------- */

/* Ends a public call: a success (or a plain miss) clears the error of earlier calls. */
static int done(struct cv_store *s, int rc)
{
    if (rc == CV_OK || rc == CV_ERR_NOT_FOUND)
        cv_redis_clear_error(s->r);
    return rc;
}

static int check_id(struct cv_store *s, const char *id, const char *what)
{
    size_t len;
    if (!id || !*id)
        return cv_redis_set_error(s->r, CV_ERR_USAGE, "%s is missing", what);
    len = strlen(id);
    if (len > CV_STORE_ID_MAX)
        return cv_redis_set_error(s->r, CV_ERR_USAGE, "%s is %zu bytes (at most %d)", what, len,
                                  CV_STORE_ID_MAX);
    return CV_OK;
}

/* "<prefix>{cv}:<kind><id>" into 'buf' (KEY_MAX bytes); ids are checked against CV_STORE_ID_MAX
 * first, so it always fits. */
static const char *key(const struct cv_store *s, char *buf, const char *kind, const char *id)
{
    snprintf(buf, KEY_MAX, "%s%s%s", s->tagged, kind, id ? id : "");
    return buf;
}

static const char *no_supplier(const char *id)
{
    return id && *id ? id : NULL;
}

static int bad_reply(struct cv_store *s, const char *what)
{
    return cv_redis_set_error(s->r, CV_ERR_UNAVAILABLE, "redis: unexpected reply to %s", what);
}

/* After a transaction lost a race (a WATCHed key changed): a short random pause, growing with
 * the attempts, so that writers contending for the same records stop colliding in lockstep. */
static void retry_pause(struct cv_store *s, int attempt)
{
    long us = (long)(rand_r(&s->seed) % ((unsigned)(attempt + 1) * RETRY_PAUSE_US));
    struct timespec ts = {0, us * 1000L};
    nanosleep(&ts, NULL);
}

/* The current time as ISO-8601 UTC with milliseconds, for the change stream's "at". */
static void now_iso(char out[32])
{
    struct timespec ts;
    struct tm tm;
    char base[24];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%s.%03uZ", base, (unsigned)(ts.tv_nsec / 1000000) % 1000u);
}

/* Copies the first 'max' string elements of an array reply into a malloc'd array of malloc'd
 * strings (NULL where an element is nil). '*out' is NULL when there are none. */
static int take_strings(struct cv_store *s, const struct cv_reply *arr, size_t max, char ***out,
                        size_t *n)
{
    size_t count = cv_reply_count(arr);
    char **v;

    *out = NULL;
    *n = 0;
    if (cv_reply_type(arr) != CV_REPLY_ARRAY)
        return bad_reply(s, "a list");
    if (count > max)
        count = max;
    if (count == 0)
        return CV_OK;
    v = calloc(count, sizeof(*v));
    if (!v)
        return cv_redis_set_error(s->r, CV_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < count; i++) {
        const struct cv_reply *e = cv_reply_at(arr, i);
        if (cv_reply_type(e) == CV_REPLY_NIL)
            continue;
        v[i] = cv_reply_strdup(e);
        if (!v[i]) {
            cv_store_free_strings(v, count);
            return cv_redis_set_error(s->r, CV_ERR_NOMEM, "out of memory");
        }
    }
    *out = v;
    *n = count;
    return CV_OK;
}

/* Appends one command of a pipeline and counts it in '*queued'. */
static int append(struct cv_store *s, size_t *queued, int argc, const char **argv)
{
    int rc = cv_redis_append(s->r, argc, argv, NULL);
    if (rc)
        return rc;
    (*queued)++;
    return CV_OK;
}

/* Appends an XADD to the change stream: who did what to which record, when. */
static int append_change(struct cv_store *s, size_t *queued, const char *at, const char *actor,
                         const char *action, const char *kind, const char *id)
{
    char k[KEY_MAX], maxlen[24];
    const char *argv[] = {
        "XADD",  key(s, k, K_STREAM, "changes"), "MAXLEN", "~",    maxlen, "*",  "at", at,
        "actor", actor ? actor : "unknown",      "action", action, "kind", kind, "id", id};
    snprintf(maxlen, sizeof(maxlen), "%d", CV_STORE_STREAM_MAXLEN);
    return append(s, queued, (int)(sizeof(argv) / sizeof(argv[0])), argv);
}

/* Reads every reply of a pipeline whose last 'queued' commands are MULTI ... EXEC, in sync even
 * when one fails. '*aborted' is set when EXEC answered nil: a WATCHed key changed, nothing was
 * applied. A command that failed inside EXEC (Redis does not roll back) is reported as
 * CV_ERR_UNAVAILABLE. */
static int finish_transaction(struct cv_store *s, size_t queued, bool *aborted)
{
    struct cv_reply *exec = NULL;
    int rc = CV_OK;

    *aborted = false;
    for (size_t i = 0; i < queued; i++) {
        int rc2 = cv_redis_read(s->r, i + 1 == queued ? &exec : NULL);
        if (rc2 && !rc)
            rc = rc2;
    }
    if (rc)
        goto out;
    if (cv_reply_type(exec) == CV_REPLY_NIL) {
        *aborted = true;
        goto out;
    }
    if (cv_reply_type(exec) != CV_REPLY_ARRAY) {
        rc = bad_reply(s, "EXEC");
        goto out;
    }
    for (size_t i = 0; i < cv_reply_count(exec); i++) {
        const struct cv_reply *e = cv_reply_at(exec, i);
        if (cv_reply_type(e) == CV_REPLY_ERROR) {
            rc = cv_redis_set_error(s->r, CV_ERR_UNAVAILABLE,
                                    "redis: command %zu of a transaction failed, the others were "
                                    "applied: %s",
                                    i + 1, cv_reply_str(e, NULL));
            goto out;
        }
    }
    /* With replicas to wait for (redis-sentinel://...?wait=N), the write is acknowledged only
     * once they have it: a failover then loses nothing that was acknowledged. */
    rc = cv_redis_sync_replicas(s->r);
out:
    cv_reply_free(exec);
    return rc;
}

/* ---- open, close, ping ------------------------------------------------------------------- */

int cv_store_open(const struct cv_store_config *cfg, struct cv_store **out, char *err, size_t cap)
{
    const char *prefix = cfg && cfg->prefix && *cfg->prefix ? cfg->prefix : DEFAULT_PREFIX;
    struct cv_store *s = NULL;
    int rc;

    *out = NULL;
    if (err && cap)
        err[0] = '\0';
    if (!cfg || !cfg->url) {
        rc = CV_ERR_USAGE;
        if (err && cap)
            snprintf(err, cap, "no redis URL configured");
        goto out;
    }
    if (strlen(prefix) > CV_STORE_PREFIX_MAX) {
        rc = CV_ERR_USAGE;
        if (err && cap)
            snprintf(err, cap, "redis key prefix longer than %d bytes", CV_STORE_PREFIX_MAX);
        goto out;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        rc = CV_ERR_NOMEM;
        if (err && cap)
            snprintf(err, cap, "out of memory");
        goto out;
    }
    snprintf(s->tagged, sizeof(s->tagged), "%s" HASH_TAG ":", prefix);
    snprintf(s->cache, sizeof(s->cache), "%s" K_CACHE, prefix);
    s->seed = (unsigned)getpid() ^ (unsigned)time(NULL) ^ (unsigned)(uintptr_t)s;
    rc = cv_redis_new(cfg->url, cfg->timeout_ms > 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS, &s->r,
                      err, cap);
    if (rc)
        goto out;
    rc = cv_store_ping(s);
    /* Redis answers even PING with MISCONF while it cannot persist writes: the server is there
     * (and we are authenticated), reads work, writes will say why they fail. */
    if (rc == CV_ERR_UNAVAILABLE && cv_redis_cause(s->r) == CV_CAUSE_NOT_PERSISTING)
        rc = CV_OK;
    if (rc && err && cap)
        snprintf(err, cap, "%s", cv_redis_errstr(s->r));
out:
    if (rc) {
        cv_store_close(s);
        return rc;
    }
    *out = s;
    return CV_OK;
}

void cv_store_close(struct cv_store *s)
{
    if (!s)
        return;
    cv_redis_free(s->r);
    free(s);
}

const char *cv_store_errstr(const struct cv_store *s)
{
    return cv_redis_errstr(s->r);
}

enum cv_store_cause cv_store_cause(const struct cv_store *s)
{
    return cv_redis_cause(s->r);
}

void cv_store_stats(const struct cv_store *s, struct cv_store_stats *out)
{
    cv_redis_counters(s->r, &out->commands, &out->errors, &out->reconnects);
}

void cv_store_flush_deferred(struct cv_store *s)
{
    if (s)
        cv_redis_flush_deferred(s->r);
}

int cv_store_ping(struct cv_store *s)
{
    struct cv_reply *rep = NULL;
    const char *argv[] = {"PING"};
    int rc = cv_redis_command(s->r, &rep, 1, argv, NULL);
    if (rc)
        goto out;
    if (strcmp(cv_reply_str(rep, NULL), "PONG") != 0)
        rc = bad_reply(s, "PING");
out:
    cv_reply_free(rep);
    return done(s, rc);
}

/* ---- certificates ------------------------------------------------------------------------ */

/* Queues the commands for 'c', whose supplier before this write is 'old' (NULL: none). */
static int queue_put_one(struct cv_store *s, const struct cv_stored_cert *c, const char *old,
                         const char *at, const char *actor, size_t *queued)
{
    const char *sup = no_supplier(c->supplier_id);
    bool moved = (old == NULL) != (sup == NULL) || (old && strcmp(old, sup) != 0);
    char rec[KEY_MAX], k1[KEY_MAX], k2[KEY_MAX], score[16];
    const char *set[] = {"SET", key(s, rec, K_CERT, c->id), c->json};
    const char *xadd[] = {"XADD",
                          key(s, k2, K_STREAM, "changes"),
                          "*",
                          "at",
                          at,
                          "actor",
                          actor ? actor : "unknown",
                          "action",
                          "upsert",
                          "kind",
                          "certificate",
                          "id",
                          c->id};
    int rc;

    rc = append(s, queued, 3, set);
    if (rc)
        return rc;
    if (old && moved) {
        const char *srem[] = {"SREM", key(s, k1, K_SUPPLIER_CERTS, old), c->id};
        rc = append(s, queued, 3, srem);
        if (rc)
            return rc;
    }
    /* The link is always written (or removed) in the same transaction as the record, even when
     * the read before MULTI says it is unchanged: another writer may have changed it since, and
     * the record and its link must come from the same (last) writer. SADD is a no-op when
     * present, and it re-links after the supplier was deleted. */
    if (sup) {
        const char *sadd[] = {"SADD", key(s, k1, K_SUPPLIER_CERTS, sup), c->id};
        const char *hset[] = {"HSET", key(s, rec, K_CERT_SUPPLIER, NULL), c->id, sup};
        rc = append(s, queued, 3, sadd);
        if (!rc)
            rc = append(s, queued, 4, hset);
    } else {
        const char *hdel[] = {"HDEL", key(s, rec, K_CERT_SUPPLIER, NULL), c->id};
        rc = append(s, queued, 3, hdel);
    }
    if (rc)
        return rc;
    for (int idx = 0; idx < 2; idx++) {
        cv_date d = idx == 0 ? c->effective_expiry : c->surveillance_due;
        const char *zadd[] = {"ZADD", key(s, k1, idx == 0 ? K_INDEX_EXPIRY : K_INDEX_SURV, NULL),
                              score, c->id};
        const char *zrem[] = {"ZREM", k1, c->id};
        snprintf(score, sizeof(score), "%ld", (long)d);
        rc = d == CV_DATE_NONE ? append(s, queued, 3, zrem) : append(s, queued, 4, zadd);
        if (rc)
            return rc;
    }
    const char *mark[] = {c->invalid ? "SADD" : "SREM", key(s, k1, K_INDEX_INVALID, NULL), c->id};
    rc = append(s, queued, 3, mark);
    if (rc)
        return rc;
    for (int i = 0; i < 2; i++) {
        const char *sadd[] = {"SADD", k1, c->id};
        if (!c->cb_keys[i] || !*c->cb_keys[i])
            continue;
        key(s, k1, K_INDEX_CB, c->cb_keys[i]);
        rc = append(s, queued, 3, sadd);
        if (rc)
            return rc;
    }
    /* Trimmed once per batch (XTRIM below): cheaper than MAXLEN on every entry. */
    return append(s, queued, (int)(sizeof(xadd) / sizeof(xadd[0])), xadd);
}

/* No WATCH here, by design (docs/STORAGE.md): Redis 7.0 spends O(n^2) on a WATCH of n keys, and
 * a WATCH on the shared link hash would starve big batches. The batch reads the current supplier
 * links (HMGET), then writes everything in one MULTI/EXEC. Record, link and index entries are
 * written together, so the last writer wins for all of them; a concurrent move of the same
 * certificate can only leave an extra member in a supplier set, which readers filter out by the
 * link (cv_store_supplier_certificates). */
int cv_store_put_certificates(struct cv_store *s, const struct cv_stored_cert *certs, size_t n,
                              const char *actor)
{
    char link[KEY_MAX], stream[KEY_MAX], maxlen[24], at[32];
    const char *multi[] = {"MULTI"}, *exec[] = {"EXEC"};
    const char *xtrim[] = {"XTRIM", key(s, stream, K_STREAM, "changes"), "MAXLEN", "~", maxlen};
    const char **argv = NULL;
    struct cv_reply *olds = NULL;
    struct cv_strmap seen; /* id -> index of its latest occurrence earlier in the batch */
    size_t queued = 0;
    bool aborted = false;
    int rc = CV_OK;

    cv_strmap_init(&seen);
    if (n == 0)
        goto out;
    if (!certs || n > CV_STORE_BATCH_MAX) {
        rc = cv_redis_set_error(s->r, CV_ERR_USAGE, "a batch holds 1..%d records, not %zu",
                                CV_STORE_BATCH_MAX, n);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        rc = check_id(s, certs[i].id, "certificate id");
        for (int k = 0; !rc && k < 2; k++)
            if (certs[i].cb_keys[k] && *certs[i].cb_keys[k])
                rc = check_id(s, certs[i].cb_keys[k], "certification body key");
        if (!rc && no_supplier(certs[i].supplier_id))
            rc = check_id(s, certs[i].supplier_id, "supplier id");
        if (!rc && !certs[i].json)
            rc =
                cv_redis_set_error(s->r, CV_ERR_USAGE, "certificate %s has no record", certs[i].id);
        if (rc)
            goto out;
    }
    argv = malloc((n + 2) * sizeof(*argv));
    if (!argv) {
        rc = cv_redis_set_error(s->r, CV_ERR_NOMEM, "out of memory");
        goto out;
    }
    now_iso(at);
    snprintf(maxlen, sizeof(maxlen), "%d", CV_STORE_STREAM_MAXLEN);

    argv[0] = "HMGET";
    argv[1] = key(s, link, K_CERT_SUPPLIER, NULL);
    for (size_t i = 0; i < n; i++)
        argv[2 + i] = certs[i].id;
    rc = cv_redis_command(s->r, &olds, (int)n + 2, argv, NULL);
    if (rc)
        goto out;
    if (cv_reply_type(olds) != CV_REPLY_ARRAY || cv_reply_count(olds) != n) {
        rc = bad_reply(s, "HMGET");
        goto out;
    }

    rc = cv_redis_begin(s->r);
    if (!rc)
        rc = append(s, &queued, 1, multi);
    for (size_t i = 0; i < n && !rc; i++) {
        const struct cv_reply *o = cv_reply_at(olds, i);
        const char *old = cv_reply_type(o) == CV_REPLY_STRING ? cv_reply_str(o, NULL) : NULL;
        size_t prev;
        if (cv_strmap_get(&seen, certs[i].id, &prev)) /* the same id earlier in this batch */
            old = no_supplier(certs[prev].supplier_id);
        rc = queue_put_one(s, &certs[i], old, at, actor, &queued);
        if (!rc && cv_strmap_put(&seen, certs[i].id, i))
            rc = cv_redis_set_error(s->r, CV_ERR_NOMEM, "out of memory");
    }
    if (!rc)
        rc = append(s, &queued, 5, xtrim);
    if (!rc)
        rc = append(s, &queued, 1, exec);
    if (!rc)
        rc = finish_transaction(s, queued, &aborted);
    if (!rc && aborted)
        rc = bad_reply(s, "EXEC"); /* nothing was watched */
out:
    cv_strmap_cleanup(&seen);
    cv_reply_free(olds);
    free(argv);
    return done(s, rc);
}

/* GET of a string key: '*value' malloc'd, CV_ERR_NOT_FOUND for nil. */
static int get_string(struct cv_store *s, const char *k, char **value)
{
    struct cv_reply *rep = NULL;
    const char *argv[] = {"GET", k};
    int rc = cv_redis_command(s->r, &rep, 2, argv, NULL);
    if (rc)
        goto out;
    if (cv_reply_type(rep) == CV_REPLY_NIL) {
        rc = CV_ERR_NOT_FOUND;
        goto out;
    }
    if (cv_reply_type(rep) != CV_REPLY_STRING) {
        rc = bad_reply(s, "GET");
        goto out;
    }
    *value = cv_reply_strdup(rep);
    if (!*value)
        rc = cv_redis_set_error(s->r, CV_ERR_NOMEM, "out of memory");
out:
    cv_reply_free(rep);
    return rc;
}

int cv_store_get_certificate(struct cv_store *s, const char *id, char **json)
{
    char k[KEY_MAX];
    int rc;

    *json = NULL;
    rc = check_id(s, id, "certificate id");
    if (rc)
        goto out;
    rc = get_string(s, key(s, k, K_CERT, id), json);
out:
    return done(s, rc);
}

int cv_store_get_certificates(struct cv_store *s, const char *const *ids, size_t n, char ***jsons)
{
    struct cv_reply *rep = NULL;
    const char **argv = NULL;
    char *keys = NULL, *p;
    size_t total = 0, got = 0;
    int rc = CV_OK;

    *jsons = NULL;
    if (n == 0)
        goto out;
    if (!ids || n > CV_STORE_BATCH_MAX) {
        rc = cv_redis_set_error(s->r, CV_ERR_USAGE, "MGET of 1..%d ids, not %zu",
                                CV_STORE_BATCH_MAX, n);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        rc = check_id(s, ids[i], "certificate id");
        if (rc)
            goto out;
        total += strlen(s->tagged) + sizeof(K_CERT) + strlen(ids[i]);
    }
    argv = malloc((n + 1) * sizeof(*argv));
    keys = malloc(total);
    if (!argv || !keys) {
        rc = cv_redis_set_error(s->r, CV_ERR_NOMEM, "out of memory");
        goto out;
    }
    argv[0] = "MGET";
    p = keys;
    for (size_t i = 0; i < n; i++) {
        argv[1 + i] = p;
        p += sprintf(p, "%s" K_CERT "%s", s->tagged, ids[i]) + 1;
    }
    rc = cv_redis_command(s->r, &rep, (int)n + 1, argv, NULL);
    if (rc)
        goto out;
    if (cv_reply_count(rep) != n) {
        rc = bad_reply(s, "MGET");
        goto out;
    }
    rc = take_strings(s, rep, n, jsons, &got);
out:
    cv_reply_free(rep);
    free(argv);
    free(keys);
    return done(s, rc);
}

int cv_store_delete_certificate(struct cv_store *s, const char *id, const char *actor)
{
    char rec[KEY_MAX], link[KEY_MAX], k1[KEY_MAX], k2[KEY_MAX], k3[KEY_MAX], at[32];
    struct cv_reply *exists = NULL, *sup = NULL;
    bool aborted = false;
    int rc;

    rc = check_id(s, id, "certificate id");
    if (rc)
        goto out;
    key(s, rec, K_CERT, id);
    key(s, link, K_CERT_SUPPLIER, NULL);
    now_iso(at);
    for (int attempt = 0;; attempt++) {
        const char *watch[] = {"WATCH", rec}, *ex[] = {"EXISTS", rec}, *hget[] = {"HGET", link, id};
        const char *multi[] = {"MULTI"}, *exec[] = {"EXEC"}, *unwatch[] = {"UNWATCH"};
        const char *del[] = {"DEL", rec}, *hdel[] = {"HDEL", link, id};
        const char *zrem1[] = {"ZREM", key(s, k1, K_INDEX_EXPIRY, NULL), id};
        const char *zrem2[] = {"ZREM", key(s, k2, K_INDEX_SURV, NULL), id};
        const char *srem[] = {"SREM", k3, id};
        char k4[KEY_MAX];
        const char *srem_invalid[] = {"SREM", key(s, k4, K_INDEX_INVALID, NULL), id};
        size_t queued = 0;

        cv_reply_free(exists);
        cv_reply_free(sup);
        exists = sup = NULL;
        rc = cv_redis_begin(s->r);
        if (!rc)
            rc = cv_redis_append(s->r, 2, watch, NULL);
        if (!rc)
            rc = cv_redis_append(s->r, 2, ex, NULL);
        if (!rc)
            rc = cv_redis_append(s->r, 3, hget, NULL);
        if (!rc)
            rc = cv_redis_read(s->r, NULL);
        if (!rc)
            rc = cv_redis_read(s->r, &exists);
        if (!rc)
            rc = cv_redis_read(s->r, &sup);
        if (rc)
            goto out;
        if (cv_reply_integer(exists) == 0) {
            rc = cv_redis_command(s->r, NULL, 1, unwatch, NULL);
            if (!rc)
                rc = CV_ERR_NOT_FOUND;
            goto out;
        }
        rc = append(s, &queued, 1, multi);
        if (!rc)
            rc = append(s, &queued, 2, del);
        if (!rc)
            rc = append(s, &queued, 3, zrem1);
        if (!rc)
            rc = append(s, &queued, 3, zrem2);
        if (!rc)
            rc = append(s, &queued, 3, srem_invalid);
        if (!rc && cv_reply_type(sup) == CV_REPLY_STRING) {
            key(s, k3, K_SUPPLIER_CERTS, cv_reply_str(sup, NULL));
            rc = append(s, &queued, 3, srem);
            if (!rc)
                rc = append(s, &queued, 3, hdel);
        }
        if (!rc)
            rc = append_change(s, &queued, at, actor, "delete", "certificate", id);
        if (!rc)
            rc = append(s, &queued, 1, exec);
        if (!rc)
            rc = finish_transaction(s, queued, &aborted);
        if (rc || !aborted)
            break;
        if (attempt + 1 == WATCH_RETRIES) {
            rc = cv_redis_set_error(s->r, CV_ERR_CONFLICT, "certificate %s kept changing", id);
            break;
        }
        retry_pause(s, attempt);
    }
out:
    cv_reply_free(exists);
    cv_reply_free(sup);
    return done(s, rc);
}

/* ---- suppliers --------------------------------------------------------------------------- */

int cv_store_put_supplier(struct cv_store *s, const char *id, const char *json, const char *actor)
{
    char rec[KEY_MAX], all[KEY_MAX], at[32];
    const char *multi[] = {"MULTI"}, *exec[] = {"EXEC"};
    const char *set[] = {"SET", key(s, rec, K_SUPPLIER, id), json};
    const char *zadd[] = {"ZADD", key(s, all, K_SUPPLIERS, NULL), "0", id};
    size_t queued = 0;
    bool aborted = false;
    int rc;

    rc = check_id(s, id, "supplier id");
    if (!rc && !json)
        rc = cv_redis_set_error(s->r, CV_ERR_USAGE, "supplier %s has no record", id);
    if (rc)
        goto out;
    now_iso(at);
    rc = cv_redis_begin(s->r);
    if (!rc)
        rc = append(s, &queued, 1, multi);
    if (!rc)
        rc = append(s, &queued, 3, set);
    if (!rc)
        rc = append(s, &queued, 4, zadd);
    if (!rc)
        rc = append_change(s, &queued, at, actor, "upsert", "supplier", id);
    if (!rc)
        rc = append(s, &queued, 1, exec);
    if (!rc)
        rc = finish_transaction(s, queued, &aborted);
    if (!rc && aborted)
        rc = bad_reply(s, "EXEC"); /* nothing was watched */
out:
    return done(s, rc);
}

int cv_store_get_supplier(struct cv_store *s, const char *id, char **json)
{
    char k[KEY_MAX];
    int rc;

    *json = NULL;
    rc = check_id(s, id, "supplier id");
    if (!rc)
        rc = get_string(s, key(s, k, K_SUPPLIER, id), json);
    return done(s, rc);
}

int cv_store_delete_supplier(struct cv_store *s, const char *id, const char *actor)
{
    char rec[KEY_MAX], set[KEY_MAX], all[KEY_MAX], at[32];
    struct cv_reply *exists = NULL;
    bool aborted = false;
    int rc;

    rc = check_id(s, id, "supplier id");
    if (rc)
        goto out;
    key(s, rec, K_SUPPLIER, id);
    key(s, set, K_SUPPLIER_CERTS, id);
    key(s, all, K_SUPPLIERS, NULL);
    now_iso(at);
    /* The certificates and their links stay: the links mirror the supplier_id in each record.
     * With the set gone, the supplier lists none of them until they are put again. */
    for (int attempt = 0;; attempt++) {
        const char *watch[] = {"WATCH", rec}, *ex[] = {"EXISTS", rec}, *unwatch[] = {"UNWATCH"};
        const char *multi[] = {"MULTI"}, *exec[] = {"EXEC"};
        const char *del[] = {"DEL", rec, set}, *zrem[] = {"ZREM", all, id};
        size_t queued = 0;

        cv_reply_free(exists);
        exists = NULL;
        rc = cv_redis_begin(s->r);
        if (!rc)
            rc = cv_redis_append(s->r, 2, watch, NULL);
        if (!rc)
            rc = cv_redis_append(s->r, 2, ex, NULL);
        if (!rc)
            rc = cv_redis_read(s->r, NULL);
        if (!rc)
            rc = cv_redis_read(s->r, &exists);
        if (rc)
            goto out;
        if (cv_reply_integer(exists) == 0) {
            rc = cv_redis_command(s->r, NULL, 1, unwatch, NULL);
            if (!rc)
                rc = CV_ERR_NOT_FOUND;
            goto out;
        }
        rc = append(s, &queued, 1, multi);
        if (!rc)
            rc = append(s, &queued, 3, del);
        if (!rc)
            rc = append(s, &queued, 3, zrem);
        if (!rc)
            rc = append_change(s, &queued, at, actor, "delete", "supplier", id);
        if (!rc)
            rc = append(s, &queued, 1, exec);
        if (!rc)
            rc = finish_transaction(s, queued, &aborted);
        if (rc || !aborted)
            break;
        if (attempt + 1 == WATCH_RETRIES) {
            rc = cv_redis_set_error(s->r, CV_ERR_CONFLICT, "supplier %s kept changing", id);
            break;
        }
        retry_pause(s, attempt);
    }
out:
    cv_reply_free(exists);
    return done(s, rc);
}

int cv_store_list_suppliers(struct cv_store *s, const char *after, size_t limit, char ***ids,
                            size_t *n, char **next)
{
    char all[KEY_MAX], min[CV_STORE_ID_MAX + 2], lim[24];
    const char *argv[] = {
        "ZRANGEBYLEX", key(s, all, K_SUPPLIERS, NULL), min, "+", "LIMIT", "0", lim};
    struct cv_reply *rep = NULL;
    int rc = CV_OK;

    *ids = NULL;
    *n = 0;
    *next = NULL;
    if (limit == 0 || limit > CV_STORE_LIST_MAX) {
        rc = cv_redis_set_error(s->r, CV_ERR_USAGE, "list limit must be 1..%d", CV_STORE_LIST_MAX);
        goto out;
    }
    if (after) {
        rc = check_id(s, after, "cursor");
        if (rc)
            goto out;
        snprintf(min, sizeof(min), "(%s", after);
    } else {
        snprintf(min, sizeof(min), "-");
    }
    /* One more than asked tells whether another page follows. */
    snprintf(lim, sizeof(lim), "%zu", limit + 1);
    rc = cv_redis_command(s->r, &rep, 7, argv, NULL);
    if (rc)
        goto out;
    rc = take_strings(s, rep, limit, ids, n);
    if (rc)
        goto out;
    if (cv_reply_count(rep) > limit) {
        *next = strdup((*ids)[limit - 1]);
        if (!*next)
            rc = cv_redis_set_error(s->r, CV_ERR_NOMEM, "out of memory");
    }
out:
    if (rc) {
        cv_store_free_strings(*ids, *n);
        *ids = NULL;
        *n = 0;
    }
    cv_reply_free(rep);
    return done(s, rc);
}

static int cmp_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int cv_store_supplier_certificates(struct cv_store *s, const char *supplier_id, char ***ids,
                                   size_t *n)
{
    char set[KEY_MAX], link[KEY_MAX];
    const char *smembers[] = {"SMEMBERS", set};
    struct cv_reply *members = NULL, *links = NULL;
    const char **argv = NULL;
    size_t m, kept = 0;
    int rc;

    *ids = NULL;
    *n = 0;
    rc = check_id(s, supplier_id, "supplier id");
    if (rc)
        goto out;
    key(s, set, K_SUPPLIER_CERTS, supplier_id);
    rc = cv_redis_command(s->r, &members, 2, smembers, NULL);
    if (rc)
        goto out;
    m = cv_reply_count(members);
    if (cv_reply_type(members) != CV_REPLY_ARRAY) {
        rc = bad_reply(s, "SMEMBERS");
        goto out;
    }
    if (m == 0)
        goto out;
    /* The set may hold a member that a concurrent writer moved away (see put): the link is the
     * truth. */
    argv = malloc((m + 2) * sizeof(*argv));
    *ids = calloc(m, sizeof(**ids));
    if (!argv || !*ids) {
        rc = cv_redis_set_error(s->r, CV_ERR_NOMEM, "out of memory");
        goto out;
    }
    argv[0] = "HMGET";
    argv[1] = key(s, link, K_CERT_SUPPLIER, NULL);
    for (size_t i = 0; i < m; i++)
        argv[2 + i] = cv_reply_str(cv_reply_at(members, i), NULL);
    rc = cv_redis_command(s->r, &links, (int)m + 2, argv, NULL);
    if (rc)
        goto out;
    if (cv_reply_count(links) != m) {
        rc = bad_reply(s, "HMGET");
        goto out;
    }
    for (size_t i = 0; i < m; i++) {
        const struct cv_reply *l = cv_reply_at(links, i);
        if (cv_reply_type(l) != CV_REPLY_STRING || strcmp(cv_reply_str(l, NULL), supplier_id))
            continue;
        (*ids)[kept] = strdup(argv[2 + i]);
        if (!(*ids)[kept++]) {
            rc = cv_redis_set_error(s->r, CV_ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    if (kept > 1)
        qsort(*ids, kept, sizeof(**ids), cmp_strings);
out:
    *n = kept;
    if (rc || kept == 0) {
        cv_store_free_strings(*ids, kept);
        *ids = NULL;
        *n = 0;
    }
    free(argv);
    cv_reply_free(members);
    cv_reply_free(links);
    return done(s, rc);
}

/* ---- indexes ----------------------------------------------------------------------------- */

int cv_store_attention_ids(struct cv_store *s, cv_date expiry_until, cv_date surveillance_until,
                           size_t limit, const char *const *extra, size_t n_extra, char ***ids,
                           size_t *n)
{
    char k[3][KEY_MAX], max[2][16], lim[24];
    const char *z1[] = {
        "ZRANGEBYSCORE", key(s, k[0], K_INDEX_EXPIRY, NULL), "-inf", max[0], "LIMIT", "0", lim};
    const char *z2[] = {
        "ZRANGEBYSCORE", key(s, k[1], K_INDEX_SURV, NULL), "-inf", max[1], "LIMIT", "0", lim};
    const char *sm[] = {"SMEMBERS", key(s, k[2], K_INDEX_INVALID, NULL)};
    struct cv_reply *rep[3] = {NULL, NULL, NULL};
    char **part[3] = {NULL, NULL, NULL}, **all = NULL;
    size_t np[3] = {0, 0, 0}, total = n_extra, m = 0;
    int rc = CV_OK;

    *ids = NULL;
    *n = 0;
    if (expiry_until == CV_DATE_NONE || surveillance_until == CV_DATE_NONE || limit == 0 ||
        limit > CV_STORE_LIST_MAX || (n_extra && !extra)) {
        rc = cv_redis_set_error(s->r, CV_ERR_USAGE, "attention: bad date, limit or extra ids");
        goto out;
    }
    snprintf(max[0], sizeof(max[0]), "%ld", (long)expiry_until);
    snprintf(max[1], sizeof(max[1]), "%ld", (long)surveillance_until);
    snprintf(lim, sizeof(lim), "%zu", limit);
    rc = cv_redis_begin(s->r);
    if (!rc)
        rc = cv_redis_append(s->r, 7, z1, NULL);
    if (!rc)
        rc = cv_redis_append(s->r, 7, z2, NULL);
    if (!rc)
        rc = cv_redis_append(s->r, 2, sm, NULL);
    for (int i = 0; i < 3 && !rc; i++) { /* all three read, whatever one gave */
        int rc2 = cv_redis_read(s->r, &rep[i]);
        for (int j = i + 1; rc2 && j < 3; j++)
            cv_redis_read(s->r, NULL);
        rc = rc2;
    }
    for (int i = 0; i < 3 && !rc; i++) {
        rc = take_strings(s, rep[i], i == 2 ? CV_STORE_LIST_MAX : limit, &part[i], &np[i]);
        total += np[i];
    }
    if (!rc && total) {
        all = calloc(total, sizeof(*all));
        if (!all)
            rc = cv_redis_set_error(s->r, CV_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < 3 && all; i++) /* the strings move to 'all' */
        for (size_t j = 0; j < np[i]; j++, m++) {
            all[m] = part[i][j];
            part[i][j] = NULL;
        }
    for (size_t j = 0; !rc && j < n_extra; j++, m++)
        if (!(all[m] = strdup(extra[j])))
            rc = cv_redis_set_error(s->r, CV_ERR_NOMEM, "out of memory");
    if (rc)
        goto out;
    if (m > 1)
        qsort(all, m, sizeof(*all), cmp_strings);
    for (size_t j = 0; j < m; j++) {
        if (*n && !strcmp(all[*n - 1], all[j]))
            free(all[j]);
        else
            all[(*n)++] = all[j];
    }
    *ids = all;
    all = NULL;
out:
    cv_store_free_strings(all, m);
    for (int i = 0; i < 3; i++) {
        cv_store_free_strings(part[i], np[i]);
        cv_reply_free(rep[i]);
    }
    if (rc)
        *n = 0;
    return done(s, rc);
}

/* Builds "CMD key1 ... keyN [extra]" for the CB index into a malloc'd argv whose keys live in
 * 'buf' (n_keys * KEY_MAX bytes, malloc'd too). */
static int cb_argv(struct cv_store *s, const char *cmd, const char *const *keys, size_t n_keys,
                   const char *first, const char ***argv, char **buf)
{
    size_t off = first ? 2 : 1;
    *argv = NULL;
    *buf = NULL;
    if (!keys || n_keys == 0 || n_keys > CV_STORE_CB_KEYS_MAX)
        return cv_redis_set_error(s->r, CV_ERR_USAGE, "1..%d certification body keys, not %zu",
                                  CV_STORE_CB_KEYS_MAX, n_keys);
    for (size_t i = 0; i < n_keys; i++) {
        int rc = check_id(s, keys[i], "certification body key");
        if (rc)
            return rc;
    }
    *argv = malloc((n_keys + 2) * sizeof(**argv));
    *buf = malloc(n_keys * KEY_MAX);
    if (!*argv || !*buf) {
        free(*argv);
        free(*buf);
        *argv = NULL;
        *buf = NULL;
        return cv_redis_set_error(s->r, CV_ERR_NOMEM, "out of memory");
    }
    (*argv)[0] = cmd;
    if (first)
        (*argv)[1] = first;
    for (size_t i = 0; i < n_keys; i++)
        (*argv)[off + i] = key(s, *buf + i * KEY_MAX, K_INDEX_CB, keys[i]);
    return CV_OK;
}

int cv_store_cb_certificates(struct cv_store *s, const char *const *keys, size_t n_keys,
                             char ***ids, size_t *n)
{
    const char **argv = NULL;
    char *buf = NULL;
    struct cv_reply *rep = NULL;
    int rc;

    *ids = NULL;
    *n = 0;
    rc = cb_argv(s, "SUNION", keys, n_keys, NULL, &argv, &buf);
    if (!rc)
        rc = cv_redis_command(s->r, &rep, (int)n_keys + 1, argv, NULL);
    if (!rc)
        rc = take_strings(s, rep, CV_STORE_LIST_MAX, ids, n);
    if (!rc && *n > 1)
        qsort(*ids, *n, sizeof(**ids), cmp_strings);
    cv_reply_free(rep);
    free(argv);
    free(buf);
    return done(s, rc);
}

int cv_store_cb_unlink(struct cv_store *s, const char *const *keys, size_t n_keys, const char *id)
{
    char k[KEY_MAX];
    const char *srem[] = {"SREM", k, id};
    int rc = check_id(s, id, "certificate id");

    if (!rc && (!keys || n_keys == 0 || n_keys > CV_STORE_CB_KEYS_MAX))
        rc = cv_redis_set_error(s->r, CV_ERR_USAGE, "1..%d certification body keys, not %zu",
                                CV_STORE_CB_KEYS_MAX, n_keys);
    for (size_t i = 0; !rc && i < n_keys; i++)
        rc = check_id(s, keys[i], "certification body key");
    if (!rc)
        rc = cv_redis_begin(s->r);
    /* One SREM per key (SREM takes one), pipelined; hiredis copies each command when appended. */
    size_t sent = 0;
    for (; !rc && sent < n_keys; sent++) {
        key(s, k, K_INDEX_CB, keys[sent]);
        rc = cv_redis_append(s->r, 3, srem, NULL);
    }
    for (size_t i = 0; i < sent; i++) { /* every reply read, so the connection stays usable */
        int rc2 = cv_redis_read(s->r, NULL);
        rc = rc ? rc : rc2;
    }
    return done(s, rc);
}

/* ---- cache ------------------------------------------------------------------------------- */

int cv_store_cache_get(struct cv_store *s, const char *key_, char **value)
{
    char k[KEY_MAX];
    int rc;

    *value = NULL;
    rc = check_id(s, key_, "cache key");
    if (rc)
        goto out;
    snprintf(k, sizeof(k), "%s%s", s->cache, key_);
    rc = get_string(s, k, value);
out:
    return done(s, rc);
}

/* One string reply of a pipeline into '*out' (NULL for nil). */
static int take_string(struct cv_store *s, const struct cv_reply *rep, char **out)
{
    if (cv_reply_type(rep) == CV_REPLY_NIL)
        return CV_OK;
    if (cv_reply_type(rep) != CV_REPLY_STRING)
        return bad_reply(s, "GET");
    *out = cv_reply_strdup(rep);
    return *out ? CV_OK : cv_redis_set_error(s->r, CV_ERR_NOMEM, "out of memory");
}

int cv_store_get_supplier_and_cache(struct cv_store *s, const char *supplier_id,
                                    const char *cache_key, char **supplier_json, char **cached)
{
    char k1[KEY_MAX], k2[KEY_MAX];
    const char *get1[] = {"GET", k1}, *get2[] = {"GET", k2};
    struct cv_reply *r1 = NULL, *r2 = NULL;
    int rc;

    *supplier_json = *cached = NULL;
    rc = check_id(s, supplier_id, "supplier id");
    if (!rc)
        rc = check_id(s, cache_key, "cache key");
    if (rc)
        goto out;
    key(s, k1, K_SUPPLIER, supplier_id);
    snprintf(k2, sizeof(k2), "%s%s", s->cache, cache_key);
    rc = cv_redis_begin(s->r);
    if (!rc)
        rc = cv_redis_append(s->r, 2, get1, NULL);
    if (!rc)
        rc = cv_redis_append(s->r, 2, get2, NULL);
    if (!rc) {
        int rc2;
        rc = cv_redis_read(s->r, &r1);
        rc2 = cv_redis_read(s->r, &r2); /* both read, whatever the first gave */
        rc = rc ? rc : rc2;
    }
    if (!rc)
        rc = take_string(s, r1, supplier_json);
    if (!rc)
        rc = take_string(s, r2, cached);
    if (rc) {
        free(*supplier_json);
        free(*cached);
        *supplier_json = *cached = NULL;
    }
out:
    cv_reply_free(r1);
    cv_reply_free(r2);
    return done(s, rc);
}

int cv_store_cache_put(struct cv_store *s, const char *key_, const char *value, int ttl_seconds)
{
    char k[KEY_MAX], ttl[16];
    const char *argv[] = {"SET", k, value, "EX", ttl};
    int rc;

    rc = check_id(s, key_, "cache key");
    if (!rc && (!value || ttl_seconds < 1))
        rc = cv_redis_set_error(s->r, CV_ERR_USAGE, "cache entries need a value and a TTL");
    if (rc)
        goto out;
    snprintf(k, sizeof(k), "%s%s", s->cache, key_);
    snprintf(ttl, sizeof(ttl), "%d", ttl_seconds);
    /* Best effort, and nobody waits for it: sent with the next command, its reply read first. */
    rc = cv_redis_send_deferred(s->r, 5, argv);
out:
    return done(s, rc);
}

/* ---- listing sources' last good copies --------------------------------------------------- */

int cv_store_source_put(struct cv_store *s, const char *name, const struct cv_store_source *src)
{
    char k[KEY_MAX], at[24];
    const char *multi[] = {"MULTI"}, *exec[] = {"EXEC"};
    const char *del[] = {"DEL", k};
    const char *hset[] = {"HSET", k,      "body", src ? src->body : NULL, "fetched_at",
                          at,     "etag", "",     "last_modified",        ""};
    size_t lens[10], queued = 0;
    bool aborted;
    int n = 6, rc;

    rc = check_id(s, name, "source name");
    if (!rc && (!src || (!src->body && src->body_len)))
        rc = cv_redis_set_error(s->r, CV_ERR_USAGE, "a source copy needs a body");
    if (rc)
        goto out;
    key(s, k, K_SOURCE, name);
    snprintf(at, sizeof(at), "%lld", src->fetched_at);
    if (!src->body)
        hset[3] = "";
    if (src->etag) {
        hset[n++] = "etag";
        hset[n++] = src->etag;
    }
    if (src->last_modified) {
        hset[n++] = "last_modified";
        hset[n++] = src->last_modified;
    }
    for (int i = 0; i < n; i++)
        lens[i] = strlen(hset[i]);
    lens[3] = src->body_len;
    rc = cv_redis_begin(s->r);
    if (!rc)
        rc = append(s, &queued, 1, multi);
    if (!rc)
        rc = append(s, &queued, 2, del);
    if (!rc)
        rc = cv_redis_append(s->r, n, hset, lens);
    if (!rc)
        queued++;
    if (!rc)
        rc = append(s, &queued, 1, exec);
    if (queued) {
        int rc2 = finish_transaction(s, queued, &aborted);
        if (!rc)
            rc = rc2;
    }
out:
    return done(s, rc);
}

int cv_store_source_get(struct cv_store *s, const char *name, struct cv_store_source *out)
{
    char k[KEY_MAX];
    const char *argv[] = {"HMGET", k, "body", "etag", "last_modified", "fetched_at"};
    struct cv_reply *rep = NULL;
    int rc;

    if (out)
        memset(out, 0, sizeof(*out));
    rc = check_id(s, name, "source name");
    if (!rc && !out)
        rc = cv_redis_set_error(s->r, CV_ERR_USAGE, "no output given");
    if (rc)
        goto out;
    key(s, k, K_SOURCE, name);
    rc = cv_redis_command(s->r, &rep, 6, argv, NULL);
    if (rc)
        goto out;
    if (cv_reply_type(rep) != CV_REPLY_ARRAY || cv_reply_count(rep) != 4) {
        rc = bad_reply(s, "HMGET");
        goto out;
    }
    if (cv_reply_type(cv_reply_at(rep, 0)) != CV_REPLY_STRING) {
        rc = CV_ERR_NOT_FOUND;
        goto out;
    }
    cv_reply_str(cv_reply_at(rep, 0), &out->body_len);
    out->body = cv_reply_strdup(cv_reply_at(rep, 0));
    if (!out->body) {
        rc = cv_redis_set_error(s->r, CV_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (int i = 1; i <= 2; i++) {
        const struct cv_reply *f = cv_reply_at(rep, (size_t)i);
        char **dst = i == 1 ? &out->etag : &out->last_modified;
        size_t len = 0;
        if (cv_reply_type(f) != CV_REPLY_STRING || (cv_reply_str(f, &len), len == 0))
            continue;
        *dst = cv_reply_strdup(f);
        if (!*dst) {
            rc = cv_redis_set_error(s->r, CV_ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    if (cv_reply_type(cv_reply_at(rep, 3)) == CV_REPLY_STRING)
        out->fetched_at = strtoll(cv_reply_str(cv_reply_at(rep, 3), NULL), NULL, 10);
out:
    if (rc && out)
        cv_store_source_cleanup(out);
    cv_reply_free(rep);
    return done(s, rc);
}

void cv_store_source_cleanup(struct cv_store_source *src)
{
    if (!src)
        return;
    free(src->body);
    free(src->etag);
    free(src->last_modified);
    memset(src, 0, sizeof(*src));
}

/* ---- streams ----------------------------------------------------------------------------- */

static int stream_key(struct cv_store *s, const char *stream, char *buf)
{
    for (size_t i = 0; i < sizeof(stream_names) / sizeof(stream_names[0]); i++)
        if (stream && !strcmp(stream, stream_names[i])) {
            key(s, buf, K_STREAM, stream);
            return CV_OK;
        }
    return cv_redis_set_error(s->r, CV_ERR_USAGE,
                              "unknown stream \"%s\" (events, changes or deliveries)",
                              stream ? stream : "(null)");
}

int cv_store_stream_add(struct cv_store *s, const char *stream, const char *const *names,
                        const char *const *values, size_t n, char **id_out)
{
    char k[KEY_MAX], maxlen[24];
    const char *argv[6 + 2 * CV_STORE_STREAM_FIELDS_MAX] = {"XADD", k, "MAXLEN", "~", maxlen, "*"};
    struct cv_reply *rep = NULL;
    int rc;

    if (id_out)
        *id_out = NULL;
    rc = stream_key(s, stream, k);
    if (rc)
        goto out;
    if (n == 0 || n > CV_STORE_STREAM_FIELDS_MAX || !names || !values) {
        rc = cv_redis_set_error(s->r, CV_ERR_USAGE, "a stream entry has 1..%d fields",
                                CV_STORE_STREAM_FIELDS_MAX);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (!names[i] || !values[i]) {
            rc = cv_redis_set_error(s->r, CV_ERR_USAGE, "stream field %zu is NULL", i);
            goto out;
        }
        argv[6 + 2 * i] = names[i];
        argv[7 + 2 * i] = values[i];
    }
    snprintf(maxlen, sizeof(maxlen), "%d", CV_STORE_STREAM_MAXLEN);
    rc = cv_redis_command(s->r, &rep, 6 + 2 * (int)n, argv, NULL);
    if (rc)
        goto out;
    if (cv_reply_type(rep) != CV_REPLY_STRING) {
        rc = bad_reply(s, "XADD");
        goto out;
    }
    if (id_out) {
        *id_out = cv_reply_strdup(rep);
        if (!*id_out)
            rc = cv_redis_set_error(s->r, CV_ERR_NOMEM, "out of memory");
    }
out:
    cv_reply_free(rep);
    return done(s, rc);
}

/* "<ms>" or "<ms>-<seq>", each at most 20 digits. */
static bool valid_stream_id(const char *id)
{
    size_t ms = strspn(id, "0123456789"), seq;
    if (ms == 0 || ms > 20)
        return false;
    if (id[ms] == '\0')
        return true;
    if (id[ms] != '-')
        return false;
    seq = strspn(id + ms + 1, "0123456789");
    return seq > 0 && seq <= 20 && id[ms + 1 + seq] == '\0';
}

/* Fills one entry from an XRANGE element [id, [name, value, ...]]. */
static int take_entry(struct cv_store *s, const struct cv_reply *el, struct cv_stream_entry *e)
{
    const struct cv_reply *fields;
    if (cv_reply_type(el) != CV_REPLY_ARRAY || cv_reply_count(el) != 2 ||
        cv_reply_type(cv_reply_at(el, 0)) != CV_REPLY_STRING)
        return bad_reply(s, "XRANGE");
    fields = cv_reply_at(el, 1);
    if (cv_reply_type(fields) != CV_REPLY_ARRAY || cv_reply_count(fields) % 2 != 0)
        return bad_reply(s, "XRANGE");
    e->id = cv_reply_strdup(cv_reply_at(el, 0));
    e->n = cv_reply_count(fields) / 2;
    if (e->n) {
        e->names = calloc(e->n, sizeof(*e->names));
        e->values = calloc(e->n, sizeof(*e->values));
    }
    if (!e->id || (e->n && (!e->names || !e->values)))
        return cv_redis_set_error(s->r, CV_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < e->n; i++) {
        e->names[i] = cv_reply_strdup(cv_reply_at(fields, 2 * i));
        e->values[i] = cv_reply_strdup(cv_reply_at(fields, 2 * i + 1));
        if (!e->names[i] || !e->values[i])
            return cv_redis_set_error(s->r, CV_ERR_NOMEM, "out of memory");
    }
    return CV_OK;
}

int cv_store_stream_read(struct cv_store *s, const char *stream, const char *after, size_t count,
                         struct cv_stream_entry **entries, size_t *n)
{
    char k[KEY_MAX], start[STREAM_ID_MAX], cnt[24];
    const char *argv[] = {"XRANGE", k, start, "+", "COUNT", cnt};
    struct cv_reply *rep = NULL;
    size_t got;
    int rc;

    *entries = NULL;
    *n = 0;
    rc = stream_key(s, stream, k);
    if (rc)
        goto out;
    if (count == 0 || count > CV_STORE_STREAM_READ_MAX) {
        rc = cv_redis_set_error(s->r, CV_ERR_USAGE, "read 1..%d stream entries",
                                CV_STORE_STREAM_READ_MAX);
        goto out;
    }
    if (!after || !strcmp(after, "0")) {
        snprintf(start, sizeof(start), "-");
    } else if (valid_stream_id(after)) {
        snprintf(start, sizeof(start), "(%s", after); /* exclusive: Redis >= 6.2 */
    } else {
        rc = cv_redis_set_error(s->r, CV_ERR_USAGE, "bad stream id \"%.40s\"", after);
        goto out;
    }
    snprintf(cnt, sizeof(cnt), "%zu", count);
    rc = cv_redis_command(s->r, &rep, 6, argv, NULL);
    if (rc)
        goto out;
    if (cv_reply_type(rep) != CV_REPLY_ARRAY) {
        rc = bad_reply(s, "XRANGE");
        goto out;
    }
    got = cv_reply_count(rep);
    if (got == 0)
        goto out;
    *entries = calloc(got, sizeof(**entries));
    if (!*entries) {
        rc = cv_redis_set_error(s->r, CV_ERR_NOMEM, "out of memory");
        goto out;
    }
    *n = got;
    for (size_t i = 0; i < got && !rc; i++)
        rc = take_entry(s, cv_reply_at(rep, i), &(*entries)[i]);
out:
    if (rc) {
        cv_store_free_stream_entries(*entries, *n);
        *entries = NULL;
        *n = 0;
    }
    cv_reply_free(rep);
    return done(s, rc);
}

void cv_store_free_stream_entries(struct cv_stream_entry *e, size_t n)
{
    if (!e)
        return;
    for (size_t i = 0; i < n; i++) {
        free(e[i].id);
        cv_store_free_strings(e[i].names, e[i].n);
        cv_store_free_strings(e[i].values, e[i].n);
    }
    free(e);
}

void cv_store_free_strings(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* ---- scan state and locks ---------------------------------------------------------------- */

int cv_store_scan_cbs_get(struct cv_store *s, char ***fields, char ***values, size_t *n)
{
    char k[KEY_MAX];
    const char *argv[] = {"HGETALL", key(s, k, K_SCAN_CBS, NULL)};
    struct cv_reply *rep = NULL;
    char **all = NULL;
    size_t m = 0;
    int rc;

    *fields = *values = NULL;
    *n = 0;
    rc = cv_redis_command(s->r, &rep, 2, argv, NULL);
    if (!rc)
        rc = take_strings(s, rep, CV_STORE_LIST_MAX, &all, &m);
    if (!rc && m % 2)
        rc = bad_reply(s, "HGETALL");
    if (!rc && m) {
        *fields = calloc(m / 2, sizeof(**fields));
        *values = calloc(m / 2, sizeof(**values));
        if (!*fields || !*values)
            rc = cv_redis_set_error(s->r, CV_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; !rc && i < m / 2; i++) {
        (*fields)[i] = all[2 * i];
        (*values)[i] = all[2 * i + 1];
        all[2 * i] = all[2 * i + 1] = NULL;
    }
    if (!rc)
        *n = m / 2;
    else {
        free(*fields);
        free(*values);
        *fields = *values = NULL;
    }
    cv_store_free_strings(all, m);
    cv_reply_free(rep);
    return done(s, rc);
}

int cv_store_scan_cbs_put(struct cv_store *s, const char *field, const char *value)
{
    char k[KEY_MAX];
    const char *argv[] = {"HSET", key(s, k, K_SCAN_CBS, NULL), field, value};
    int rc = check_id(s, field, "certification body id");
    if (!rc && !value)
        rc = cv_redis_set_error(s->r, CV_ERR_USAGE, "scan state needs a value");
    if (!rc)
        rc = cv_redis_command(s->r, NULL, 4, argv, NULL);
    return done(s, rc);
}

int cv_store_scan_cbs_del(struct cv_store *s, const char *field)
{
    char k[KEY_MAX];
    const char *argv[] = {"HDEL", key(s, k, K_SCAN_CBS, NULL), field};
    int rc = check_id(s, field, "certification body id");
    if (!rc)
        rc = cv_redis_command(s->r, NULL, 3, argv, NULL);
    return done(s, rc);
}

int cv_store_scan_states_get(struct cv_store *s, const char *const *ids, size_t n, char ***values)
{
    const char **argv = NULL;
    char *keys = NULL;
    struct cv_reply *rep = NULL;
    size_t got = 0;
    int rc = CV_OK;

    *values = NULL;
    if (!ids || n == 0 || n > CV_STORE_BATCH_MAX) {
        rc = cv_redis_set_error(s->r, CV_ERR_USAGE, "1..%d certificate ids, not %zu",
                                CV_STORE_BATCH_MAX, n);
        goto out;
    }
    for (size_t i = 0; i < n && !rc; i++)
        rc = check_id(s, ids[i], "certificate id");
    if (rc)
        goto out;
    argv = malloc((n + 1) * sizeof(*argv));
    keys = malloc(n * KEY_MAX);
    if (!argv || !keys) {
        rc = cv_redis_set_error(s->r, CV_ERR_NOMEM, "out of memory");
        goto out;
    }
    argv[0] = "MGET";
    for (size_t i = 0; i < n; i++)
        argv[1 + i] = key(s, keys + i * KEY_MAX, K_SCAN, ids[i]);
    rc = cv_redis_command(s->r, &rep, (int)n + 1, argv, NULL);
    if (!rc)
        rc = take_strings(s, rep, n, values, &got);
    if (!rc && got != n) {
        cv_store_free_strings(*values, got);
        *values = NULL;
        rc = bad_reply(s, "MGET");
    }
out:
    cv_reply_free(rep);
    free(argv);
    free(keys);
    return done(s, rc);
}

int cv_store_scan_begin(struct cv_store *s)
{
    s->piped = 0;
    s->pipe_error = cv_redis_begin(s->r);
    return s->pipe_error;
}

/* Appends one command of the scan's pipeline; the first failure is kept for flush. */
static int pipe_append(struct cv_store *s, int argc, const char **argv)
{
    if (s->pipe_error)
        return s->pipe_error;
    s->pipe_error = cv_redis_append(s->r, argc, argv, NULL);
    if (!s->pipe_error)
        s->piped++;
    return s->pipe_error;
}

int cv_store_scan_event(struct cv_store *s, const char *const *names, const char *const *values,
                        size_t n)
{
    char k[KEY_MAX], maxlen[24];
    const char *argv[6 + 2 * CV_STORE_STREAM_FIELDS_MAX] = {"XADD", k, "MAXLEN", "~", maxlen, "*"};
    if (n == 0 || n > CV_STORE_STREAM_FIELDS_MAX || !names || !values)
        return cv_redis_set_error(s->r, CV_ERR_USAGE, "a stream entry has 1..%d fields",
                                  CV_STORE_STREAM_FIELDS_MAX);
    for (size_t i = 0; i < n; i++) {
        if (!names[i] || !values[i])
            return cv_redis_set_error(s->r, CV_ERR_USAGE, "stream field %zu is NULL", i);
        argv[6 + 2 * i] = names[i];
        argv[7 + 2 * i] = values[i];
    }
    key(s, k, K_STREAM, "events");
    snprintf(maxlen, sizeof(maxlen), "%d", CV_STORE_STREAM_MAXLEN);
    return pipe_append(s, 6 + 2 * (int)n, argv);
}

int cv_store_scan_state(struct cv_store *s, const char *id, const char *value)
{
    char k[KEY_MAX];
    const char *argv[] = {"SET", k, value};
    int rc = check_id(s, id, "certificate id");
    if (!rc && !value)
        rc = cv_redis_set_error(s->r, CV_ERR_USAGE, "scan state needs a value");
    if (rc)
        return rc;
    key(s, k, K_SCAN, id);
    return pipe_append(s, 3, argv);
}

int cv_store_scan_invalid(struct cv_store *s, const char *id, bool invalid)
{
    char k[KEY_MAX];
    const char *argv[] = {invalid ? "SADD" : "SREM", key(s, k, K_INDEX_INVALID, NULL), id};
    int rc = check_id(s, id, "certificate id");
    return rc ? rc : pipe_append(s, 3, argv);
}

int cv_store_scan_flush(struct cv_store *s)
{
    int rc = s->pipe_error;
    for (size_t i = 0; i < s->piped; i++) { /* read every reply, even after an error */
        int rc2 = cv_redis_read(s->r, NULL);
        if (rc2 && !rc)
            rc = rc2;
    }
    s->piped = 0;
    s->pipe_error = CV_OK;
    return done(s, rc);
}

int cv_store_lock(struct cv_store *s, const char *name, const char *token, long ttl_ms)
{
    char k[KEY_MAX], ttl[24];
    const char *argv[] = {"SET", k, token, "NX", "PX", ttl};
    struct cv_reply *rep = NULL;
    int rc;

    rc = check_id(s, name, "lock name");
    if (!rc && (!token || !*token || ttl_ms < 1))
        rc = cv_redis_set_error(s->r, CV_ERR_USAGE, "a lock needs a token and a TTL");
    if (rc)
        goto out;
    key(s, k, K_LOCK, name);
    snprintf(ttl, sizeof(ttl), "%ld", ttl_ms);
    rc = cv_redis_command(s->r, &rep, 6, argv, NULL);
    if (!rc && cv_reply_type(rep) == CV_REPLY_NIL)
        rc = CV_ERR_CONFLICT;
out:
    cv_reply_free(rep);
    return rc == CV_ERR_CONFLICT ? rc : done(s, rc);
}

int cv_store_unlock(struct cv_store *s, const char *name, const char *token)
{
    static const char script[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then "
                                 "return redis.call('DEL', KEYS[1]) else return 0 end";
    char k[KEY_MAX];
    const char *argv[] = {"EVAL", script, "1", k, token};
    int rc;

    rc = check_id(s, name, "lock name");
    if (!rc && !token)
        rc = cv_redis_set_error(s->r, CV_ERR_USAGE, "unlock needs the token");
    if (rc)
        goto out;
    key(s, k, K_LOCK, name);
    rc = cv_redis_command(s->r, NULL, 5, argv, NULL);
out:
    return done(s, rc);
}

/* The service's reference data: refcounted snapshots swapped atomically by a refresh of the
 * listing sources (POST /v1/reference/refresh, or the periodic refresher when reference.refresh_s
 * > 0). A request holds the snapshot it started with until it completes. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certvet/error.h"
#include "certvet/http_client.h"
#include "certvet/sources.h"
#include "internal.h"

static void snapshot_free(struct cv_ref_snapshot *s)
{
    cv_reference_cleanup(&s->ref);
    json_decref(s->sources);
    free(s);
}

struct cv_ref_snapshot *cv_refs_acquire(struct cv_server *srv)
{
    struct cv_ref_snapshot *s;
    pthread_mutex_lock(&srv->ref_lock);
    s = srv->current;
    if (s)
        atomic_fetch_add_explicit(&s->users, 1, memory_order_relaxed);
    pthread_mutex_unlock(&srv->ref_lock);
    return s;
}

void cv_refs_release(struct cv_ref_snapshot *s)
{
    if (s && atomic_fetch_sub_explicit(&s->users, 1, memory_order_acq_rel) == 1)
        snapshot_free(s);
}

/* Makes 's' (one user: the server) the snapshot new requests get; the old one goes when its
 * last request completes. */
static void swap_in(struct cv_server *srv, struct cv_ref_snapshot *s)
{
    struct cv_ref_snapshot *old;
    pthread_mutex_lock(&srv->ref_lock);
    old = srv->current;
    srv->current = s;
    pthread_mutex_unlock(&srv->ref_lock);
    cv_refs_release(old);
}

int cv_refs_init(struct cv_server *srv, char *err, size_t cap)
{
    const struct cv_service_config *c = srv->cfg;
    struct cv_ref_snapshot *s = calloc(1, sizeof(*s));
    int rc;

    pthread_mutex_init(&srv->ref_lock, NULL);
    pthread_mutex_init(&srv->refresh_lock, NULL);
    pthread_mutex_init(&srv->refresher_lock, NULL);
    pthread_cond_init(&srv->refresher_wake, NULL);
    if (!s)
        return CV_ERR_NOMEM;
    rc = cv_reference_load(&s->ref, c->config_dir, (const char *const *)c->listings, c->n_listings,
                           err, cap);
    if (rc) {
        free(s);
        return rc;
    }
    atomic_init(&s->users, 1);
    s->sources = json_array();
    srv->current = s;
    return CV_OK;
}

/* The Redis store as the sources' keeper of last good copies. */
int cv_service_keeper_get(void *ctx, const char *name, struct cv_source_copy *out)
{
    struct cv_store_source s;
    int rc = cv_store_source_get(ctx, name, &s);
    memset(out, 0, sizeof(*out));
    if (rc)
        return rc;
    *out = (struct cv_source_copy){s.body, s.body_len, s.etag, s.last_modified, s.fetched_at};
    return CV_OK;
}

int cv_service_keeper_put(void *ctx, const char *name, const struct cv_source_copy *c)
{
    struct cv_store_source s = {c->body, c->body_len, c->etag, c->last_modified, c->fetched_at};
    return cv_store_source_put(ctx, name, &s);
}

static json_t *time_or_null(long long t)
{
    char buf[32];
    time_t tt = (time_t)t;
    struct tm tm;
    if (t <= 0 || !gmtime_r(&tt, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
        return json_null();
    return json_string(buf);
}

/* [{name, kind, format, status, fetched_at, error, parses}] for the report and GET routes. */
static json_t *sources_json(const struct cv_sources *s)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < s->n; i++) {
        const struct cv_source *src = &s->items[i];
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:o, s:s?}", "name", src->name,
                                              "kind", src->kind == CV_SOURCE_URL ? "url" : "file",
                                              "format", cv_source_format_name(src->format),
                                              "status", cv_source_status_name(src->status),
                                              "fetched_at", time_or_null(src->fetched_at), "error",
                                              src->error[0] ? src->error : NULL));
    }
    return list;
}

int cv_refs_refresh(struct cv_server *srv, json_t **report, char *err, size_t cap)
{
    const struct cv_service_config *c = srv->cfg;
    struct cv_ref_snapshot *s = NULL;
    struct cv_http_client *http = NULL;
    struct cv_store *store = NULL;
    char path[4096], serr[256];
    size_t unusable = 0;
    int rc;

    *report = NULL;
    pthread_mutex_lock(&srv->refresh_lock);
    if (!srv->sources_loaded) {
        snprintf(path, sizeof(path), "%s/sources.json", c->config_dir);
        rc = cv_sources_load(&srv->sources, path, err, cap);
        if (rc)
            goto out;
        srv->sources_loaded = true;
    }
    rc = cv_sources_http_client_new(&srv->sources, NULL, &http, err, cap);
    if (rc)
        goto out;
    if (cv_store_open(&srv->store_cfg, &store, serr, sizeof(serr)))
        store = NULL; /* no last good copies this time; the in-memory ones still count */
    struct cv_source_keeper keeper = {store, cv_service_keeper_get, cv_service_keeper_put};
    struct cv_refresh_env env = {c->config_dir,
                                 http,
                                 store ? &keeper : NULL,
                                 (long long)time(NULL),
                                 (const char *const *)c->listings,
                                 c->n_listings};
    s = calloc(1, sizeof(*s));
    if (!s) {
        rc = CV_ERR_NOMEM;
        goto out;
    }
    rc = cv_sources_refresh(&srv->sources, &env, &s->ref, &unusable, err, cap);
    if (rc) {
        free(s);
        s = NULL;
        goto out;
    }
    atomic_init(&s->users, 1);
    s->sources = sources_json(&srv->sources);
    *report = json_pack("{s:s, s:O, s:i, s:i}", "version", s->ref.version, "sources",
                        s->sources ? s->sources : json_null(), "certification_bodies",
                        (int)s->ref.bodies.n_cbs, "unusable", (int)unusable);
    cv_log(unusable ? "warning" : "info", "reference data refreshed",
           json_pack("{s:s, s:i}", "reference_version", s->ref.version, "unusable_sources",
                     (int)unusable));
    swap_in(srv, s);
out:
    pthread_mutex_unlock(&srv->refresh_lock);
    cv_store_close(store);
    cv_http_client_free(http);
    return rc;
}

/* POST /v1/reference/refresh (admin). */
void cv_h_reference_refresh(struct cv_request *rq)
{
    json_t *report;
    char err[1024] = "";
    int rc = cv_refs_refresh(rq->srv, &report, err, sizeof(err));
    if (rc) {
        cv_http_problem(rq, CV_P_INTERNAL, NULL, false, "the refresh failed: %s",
                        err[0] ? err : cv_strerror(rc));
        return;
    }
    cv_http_json(rq, 200, report);
}

static void *refresher(void *arg)
{
    struct cv_server *srv = arg;
    pthread_mutex_lock(&srv->refresher_lock);
    while (!srv->refresher_stop) {
        json_t *report;
        char err[1024] = "";
        pthread_mutex_unlock(&srv->refresher_lock);
        if (cv_refs_refresh(srv, &report, err, sizeof(err)))
            cv_log("error", "periodic refresh failed", json_pack("{s:s}", "detail", err));
        json_decref(report);
        pthread_mutex_lock(&srv->refresher_lock);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += srv->cfg->reference_refresh_s;
        while (!srv->refresher_stop &&
               pthread_cond_timedwait(&srv->refresher_wake, &srv->refresher_lock, &until) !=
                   ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&srv->refresher_lock);
    return NULL;
}

int cv_refs_start_refresher(struct cv_server *srv)
{
    if (srv->cfg->reference_refresh_s <= 0)
        return CV_OK;
    srv->refresher_stop = false;
    if (pthread_create(&srv->refresher_thread, NULL, refresher, srv))
        return CV_ERR_NOMEM;
    srv->refresher_running = true;
    return CV_OK;
}

void cv_refs_cleanup(struct cv_server *srv)
{
    if (srv->refresher_running) {
        pthread_mutex_lock(&srv->refresher_lock);
        srv->refresher_stop = true;
        pthread_cond_signal(&srv->refresher_wake);
        pthread_mutex_unlock(&srv->refresher_lock);
        pthread_join(srv->refresher_thread, NULL);
        srv->refresher_running = false;
    }
    swap_in(srv, NULL);
    cv_sources_cleanup(&srv->sources);
    srv->sources_loaded = false;
    pthread_cond_destroy(&srv->refresher_wake);
    pthread_mutex_destroy(&srv->refresher_lock);
    pthread_mutex_destroy(&srv->refresh_lock);
    pthread_mutex_destroy(&srv->ref_lock);
}

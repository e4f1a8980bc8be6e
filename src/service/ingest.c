/* Ingest: checked certificates become stored records written in MULTI/EXEC batches; and
 * verification through the Redis cache. Shared by POST /v1/certificates and `certvet import`. */
#include "certvet/ingest.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certvet/error.h"
#include "certvet/report.h"
#include "certvet/sha256.h"

/* Each pending record owns three strings: its JSON, its id and its supplier id. */
#define STRINGS_PER_RECORD 3

void cv_ingest_init(struct cv_ingest *in, struct cv_store *store, const struct cv_reference *refs,
                    const char *actor, cv_date as_of, size_t max_batch)
{
    memset(in, 0, sizeof(*in));
    in->store = store;
    in->refs = refs;
    in->actor = actor;
    in->as_of = as_of;
    in->max_batch = max_batch ? max_batch : 1000;
}

static void drop_pending(struct cv_ingest *in)
{
    for (size_t i = 0; i < in->n_pending * STRINGS_PER_RECORD; i++)
        free(in->pending_strings[i]);
    in->n_pending = 0;
}

void cv_ingest_cleanup(struct cv_ingest *in)
{
    if (!in)
        return;
    drop_pending(in);
    free(in->pending);
    free(in->pending_strings);
    free(in->pending_cb_keys);
    memset(in, 0, sizeof(*in));
}

/* The family used for the id: the catalog's, else the printed standard without its edition. */
static void id_family(const struct cv_reference *refs, const char *standard, char *out, size_t cap)
{
    const char *family = cv_catalog_family(&refs->catalog, standard);
    snprintf(out, cap, "%s", family ? family : standard);
    if (!family) {
        char *colon = strchr(out, ':');
        if (colon)
            *colon = '\0';
    }
}

static void utc_now(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int cv_ingest_add(struct cv_ingest *in, const struct cv_certificate *cert,
                  char id_out[CV_CERT_ID_LEN])
{
    char family[128], id[CV_CERT_ID_LEN], now[32];
    struct cv_verification v;
    struct cv_verify_options opt;
    int rc = CV_OK;

    if (!in->pending) {
        in->pending = calloc(in->max_batch, sizeof(*in->pending));
        in->pending_strings = calloc(in->max_batch * STRINGS_PER_RECORD, sizeof(char *));
        in->pending_cb_keys = calloc(in->max_batch, sizeof(*in->pending_cb_keys));
        if (!in->pending || !in->pending_strings || !in->pending_cb_keys)
            return CV_ERR_NOMEM;
    }
    id_family(in->refs, cert->standard, family, sizeof(family));
    cv_certificate_id(cert, family, id);
    if (id_out)
        memcpy(id_out, id, CV_CERT_ID_LEN);

    /* The index dates come from the rules, so the nightly scan reads exactly what they say. */
    cv_verify_options_init(&opt);
    cv_verify(cert, &in->refs->ref, in->as_of, &opt, &v);

    json_t *record = json_object();
    json_t *body = cv_certificate_to_json(cert);
    utc_now(now);
    if (!record || !body || json_object_set_new(record, "id", json_string(id)) ||
        json_object_set(record, "certificate", body) ||
        json_object_set_new(record, "ingested_at", json_string(now)) ||
        json_object_set_new(record, "ingested_by", json_string(in->actor ? in->actor : ""))) {
        rc = CV_ERR_NOMEM;
        goto out;
    }
    char *text = json_dumps(record, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char *id_copy = strdup(id);
    char *supplier = cert->supplier_id ? strdup(cert->supplier_id) : NULL;
    char **strings = &in->pending_strings[in->n_pending * STRINGS_PER_RECORD];
    strings[0] = text;
    strings[1] = id_copy;
    strings[2] = supplier;
    if (!text || !id_copy || (cert->supplier_id && !supplier)) {
        free(text);
        free(id_copy);
        free(supplier);
        memset(strings, 0, STRINGS_PER_RECORD * sizeof(char *));
        rc = CV_ERR_NOMEM;
        goto out;
    }
    char(*cb_keys)[CV_CB_KEY_LEN] = in->pending_cb_keys[in->n_pending];
    cv_cb_name_key(cert->cb_name, cb_keys[0]);
    cv_cb_id_key(cert->cb_id, cb_keys[1]);
    in->pending[in->n_pending++] = (struct cv_stored_cert){
        .id = id_copy,
        .json = text,
        .supplier_id = supplier,
        .effective_expiry = v.effective_expiry,
        .surveillance_due = v.surveillance_due,
        .cb_keys = {cb_keys[0], cb_keys[1]},
    };
    if (in->n_pending == in->max_batch)
        rc = cv_ingest_flush(in);
out:
    json_decref(body);
    json_decref(record);
    return rc;
}

int cv_ingest_flush(struct cv_ingest *in)
{
    if (!in->n_pending)
        return CV_OK;
    int rc = cv_store_put_certificates(in->store, in->pending, in->n_pending, in->actor);
    if (!rc)
        in->written += in->n_pending;
    drop_pending(in);
    return rc;
}

/* The cache key of docs/API.md: everything the verification depends on. */
static int cache_key(const struct cv_reference *refs, const struct cv_certificate *cert,
                     cv_date as_of, const struct cv_verify_options *opt, char *key, size_t cap)
{
    json_t *j = cv_certificate_to_json(cert);
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    if (!text)
        return CV_ERR_NOMEM;
    struct cv_sha256 h;
    unsigned char d[CV_SHA256_LEN];
    char head[160];
    int n = snprintf(head, sizeof(head), "%s|%d|%d|%d|%d|", refs->version, (int)as_of,
                     opt->expiring_within, opt->surveillance_grace, opt->max_report_age_days);
    cv_sha256_init(&h);
    cv_sha256_update(&h, head, (size_t)n);
    cv_sha256_update(&h, text, strlen(text) + 1);
    if (opt->supplier_name)
        cv_sha256_update(&h, opt->supplier_name, strlen(opt->supplier_name) + 1);
    for (size_t i = 0; i < opt->n_supplier_aliases; i++)
        cv_sha256_update(&h, opt->supplier_aliases[i], strlen(opt->supplier_aliases[i]) + 1);
    if (opt->registry) {
        /* What the registry said is an input of the rules: a new answer, a new key. */
        const struct cv_registry_result *r = opt->registry;
        const char *parts[] = {r->registry, r->holder_name, r->standard, r->error};
        char fixed[48];
        int k = snprintf(fixed, sizeof(fixed), "reg|%d|%d|", (int)r->status, (int)r->expiry_date);
        cv_sha256_update(&h, fixed, (size_t)k);
        for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
            cv_sha256_update(&h, parts[i] ? parts[i] : "", parts[i] ? strlen(parts[i]) + 1 : 1);
    }
    cv_sha256_final(&h, d);
    free(text);
    size_t off = (size_t)snprintf(key, cap, "vcache:");
    for (int i = 0; i < 20 && off + 2 < cap; i++, off += 2)
        snprintf(key + off, cap - off, "%02x", d[i]);
    return CV_OK;
}

int cv_verify_cached(struct cv_store *store, const struct cv_reference *refs,
                     const struct cv_certificate *cert, cv_date as_of,
                     const struct cv_verify_options *opt, int ttl_s, char **json, int *cache_hit)
{
    char key[64];
    struct cv_verification v;
    int rc;

    *json = NULL;
    if (cache_hit)
        *cache_hit = 0;
    if (store) {
        rc = cache_key(refs, cert, as_of, opt, key, sizeof(key));
        if (rc)
            return rc;
        if (cv_store_cache_get(store, key, json) == CV_OK) {
            if (cache_hit)
                *cache_hit = 1;
            return CV_OK;
        }
    }
    cv_verify(cert, &refs->ref, as_of, opt, &v);
    json_t *o = cv_verification_to_json(&v, cert, NULL);
    *json = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (!*json)
        return CV_ERR_NOMEM;
    /* A verdict that rests on an unavailable registry is not kept: the next request retries. */
    bool transient = opt->registry && opt->registry->status == CV_REG_UNAVAILABLE;
    if (store && !transient)
        cv_store_cache_put(store, key, *json, ttl_s); /* a cache that fails is only slower */
    return CV_OK;
}

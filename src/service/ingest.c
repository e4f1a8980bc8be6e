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
#include "certvet/buf.h"
#include "certvet/reader.h"
#include "certvet/report.h"
#include "certvet/sha256.h"

/* Each pending record owns three strings: its JSON, its id and its supplier id. */
#define STRINGS_PER_RECORD 3

/* A stored record's text: the certificate (at most CV_RECORD_MAX_BYTES as read) and the
 * envelope; a verification's text: the certificate's strings and the findings. */
#define RECORD_TEXT_MAX (4 * CV_RECORD_MAX_BYTES)

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

static void *writer_main(void *arg)
{
    struct cv_ingest *in = arg;
    in->w_rc = cv_store_put_certificates(in->store, in->w_pending, in->w_n, in->actor);
    return NULL;
}

/* Joins the batch in the background: counts it when it was stored, frees its strings. Returns
 * its result (CV_OK when there was none). */
static int wait_writer(struct cv_ingest *in)
{
    if (!in->in_flight)
        return CV_OK;
    if (in->joinable)
        pthread_join(in->writer, NULL);
    in->in_flight = in->joinable = false;
    int rc = in->w_rc;
    if (!rc)
        in->written += in->w_n;
    for (size_t i = 0; i < in->w_n * STRINGS_PER_RECORD; i++)
        free(in->w_strings[i]);
    in->w_n = 0;
    return rc;
}

void cv_ingest_background(struct cv_ingest *in)
{
    in->background = true;
}

/* A full batch: written now, or handed to the writer thread (the pending arrays are swapped with
 * the writer's, so building the next batch never touches what it writes). */
static int flush_full(struct cv_ingest *in)
{
    if (!in->background)
        return cv_ingest_flush(in);
    int rc = wait_writer(in);
    if (rc) {
        drop_pending(in);
        return rc;
    }
    struct cv_stored_cert *p = in->w_pending;
    char **st = in->w_strings;
    char(*k)[2][CV_CB_KEY_LEN] = in->w_cb_keys;
    in->w_pending = in->pending;
    in->w_strings = in->pending_strings;
    in->w_cb_keys = in->pending_cb_keys;
    in->w_n = in->n_pending;
    in->pending = p; /* NULL the first time: cv_ingest_add allocates */
    in->pending_strings = st;
    in->pending_cb_keys = k;
    in->n_pending = 0;
    in->in_flight = true;
    in->joinable = pthread_create(&in->writer, NULL, writer_main, in) == 0;
    if (!in->joinable)
        writer_main(in); /* no thread: the same work, inline */
    return CV_OK;
}

void cv_ingest_cleanup(struct cv_ingest *in)
{
    if (!in)
        return;
    wait_writer(in);
    drop_pending(in);
    free(in->pending);
    free(in->pending_strings);
    free(in->pending_cb_keys);
    free(in->w_pending);
    free(in->w_strings);
    free(in->w_cb_keys);
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

/* 'b' as a NUL-terminated malloc'd string (ownership moves to the caller), or NULL with '*rc'
 * set when 'rc_in' failed or the buffer is short of memory. 'b' is left empty either way. */
static char *buf_take(struct cv_buf *b, int rc_in, int *rc)
{
    *rc = rc_in;
    if (!*rc)
        *rc = cv_buf_append(b, "", 1);
    if (!*rc && b->overflow)
        *rc = CV_ERR_TOO_LARGE;
    char *text = *rc ? NULL : b->data;
    if (*rc)
        cv_buf_cleanup(b);
    else
        cv_buf_init(b, b->limit);
    return text;
}

static int append_str(struct cv_buf *b, const char *s)
{
    return cv_buf_append(b, s, strlen(s));
}

/* The stored record, {"id","certificate","ingested_at","ingested_by"}, as compact JSON text
 * (malloc'd), the bytes json_dumps gave for the same object; NULL with '*rc' set on failure.
 * The id and time are plain ASCII; the actor (a name from the configuration) goes through
 * Jansson's own string encoder. */
static char *record_text(const char *id, const struct cv_certificate *cert, const char *now,
                         const char *actor, int *rc)
{
    struct cv_buf b;
    cv_buf_init(&b, RECORD_TEXT_MAX);
    int r = cv_buf_reserve(&b, 1024);
    json_t *a = json_string(actor);
    char *actor_text = a ? json_dumps(a, JSON_ENCODE_ANY) : NULL;
    json_decref(a);
    if (!actor_text)
        r = r ? r : CV_ERR_NOMEM;
    if (!r)
        r = append_str(&b, "{\"id\":\"");
    if (!r)
        r = append_str(&b, id);
    if (!r)
        r = append_str(&b, "\",\"certificate\":");
    if (!r)
        r = cv_certificate_json_append(&b, cert);
    if (!r)
        r = append_str(&b, ",\"ingested_at\":\"");
    if (!r)
        r = append_str(&b, now);
    if (!r)
        r = append_str(&b, "\",\"ingested_by\":");
    if (!r)
        r = append_str(&b, actor_text);
    if (!r)
        r = cv_buf_append(&b, "}", 1);
    free(actor_text);
    if (r == CV_ERR_INVALID)
        r = CV_ERR_NOMEM; /* what the tree gave for a string it refused */
    return buf_take(&b, r, rc);
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

    if (!in->pending || !in->pending_strings || !in->pending_cb_keys) {
        free(in->pending);
        free(in->pending_strings);
        free(in->pending_cb_keys);
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

    /* {"id", "certificate", "ingested_at", "ingested_by"} written as text (no tree) */
    utc_now(now);
    char *text = record_text(id, cert, now, in->actor ? in->actor : "", &rc);
    if (!text)
        return rc;
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
        return CV_ERR_NOMEM;
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
        .invalid = v.verdict == CV_VERDICT_INVALID,
    };
    if (in->n_pending == in->max_batch)
        rc = flush_full(in);
    return rc;
}

int cv_ingest_flush(struct cv_ingest *in)
{
    int rc = wait_writer(in);
    if (rc) {
        drop_pending(in);
        return rc;
    }
    if (!in->n_pending)
        return CV_OK;
    rc = cv_store_put_certificates(in->store, in->pending, in->n_pending, in->actor);
    if (!rc)
        in->written += in->n_pending;
    drop_pending(in);
    return rc;
}

/* The cache key of docs/API.md: everything the verification depends on. */
int cv_verify_cache_key(const struct cv_reference *refs, const struct cv_certificate *cert,
                        cv_date as_of, const struct cv_verify_options *opt,
                        char key[CV_VERIFY_KEY_LEN])
{
    size_t cap = CV_VERIFY_KEY_LEN;
    /* The certificate's canonical text: fields in one fixed order, absent ones left out. */
    struct cv_buf b;
    int rc;
    cv_buf_init(&b, RECORD_TEXT_MAX);
    char *text = buf_take(&b, cv_certificate_json_append(&b, cert), &rc);
    if (!text)
        return rc == CV_ERR_INVALID ? CV_ERR_NOMEM : rc;
    struct cv_sha256 h;
    unsigned char d[CV_SHA256_LEN];
    char head[160];
    int n = snprintf(head, sizeof(head), "%s|%d|%d|%d|%d|", refs->version, (int)as_of,
                     opt->expiring_within, opt->surveillance_grace, opt->max_report_age_days);
    cv_sha256_init(&h);
    cv_sha256_update(&h, head, (size_t)n);
    cv_sha256_update(&h, text, strlen(text) + 1);
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
    static const char hex[] = "0123456789abcdef";
    size_t off = (size_t)snprintf(key, cap, "vcache:");
    for (int i = 0; i < 20 && off + 2 < cap; i++, off += 2) {
        key[off] = hex[d[i] >> 4];
        key[off + 1] = hex[d[i] & 15];
    }
    key[off < cap ? off : cap - 1] = '\0';
    return CV_OK;
}

/* The tag of the supplier names a verification was made with: 16 hex digits of SHA-256 over the
 * name and aliases, "-" repeated when there is no name. Stored before the cached value. */
#define SUPPLIER_TAG_LEN 16
static void supplier_tag(const struct cv_verify_options *opt, char tag[SUPPLIER_TAG_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char d[CV_SHA256_LEN];
    struct cv_sha256 h;
    if (!opt->supplier_name) {
        memset(tag, '-', SUPPLIER_TAG_LEN);
        tag[SUPPLIER_TAG_LEN] = '\0';
        return;
    }
    cv_sha256_init(&h);
    cv_sha256_update(&h, opt->supplier_name, strlen(opt->supplier_name) + 1);
    for (size_t i = 0; i < opt->n_supplier_aliases; i++)
        cv_sha256_update(&h, opt->supplier_aliases[i], strlen(opt->supplier_aliases[i]) + 1);
    cv_sha256_final(&h, d);
    for (int i = 0; i < SUPPLIER_TAG_LEN / 2; i++) {
        tag[2 * i] = hex[d[i] >> 4];
        tag[2 * i + 1] = hex[d[i] & 15];
    }
    tag[SUPPLIER_TAG_LEN] = '\0';
}

int cv_verify_cached(struct cv_store *store, const struct cv_reference *refs,
                     const struct cv_certificate *cert, cv_date as_of,
                     const struct cv_verify_options *opt, int ttl_s, const char *key,
                     const char *cached, char **json, int *cache_hit)
{
    char tag[SUPPLIER_TAG_LEN + 1];
    struct cv_verification v;
    int rc;

    *json = NULL;
    if (cache_hit)
        *cache_hit = 0;
    supplier_tag(opt, tag);
    /* "<tag>\n<verification>": a hit only for the same supplier names. */
    if (cached && strlen(cached) > SUPPLIER_TAG_LEN && memcmp(cached, tag, SUPPLIER_TAG_LEN) == 0 &&
        cached[SUPPLIER_TAG_LEN] == '\n') {
        *json = strdup(cached + SUPPLIER_TAG_LEN + 1);
        if (!*json)
            return CV_ERR_NOMEM;
        if (cache_hit)
            *cache_hit = 1;
        return CV_OK;
    }
    cv_verify(cert, &refs->ref, as_of, opt, &v);
    struct cv_buf b;
    cv_buf_init(&b, RECORD_TEXT_MAX);
    rc = cv_buf_reserve(&b, 1024);
    if (!rc)
        rc = cv_buf_append(&b, tag, SUPPLIER_TAG_LEN);
    if (!rc)
        rc = cv_buf_append(&b, "\n", 1);
    char *value = buf_take(&b, rc ? rc : cv_verification_json_append(&b, &v, cert, NULL), &rc);
    if (!value)
        return rc == CV_ERR_INVALID || rc == CV_ERR_TOO_LARGE ? CV_ERR_NOMEM : rc;
    /* A verdict that rests on an unavailable registry is not kept: the next request retries. */
    bool transient = opt->registry && opt->registry->status == CV_REG_UNAVAILABLE;
    if (store && key && !transient)
        cv_store_cache_put(store, key, value, ttl_s); /* a cache that fails is only slower */
    /* The entry was copied out when sent: the verification moves to the front, no second copy. */
    memmove(value, value + SUPPLIER_TAG_LEN + 1, strlen(value + SUPPLIER_TAG_LEN + 1) + 1);
    *json = value;
    return CV_OK;
}

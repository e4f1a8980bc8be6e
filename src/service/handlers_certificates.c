/* Certificate routes: verify without storing, ingest (JSON, JSON lines, CSV, XML), read and
 * delete a record, alerts and events; and the verification helpers the supplier routes share. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "certvet/error.h"
#include "certvet/ingest.h"
#include "certvet/reader.h"
#include "internal.h"

#define JSON_TYPE "application/json; charset=utf-8"

cv_date cv_today_utc(void)
{
    return (cv_date)(time(NULL) / 86400);
}

static const char *actor(const struct cv_request *rq)
{
    return rq->key ? rq->key->name : "anonymous";
}

/* ---- verification with the linked supplier ------------------------------------------------ */

void cv_linked_supplier_cleanup(struct cv_linked_supplier *l)
{
    free(l->id);
    json_decref(l->doc);
    memset(l, 0, sizeof(*l));
}

void cv_linked_supplier_set(struct cv_linked_supplier *l, const char *id, json_t *doc)
{
    cv_linked_supplier_cleanup(l);
    l->id = strdup(id);
    l->doc = json_incref(doc);
    l->name = json_string_value(json_object_get(doc, "name"));
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(doc, "aliases"), i, a)
    {
        if (l->n_aliases < CV_SUPPLIER_ALIASES_MAX && json_is_string(a))
            l->aliases[l->n_aliases++] = json_string_value(a);
    }
}

/* Points 'l' at supplier 'id' from its record text ('text' NULL: unknown, or the store did not
 * answer: no name, and the holder check is then skipped). */
static void link_set_text(struct cv_linked_supplier *l, const char *id, const char *text)
{
    json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
    cv_linked_supplier_set(l, id, doc);
    json_decref(doc);
}

/* The verification JSON text (malloc'd), or NULL when out of memory. The linked supplier (unless
 * 'link' holds it already) and the cache entry are read in one round trip. */
static char *verify_text(struct cv_request *rq, struct cv_store *store,
                         struct cv_linked_supplier *link, const struct cv_certificate *cert,
                         cv_date as_of, int within)
{
    const struct cv_service_config *cfg = rq->srv->cfg;
    struct cv_verify_options opt;
    char *text = NULL, *cached = NULL, key[CV_VERIFY_KEY_LEN];
    int hit = 0;
    cv_verify_options_init(&opt);
    opt.expiring_within = within;
    opt.surveillance_grace = cfg->surveillance_grace;
    /* A configured registry's answer is an input of the rules (and of the cache key). */
    struct cv_registry_result reg;
    char reg_buf[CV_REGISTRY_BUF_MIN];
    if (rq->srv->registries &&
        cv_registry_lookup(rq->srv->registries, store, cert, &reg, reg_buf, sizeof(reg_buf)) ==
            CV_OK &&
        reg.status != CV_REG_NOT_CONSULTED)
        opt.registry = &reg;
    bool keyed = store && cv_verify_cache_key(rq->refs, cert, as_of, &opt, key) == CV_OK;
    bool linked = cert->supplier_id && link;
    if (linked && !(link->id && strcmp(link->id, cert->supplier_id) == 0)) {
        char *sup = NULL;
        if (keyed)
            cv_store_get_supplier_and_cache(store, cert->supplier_id, key, &sup, &cached);
        else if (store)
            cv_store_get_supplier(store, cert->supplier_id, &sup);
        link_set_text(link, cert->supplier_id, sup);
        free(sup);
    } else if (keyed) {
        cv_store_cache_get(store, key, &cached);
    }
    if (linked && link->name) {
        opt.supplier_name = link->name;
        opt.supplier_aliases = link->aliases;
        opt.n_supplier_aliases = link->n_aliases;
    }
    int rc = cv_verify_cached(store, rq->refs, cert, as_of, &opt, cfg->cache_ttl_s,
                              keyed ? key : NULL, cached, &text, &hit);
    free(cached);
    if (rc)
        return NULL;
    if (store)
        cv_metrics_cache(hit);
    return text;
}

json_t *cv_verify_linked(struct cv_request *rq, struct cv_store *store,
                         struct cv_linked_supplier *link, const struct cv_certificate *cert,
                         cv_date as_of, int within)
{
    char *text = verify_text(rq, store, link, cert, as_of, within);
    json_t *v = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    return v;
}

int cv_record_parse(const char *json, json_t **record, struct cv_certificate *cert)
{
    const char *field = NULL;
    char msg[256];
    *record = json_loads(json, 0, NULL);
    cv_certificate_reset(cert);
    if (!*record || cv_json_to_certificate(json_object_get(*record, "certificate"), cert, &field,
                                           msg, sizeof(msg)) != CV_OK) {
        cv_log("error", "stored record unreadable",
               json_pack("{s:o}", "id",
                         *record ? json_incref(json_object_get(*record, "id")) : json_null()));
        json_decref(*record);
        *record = NULL;
        return CV_ERR_INVALID;
    }
    return CV_OK;
}

/* ---- POST /v1/verify ------------------------------------------------------------------------ */

static json_t *refused_error(long index, const char *field, const char *msg)
{
    return json_pack("{s:s, s:n, s:o, s:o, s:s, s:s}", "source", "body", "line", "index",
                     index >= 0 ? json_integer(index) : json_null(), "field",
                     field ? json_string(field) : json_null(), "message", msg, "severity", "error");
}

static void verify_one(struct cv_request *rq, json_t *obj, cv_date as_of, int within)
{
    struct cv_certificate cert;
    struct cv_linked_supplier link = {0};
    const char *field = NULL;
    char msg[CV_RECORD_ERROR_MAX] = "";
    cv_certificate_init(&cert, CV_CERT_ARENA_LIMIT);
    int rc = cv_json_to_certificate(obj, &cert, &field, msg, sizeof(msg));
    if (rc == CV_ERR_INVALID || rc == CV_ERR_TOO_LARGE) {
        cv_http_problem(rq, CV_P_REFUSED, json_pack("[o]", refused_error(-1, field, msg)), false,
                        "the certificate was refused: %s", msg);
        goto out;
    }
    if (rc) {
        cv_http_problem(rq, CV_P_INTERNAL, NULL, false, "out of memory");
        goto out;
    }
    char *text = verify_text(rq, cv_store_try(rq), &link, &cert, as_of, within);
    if (!text) {
        cv_http_problem(rq, CV_P_INTERNAL, NULL, false, "out of memory");
        goto out;
    }
    cv_http_body(rq, 200, JSON_TYPE, text, strlen(text));
out:
    cv_linked_supplier_cleanup(&link);
    cv_certificate_cleanup(&cert);
}

static int verdict_index(const json_t *v)
{
    const char *s = json_string_value(json_object_get(v, "verdict"));
    for (int i = CV_VERDICT_VALID; s && i <= CV_VERDICT_INVALID; i++) {
        if (strcmp(s, cv_verdict_name((enum cv_verdict)i)) == 0)
            return i;
    }
    return -1;
}

static void verify_batch(struct cv_request *rq, json_t *list, cv_date as_of, int within)
{
    struct cv_certificate cert;
    struct cv_linked_supplier link = {0};
    long counts[4] = {0}, refused = 0;
    json_t *results = json_array(), *errors = json_array(), *e;
    size_t i;
    cv_certificate_init(&cert, CV_CERT_ARENA_LIMIT);
    if (json_array_size(list) > rq->srv->cfg->batch_records) {
        cv_http_problem(rq, CV_P_BATCH_TOO_LARGE, NULL, false,
                        "%zu certificates in one request; the limit is %zu "
                        "(limits.batch_records)",
                        json_array_size(list), rq->srv->cfg->batch_records);
        goto out;
    }
    struct cv_store *store = cv_store_try(rq);
    json_array_foreach(list, i, e)
    {
        const char *field = NULL;
        char msg[CV_RECORD_ERROR_MAX] = "";
        cv_certificate_reset(&cert);
        int rc = cv_json_to_certificate(e, &cert, &field, msg, sizeof(msg));
        if (rc == CV_ERR_INVALID || rc == CV_ERR_TOO_LARGE) {
            refused++;
            if (json_array_size(errors) < CV_ERRORS_KEPT)
                json_array_append_new(errors, refused_error((long)i, field, msg));
            continue;
        }
        json_t *v = rc ? NULL : cv_verify_linked(rq, store, &link, &cert, as_of, within);
        if (!v || json_array_append_new(results, v)) {
            cv_http_problem(rq, CV_P_INTERNAL, NULL, false, "out of memory");
            goto out;
        }
        int k = verdict_index(v);
        if (k >= 0)
            counts[k]++;
    }
    if (json_array_size(list) && !json_array_size(results)) {
        cv_http_problem(rq, CV_P_REFUSED, json_incref(errors), false,
                        "all %zu certificates were refused", json_array_size(list));
        goto out;
    }
    char d[CV_DATE_STRLEN];
    cv_date_format(as_of, d);
    cv_http_json(rq, 200,
                 json_pack("{s:s, s:O, s:{s:i, s:i, s:i, s:i, s:i, s:i}, s:O}", "as_of", d,
                           "results", results, "summary", "valid", (int)counts[0], "warning",
                           (int)counts[1], "unverified", (int)counts[2], "invalid", (int)counts[3],
                           "errors", (int)refused, "warnings", 0, "errors", errors));
out:
    json_decref(results);
    json_decref(errors);
    cv_linked_supplier_cleanup(&link);
    cv_certificate_cleanup(&cert);
}

void cv_h_verify(struct cv_request *rq)
{
    cv_date as_of;
    long within;
    if (cv_query_date_or_respond(rq, "as_of", cv_today_utc(), &as_of) ||
        cv_query_long_or_respond(rq, "within", rq->srv->cfg->expiring_within, 0, 100000, &within))
        return;
    json_t *root = cv_body_json_or_respond(rq);
    if (!root)
        return;
    json_t *list = json_is_array(root) ? root : json_object_get(root, "certificates");
    if (!json_is_object(root) && !json_is_array(root))
        cv_http_problem(rq, CV_P_INVALID_BODY, NULL, false,
                        "expected a certificate object or {\"certificates\": [...]}");
    else if (list && !json_is_array(list))
        cv_http_problem(rq, CV_P_INVALID_FIELD, NULL, false,
                        "certificates: expected an array of certificate objects");
    else if (list)
        verify_batch(rq, list, as_of, (int)within);
    else
        verify_one(rq, root, as_of, (int)within);
    json_decref(root);
}

/* ---- POST /v1/certificates ------------------------------------------------------------------ */

/* Content types the ingest route reads: the single table for media type → reader. */
static const struct {
    const char *type;
    enum cv_format format;
} ingest_types[] = {
    {"application/json", CV_FORMAT_JSON},  {"application/x-ndjson", CV_FORMAT_JSON},
    {"application/jsonl", CV_FORMAT_JSON}, {"text/csv", CV_FORMAT_CSV},
    {"application/xml", CV_FORMAT_XML},    {"text/xml", CV_FORMAT_XML},
};
#define N_INGEST_TYPES (sizeof(ingest_types) / sizeof(ingest_types[0]))

struct ingest_run {
    struct cv_ingest in;
    size_t limit;    /* limits.batch_records */
    size_t seen;     /* certificates the reader accepted */
    bool too_many;   /* more than 'limit': nothing is written */
    int add_rc;      /* cv_ingest_add failed */
    bool file_error; /* the body as a whole could not be read */
    char first_error[CV_RECORD_ERROR_MAX];
    long accepted, rejected, errors_omitted;
    json_t *ids, *errors;
};

static int ingest_on_certificate(void *ctx, struct cv_certificate *cert,
                                 const struct cv_record_loc *loc)
{
    struct ingest_run *run = ctx;
    char id[CV_CERT_ID_LEN];
    (void)loc;
    if (++run->seen > run->limit) {
        run->too_many = true;
        return CV_ERR_STOP;
    }
    run->add_rc = cv_ingest_add(&run->in, cert, id);
    if (run->add_rc || json_array_append_new(run->ids, json_string(id))) {
        if (!run->add_rc)
            run->add_rc = CV_ERR_NOMEM;
        return CV_ERR_STOP;
    }
    run->accepted++;
    return CV_OK;
}

static void ingest_on_error(void *ctx, const struct cv_record_error *e)
{
    struct ingest_run *run = ctx;
    if (!e->is_warning && e->index < 0) {
        if (!run->file_error)
            snprintf(run->first_error, sizeof(run->first_error), "%s", e->message);
        run->file_error = true;
    } else if (!e->is_warning) {
        run->rejected++;
    }
    if (json_array_size(run->errors) < CV_ERRORS_KEPT)
        json_array_append_new(run->errors, cv_record_error_json(e));
    else
        run->errors_omitted++;
}

static int read_body(struct cv_request *rq, enum cv_format format,
                     const struct cv_reader_sink *sink)
{
    FILE *f = fmemopen(rq->body.data, rq->body.len, "r");
    if (!f)
        return CV_ERR_NOMEM;
    int rc;
    if (format == CV_FORMAT_XML)
        rc = cv_xml_read_certificates_stream(f, "body", sink);
    else if (format == CV_FORMAT_CSV)
        rc = cv_csv_read_certificates(f, "body", sink);
    else
        rc = cv_json_read_certificates(f, "body", sink);
    fclose(f);
    return rc;
}

static void ingest_reply(struct cv_request *rq, struct ingest_run *run, int read_rc)
{
    const struct cv_service_config *cfg = rq->srv->cfg;
    int rc;
    if (run->too_many) {
        cv_http_problem(rq, CV_P_BATCH_TOO_LARGE, NULL, false,
                        "the body holds more than %zu records (limits.batch_records); nothing "
                        "was stored",
                        cfg->batch_records);
        return;
    }
    if (run->add_rc) {
        cv_http_problem(rq, CV_P_INTERNAL, NULL, false, "out of memory; nothing was stored");
        return;
    }
    if (run->file_error || (read_rc && read_rc != CV_ERR_STOP)) {
        cv_http_problem(rq, CV_P_INVALID_BODY, json_incref(run->errors), false,
                        "the body could not be read: %s; nothing was stored",
                        run->first_error[0] ? run->first_error : cv_strerror(read_rc));
        return;
    }
    if (run->accepted == 0 && run->rejected > 0) {
        cv_http_problem(rq, CV_P_REFUSED, json_incref(run->errors), false,
                        "all %ld records were refused; nothing was stored", run->rejected);
        return;
    }
    rc = run->accepted ? cv_ingest_flush(&run->in) : CV_OK;
    if (rc) {
        cv_store_failed_respond(rq, rc, "certificates");
        return;
    }
    json_t *o = json_pack("{s:i, s:i, s:O, s:O}", "accepted", (int)run->accepted, "rejected",
                          (int)run->rejected, "ids", run->ids, "errors", run->errors);
    if (o && run->errors_omitted)
        json_object_set_new(o, "errors_omitted", json_integer(run->errors_omitted));
    cv_http_json(rq, 200, o);
}

void cv_h_certificates_post(struct cv_request *rq)
{
    char type[96];
    enum cv_format format = CV_FORMAT_AUTO;
    cv_http_media_type(rq, type, sizeof(type));
    for (size_t i = 0; i < N_INGEST_TYPES; i++) {
        if (strcmp(type, ingest_types[i].type) == 0)
            format = ingest_types[i].format;
    }
    if (format == CV_FORMAT_AUTO) {
        cv_http_problem(rq, CV_P_MEDIA_TYPE, NULL, false,
                        "Content-Type '%.60s' is not accepted here; send application/json, "
                        "application/x-ndjson, text/csv or application/xml",
                        type);
        return;
    }
    if (rq->body.len == 0) {
        cv_http_problem(rq, CV_P_INVALID_BODY, NULL, false, "the request body is empty");
        return;
    }
    struct cv_store *store = cv_store_or_respond(rq);
    if (!store)
        return;
    struct ingest_run run = {.limit = rq->srv->cfg->batch_records};
    run.ids = json_array();
    run.errors = json_array();
    /* one batch per request: max_batch above the limit, so nothing is written before the whole
     * body has been read and counted */
    cv_ingest_init(&run.in, store, rq->refs, actor(rq), cv_today_utc(), run.limit + 1);
    struct cv_reader_sink sink = {ingest_on_certificate, ingest_on_error, &run, rq->refs->schema};
    if (!run.ids || !run.errors)
        cv_http_problem(rq, CV_P_INTERNAL, NULL, false, "out of memory");
    else
        ingest_reply(rq, &run, read_body(rq, format, &sink));
    cv_ingest_cleanup(&run.in);
    json_decref(run.ids);
    json_decref(run.errors);
}

/* ---- GET / DELETE /v1/certificates/{id} --------------------------------------------------- */

void cv_h_certificate_get(struct cv_request *rq)
{
    struct cv_store *store = cv_store_or_respond(rq);
    struct cv_certificate cert;
    struct cv_linked_supplier link = {0};
    char *text = NULL;
    json_t *record = NULL;
    if (!store)
        return;
    cv_certificate_init(&cert, CV_CERT_ARENA_LIMIT);
    int rc = cv_store_get_certificate(store, rq->id, &text);
    if (rc) {
        cv_store_failed_respond(rq, rc, "certificate");
        goto out;
    }
    if (cv_record_parse(text, &record, &cert)) {
        cv_http_problem(rq, CV_P_INTERNAL, NULL, false, "the stored record could not be read");
        goto out;
    }
    json_t *v =
        cv_verify_linked(rq, store, &link, &cert, cv_today_utc(), rq->srv->cfg->expiring_within);
    cv_http_json(rq, 200,
                 v ? json_pack("{s:O, s:O, s:o, s:O?, s:O?}", "id", json_object_get(record, "id"),
                               "certificate", json_object_get(record, "certificate"),
                               "verification", v, "ingested_at",
                               json_object_get(record, "ingested_at"), "ingested_by",
                               json_object_get(record, "ingested_by"))
                   : NULL);
out:
    json_decref(record);
    free(text);
    cv_linked_supplier_cleanup(&link);
    cv_certificate_cleanup(&cert);
}

void cv_h_certificate_delete(struct cv_request *rq)
{
    struct cv_store *store = cv_store_or_respond(rq);
    if (!store)
        return;
    int rc = cv_store_delete_certificate(store, rq->id, actor(rq));
    if (rc)
        cv_store_failed_respond(rq, rc, "certificate");
    else
        cv_http_empty(rq, 204);
}

/* ---- GET /v1/alerts ---------------------------------------------------------------------------
 */

struct alert {
    json_t *item; /* {"id", "verification"} */
    int rank;     /* verdict: invalid 3 ... valid 0 */
    bool has_days;
    long days;
    const char *id;
};

/* Most urgent first: worst verdict, then the fewest days to expiry, then by id. */
static int alert_cmp(const void *a, const void *b)
{
    const struct alert *x = a, *y = b;
    if (x->rank != y->rank)
        return y->rank - x->rank;
    if (x->has_days != y->has_days)
        return x->has_days ? -1 : 1;
    if (x->days != y->days)
        return x->days < y->days ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* One alert: the verification's headline fields flat (docs/openapi.yaml AlertList), the finding
 * codes, and the whole verification (reference to 'v' stolen). */
static json_t *alert_item(const char *id, json_t *v)
{
    static const char *const flat[] = {"certificate_number", "standard",        "holder",
                                       "supplier_id",        "verdict",         "effective_expiry",
                                       "days_to_expiry",     "surveillance_due"};
    json_t *item = json_pack("{s:s}", "id", id);
    json_t *codes = json_array();
    size_t i;
    json_t *f;
    if (!item || !codes) {
        json_decref(item);
        json_decref(codes);
        json_decref(v);
        return NULL;
    }
    for (size_t k = 0; k < sizeof(flat) / sizeof(flat[0]); k++) {
        json_t *x = json_object_get(v, flat[k]);
        json_object_set_new(item, flat[k], x ? json_incref(x) : json_null());
    }
    json_array_foreach(json_object_get(v, "findings"), i, f)
    {
        json_array_append(codes, json_object_get(f, "code"));
    }
    int bad = json_object_set_new(item, "findings", codes);
    bad |= json_object_set_new(item, "verification", v); /* both steal, even on failure */
    if (bad) {
        json_decref(item);
        return NULL;
    }
    return item;
}

static void alerts_csv(struct cv_request *rq, struct alert *alerts, size_t n)
{
    static const char *const cols[] = {
        "id",      "certificate_number", "standard",       "holder",           "supplier_id",
        "verdict", "effective_expiry",   "days_to_expiry", "surveillance_due", "findings"};
    const size_t nc = sizeof(cols) / sizeof(cols[0]);
    struct cv_buf b;
    cv_buf_init(&b, CV_RESPONSE_MAX_BYTES);
    for (size_t c = 0; c < nc; c++)
        cv_csv_cell(&b, cols[c], c + 1 == nc);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object_get(alerts[i].item, "verification");
        char days[24] = "", findings[1024] = "";
        if (alerts[i].has_days)
            snprintf(days, sizeof(days), "%ld", alerts[i].days);
        size_t k, used = 0;
        json_t *f;
        json_array_foreach(json_object_get(v, "findings"), k, f)
        {
            const char *code = json_string_value(json_object_get(f, "code"));
            int w = snprintf(findings + used, sizeof(findings) - used, "%s%s", used ? ";" : "",
                             code ? code : "");
            if (w > 0 && (size_t)w < sizeof(findings) - used)
                used += (size_t)w;
        }
        const char *vals[] = {alerts[i].id,
                              json_string_value(json_object_get(v, "certificate_number")),
                              json_string_value(json_object_get(v, "standard")),
                              json_string_value(json_object_get(v, "holder")),
                              json_string_value(json_object_get(v, "supplier_id")),
                              json_string_value(json_object_get(v, "verdict")),
                              json_string_value(json_object_get(v, "effective_expiry")),
                              days,
                              json_string_value(json_object_get(v, "surveillance_due")),
                              findings};
        for (size_t c = 0; c < nc; c++)
            cv_csv_cell(&b, vals[c], c + 1 == nc);
    }
    if (b.overflow) {
        cv_buf_cleanup(&b);
        cv_http_problem(rq, CV_P_INTERNAL, NULL, false, "the report is too large; lower ?limit=");
        return;
    }
    cv_http_body(rq, 200, "text/csv; charset=utf-8", b.data, b.len);
}

void cv_h_alerts(struct cv_request *rq)
{
    const struct cv_service_config *cfg = rq->srv->cfg;
    cv_date as_of;
    long within, limit;
    char **ids = NULL, **records = NULL;
    size_t n = 0, n_alerts = 0;
    struct alert *alerts = NULL;
    struct cv_certificate cert;
    struct cv_linked_supplier link = {0};
    if (cv_query_date_or_respond(rq, "as_of", cv_today_utc(), &as_of) ||
        cv_query_long_or_respond(rq, "within", cfg->expiring_within, 0, 100000, &within) ||
        cv_query_long_or_respond(rq, "limit", CV_LIST_DEFAULT, 1, CV_LIST_MAX, &limit))
        return;
    struct cv_store *store = cv_store_or_respond(rq);
    if (!store)
        return;
    cv_certificate_init(&cert, CV_CERT_ARENA_LIMIT);
    int rc = cv_store_attention_ids(store, as_of + (cv_date)within, as_of, (size_t)limit, NULL, 0,
                                    &ids, &n);
    if (!rc && n)
        rc = cv_store_get_certificates(store, (const char *const *)ids, n, &records);
    if (rc) {
        cv_store_failed_respond(rq, rc, "alerts");
        goto out;
    }
    alerts = calloc(n ? n : 1, sizeof(*alerts));
    if (!alerts) {
        cv_http_problem(rq, CV_P_INTERNAL, NULL, false, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *record = NULL;
        if (!records[i] || cv_record_parse(records[i], &record, &cert))
            continue; /* deleted meanwhile, or unreadable (logged) */
        json_decref(record);
        json_t *v = cv_verify_linked(rq, store, &link, &cert, as_of, (int)within);
        json_t *item = v ? alert_item(ids[i], v) : NULL;
        if (!item) {
            cv_http_problem(rq, CV_P_INTERNAL, NULL, false, "out of memory");
            goto out;
        }
        json_t *days = json_object_get(v, "days_to_expiry");
        alerts[n_alerts++] = (struct alert){item, verdict_index(v), json_is_integer(days),
                                            (long)json_integer_value(days), ids[i]};
    }
    qsort(alerts, n_alerts, sizeof(*alerts), alert_cmp);
    if (n_alerts > (size_t)limit)
        n_alerts = (size_t)limit; /* the rest are released below */
    if (cv_http_wants_csv(rq)) {
        alerts_csv(rq, alerts, n_alerts);
    } else {
        json_t *list = json_array();
        for (size_t i = 0; list && i < n_alerts; i++)
            json_array_append(list, alerts[i].item);
        char d[CV_DATE_STRLEN];
        cv_date_format(as_of, d);
        cv_http_json(rq, 200,
                     list ? json_pack("{s:s, s:i, s:i, s:o}", "as_of", d, "within", (int)within,
                                      "count", (int)n_alerts, "alerts", list)
                          : NULL);
    }
out:
    for (size_t i = 0; alerts && i < n; i++)
        json_decref(alerts[i].item);
    free(alerts);
    cv_store_free_strings(records, n);
    cv_store_free_strings(ids, n);
    cv_linked_supplier_cleanup(&link);
    cv_certificate_cleanup(&cert);
}

/* ---- GET /v1/events ---------------------------------------------------------------------------
 */

/* A stream id: "0", or digits with an optional "-digits" part. */
static bool stream_id_ok(const char *s)
{
    size_t n = strspn(s, "0123456789");
    if (n == 0 || n > 20)
        return false;
    if (s[n] == '\0')
        return true;
    if (s[n] != '-')
        return false;
    size_t m = strspn(s + n + 1, "0123456789");
    return m > 0 && m <= 20 && s[n + 1 + m] == '\0';
}

void cv_h_events(struct cv_request *rq)
{
    long limit;
    const char *after = cv_http_query(rq, "after");
    if (!after || !*after)
        after = "0";
    if (!stream_id_ok(after)) {
        cv_http_problem(rq, CV_P_BAD_REQUEST, NULL, false,
                        "query parameter 'after': expected an event id such as "
                        "1767225600000-0, or 0");
        return;
    }
    if (cv_query_long_or_respond(rq, "limit", CV_LIST_DEFAULT, 1, CV_LIST_MAX, &limit))
        return;
    struct cv_store *store = cv_store_or_respond(rq);
    if (!store)
        return;
    struct cv_stream_entry *entries = NULL;
    size_t n = 0;
    int rc = cv_store_stream_read(store, "events", after, (size_t)limit, &entries, &n);
    if (rc) {
        cv_store_failed_respond(rq, rc, "events");
        return;
    }
    json_t *events = json_array();
    for (size_t i = 0; events && i < n; i++) {
        json_t *fields = json_object();
        for (size_t k = 0; fields && k < entries[i].n; k++)
            json_object_set_new(fields, entries[i].names[k], json_string(entries[i].values[k]));
        if (json_array_append_new(events,
                                  json_pack("{s:s, s:o}", "id", entries[i].id, "fields", fields))) {
            json_decref(events);
            events = NULL;
        }
    }
    json_t *body =
        events ? json_pack("{s:o, s:s}", "events", events, "next", n ? entries[n - 1].id : after)
               : NULL;
    cv_store_free_stream_entries(entries, n);
    cv_http_json(rq, 200, body);
}

/* Supplier routes: upsert (validated through one field table), list, read with the supplier's
 * certificates and their current verifications, delete. */
#include <stdlib.h>
#include <string.h>

#include "certvet/error.h"
#include "internal.h"

#define SUPPLIER_CERTS_MAX 10000 /* certificates listed with one supplier; the rest are counted */
#define CURSOR_MAX         256
#define STRINGS_MAX        CV_SUPPLIER_ALIASES_MAX /* entries of aliases and categories */

enum field_kind {
    F_ID,          /* must equal the path's id when present */
    F_STRING,      /* a non-empty string */
    F_STRINGS,     /* an array of non-empty strings */
    F_IDENTIFIERS, /* an object of the identifier names below, each a string or null */
};

/* The supplier document (SPEC 3.3): the single table for its fields, their order and limits. */
static const struct {
    const char *name;
    enum field_kind kind;
    bool required;
    size_t max; /* bytes of a string (each string of an array) */
} fields[] = {
    {"id", F_ID, false, CV_PATH_ID_MAX},        {"name", F_STRING, true, 256},
    {"aliases", F_STRINGS, false, 256},         {"country", F_STRING, false, 64},
    {"identifiers", F_IDENTIFIERS, false, 128}, {"categories", F_STRINGS, false, 128},
};
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

static const char *const identifier_names[] = {"vat", "duns", "registration"};
#define N_IDENTIFIERS (sizeof(identifier_names) / sizeof(identifier_names[0]))

static const char *actor(const struct cv_request *rq)
{
    return rq->key ? rq->key->name : "anonymous";
}

static bool string_ok(const json_t *v, size_t max)
{
    return json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) <= max;
}

/* Checks one field and returns its canonical value (new reference), or NULL after writing the
 * problem into 'msg'. */
static json_t *check_field(const char *id, size_t f, const json_t *v, char *msg, size_t cap)
{
    size_t i;
    json_t *e;
    switch (fields[f].kind) {
    case F_ID:
        if (!json_is_string(v) || strcmp(json_string_value(v), id) != 0) {
            snprintf(msg, cap, "id: must be the path's id ('%s') or absent", id);
            return NULL;
        }
        return json_string(id);
    case F_STRING:
        if (!string_ok(v, fields[f].max)) {
            snprintf(msg, cap, "%s: expected a string of 1 to %zu bytes", fields[f].name,
                     fields[f].max);
            return NULL;
        }
        return json_incref((json_t *)v);
    case F_STRINGS:
        if (!json_is_array(v) || json_array_size(v) > STRINGS_MAX) {
            snprintf(msg, cap, "%s: expected an array of at most %d strings", fields[f].name,
                     STRINGS_MAX);
            return NULL;
        }
        json_array_foreach(v, i, e)
        {
            if (!string_ok(e, fields[f].max)) {
                snprintf(msg, cap, "%s[%zu]: expected a string of 1 to %zu bytes", fields[f].name,
                         i, fields[f].max);
                return NULL;
            }
        }
        return json_incref((json_t *)v);
    case F_IDENTIFIERS: {
        const char *k;
        if (!json_is_object(v)) {
            snprintf(msg, cap, "identifiers: expected an object {vat, duns, registration}");
            return NULL;
        }
        json_t *out = json_object();
        json_object_foreach((json_t *)v, k, e)
        {
            bool known = false;
            for (size_t n = 0; n < N_IDENTIFIERS; n++)
                known = known || strcmp(k, identifier_names[n]) == 0;
            if (!known) {
                snprintf(msg, cap, "identifiers.%.60s: unknown field (vat, duns, registration)", k);
                json_decref(out);
                return NULL;
            }
            if (!json_is_null(e) && !string_ok(e, fields[f].max)) {
                snprintf(msg, cap, "identifiers.%s: expected a string of 1 to %zu bytes, or null",
                         k, fields[f].max);
                json_decref(out);
                return NULL;
            }
            if (!json_is_null(e))
                json_object_set(out, k, e);
        }
        return out;
    }
    }
    return NULL;
}

json_t *cv_supplier_document(const json_t *in, const char *id, char *msg, size_t cap)
{
    const char *k;
    json_t *v;
    if (!json_is_object(in)) {
        snprintf(msg, cap,
                 "expected a supplier object {id, name, aliases, country, identifiers, "
                 "categories}");
        return NULL;
    }
    json_object_foreach((json_t *)in, k, v)
    {
        bool known = false;
        for (size_t f = 0; f < N_FIELDS; f++)
            known = known || strcmp(k, fields[f].name) == 0;
        if (!known) {
            snprintf(msg, cap, "%.60s: unknown field", k);
            return NULL;
        }
    }
    json_t *out = json_object();
    for (size_t f = 0; out && f < N_FIELDS; f++) {
        json_t *val = json_object_get(in, fields[f].name);
        json_t *canon;
        if (!val || json_is_null(val)) {
            if (fields[f].required) {
                snprintf(msg, cap, "%s: required", fields[f].name);
                json_decref(out);
                return NULL;
            }
            canon = fields[f].kind == F_ID            ? json_string(id)
                    : fields[f].kind == F_STRINGS     ? json_array()
                    : fields[f].kind == F_IDENTIFIERS ? json_object()
                                                      : json_null();
        } else {
            canon = check_field(id, f, val, msg, cap);
            if (!canon) {
                json_decref(out);
                return NULL;
            }
        }
        if (json_object_set_new(out, fields[f].name, canon)) {
            json_decref(out);
            out = NULL;
        }
    }
    if (!out)
        snprintf(msg, cap, "out of memory");
    return out;
}

/* The canonical supplier document for the body 'in', or NULL after answering 400. */
static json_t *supplier_or_respond(struct cv_request *rq, json_t *in)
{
    char msg[300] = "";
    json_t *out = cv_supplier_document(in, rq->id, msg, sizeof(msg));
    if (!out)
        cv_http_problem(rq, json_is_object(in) ? CV_P_INVALID_FIELD : CV_P_INVALID_BODY, NULL,
                        false, "%s", msg);
    return out;
}

void cv_h_supplier_put(struct cv_request *rq)
{
    json_t *in = cv_body_json_or_respond(rq);
    if (!in)
        return;
    json_t *doc = supplier_or_respond(rq, in);
    json_decref(in);
    if (!doc)
        return;
    struct cv_store *store = cv_store_or_respond(rq);
    char *text = store ? json_dumps(doc, JSON_COMPACT) : NULL;
    if (store && !text) {
        cv_http_problem(rq, CV_P_INTERNAL, NULL, false, "out of memory");
    } else if (store) {
        int rc = cv_store_put_supplier(store, rq->id, text, actor(rq));
        if (rc) {
            cv_store_failed_respond(rq, rc, "supplier");
        } else {
            cv_http_json(rq, 200, doc);
            doc = NULL;
        }
    }
    free(text);
    json_decref(doc);
}

/* Portfolio order (?sort=): decision (approved, conditional, rejected), then score, then id. */
static int decision_rank(const json_t *doc)
{
    const char *d = json_string_value(json_object_get(json_object_get(doc, "score"), "decision"));
    return !d ? 3 : !strcmp(d, "approved") ? 0 : !strcmp(d, "conditional") ? 1 : 2;
}

static int score_of(const json_t *doc)
{
    json_t *s = json_object_get(json_object_get(doc, "score"), "score");
    return json_is_integer(s) ? (int)json_integer_value(s) : -1; /* null sorts last */
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "id")),
                  json_string_value(json_object_get(*(json_t *const *)b, "id")));
}

static int cmp_score(const void *a, const void *b)
{
    int d = score_of(*(json_t *const *)b) - score_of(*(json_t *const *)a);
    return d ? d : cmp_id(a, b);
}

static int cmp_decision(const void *a, const void *b)
{
    int d = decision_rank(*(json_t *const *)a) - decision_rank(*(json_t *const *)b);
    return d ? d : cmp_score(a, b);
}

/* Sorts the page 'list' by ?sort= (id, score or decision), or answers 400. Returns 0 on success. */
static int sort_or_respond(struct cv_request *rq, json_t *list)
{
    static const struct {
        const char *name;
        int (*cmp)(const void *, const void *);
    } orders[] = {{"id", cmp_id}, {"score", cmp_score}, {"decision", cmp_decision}};
    const char *sort = cv_http_query(rq, "sort");
    int (*cmp)(const void *, const void *) = NULL;
    for (size_t i = 0; i < sizeof(orders) / sizeof(orders[0]); i++)
        if (!sort || !strcmp(sort, orders[i].name)) {
            cmp = orders[i].cmp;
            break;
        }
    if (!cmp) {
        cv_http_problem(rq, CV_P_BAD_REQUEST, NULL, false,
                        "query parameter 'sort': expected id, score or decision");
        return -1;
    }
    size_t n = json_array_size(list);
    json_t **items = malloc((n ? n : 1) * sizeof(*items));
    if (!items) {
        cv_http_problem(rq, CV_P_INTERNAL, NULL, false, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        items[i] = json_incref(json_array_get(list, i));
    qsort(items, n, sizeof(*items), cmp);
    json_array_clear(list);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, items[i]);
    free(items);
    return 0;
}

/* The portfolio page as CSV: one row per supplier with its score under the profile. */
static void portfolio_csv(struct cv_request *rq, json_t *list)
{
    static const char *const cols[] = {"id",    "name",     "country", "profile",
                                       "score", "decision", "coverage"};
    const size_t nc = sizeof(cols) / sizeof(cols[0]);
    struct cv_buf b;
    size_t i;
    json_t *doc;
    cv_buf_init(&b, CV_RESPONSE_MAX_BYTES);
    for (size_t c = 0; c < nc; c++)
        cv_csv_cell(&b, cols[c], c + 1 == nc);
    json_array_foreach(list, i, doc)
    {
        json_t *sc = json_object_get(doc, "score");
        char score[16] = "", coverage[16] = "";
        if (json_is_integer(json_object_get(sc, "score")))
            snprintf(score, sizeof(score), "%lld",
                     (long long)json_integer_value(json_object_get(sc, "score")));
        if (json_is_number(json_object_get(sc, "coverage")))
            snprintf(coverage, sizeof(coverage), "%.2f",
                     json_number_value(json_object_get(sc, "coverage")));
        const char *vals[] = {json_string_value(json_object_get(doc, "id")),
                              json_string_value(json_object_get(doc, "name")),
                              json_string_value(json_object_get(doc, "country")),
                              json_string_value(json_object_get(sc, "profile")),
                              score,
                              json_string_value(json_object_get(sc, "decision")),
                              coverage};
        for (size_t c = 0; c < nc; c++)
            cv_csv_cell(&b, vals[c], c + 1 == nc);
    }
    if (b.overflow) {
        cv_buf_cleanup(&b);
        cv_http_problem(rq, CV_P_INTERNAL, NULL, false, "the page is too large; lower ?limit=");
        return;
    }
    cv_http_body(rq, 200, "text/csv; charset=utf-8", b.data, b.len);
}

void cv_h_suppliers_list(struct cv_request *rq)
{
    long limit;
    char **ids = NULL, *next = NULL;
    size_t n = 0;
    const char *cursor = cv_http_query(rq, "cursor");
    const struct cv_profile *prof = NULL; /* ?profile=P: the portfolio view, with scores */
    cv_date as_of = cv_today_utc();
    if (cv_query_long_or_respond(rq, "limit", CV_LIST_DEFAULT, 1, CV_LIST_MAX, &limit))
        return;
    if (cv_http_query(rq, "profile")) {
        prof = cv_profile_or_respond(rq);
        if (!prof || cv_query_date_or_respond(rq, "as_of", as_of, &as_of))
            return;
    }
    if (cursor && (!*cursor || strlen(cursor) > CURSOR_MAX)) {
        cv_http_problem(rq, CV_P_BAD_REQUEST, NULL, false,
                        "query parameter 'cursor': not a cursor from a previous page");
        return;
    }
    struct cv_store *store = cv_store_or_respond(rq);
    if (!store)
        return;
    int rc = cv_store_list_suppliers(store, cursor, (size_t)limit, &ids, &n, &next);
    json_t *list = rc ? NULL : json_array();
    for (size_t i = 0; !rc && list && i < n; i++) {
        char *text = NULL;
        int r = cv_store_get_supplier(store, ids[i], &text);
        if (r == CV_ERR_NOT_FOUND)
            continue; /* deleted since the listing */
        if (r) {
            rc = r;
            break;
        }
        json_t *doc = json_loads(text, 0, NULL);
        free(text);
        if (doc && prof) {
            json_t *score = NULL;
            rc = cv_supplier_score_summary(rq, store, ids[i], doc, prof, as_of, &score);
            if (!rc)
                json_object_set_new(doc, "score", score);
        }
        if (doc)
            json_array_append_new(list, doc);
    }
    if (rc)
        cv_store_failed_respond(rq, rc, "suppliers");
    else if (prof && list && sort_or_respond(rq, list))
        ; /* answered 400 */
    else if (prof && list && cv_http_wants_csv(rq))
        portfolio_csv(rq, list);
    else
        cv_http_json(rq, 200,
                     list ? json_pack("{s:O, s:o}", "suppliers", list, "next_cursor",
                                      next ? json_string(next) : json_null())
                          : NULL);
    json_decref(list);
    free(next);
    cv_store_free_strings(ids, n);
}

/* The supplier's certificates, each with its current verification. */
static json_t *supplier_certificates(struct cv_request *rq, struct cv_store *store, json_t *doc,
                                     int *rc)
{
    char **ids = NULL, **records = NULL;
    size_t n = 0;
    struct cv_certificate cert;
    struct cv_linked_supplier link = {0};
    json_t *list = json_array();
    cv_certificate_init(&cert, CV_CERT_ARENA_LIMIT);
    cv_linked_supplier_set(&link, rq->id, doc);
    *rc = cv_store_supplier_certificates(store, rq->id, &ids, &n);
    size_t listed = n < SUPPLIER_CERTS_MAX ? n : SUPPLIER_CERTS_MAX;
    if (!*rc && listed)
        *rc = cv_store_get_certificates(store, (const char *const *)ids, listed, &records);
    for (size_t i = 0; !*rc && list && i < listed; i++) {
        json_t *record = NULL;
        if (!records[i] || cv_record_parse(records[i], &record, &cert))
            continue;
        json_t *v = cv_verify_linked(rq, store, &link, &cert, cv_today_utc(),
                                     rq->srv->cfg->expiring_within);
        if (!v || json_array_append_new(
                      list, json_pack("{s:O, s:O, s:o}", "id", json_object_get(record, "id"),
                                      "certificate", json_object_get(record, "certificate"),
                                      "verification", v))) {
            json_decref(list);
            list = NULL;
        }
        json_decref(record);
    }
    if (*rc) {
        json_decref(list);
        list = NULL;
    }
    cv_store_free_strings(records, records ? listed : 0);
    cv_store_free_strings(ids, n);
    cv_linked_supplier_cleanup(&link);
    cv_certificate_cleanup(&cert);
    return list;
}

void cv_h_supplier_get(struct cv_request *rq)
{
    char *text = NULL;
    struct cv_store *store = cv_store_or_respond(rq);
    if (!store)
        return;
    int rc = cv_store_get_supplier(store, rq->id, &text);
    if (rc) {
        cv_store_failed_respond(rq, rc, "supplier");
        return;
    }
    json_t *doc = json_loads(text, 0, NULL);
    free(text);
    if (!json_is_object(doc)) {
        json_decref(doc);
        cv_http_problem(rq, CV_P_INTERNAL, NULL, false, "the stored supplier could not be read");
        return;
    }
    json_t *certs = supplier_certificates(rq, store, doc, &rc);
    if (rc)
        cv_store_failed_respond(rq, rc, "supplier");
    else if (!certs || json_object_set_new(doc, "certificates", certs))
        cv_http_problem(rq, CV_P_INTERNAL, NULL, false, "out of memory");
    else {
        cv_http_json(rq, 200, doc);
        return;
    }
    json_decref(doc);
}

void cv_h_supplier_delete(struct cv_request *rq)
{
    struct cv_store *store = cv_store_or_respond(rq);
    if (!store)
        return;
    int rc = cv_store_delete_supplier(store, rq->id, actor(rq));
    if (rc)
        cv_store_failed_respond(rq, rc, "supplier");
    else
        cv_http_empty(rq, 204);
}

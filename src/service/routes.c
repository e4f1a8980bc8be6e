/* The route table (the single source of truth for paths, methods, roles, metric labels and
 * handlers), path matching, and the small handlers: health, readiness, metrics, the OpenAPI
 * document, reference data and the routes of later issues. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "certvet/error.h"
#include "certvet/names.h"
#include "internal.h"

/* method, path, role, name (metrics and logs), handler */
#define CV_ROUTE_TABLE(X)                                                                          \
    X("GET", "/healthz", NONE, "healthz", cv_h_healthz)                                            \
    X("GET", "/readyz", NONE, "readyz", cv_h_readyz)                                               \
    X("GET", "/metrics", NONE, "metrics", cv_h_metrics)                                            \
    X("GET", "/openapi.yaml", NONE, "openapi", cv_h_openapi)                                       \
    X("POST", "/v1/verify", READ, "verify", cv_h_verify)                                           \
    X("POST", "/v1/certificates", WRITE, "certificates.post", cv_h_certificates_post)              \
    X("GET", "/v1/certificates/{id}", READ, "certificates.get", cv_h_certificate_get)              \
    X("DELETE", "/v1/certificates/{id}", WRITE, "certificates.delete", cv_h_certificate_delete)    \
    X("PUT", "/v1/suppliers/{id}", WRITE, "suppliers.put", cv_h_supplier_put)                      \
    X("GET", "/v1/suppliers", READ, "suppliers.list", cv_h_suppliers_list)                         \
    X("GET", "/v1/suppliers/{id}", READ, "suppliers.get", cv_h_supplier_get)                       \
    X("DELETE", "/v1/suppliers/{id}", WRITE, "suppliers.delete", cv_h_supplier_delete)             \
    X("GET", "/v1/suppliers/{id}/score", READ, "suppliers.score", cv_h_supplier_score)             \
    X("GET", "/v1/alerts", READ, "alerts", cv_h_alerts)                                            \
    X("GET", "/v1/events", READ, "events", cv_h_events)                                            \
    X("GET", "/v1/reference/certification-bodies", READ, "reference.certification_bodies",         \
      cv_h_reference_cbs)                                                                          \
    X("GET", "/v1/reference/accreditation-bodies", READ, "reference.accreditation_bodies",         \
      cv_h_reference_abs)                                                                          \
    X("GET", "/v1/profiles", READ, "profiles", cv_h_profiles)                                      \
    X("POST", "/v1/reference/refresh", ADMIN, "reference.refresh", cv_h_reference_refresh)

const struct cv_route_def cv_routes[] = {
#define CV_X_ROW(method, path, role, name, handler) {method, path, CV_ROLE_##role, name},
    CV_ROUTE_TABLE(CV_X_ROW)
#undef CV_X_ROW
};
const size_t cv_n_routes = sizeof(cv_routes) / sizeof(cv_routes[0]);

static const cv_handler handlers[] = {
#define CV_X_HANDLER(method, path, role, name, handler) handler,
    CV_ROUTE_TABLE(CV_X_HANDLER)
#undef CV_X_HANDLER
};

_Static_assert(sizeof(cv_routes) / sizeof(cv_routes[0]) <= CV_MAX_ROUTES,
               "raise CV_MAX_ROUTES (metrics arrays)");

/* ---- matching ----------------------------------------------------------------------------- */

static bool id_char(unsigned char c)
{
    return isalnum(c) || c == '.' || c == '_' || c == ':' || c == '@' || c == '-';
}

/* 1: 'url' matches 'pat' ({id} copied into 'id'); 0: it does not; -1: it does, but the {id}
 * segment is too long or has characters ids never have. */
static int path_match(const char *pat, const char *url, char *id)
{
    bool bad = false;
    while (*pat) {
        if (strncmp(pat, "{id}", 4) == 0) {
            size_t n = strcspn(url, "/");
            if (n == 0)
                return 0;
            if (n > CV_PATH_ID_MAX) {
                bad = true;
            } else {
                memcpy(id, url, n);
                id[n] = '\0';
                for (size_t i = 0; i < n; i++)
                    bad = bad || !id_char((unsigned char)id[i]);
            }
            url += n;
            pat += 4;
            continue;
        }
        if (*pat++ != *url++)
            return 0;
    }
    if (*url)
        return 0;
    return bad ? -1 : 1;
}

size_t cv_route_match(const char *method, const char *url, char *id, char *allow, size_t allow_cap,
                      unsigned *status)
{
    bool path_known = false, bad_id = false;
    size_t used = 0;
    const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;
    allow[0] = '\0';
    for (size_t i = 0; i < cv_n_routes; i++) {
        int r = path_match(cv_routes[i].path, url, id);
        if (r == 0)
            continue;
        path_known = true;
        if (strcmp(cv_routes[i].method, m) == 0) {
            if (r > 0)
                return i;
            bad_id = true;
        }
        int n =
            snprintf(allow + used, allow_cap - used, "%s%s", used ? ", " : "", cv_routes[i].method);
        if (n > 0 && (size_t)n < allow_cap - used)
            used += (size_t)n;
    }
    id[0] = '\0';
    *status = bad_id ? 400 : path_known ? 405 : 404;
    return CV_NO_ROUTE;
}

void cv_route_dispatch(struct cv_request *rq)
{
    if (rq->route < cv_n_routes)
        handlers[rq->route](rq);
    else
        cv_http_problem(rq, CV_P_NOT_FOUND, NULL, false, "no route %s %s", rq->method, rq->url);
}

/* ---- health, readiness, metrics, the OpenAPI document --------------------------------------- */

void cv_h_healthz(struct cv_request *rq)
{
    cv_http_json(rq, 200, json_pack("{s:s}", "status", "ok"));
}

void cv_h_readyz(struct cv_request *rq)
{
    struct cv_store *store = cv_store_try(rq);
    if (!store || cv_store_ping(store) != CV_OK) {
        if (store && cv_store_cause(store) == CV_CAUSE_NOT_PERSISTING)
            cv_http_problem(rq, CV_P_STORE, NULL, false,
                            "the store (Redis) refuses writes: it cannot persist them (its disk "
                            "is full or failing); reads still work");
        else
            cv_http_problem(rq, CV_P_STORE, NULL, false, "the store (Redis) does not answer");
        return;
    }
    cv_http_json(rq, 200, json_pack("{s:s, s:s}", "status", "ready", "store", "ok"));
}

void cv_h_metrics(struct cv_request *rq)
{
    struct cv_buf b;
    cv_buf_init(&b, CV_RESPONSE_MAX_BYTES);
    if (cv_metrics_render(&b)) {
        cv_buf_cleanup(&b);
        cv_http_problem(rq, CV_P_INTERNAL, NULL, false, "the metrics could not be rendered");
        return;
    }
    cv_http_body(rq, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
}

void cv_h_openapi(struct cv_request *rq)
{
    if (!rq->srv->openapi) {
        cv_http_problem(rq, CV_P_NOT_FOUND, NULL, false,
                        "this server was started without its OpenAPI document");
        return;
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        rq->srv->openapi_len, rq->srv->openapi, MHD_RESPMEM_PERSISTENT);
    if (resp)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/yaml");
    cv_http_send(rq, 200, resp, false);
}

/* ---- reference data ------------------------------------------------------------------------- */

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *date_or_null(cv_date d)
{
    char buf[CV_DATE_STRLEN];
    if (d == CV_DATE_NONE)
        return json_null();
    cv_date_format(d, buf);
    return json_string(buf);
}

static json_t *strings(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *cb_json(const struct cv_cb *cb)
{
    json_t *accs = json_array();
    for (size_t i = 0; accs && i < cb->n_accreditations; i++) {
        const struct cv_cb_accreditation *a = &cb->accreditations[i];
        json_array_append_new(
            accs, json_pack("{s:s?, s:o, s:o, s:s, s:o, s:o, s:o}", "accreditation_body",
                            a->accreditation_body, "number", string_or_null(a->number), "standards",
                            strings(a->standards, a->n_standards), "status",
                            cv_listing_status_name(a->status), "status_date",
                            date_or_null(a->status_date), "valid_from", date_or_null(a->valid_from),
                            "valid_until", date_or_null(a->valid_until)));
    }
    return json_pack("{s:s, s:s, s:o, s:o, s:o}", "id", cb->id, "name", cb->name, "aliases",
                     strings(cb->aliases, cb->n_aliases), "country", string_or_null(cb->country),
                     "accreditations", accs);
}

static json_t *ab_json(const struct cv_ab *ab)
{
    json_t *recs = json_array();
    for (size_t i = 0; recs && i < ab->n_recognitions; i++) {
        const struct cv_recognition *r = &ab->recognitions[i];
        json_t *subs = json_array();
        for (unsigned bit = 1; subs && bit && bit <= CV_SUB_MDMS; bit <<= 1) {
            if (r->subscopes & bit)
                json_array_append_new(subs, json_string(cv_subscope_name(bit)));
        }
        json_array_append_new(
            recs,
            json_pack("{s:o, s:o, s:o, s:s, s:o}", "arrangement",
                      string_or_null(cv_arrangement_name(r->arrangement)), "main_scope",
                      string_or_null(cv_route_name(r->main_scope)), "subscopes", subs, "status",
                      cv_listing_status_name(r->status), "since", date_or_null(r->since)));
    }
    return json_pack("{s:s, s:s, s:o, s:o, s:o}", "acronym", ab->acronym, "name", ab->name,
                     "economy", string_or_null(ab->economy), "aliases",
                     strings(ab->aliases, ab->n_aliases), "recognitions", recs);
}

/* True when every token of the normalized query 'qkey' occurs in the normalized 'name'. */
static bool name_contains(const char *name, const char *qkey)
{
    char key[CV_NAME_KEY_MAX];
    if (!name)
        return false;
    cv_name_key(name, key);
    const char *t = qkey;
    while (*t) {
        size_t n = strcspn(t, " ");
        char token[CV_NAME_KEY_MAX];
        memcpy(token, t, n);
        token[n] = '\0';
        if (!strstr(key, token))
            return false;
        t += n;
        while (*t == ' ')
            t++;
    }
    return true;
}

static bool cb_matches(const struct cv_cb *cb, const char *qkey)
{
    if (!*qkey || name_contains(cb->name, qkey) || name_contains(cb->id, qkey))
        return true;
    for (size_t i = 0; i < cb->n_aliases; i++) {
        if (name_contains(cb->aliases[i], qkey))
            return true;
    }
    return false;
}

void cv_h_reference_cbs(struct cv_request *rq)
{
    const struct cv_bodies *b = &rq->refs->bodies;
    const char *q = cv_http_query(rq, "q");
    char qkey[CV_NAME_KEY_MAX] = "";
    if (q && strlen(q) > 200) {
        cv_http_problem(rq, CV_P_BAD_REQUEST, NULL, false,
                        "query parameter 'q': at most 200 characters");
        return;
    }
    if (q)
        cv_name_key(q, qkey);
    json_t *list = json_array();
    for (size_t i = 0; list && i < b->n_cbs; i++) {
        if (cb_matches(&b->cbs[i], qkey) && json_array_append_new(list, cb_json(&b->cbs[i]))) {
            json_decref(list);
            list = NULL;
        }
    }
    cv_http_json(rq, 200,
                 list ? json_pack("{s:o, s:s, s:O}", "certification_bodies", list, "version",
                                  rq->refs->version, "sources", rq->snap->sources)
                      : NULL);
}

void cv_h_reference_abs(struct cv_request *rq)
{
    const struct cv_bodies *b = &rq->refs->bodies;
    json_t *list = json_array();
    for (size_t i = 0; list && i < b->n_abs; i++) {
        if (json_array_append_new(list, ab_json(&b->abs[i]))) {
            json_decref(list);
            list = NULL;
        }
    }
    cv_http_json(rq, 200,
                 list ? json_pack("{s:o, s:s, s:O}", "accreditation_bodies", list, "version",
                                  rq->refs->version, "sources", rq->snap->sources)
                      : NULL);
}

/* Supplier scoring over HTTP (SPEC 5): GET /v1/profiles and GET /v1/suppliers/{id}/score, and the
 * profiles loaded at start. The certificates are verified for the score directly (no cache, no
 * registry): the result is reproducible for any as_of from the stored certificates alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certvet/error.h"
#include "certvet/profiles.h"
#include "certvet/score.h"
#include "certvet/verify.h"
#include "internal.h"

#define SCORE_CERTS_MAX                                                                            \
    500 /* a supplier's certificates scored in one request; the rest are not                       \
         */

int cv_score_profiles_load(struct cv_server *srv, char *err, size_t cap)
{
    char path[4096];
    const char *p = srv->cfg->profiles_path;
    if (!p) {
        snprintf(path, sizeof(path), "%s/profiles.json", srv->cfg->config_dir);
        p = path;
    }
    cv_profiles_init(&srv->profiles);
    return cv_profiles_load_json(&srv->profiles, p, &srv->current->ref.catalog, err, cap);
}

void cv_h_profiles(struct cv_request *rq)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < rq->srv->profiles.count; i++)
        if (json_array_append_new(list, cv_profile_to_json(&rq->srv->profiles.items[i]))) {
            json_decref(list);
            list = NULL;
        }
    cv_http_json(rq, 200,
                 list ? json_pack("{s:s, s:o}", "scoring", CV_SCORE_VERSION, "profiles", list)
                      : NULL);
}

const struct cv_profile *cv_profile_or_respond(struct cv_request *rq)
{
    const char *name = cv_http_query(rq, "profile");
    if (!name || !*name) {
        cv_http_problem(rq, CV_P_BAD_REQUEST, NULL, false,
                        "profile: required query parameter (see GET /v1/profiles)");
        return NULL;
    }
    const struct cv_profile *p = cv_profiles_find(&rq->srv->profiles, name);
    if (!p)
        cv_http_problem(rq, CV_P_BAD_REQUEST, NULL, false,
                        "profile: no profile '%.100s' (see GET /v1/profiles)", name);
    return p;
}

/* One supplier's certificates, parsed and verified for scoring. */
struct scoring_input {
    struct cv_certificate *certs; /* owned, 'n' initialized */
    struct cv_verification *vs;   /* owned */
    struct cv_scored_cert *in;    /* owned */
    size_t n;
};

static void input_cleanup(struct scoring_input *x)
{
    for (size_t i = 0; x->certs && i < x->n; i++)
        cv_certificate_cleanup(&x->certs[i]);
    free(x->certs);
    free(x->vs);
    free(x->in);
    memset(x, 0, sizeof(*x));
}

/* Loads and verifies the supplier's certificates. Returns CV_OK, a store error, or
 * CV_ERR_NOMEM. */
static int load_input(struct cv_request *rq, struct cv_store *store, const char *supplier_id,
                      const struct cv_linked_supplier *link, const struct cv_profile *prof,
                      cv_date as_of, struct scoring_input *x)
{
    char **ids = NULL, **records = NULL;
    size_t n = 0;
    memset(x, 0, sizeof(*x));
    int rc = cv_store_supplier_certificates(store, supplier_id, &ids, &n);
    size_t take = n < SCORE_CERTS_MAX ? n : SCORE_CERTS_MAX;
    if (!rc && take)
        rc = cv_store_get_certificates(store, (const char *const *)ids, take, &records);
    if (!rc && take) {
        x->certs = calloc(take, sizeof(*x->certs));
        x->vs = calloc(take, sizeof(*x->vs));
        x->in = calloc(take, sizeof(*x->in));
        if (!x->certs || !x->vs || !x->in)
            rc = CV_ERR_NOMEM;
    }
    struct cv_verify_options opt;
    cv_verify_options_init(&opt);
    opt.expiring_within = rq->srv->cfg->expiring_within;
    opt.surveillance_grace = rq->srv->cfg->surveillance_grace;
    opt.max_report_age_days = prof->max_report_age_days;
    opt.supplier_name = link->name;
    opt.supplier_aliases = link->aliases;
    opt.n_supplier_aliases = link->n_aliases;
    for (size_t i = 0; !rc && i < take; i++) {
        struct cv_certificate *c = &x->certs[x->n];
        json_t *record = NULL;
        cv_certificate_init(c, CV_CERT_ARENA_LIMIT);
        if (!records[i] || cv_record_parse(records[i], &record, c)) {
            cv_certificate_cleanup(c);
            continue;
        }
        json_decref(record);
        /* A registry knows only the present: it is consulted when scoring as of today, never
         * for a past as_of, whose score must replay from stored data alone (SPEC 5). */
        struct cv_registry_result reg;
        char reg_buf[CV_REGISTRY_BUF_MIN];
        opt.registry = NULL;
        if (rq->srv->registries && as_of == cv_today_utc() &&
            cv_registry_lookup(rq->srv->registries, store, c, &reg, reg_buf, sizeof(reg_buf)) ==
                CV_OK &&
            reg.status != CV_REG_NOT_CONSULTED)
            opt.registry = &reg;
        cv_verify(c, &rq->refs->ref, as_of, &opt, &x->vs[x->n]);
        opt.registry = NULL;
        x->in[x->n] = (struct cv_scored_cert){c, &x->vs[x->n]};
        x->n++;
    }
    cv_store_free_strings(records, records ? take : 0);
    cv_store_free_strings(ids, n);
    if (rc)
        input_cleanup(x);
    return rc;
}

void cv_h_supplier_score(struct cv_request *rq)
{
    cv_date as_of;
    char *text = NULL;
    struct cv_linked_supplier link = {0};
    struct scoring_input x = {0};
    struct cv_score s = {0};
    const struct cv_profile *prof = cv_profile_or_respond(rq);
    if (!prof || cv_query_date_or_respond(rq, "as_of", cv_today_utc(), &as_of))
        return;
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
    cv_linked_supplier_set(&link, rq->id, doc);
    json_decref(doc);
    rc = load_input(rq, store, rq->id, &link, prof, as_of, &x);
    if (rc == CV_ERR_NOMEM) {
        cv_http_problem(rq, CV_P_INTERNAL, NULL, false, "out of memory");
        goto out;
    }
    if (rc) {
        cv_store_failed_respond(rq, rc, "supplier");
        goto out;
    }
    if (cv_score(prof, x.in, x.n, &rq->refs->catalog, as_of, &s)) {
        cv_http_problem(rq, CV_P_INTERNAL, NULL, false, "out of memory");
        goto out;
    }
    cv_http_json(rq, 200, cv_score_to_json(&s, rq->id, link.name));
out:
    cv_score_cleanup(&s);
    input_cleanup(&x);
    cv_linked_supplier_cleanup(&link);
}

int cv_supplier_score_summary(struct cv_request *rq, struct cv_store *store, const char *id,
                              json_t *doc, const struct cv_profile *prof, cv_date as_of,
                              json_t **out)
{
    struct cv_linked_supplier link = {0};
    struct scoring_input x;
    struct cv_score s = {0};
    *out = NULL;
    cv_linked_supplier_set(&link, id, doc);
    int rc = load_input(rq, store, id, &link, prof, as_of, &x);
    if (!rc)
        rc = cv_score(prof, x.in, x.n, &rq->refs->catalog, as_of, &s);
    if (!rc) {
        double cov = (double)(long)(s.coverage * 10000 + 0.5) / 10000;
        *out = json_pack("{s:s, s:o, s:s, s:o}", "profile", prof->name, "score",
                         s.has_score ? json_integer(s.score) : json_null(), "decision",
                         cv_decision_name(s.decision), "coverage",
                         s.has_score ? json_real(cov) : json_null());
        if (!*out)
            rc = CV_ERR_NOMEM;
    }
    cv_score_cleanup(&s);
    input_cleanup(&x);
    cv_linked_supplier_cleanup(&link);
    return rc;
}

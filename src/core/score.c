/* certvet-score/1 (SPEC 5): profiles, the best certificate per family, points, score, decision,
 * coverage and reasons. Pure: the date is a parameter. */
#include "certvet/score.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certvet/error.h"

void cv_profiles_init(struct cv_profiles *p)
{
    memset(p, 0, sizeof(*p));
}

void cv_profile_cleanup(struct cv_profile *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_reqs; i++)
        free(p->reqs[i].family);
    free(p->reqs);
    free(p->name);
    free(p->title);
    memset(p, 0, sizeof(*p));
}

void cv_profiles_cleanup(struct cv_profiles *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->count; i++)
        cv_profile_cleanup(&p->items[i]);
    free(p->items);
    memset(p, 0, sizeof(*p));
}

const struct cv_profile *cv_profiles_find(const struct cv_profiles *p, const char *name)
{
    if (!p || !name)
        return NULL;
    for (size_t i = 0; i < p->count; i++)
        if (strcmp(p->items[i].name, name) == 0)
            return &p->items[i];
    return NULL;
}

int cv_profiles_add(struct cv_profiles *p, struct cv_profile *prof)
{
    if (cv_profiles_find(p, prof->name))
        return CV_ERR_CONFLICT;
    if (p->count == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        struct cv_profile *items = realloc(p->items, cap * sizeof(*items));
        if (!items)
            return CV_ERR_NOMEM;
        p->items = items;
        p->cap = cap;
    }
    p->items[p->count++] = *prof;
    memset(prof, 0, sizeof(*prof));
    return CV_OK;
}

int cv_verdict_points(enum cv_verdict v)
{
    switch (v) {
    case CV_VERDICT_VALID:
        return 10;
    case CV_VERDICT_WARNING:
        return 7;
    case CV_VERDICT_UNVERIFIED:
        return 4;
    default:
        return 0;
    }
}

static const char *const level_names[] = {"required", "recommended"};
static const char *const decision_names[] = {"approved", "conditional", "rejected"};

const char *cv_req_level_name(enum cv_req_level l)
{
    return (unsigned)l < 2 ? level_names[l] : "?";
}

int cv_req_level_parse(const char *s, enum cv_req_level *out)
{
    for (unsigned i = 0; i < 2; i++)
        if (s && strcmp(s, level_names[i]) == 0) {
            *out = (enum cv_req_level)i;
            return CV_OK;
        }
    return CV_ERR_INVALID;
}

const char *cv_decision_name(enum cv_decision d)
{
    return (unsigned)d < 3 ? decision_names[d] : "?";
}

/* Effective expiry for ordering: a certificate without one (a test report) counts as latest. */
static long order_expiry(const struct cv_verification *v)
{
    return v->effective_expiry == CV_DATE_NONE ? (long)INT32_MAX + 1 : (long)v->effective_expiry;
}

/* True when 'a' is a better answer to a requirement than 'b'. */
static bool better(const struct cv_scored_cert *a, const struct cv_scored_cert *b)
{
    if (a->v->verdict != b->v->verdict)
        return a->v->verdict < b->v->verdict;
    long ea = order_expiry(a->v), eb = order_expiry(b->v);
    if (ea != eb)
        return ea > eb;
    return strcmp(a->cert->certificate_number, b->cert->certificate_number) < 0;
}

static bool has_code(const struct cv_verification *v, enum cv_finding_code code)
{
    for (size_t i = 0; i < v->n_findings; i++)
        if (v->findings[i].code == code)
            return true;
    return false;
}

/* Checked against a listing (the CB was found) or a registry (it had the certificate). */
static bool is_covered(const struct cv_verification *v)
{
    if (!has_code(v, CV_F_CB_UNKNOWN))
        return true;
    return v->checks[CV_CHECK_REGISTRY] == CV_CHECK_PASS ||
           v->checks[CV_CHECK_REGISTRY] == CV_CHECK_FAIL;
}

static void reason(struct cv_score *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reason(struct cv_score *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->reasons[s->n_reasons++], CV_REASON_MAX, fmt, ap);
    va_end(ap);
}

/* The first finding of severity 'sev' (findings are sorted worst first), or NULL. */
static const struct cv_finding *first_of(const struct cv_verification *v, enum cv_severity sev)
{
    for (size_t i = 0; i < v->n_findings; i++)
        if (v->findings[i].severity == sev)
            return &v->findings[i];
    return NULL;
}

/* What is wrong with a row's certificate, in a short phrase. */
static void describe(const struct cv_score_row *r, char *out, size_t cap)
{
    const struct cv_verification *v = r->best->v;
    const struct cv_certificate *c = r->best->cert;
    char d[CV_DATE_STRLEN];
    const struct cv_finding *f;
    switch (v->verdict) {
    case CV_VERDICT_INVALID:
        if (has_code(v, CV_F_CERT_EXPIRED)) {
            cv_date_format(v->effective_expiry, d);
            snprintf(out, cap, "expired on %s", d);
            return;
        }
        if (has_code(v, CV_F_CERT_NOT_YET_VALID)) {
            cv_date_format(c->issue_date, d);
            snprintf(out, cap, "is not valid before %s", d);
            return;
        }
        f = first_of(v, CV_SEV_CRITICAL);
        snprintf(out, cap, "is invalid (%s): %s", f ? cv_finding_code_name(f->code) : "",
                 f ? f->message : "");
        return;
    case CV_VERDICT_UNVERIFIED:
        f = first_of(v, CV_SEV_INCONCLUSIVE);
        snprintf(out, cap, "could not be verified (%s): %s", f ? cv_finding_code_name(f->code) : "",
                 f ? f->message : "");
        return;
    case CV_VERDICT_WARNING:
        f = first_of(v, CV_SEV_WARNING);
        snprintf(out, cap, "is valid with a warning (%s): %s",
                 f ? cv_finding_code_name(f->code) : "", f ? f->message : "");
        return;
    default:
        if (v->effective_expiry != CV_DATE_NONE) {
            cv_date_format(v->effective_expiry, d);
            snprintf(out, cap, "is valid until %s", d);
        } else {
            snprintf(out, cap, "is valid");
        }
        return;
    }
}

int cv_score(const struct cv_profile *profile, const struct cv_scored_cert *certs, size_t n_certs,
             const struct cv_catalog *catalog, cv_date as_of, struct cv_score *out)
{
    memset(out, 0, sizeof(*out));
    out->profile = profile;
    out->as_of = as_of;
    out->decision = CV_DECISION_CONDITIONAL;
    size_t n = profile->n_reqs;
    if (n) {
        out->rows = calloc(n, sizeof(*out->rows));
        if (!out->rows)
            return CV_ERR_NOMEM;
    }
    out->reasons = calloc(n + 1, sizeof(*out->reasons));
    if (!out->reasons) {
        cv_score_cleanup(out);
        return CV_ERR_NOMEM;
    }
    out->n_rows = n;

    long weighted = 0, weight = 0, covered = 0;
    const char *missing = NULL; /* the first required family with no certificate or only invalid */
    bool required_missing = false;
    bool required_weak = false; /* a required family neither valid nor warning */
    for (size_t i = 0; i < n; i++) {
        struct cv_score_row *r = &out->rows[i];
        r->req = &profile->reqs[i];
        const char *fam = cv_catalog_family(catalog, r->req->family);
        r->family = fam ? fam : r->req->family;
        for (size_t k = 0; fam && k < n_certs; k++) {
            const struct cv_scored_cert *c = &certs[k];
            if (!c->v->family || strcmp(c->v->family, fam) != 0)
                continue;
            r->n_candidates++;
            if (!r->best || better(c, r->best))
                r->best = c;
        }
        if (r->best) {
            r->points = cv_verdict_points(r->best->v->verdict);
            r->covered = is_covered(r->best->v);
            cv_certificate_id(r->best->cert, fam, r->cert_id);
        }
        weight += r->req->weight;
        weighted += (long)r->req->weight * r->points;
        if (r->covered)
            covered += r->req->weight;
        if (r->req->level == CV_REQ_REQUIRED) {
            if (!r->best || r->best->v->verdict == CV_VERDICT_INVALID) {
                if (!required_missing)
                    missing = r->family;
                required_missing = true;
            }
            if (!r->best || r->best->v->verdict > CV_VERDICT_WARNING)
                required_weak = true;
        }
    }

    if (weight > 0) {
        out->has_score = true;
        long num = 100 * weighted, den = 10 * weight;
        out->score = (int)((2 * num + den) / (2 * den)); /* round half up */
        out->coverage = (double)covered / (double)weight;
    }

    const char *pname = profile->name;
    if (required_missing) {
        out->decision = CV_DECISION_REJECTED;
        reason(out,
               "rejected: %s is required by the %s profile and the supplier has no valid, "
               "warning or unverified certificate of it",
               missing, pname);
    } else if (out->has_score && out->score >= profile->approve_at && !required_weak) {
        out->decision = CV_DECISION_APPROVED;
        reason(out,
               "approved: score %d reaches %d and every family the %s profile requires has a "
               "valid certificate (or one with warnings)",
               out->score, profile->approve_at, pname);
    } else if (!out->has_score) {
        reason(out, "conditional: the %s profile has no requirements, so there is no score", pname);
    } else if (required_weak) {
        reason(out,
               "conditional: score %d; a family the %s profile requires is only backed by a "
               "certificate that could not be verified",
               out->score, pname);
    } else {
        reason(out, "conditional: score %d is below %d, the %s profile's approval threshold",
               out->score, profile->approve_at, pname);
    }

    for (size_t i = 0; i < n; i++) {
        const struct cv_score_row *r = &out->rows[i];
        const char *lvl = r->req->level == CV_REQ_REQUIRED ? "required" : "recommended";
        if (!r->best) {
            reason(out, "%s is %s by the %s profile; the supplier has no %s certificate", r->family,
                   lvl, pname, r->family);
            continue;
        }
        if (r->best->v->verdict == CV_VERDICT_VALID)
            continue;
        char what[CV_REASON_MAX];
        describe(r, what, sizeof(what));
        reason(out, "%s is %s by the %s profile; the supplier's certificate %s %s", r->family, lvl,
               pname, r->best->cert->certificate_number, what);
    }
    return CV_OK;
}

void cv_score_cleanup(struct cv_score *s)
{
    if (!s)
        return;
    free(s->rows);
    free(s->reasons);
    memset(s, 0, sizeof(*s));
}

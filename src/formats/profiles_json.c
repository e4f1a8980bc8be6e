/* Loads scoring profiles (SPEC 5) from JSON (Jansson) and validates them against the catalog. */
#include "certvet/profiles.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certvet/error.h"

#define PROFILES_MAX_BYTES (4 * 1024 * 1024)

static int fail(char *err, size_t cap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t cap, int rc, const char *fmt, ...)
{
    if (err && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Reads an optional integer member in [lo, hi]; absent or null keeps '*out'. */
static int opt_int(json_t *obj, const char *key, const char *path, long lo, long hi, int *out,
                   char *err, size_t cap)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return CV_OK;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return fail(err, cap, CV_ERR_INVALID, "%s.%s: must be an integer from %ld to %ld", path,
                    key, lo, hi);
    *out = (int)json_integer_value(v);
    return CV_OK;
}

/* Refuses a member of 'obj' that is not in 'known' (NULL-terminated); '_' keys are comments. */
static int known_keys(json_t *obj, const char *const *known, const char *path, char *err,
                      size_t cap)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        bool ok = key[0] == '_';
        for (size_t i = 0; !ok && known[i]; i++)
            ok = strcmp(key, known[i]) == 0;
        if (!ok)
            return fail(err, cap, CV_ERR_INVALID, "%s.%s: unknown key", path, key);
    }
    return CV_OK;
}

static const char *const requirement_keys[] = {"family", "level", "weight", NULL};
static const char *const profile_keys[] = {
    "name", "title", "approve_at", "max_report_age_days", "requirements", NULL};

static int dup_string(const char *s, char **out)
{
    *out = NULL;
    if (!s)
        return CV_OK;
    *out = strdup(s);
    return *out ? CV_OK : CV_ERR_NOMEM;
}

static int load_requirement(json_t *r, const char *path, const struct cv_catalog *catalog,
                            struct cv_requirement *out, char *err, size_t cap)
{
    if (!json_is_object(r))
        return fail(err, cap, CV_ERR_INVALID, "%s: must be an object", path);
    int rc = known_keys(r, requirement_keys, path, err, cap);
    if (rc)
        return rc;
    json_t *fam = json_object_get(r, "family");
    if (!fam || !json_is_string(fam) || !*json_string_value(fam))
        return fail(err, cap, CV_ERR_INVALID, "%s.family: required string is missing", path);
    const char *family = json_string_value(fam);
    if (!cv_catalog_family(catalog, family))
        return fail(err, cap, CV_ERR_INVALID,
                    "%s.family: '%s' is not a standard family of the catalog", path, family);
    json_t *lv = json_object_get(r, "level");
    if (!lv || !json_is_string(lv))
        return fail(err, cap, CV_ERR_INVALID, "%s.level: required (required or recommended)", path);
    if (cv_req_level_parse(json_string_value(lv), &out->level))
        return fail(err, cap, CV_ERR_INVALID, "%s.level: '%s' is not required or recommended", path,
                    json_string_value(lv));
    out->weight = out->level == CV_REQ_REQUIRED ? CV_REQ_WEIGHT_REQUIRED : CV_REQ_WEIGHT_RECOMM;
    rc = opt_int(r, "weight", path, 1, 1000, &out->weight, err, cap);
    if (rc)
        return rc;
    return dup_string(family, &out->family);
}

static int load_profile(json_t *o, size_t index, const struct cv_catalog *catalog,
                        struct cv_profile *out, char *err, size_t cap)
{
    char path[160], rpath[224];
    int rc;
    if (!json_is_object(o))
        return fail(err, cap, CV_ERR_INVALID, "profiles[%zu]: must be an object", index);
    json_t *nm = json_object_get(o, "name");
    if (!nm || !json_is_string(nm) || !*json_string_value(nm))
        return fail(err, cap, CV_ERR_INVALID, "profiles[%zu].name: required string is missing",
                    index);
    snprintf(path, sizeof(path), "profiles[%zu] (%.100s)", index, json_string_value(nm));
    rc = known_keys(o, profile_keys, path, err, cap);
    if (rc)
        return rc;
    json_t *title = json_object_get(o, "title");
    if (title && !json_is_null(title) && !json_is_string(title))
        return fail(err, cap, CV_ERR_INVALID, "%s.title: must be a string", path);
    out->approve_at = CV_APPROVE_AT_DEFAULT;
    rc = opt_int(o, "approve_at", path, 0, 100, &out->approve_at, err, cap);
    if (!rc)
        rc =
            opt_int(o, "max_report_age_days", path, 0, 100000, &out->max_report_age_days, err, cap);
    if (!rc)
        rc = dup_string(json_string_value(nm), &out->name);
    if (!rc && json_is_string(title))
        rc = dup_string(json_string_value(title), &out->title);
    if (rc)
        return rc;
    json_t *reqs = json_object_get(o, "requirements");
    if (!reqs || !json_is_array(reqs))
        return fail(err, cap, CV_ERR_INVALID, "%s.requirements: required array is missing", path);
    size_t n = json_array_size(reqs);
    if (n) {
        out->reqs = calloc(n, sizeof(*out->reqs));
        if (!out->reqs)
            return CV_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(rpath, sizeof(rpath), "%s.requirements[%zu]", path, i);
        rc = load_requirement(json_array_get(reqs, i), rpath, catalog, &out->reqs[i], err, cap);
        if (rc)
            return rc;
        out->n_reqs++;
        for (size_t k = 0; k < i; k++)
            if (strcmp(cv_catalog_family(catalog, out->reqs[k].family),
                       cv_catalog_family(catalog, out->reqs[i].family)) == 0)
                return fail(err, cap, CV_ERR_INVALID,
                            "%s.family: '%s' is already listed by requirements[%zu]", rpath,
                            out->reqs[i].family, k);
    }
    return CV_OK;
}

static int load_doc(struct cv_profiles *p, json_t *root, const char *name,
                    const struct cv_catalog *catalog, char *err, size_t cap)
{
    json_t *arr = json_is_array(root) ? root : json_object_get(root, "profiles");
    if (!arr || !json_is_array(arr))
        return fail(err, cap, CV_ERR_INVALID, "%s: no \"profiles\" array", name);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        struct cv_profile prof;
        memset(&prof, 0, sizeof(prof));
        int rc = load_profile(json_array_get(arr, i), i, catalog, &prof, err, cap);
        if (!rc) {
            rc = cv_profiles_add(p, &prof);
            if (rc == CV_ERR_CONFLICT)
                rc = fail(err, cap, CV_ERR_INVALID,
                          "profiles[%zu] (%s).name: a profile of that name comes earlier", i,
                          prof.name);
            else if (rc)
                fail(err, cap, rc, "%s", cv_strerror((enum cv_err)rc));
        }
        cv_profile_cleanup(&prof);
        if (rc)
            return rc;
    }
    return CV_OK;
}

int cv_profiles_load_json_mem(struct cv_profiles *p, const char *buf, size_t len, const char *name,
                              const struct cv_catalog *catalog, char *err, size_t cap)
{
    json_error_t je;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return fail(err, cap, CV_ERR_PARSE, "%s:%d:%d: %s", name, je.line, je.column, je.text);
    int rc = load_doc(p, root, name, catalog, err, cap);
    json_decref(root);
    if (rc)
        cv_profiles_cleanup(p);
    return rc;
}

int cv_profiles_load_json(struct cv_profiles *p, const char *path, const struct cv_catalog *catalog,
                          char *err, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(err, cap, CV_ERR_IO, "%s: cannot open", path);
    char *buf = malloc(PROFILES_MAX_BYTES);
    size_t len = buf ? fread(buf, 1, PROFILES_MAX_BYTES, f) : 0;
    int rc = CV_OK;
    if (!buf)
        rc = fail(err, cap, CV_ERR_NOMEM, "%s: out of memory", path);
    else if (ferror(f))
        rc = fail(err, cap, CV_ERR_IO, "%s: read error", path);
    else if (len == PROFILES_MAX_BYTES)
        rc = fail(err, cap, CV_ERR_TOO_LARGE, "%s: larger than %d bytes", path, PROFILES_MAX_BYTES);
    fclose(f);
    if (!rc)
        rc = cv_profiles_load_json_mem(p, buf, len, path, catalog, err, cap);
    free(buf);
    return rc;
}

json_t *cv_profile_to_json(const struct cv_profile *p)
{
    json_t *reqs = json_array();
    for (size_t i = 0; reqs && i < p->n_reqs; i++)
        json_array_append_new(reqs, json_pack("{s:s, s:s, s:i}", "family", p->reqs[i].family,
                                              "level", cv_req_level_name(p->reqs[i].level),
                                              "weight", p->reqs[i].weight));
    return json_pack("{s:s, s:s?, s:i, s:i, s:o*}", "name", p->name, "title", p->title,
                     "approve_at", p->approve_at, "max_report_age_days", p->max_report_age_days,
                     "requirements", reqs);
}

json_t *cv_score_to_json(const struct cv_score *s, const char *supplier_id,
                         const char *supplier_name)
{
    char as_of[CV_DATE_STRLEN];
    cv_date_format(s->as_of, as_of);
    json_t *rows = json_array(), *reasons = json_array();
    for (size_t i = 0; rows && i < s->n_rows; i++) {
        const struct cv_score_row *r = &s->rows[i];
        json_t *codes = json_array(), *cert = json_null(), *verdict = json_null();
        if (r->best) {
            const struct cv_verification *v = r->best->v;
            for (size_t k = 0; codes && k < v->n_findings; k++)
                json_array_append_new(codes,
                                      json_string(cv_finding_code_name(v->findings[k].code)));
            cert = json_pack("{s:s, s:s}", "number", r->best->cert->certificate_number, "id",
                             r->cert_id);
            verdict = json_string(cv_verdict_name(v->verdict));
        }
        json_array_append_new(
            rows, json_pack("{s:s, s:s, s:i, s:o*, s:o*, s:i, s:b, s:i, s:o*}", "family", r->family,
                            "level", cv_req_level_name(r->req->level), "weight", r->req->weight,
                            "certificate", cert, "verdict", verdict, "points", r->points, "covered",
                            r->covered, "candidates", (int)r->n_candidates, "findings", codes));
    }
    for (size_t i = 0; reasons && i < s->n_reasons; i++)
        json_array_append_new(reasons, json_string(s->reasons[i]));
    json_t *score = s->has_score ? json_integer(s->score) : json_null();
    json_t *coverage =
        s->has_score ? json_real((double)(long)(s->coverage * 10000 + 0.5) / 10000) : json_null();
    return json_pack("{s:s, s:{s:s?, s:s?}, s:s, s:s, s:o*, s:s, s:o*, s:i, s:o*, s:o*}", "scoring",
                     CV_SCORE_VERSION, "supplier", "id", supplier_id, "name", supplier_name,
                     "profile", s->profile->name, "as_of", as_of, "score", score, "decision",
                     cv_decision_name(s->decision), "coverage", coverage, "approve_at",
                     s->profile->approve_at, "requirements", rows, "reasons", reasons);
}

/* Loads the standards catalog and listing documents from JSON (Jansson). */
#include "certvet/refdata.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "certvet/error.h"
#include "certvet/sha256.h"
#include "certvet/xml.h"

#define LISTING_MAX_BYTES (64 * 1024 * 1024)

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

/* Reads an optional string member. Absent or null leaves '*out' NULL. A non-string fails. */
static int opt_string(json_t *obj, const char *key, const char *path, const char **out, char *err,
                      size_t cap)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return CV_OK;
    if (!json_is_string(v))
        return fail(err, cap, CV_ERR_INVALID, "%s.%s: must be a string", path, key);
    *out = json_string_value(v);
    return CV_OK;
}

static int req_string(json_t *obj, const char *key, const char *path, const char **out, char *err,
                      size_t cap)
{
    int rc = opt_string(obj, key, path, out, err, cap);
    if (rc)
        return rc;
    if (!*out || !**out)
        return fail(err, cap, CV_ERR_INVALID, "%s.%s: required field is missing", path, key);
    return CV_OK;
}

static int opt_date(json_t *obj, const char *key, const char *path, cv_date *out, char *err,
                    size_t cap)
{
    const char *s;
    *out = CV_DATE_NONE;
    int rc = opt_string(obj, key, path, &s, err, cap);
    if (rc || !s)
        return rc;
    if (cv_date_parse(s, strlen(s), out))
        return fail(err, cap, CV_ERR_INVALID, "%s.%s: '%.40s' is not a date (YYYY-MM-DD)", path,
                    key, s);
    return CV_OK;
}

/* Copies an array of strings; absent or null gives none. */
static int string_array(json_t *obj, const char *key, const char *path, char ***out, size_t *n,
                        char *err, size_t cap)
{
    json_t *arr = json_object_get(obj, key);
    *out = NULL;
    *n = 0;
    if (!arr || json_is_null(arr))
        return CV_OK;
    if (!json_is_array(arr))
        return fail(err, cap, CV_ERR_INVALID, "%s.%s: must be an array of strings", path, key);
    size_t len = json_array_size(arr);
    if (!len)
        return CV_OK;
    char **v = calloc(len, sizeof(*v));
    if (!v)
        return CV_ERR_NOMEM;
    for (size_t i = 0; i < len; i++) {
        json_t *s = json_array_get(arr, i);
        if (!json_is_string(s)) {
            for (size_t j = 0; j < i; j++)
                free(v[j]);
            free(v);
            return fail(err, cap, CV_ERR_INVALID, "%s.%s[%zu]: must be a string", path, key, i);
        }
        v[i] = strdup(json_string_value(s));
        if (!v[i]) {
            for (size_t j = 0; j < i; j++)
                free(v[j]);
            free(v);
            return CV_ERR_NOMEM;
        }
    }
    *out = v;
    *n = len;
    return CV_OK;
}

static char *dup_opt(const char *s, int *rc)
{
    if (!s)
        return NULL;
    char *p = strdup(s);
    if (!p)
        *rc = CV_ERR_NOMEM;
    return p;
}

static json_t *load_file(const char *path, char *err, size_t cap, int *rc)
{
    json_error_t jerr;
    FILE *f = fopen(path, "rb");
    if (!f) {
        *rc = fail(err, cap, CV_ERR_IO, "%s: cannot open", path);
        return NULL;
    }
    json_t *root = NULL;
    if (fseek(f, 0, SEEK_END) == 0 && ftell(f) > LISTING_MAX_BYTES) {
        *rc = fail(err, cap, CV_ERR_TOO_LARGE, "%s: larger than %d bytes", path, LISTING_MAX_BYTES);
    } else {
        rewind(f);
        root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
        if (!root)
            *rc = fail(err, cap, CV_ERR_PARSE, "%s:%d: %s", path, jerr.line, jerr.text);
    }
    fclose(f);
    return root;
}

/* ---- standards catalog ------------------------------------------------------------------- */

static int load_standard(struct cv_catalog *c, json_t *e, const char *path, char *err, size_t cap)
{
    struct cv_standard s = {0};
    const char *id, *family, *title, *superseded, *route, *subscope, *status;
    cv_date valid_until;
    int rc;
    if (!json_is_object(e))
        return fail(err, cap, CV_ERR_INVALID, "%s: must be an object", path);
    if ((rc = req_string(e, "id", path, &id, err, cap)) ||
        (rc = req_string(e, "family", path, &family, err, cap)) ||
        (rc = opt_string(e, "title", path, &title, err, cap)) ||
        (rc = opt_string(e, "superseded_by", path, &superseded, err, cap)) ||
        (rc = req_string(e, "route", path, &route, err, cap)) ||
        (rc = opt_string(e, "mla_subscope", path, &subscope, err, cap)) ||
        (rc = req_string(e, "status", path, &status, err, cap)) ||
        (rc = opt_date(e, "valid_until", path, &valid_until, err, cap)))
        return rc;
    s.id = (char *)id;
    s.family = (char *)family;
    s.title = (char *)title;
    s.superseded_by = (char *)superseded;
    s.route = cv_route_parse(route);
    if (s.route == CV_ROUTE_NONE)
        return fail(err, cap, CV_ERR_INVALID, "%s.route: '%s' is not a known route", path, route);
    s.subscope = subscope ? cv_subscope_parse(subscope) : CV_SUB_NONE;
    if (subscope && s.subscope == CV_SUB_NONE)
        return fail(err, cap, CV_ERR_INVALID, "%s.mla_subscope: '%s' is not a known sub-scope",
                    path, subscope);
    if (strcmp(status, "current") && strcmp(status, "withdrawn"))
        return fail(err, cap, CV_ERR_INVALID, "%s.status: must be current or withdrawn", path);
    s.withdrawn = strcmp(status, "withdrawn") == 0;
    s.valid_until = valid_until;
    json_t *cy = json_object_get(e, "cycle_years");
    if (cy && !json_is_null(cy) && !json_is_integer(cy))
        return fail(err, cap, CV_ERR_INVALID, "%s.cycle_years: must be an integer", path);
    s.cycle_years = cy ? (int)json_integer_value(cy) : 0;
    size_t idx;
    rc = cv_catalog_add(c, &s, &idx);
    if (rc)
        return fail(err, cap, rc, "%s: cannot add (%s)", path, cv_strerror(rc));
    json_t *aliases = json_object_get(e, "aliases");
    if (aliases && !json_is_null(aliases) && !json_is_array(aliases))
        return fail(err, cap, CV_ERR_INVALID, "%s.aliases: must be an array of strings", path);
    size_t i;
    json_t *a;
    json_array_foreach(aliases, i, a)
    {
        if (!json_is_string(a))
            return fail(err, cap, CV_ERR_INVALID, "%s.aliases[%zu]: must be a string", path, i);
        rc = cv_catalog_add_alias(c, idx, json_string_value(a));
        if (rc)
            return fail(err, cap, rc, "%s.aliases[%zu]: cannot add", path, i);
    }
    return CV_OK;
}

int cv_catalog_load_json(struct cv_catalog *c, const char *path, char *err, size_t cap)
{
    int rc = CV_OK;
    json_t *root = load_file(path, err, cap, &rc);
    if (!root)
        return rc;
    json_t *list = json_object_get(root, "standards");
    if (!json_is_array(list)) {
        rc = fail(err, cap, CV_ERR_INVALID, "%s: 'standards' must be an array", path);
        goto out;
    }
    struct cv_catalog tmp;
    cv_catalog_init(&tmp);
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        char where[64];
        snprintf(where, sizeof(where), "standards[%zu]", i);
        char inner[400];
        rc = load_standard(&tmp, e, where, inner, sizeof(inner));
        if (rc) {
            fail(err, cap, rc, "%s: %s", path, inner);
            cv_catalog_cleanup(&tmp);
            goto out;
        }
    }
    cv_catalog_cleanup(c);
    *c = tmp;
out:
    json_decref(root);
    return rc;
}

/* ---- listings ---------------------------------------------------------------------------- */

static int load_ab(json_t *e, const char *path, struct cv_ab *ab, char *err, size_t cap)
{
    const char *acronym, *name, *economy;
    int rc;
    memset(ab, 0, sizeof(*ab));
    if (!json_is_object(e))
        return fail(err, cap, CV_ERR_INVALID, "%s: must be an object", path);
    if ((rc = req_string(e, "acronym", path, &acronym, err, cap)) ||
        (rc = req_string(e, "name", path, &name, err, cap)) ||
        (rc = opt_string(e, "economy", path, &economy, err, cap)))
        return rc;
    ab->acronym = dup_opt(acronym, &rc);
    ab->name = dup_opt(name, &rc);
    ab->economy = dup_opt(economy, &rc);
    if (rc)
        return rc;
    rc = string_array(e, "aliases", path, &ab->aliases, &ab->n_aliases, err, cap);
    if (rc)
        return rc;
    json_t *recs = json_object_get(e, "recognitions");
    if (recs && !json_is_null(recs) && !json_is_array(recs))
        return fail(err, cap, CV_ERR_INVALID, "%s.recognitions: must be an array", path);
    size_t n = json_array_size(recs);
    if (n) {
        ab->recognitions = calloc(n, sizeof(*ab->recognitions));
        if (!ab->recognitions)
            return CV_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_array_get(recs, i);
        char rp[192];
        const char *arr, *scope, *status;
        struct cv_recognition *out = &ab->recognitions[i];
        snprintf(rp, sizeof(rp), "%s.recognitions[%zu]", path, i);
        if (!json_is_object(r))
            return fail(err, cap, CV_ERR_INVALID, "%s: must be an object", rp);
        if ((rc = req_string(r, "arrangement", rp, &arr, err, cap)) ||
            (rc = req_string(r, "main_scope", rp, &scope, err, cap)) ||
            (rc = opt_string(r, "status", rp, &status, err, cap)) ||
            (rc = opt_date(r, "since", rp, &out->since, err, cap)))
            return rc;
        if (cv_arrangement_parse(arr, &out->arrangement))
            return fail(err, cap, CV_ERR_INVALID,
                        "%s.arrangement: '%s' is not IAF MLA, ILAC MRA or Global ACI MRA", rp, arr);
        out->main_scope = cv_route_parse(scope);
        if (out->main_scope == CV_ROUTE_NONE)
            return fail(err, cap, CV_ERR_INVALID, "%s.main_scope: '%s' is not a known scope", rp,
                        scope);
        out->status = CV_LS_ACTIVE;
        if (status && cv_listing_status_parse(status, &out->status))
            return fail(err, cap, CV_ERR_INVALID,
                        "%s.status: '%s' is not active, suspended or withdrawn", rp, status);
        json_t *subs = json_object_get(r, "subscopes");
        if (subs && !json_is_null(subs) && !json_is_array(subs))
            return fail(err, cap, CV_ERR_INVALID, "%s.subscopes: must be an array", rp);
        size_t j;
        json_t *sv;
        json_array_foreach(subs, j, sv)
        {
            unsigned bit = json_is_string(sv) ? cv_subscope_parse(json_string_value(sv)) : 0;
            if (!bit)
                return fail(err, cap, CV_ERR_INVALID,
                            "%s.subscopes[%zu]: not one of QMS EMS OHSMS ISMS FSMS EnMS MDMS", rp,
                            j);
            out->subscopes |= bit;
        }
        ab->n_recognitions = i + 1;
    }
    return CV_OK;
}

static int load_cb(json_t *e, const char *path, struct cv_cb *cb, char *err, size_t cap)
{
    const char *id, *name, *country;
    int rc;
    memset(cb, 0, sizeof(*cb));
    if (!json_is_object(e))
        return fail(err, cap, CV_ERR_INVALID, "%s: must be an object", path);
    if ((rc = req_string(e, "id", path, &id, err, cap)) ||
        (rc = req_string(e, "name", path, &name, err, cap)) ||
        (rc = opt_string(e, "country", path, &country, err, cap)))
        return rc;
    cb->id = dup_opt(id, &rc);
    cb->name = dup_opt(name, &rc);
    cb->country = dup_opt(country, &rc);
    if (rc)
        return rc;
    rc = string_array(e, "aliases", path, &cb->aliases, &cb->n_aliases, err, cap);
    if (rc)
        return rc;
    json_t *accs = json_object_get(e, "accreditations");
    if (accs && !json_is_null(accs) && !json_is_array(accs))
        return fail(err, cap, CV_ERR_INVALID, "%s.accreditations: must be an array", path);
    size_t n = json_array_size(accs);
    if (n) {
        cb->accreditations = calloc(n, sizeof(*cb->accreditations));
        if (!cb->accreditations)
            return CV_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_array_get(accs, i);
        char ap[192];
        const char *ab, *number, *status;
        struct cv_cb_accreditation *out = &cb->accreditations[i];
        snprintf(ap, sizeof(ap), "%s.accreditations[%zu]", path, i);
        cb->n_accreditations = i + 1;
        out->status_date = out->valid_from = out->valid_until = CV_DATE_NONE;
        if (!json_is_object(a))
            return fail(err, cap, CV_ERR_INVALID, "%s: must be an object", ap);
        if ((rc = req_string(a, "accreditation_body", ap, &ab, err, cap)) ||
            (rc = opt_string(a, "number", ap, &number, err, cap)) ||
            (rc = opt_string(a, "status", ap, &status, err, cap)) ||
            (rc = opt_date(a, "status_date", ap, &out->status_date, err, cap)) ||
            (rc = opt_date(a, "valid_from", ap, &out->valid_from, err, cap)) ||
            (rc = opt_date(a, "valid_until", ap, &out->valid_until, err, cap)))
            return rc;
        out->accreditation_body = dup_opt(ab, &rc);
        out->number = dup_opt(number, &rc);
        if (rc)
            return rc;
        out->status = CV_LS_ACTIVE;
        if (status && cv_listing_status_parse(status, &out->status))
            return fail(err, cap, CV_ERR_INVALID,
                        "%s.status: '%s' is not active, suspended or withdrawn", ap, status);
        rc = string_array(a, "standards", ap, &out->standards, &out->n_standards, err, cap);
        if (rc)
            return rc;
        if (!out->n_standards)
            return fail(err, cap, CV_ERR_INVALID, "%s.standards: at least one standard is needed",
                        ap);
    }
    return CV_OK;
}

static int load_listing(struct cv_bodies *b, json_t *root, const char *name, char *err, size_t cap)
{
    int rc = CV_OK;
    json_t *abs = json_object_get(root, "accreditation_bodies");
    json_t *cbs = json_object_get(root, "certification_bodies");
    if (!json_is_object(root) || (!abs && !cbs))
        return fail(err, cap, CV_ERR_INVALID,
                    "%s: a listing needs 'accreditation_bodies' and/or 'certification_bodies'",
                    name);
    if ((abs && !json_is_array(abs)) || (cbs && !json_is_array(cbs)))
        return fail(err, cap, CV_ERR_INVALID, "%s: bodies must be given as arrays", name);
    size_t nab = json_array_size(abs), ncb = json_array_size(cbs);
    struct cv_ab *ab_tmp = nab ? calloc(nab, sizeof(*ab_tmp)) : NULL;
    struct cv_cb *cb_tmp = ncb ? calloc(ncb, sizeof(*cb_tmp)) : NULL;
    char inner[400], path[64];
    if ((nab && !ab_tmp) || (ncb && !cb_tmp)) {
        rc = CV_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < nab; i++) {
        snprintf(path, sizeof(path), "accreditation_bodies[%zu]", i);
        rc = load_ab(json_array_get(abs, i), path, &ab_tmp[i], inner, sizeof(inner));
        if (rc) {
            fail(err, cap, rc, "%s: %s", name, inner);
            goto out;
        }
    }
    for (size_t i = 0; i < ncb; i++) {
        snprintf(path, sizeof(path), "certification_bodies[%zu]", i);
        rc = load_cb(json_array_get(cbs, i), path, &cb_tmp[i], inner, sizeof(inner));
        if (rc) {
            fail(err, cap, rc, "%s: %s", name, inner);
            goto out;
        }
    }
    /* The whole document is valid: merge it. put_* take ownership (and clear the source). */
    for (size_t i = 0; i < nab && !rc; i++)
        rc = cv_bodies_put_ab(b, &ab_tmp[i]);
    for (size_t i = 0; i < ncb && !rc; i++)
        rc = cv_bodies_put_cb(b, &cb_tmp[i]);
    if (rc)
        fail(err, cap, rc, "%s: cannot merge (%s)", name, cv_strerror(rc));
out:
    /* Entries are zeroed (calloc, or cleared when handed over) or owned here: free them all. */
    for (size_t i = 0; i < nab && ab_tmp; i++)
        cv_ab_cleanup(&ab_tmp[i]);
    for (size_t i = 0; i < ncb && cb_tmp; i++)
        cv_cb_cleanup(&cb_tmp[i]);
    free(ab_tmp);
    free(cb_tmp);
    return rc;
}

int cv_listing_load_json(struct cv_bodies *b, const char *path, char *err, size_t cap)
{
    int rc = CV_OK;
    json_t *root = load_file(path, err, cap, &rc);
    if (!root)
        return rc;
    rc = load_listing(b, root, path, err, cap);
    json_decref(root);
    return rc;
}

int cv_listing_load_json_mem(struct cv_bodies *b, const char *buf, size_t len, const char *name,
                             char *err, size_t cap)
{
    json_error_t jerr;
    if (len > LISTING_MAX_BYTES)
        return fail(err, cap, CV_ERR_TOO_LARGE, "%s: larger than %d bytes", name,
                    LISTING_MAX_BYTES);
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return fail(err, cap, CV_ERR_PARSE, "%s:%d: %s", name, jerr.line, jerr.text);
    int rc = load_listing(b, root, name, err, cap);
    json_decref(root);
    return rc;
}

/* ---- suppliers --------------------------------------------------------------------------- */

static int load_supplier(json_t *e, const char *path, struct cv_supplier *sup, char *err,
                         size_t cap)
{
    const char *id, *name, *country;
    int rc;
    if (!json_is_object(e))
        return fail(err, cap, CV_ERR_INVALID, "%s: must be an object", path);
    if ((rc = req_string(e, "id", path, &id, err, cap)) ||
        (rc = req_string(e, "name", path, &name, err, cap)) ||
        (rc = opt_string(e, "country", path, &country, err, cap)))
        return rc;
    sup->id = dup_opt(id, &rc);
    sup->name = dup_opt(name, &rc);
    sup->country = dup_opt(country, &rc);
    if (rc)
        return rc;
    return string_array(e, "aliases", path, &sup->aliases, &sup->n_aliases, err, cap);
}

int cv_suppliers_load_json(struct cv_suppliers *s, const char *path, char *err, size_t cap)
{
    int rc = CV_OK;
    json_t *root = load_file(path, err, cap, &rc);
    if (!root)
        return rc;
    json_t *list = json_is_array(root) ? root : json_object_get(root, "suppliers");
    struct cv_suppliers tmp;
    cv_suppliers_init(&tmp);
    if (!json_is_array(list)) {
        rc =
            fail(err, cap, CV_ERR_INVALID, "%s: expected {\"suppliers\": [...]} or an array", path);
        goto out;
    }
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        struct cv_supplier sup = {0};
        char where[64], inner[400];
        snprintf(where, sizeof(where), "suppliers[%zu]", i);
        rc = load_supplier(e, where, &sup, inner, sizeof(inner));
        if (!rc)
            rc = cv_suppliers_put(&tmp, &sup);
        else
            cv_supplier_cleanup(&sup);
        if (rc) {
            fail(err, cap, rc, "%s: %s", path, rc == CV_ERR_NOMEM ? "out of memory" : inner);
            goto out;
        }
    }
    for (size_t k = 0; k < tmp.count && !rc; k++)
        rc = cv_suppliers_put(s, &tmp.items[k]);
out:
    cv_suppliers_cleanup(&tmp);
    json_decref(root);
    return rc;
}

int cv_listing_load_file(struct cv_bodies *b, const char *path, const struct cv_xml_schema *s,
                         char *err, size_t cap)
{
    const char *dot = strrchr(path, '.');
    if (dot && strcasecmp(dot, ".xml") == 0)
        return cv_xml_load_listing(b, path, s, err, cap);
    return cv_listing_load_json(b, path, err, cap);
}

/* ---- the reference bundle ---------------------------------------------------------------- */

/* Feeds the bytes of 'path' into 'h' (the reference version covers every file loaded). */
static int hash_file(struct cv_sha256 *h, const char *path)
{
    char buf[65536];
    size_t n;
    FILE *f = fopen(path, "rb");
    if (!f)
        return CV_ERR_IO;
    cv_sha256_update(h, path, strlen(path) + 1);
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        cv_sha256_update(h, buf, n);
    fclose(f);
    return CV_OK;
}

void cv_reference_cleanup(struct cv_reference *r)
{
    if (!r)
        return;
    cv_xml_schema_free(r->schema);
    cv_bodies_cleanup(&r->bodies);
    cv_catalog_cleanup(&r->catalog);
    memset(r, 0, sizeof(*r));
}

int cv_reference_load(struct cv_reference *r, const char *config_dir, const char *const *listings,
                      size_t n_listings, char *err, size_t cap)
{
    char path[4096], path2[4096];
    struct cv_sha256 h;
    unsigned char d[CV_SHA256_LEN];
    int rc;

    memset(r, 0, sizeof(*r));
    cv_catalog_init(&r->catalog);
    cv_bodies_init(&r->bodies);
    cv_sha256_init(&h);
    snprintf(path, sizeof(path), "%s/standards.json", config_dir);
    rc = cv_catalog_load_json(&r->catalog, path, err, cap);
    if (rc || (rc = hash_file(&h, path)))
        goto out;
    snprintf(path, sizeof(path), "%s/certificate.xsd", config_dir);
    snprintf(path2, sizeof(path2), "%s/listing.xsd", config_dir);
    rc = cv_xml_schema_new(path, path2, &r->schema, err, cap);
    if (rc)
        goto out;
    snprintf(path, sizeof(path), "%s/accreditation-bodies.json", config_dir);
    rc = cv_listing_load_json(&r->bodies, path, err, cap);
    if (rc || (rc = hash_file(&h, path)))
        goto out;
    for (size_t i = 0; i < n_listings; i++) {
        rc = cv_listing_load_file(&r->bodies, listings[i], r->schema, err, cap);
        if (rc || (rc = hash_file(&h, listings[i])))
            goto out;
    }
    cv_sha256_final(&h, d);
    for (int i = 0; i < 8; i++)
        snprintf(r->version + 2 * i, 3, "%02x", d[i]);
    r->ref.catalog = &r->catalog;
    r->ref.bodies = &r->bodies;
out:
    if (rc == CV_ERR_IO)
        fail(err, cap, rc, "%s: cannot read", path);
    if (rc)
        cv_reference_cleanup(r);
    return rc;
}

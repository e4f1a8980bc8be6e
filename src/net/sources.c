/* Listing sources (SPEC 6): config/sources.json, fetching with conditional GET, parsing by format,
 * falling back to the last good copy, and layering everything over the shipped reference data. */
#include "certvet/sources.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certvet/error.h"
#include "certvet/http_client.h"
#include "certvet/sha256.h"
#include "certvet/xml.h"

/* The parsed last good copy of one source, kept between refreshes so that a 304 (or an
 * unchanged file) costs only the merge. */
struct cv_source_state {
    bool have;               /* 'parsed' and the rest hold a good copy */
    struct cv_bodies parsed; /* what the copy maps to */
    unsigned char hash[CV_SHA256_LEN];
    char *etag, *last_modified; /* validators for the next conditional GET, or NULL */
    long long fetched_at;
};

/* The mapping fields of sources.json, in the order of cv_source.html_strings. */
static const char *const html_keys[12] = {
    "row_xpath", "id",     "name",        "country",    "accreditation_body", "number",
    "standards", "status", "status_date", "valid_from", "valid_until",        "aliases",
};

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

const char *cv_source_status_name(enum cv_source_status st)
{
    switch (st) {
    case CV_SOURCE_OK:
        return "ok";
    case CV_SOURCE_NOT_MODIFIED:
        return "not modified";
    case CV_SOURCE_STALE:
        return "stale";
    case CV_SOURCE_FAILED:
        return "failed";
    default:
        return "never";
    }
}

const char *cv_source_format_name(enum cv_source_format f)
{
    return f == CV_SOURCE_XML ? "xml" : f == CV_SOURCE_HTML ? "html" : "json";
}

void cv_source_copy_cleanup(struct cv_source_copy *c)
{
    if (!c)
        return;
    free(c->body);
    free(c->etag);
    free(c->last_modified);
    memset(c, 0, sizeof(*c));
}

static void state_clear(struct cv_source_state *st)
{
    cv_bodies_cleanup(&st->parsed);
    cv_bodies_init(&st->parsed);
    free(st->etag);
    free(st->last_modified);
    st->etag = st->last_modified = NULL;
    st->have = false;
    st->fetched_at = 0;
}

static void source_cleanup(struct cv_source *src)
{
    free(src->name);
    free(src->location);
    for (size_t i = 0; i < 12; i++)
        free(src->html_strings[i]);
    if (src->state) {
        state_clear(src->state);
        cv_bodies_cleanup(&src->state->parsed);
        free(src->state);
    }
    memset(src, 0, sizeof(*src));
}

void cv_sources_cleanup(struct cv_sources *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        source_cleanup(&s->items[i]);
    free(s->items);
    memset(s, 0, sizeof(*s));
}

/* ---- sources.json ------------------------------------------------------------------------ */

static int dup_to(char **dst, const char *s)
{
    *dst = strdup(s);
    return *dst ? CV_OK : CV_ERR_NOMEM;
}

/* "dir/rel" unless 'rel' is absolute. */
static int resolve(char **out, const char *dir, const char *rel)
{
    size_t n;
    if (rel[0] == '/' || !dir[0])
        return dup_to(out, rel);
    n = strlen(dir) + strlen(rel) + 2;
    *out = malloc(n);
    if (!*out)
        return CV_ERR_NOMEM;
    snprintf(*out, n, "%s/%s", dir, rel);
    return CV_OK;
}

static const char *str_member(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int load_source(json_t *e, const char *where, const char *dir, struct cv_source *src,
                       char *err, size_t cap)
{
    const char *name, *kind, *format, *loc;
    json_t *refresh, *html;
    int rc;

    if (!json_is_object(e))
        return fail(err, cap, CV_ERR_INVALID, "%s: must be an object", where);
    name = str_member(e, "name");
    if (!name || !name[0] || strlen(name) >= CV_SOURCE_NAME_MAX)
        return fail(err, cap, CV_ERR_INVALID, "%s.name: required, 1 to %d bytes", where,
                    CV_SOURCE_NAME_MAX - 1);
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return fail(err, cap, CV_ERR_INVALID,
                        "%s.name: '%s' may only hold letters, digits, '-', '_' and '.'", where,
                        name);
    kind = str_member(e, "kind");
    if (!kind || (strcmp(kind, "file") && strcmp(kind, "url")))
        return fail(err, cap, CV_ERR_INVALID, "%s (%s).kind: must be \"file\" or \"url\"", where,
                    name);
    src->kind = strcmp(kind, "url") == 0 ? CV_SOURCE_URL : CV_SOURCE_FILE;
    loc = str_member(e, src->kind == CV_SOURCE_URL ? "url" : "path");
    if (!loc || !loc[0])
        return fail(err, cap, CV_ERR_INVALID, "%s (%s).%s: required", where, name,
                    src->kind == CV_SOURCE_URL ? "url" : "path");
    format = str_member(e, "format");
    if (!format || (strcmp(format, "json") && strcmp(format, "xml") && strcmp(format, "html")))
        return fail(err, cap, CV_ERR_INVALID, "%s (%s).format: must be json, xml or html", where,
                    name);
    src->format = strcmp(format, "xml") == 0    ? CV_SOURCE_XML
                  : strcmp(format, "html") == 0 ? CV_SOURCE_HTML
                                                : CV_SOURCE_JSON;
    refresh = json_object_get(e, "refresh_s");
    if (refresh && (!json_is_integer(refresh) || json_integer_value(refresh) < 0))
        return fail(err, cap, CV_ERR_INVALID, "%s (%s).refresh_s: must be an integer >= 0", where,
                    name);
    src->refresh_s = refresh ? (long)json_integer_value(refresh) : 0;
    html = json_object_get(e, "html");
    if (src->format == CV_SOURCE_HTML && !json_is_object(html))
        return fail(err, cap, CV_ERR_INVALID, "%s (%s).html: an html source needs a mapping", where,
                    name);
    if ((rc = dup_to(&src->name, name)))
        return rc;
    rc = src->kind == CV_SOURCE_URL ? dup_to(&src->location, loc)
                                    : resolve(&src->location, dir, loc);
    if (rc)
        return rc;
    if (src->format == CV_SOURCE_HTML) {
        const char **fields[12] = {
            &src->html.row_xpath,
            &src->html.id,
            &src->html.name,
            &src->html.country,
            &src->html.accreditation_body,
            &src->html.number,
            &src->html.standards,
            &src->html.status,
            &src->html.status_date,
            &src->html.valid_from,
            &src->html.valid_until,
            &src->html.aliases,
        };
        const char *k;
        json_t *v;
        json_object_foreach(html, k, v)
        {
            size_t i = 0;
            while (i < 12 && strcmp(html_keys[i], k))
                i++;
            if (i == 12)
                return fail(err, cap, CV_ERR_INVALID, "%s (%s).html.%s: not a mapping field", where,
                            name, k);
            if (!json_is_string(v))
                return fail(err, cap, CV_ERR_INVALID,
                            "%s (%s).html.%s: must be an XPath expression (a string)", where, name,
                            k);
        }
        for (size_t i = 0; i < 12; i++) {
            const char *x = str_member(html, html_keys[i]);
            if (!x)
                continue;
            if ((rc = dup_to(&src->html_strings[i], x)))
                return rc;
            *fields[i] = src->html_strings[i];
        }
    }
    src->state = calloc(1, sizeof(*src->state));
    if (!src->state)
        return CV_ERR_NOMEM;
    cv_bodies_init(&src->state->parsed);
    return CV_OK;
}

int cv_sources_load(struct cv_sources *s, const char *path, char *err, size_t cap)
{
    json_error_t jerr;
    json_t *root = NULL, *list;
    char *dir = NULL, *slash;
    int rc = CV_OK;

    memset(s, 0, sizeof(*s));
    root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        rc = fail(err, cap, jerr.line < 0 ? CV_ERR_IO : CV_ERR_PARSE, "%s:%d: %s", path, jerr.line,
                  jerr.text);
        goto out;
    }
    list = json_object_get(root, "sources");
    if (!json_is_array(list)) {
        rc = fail(err, cap, CV_ERR_INVALID, "%s: 'sources' must be an array", path);
        goto out;
    }
    if (json_array_size(list) > CV_SOURCES_MAX) {
        rc = fail(err, cap, CV_ERR_TOO_LARGE, "%s: more than %d sources", path, CV_SOURCES_MAX);
        goto out;
    }
    dir = strdup(path);
    if (!dir) {
        rc = CV_ERR_NOMEM;
        goto out;
    }
    slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    s->items = calloc(json_array_size(list) + 1, sizeof(*s->items));
    if (!s->items) {
        rc = CV_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < json_array_size(list); i++) {
        char where[48], inner[400] = "";
        snprintf(where, sizeof(where), "sources[%zu]", i);
        s->n = i + 1;
        rc = load_source(json_array_get(list, i), where, dir, &s->items[i], inner, sizeof(inner));
        if (rc) {
            fail(err, cap, rc, "%s: %s", path, rc == CV_ERR_NOMEM ? "out of memory" : inner);
            goto out;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->items[j].name, s->items[i].name) == 0) {
                rc = fail(err, cap, CV_ERR_INVALID, "%s: %s.name: '%s' is used twice", path, where,
                          s->items[i].name);
                goto out;
            }
    }
out:
    if (rc)
        cv_sources_cleanup(s);
    free(dir);
    json_decref(root);
    return rc;
}

/* ---- copying parsed bodies --------------------------------------------------------------- */

static int dup_strings(char **src, size_t n, char ***out)
{
    *out = NULL;
    if (!n)
        return CV_OK;
    *out = calloc(n, sizeof(**out));
    if (!*out)
        return CV_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        if (src[i] && !((*out)[i] = strdup(src[i])))
            return CV_ERR_NOMEM;
    return CV_OK;
}

static char *dup_or_null(const char *s, int *rc)
{
    char *p;
    if (!s)
        return NULL;
    p = strdup(s);
    if (!p)
        *rc = CV_ERR_NOMEM;
    return p;
}

/* Deep copies (the registry's put_* take ownership of what they are given). On failure the
 * partial copy is left for the caller to clean up. */
static int copy_cb(const struct cv_cb *in, struct cv_cb *out)
{
    int rc = CV_OK;
    memset(out, 0, sizeof(*out));
    out->id = dup_or_null(in->id, &rc);
    out->name = dup_or_null(in->name, &rc);
    out->country = dup_or_null(in->country, &rc);
    if (rc)
        return rc;
    out->n_aliases = in->n_aliases;
    rc = dup_strings(in->aliases, in->n_aliases, &out->aliases);
    if (rc || !in->n_accreditations)
        return rc;
    out->accreditations = calloc(in->n_accreditations, sizeof(*out->accreditations));
    if (!out->accreditations)
        return CV_ERR_NOMEM;
    out->n_accreditations = in->n_accreditations;
    for (size_t i = 0; i < in->n_accreditations && !rc; i++) {
        const struct cv_cb_accreditation *a = &in->accreditations[i];
        struct cv_cb_accreditation *b = &out->accreditations[i];
        *b = *a;
        b->accreditation_body = b->number = NULL;
        b->standards = NULL;
        b->accreditation_body = dup_or_null(a->accreditation_body, &rc);
        b->number = dup_or_null(a->number, &rc);
        if (!rc)
            rc = dup_strings(a->standards, a->n_standards, &b->standards);
    }
    return rc;
}

static int copy_ab(const struct cv_ab *in, struct cv_ab *out)
{
    int rc = CV_OK;
    memset(out, 0, sizeof(*out));
    out->acronym = dup_or_null(in->acronym, &rc);
    out->name = dup_or_null(in->name, &rc);
    out->economy = dup_or_null(in->economy, &rc);
    if (rc)
        return rc;
    out->n_aliases = in->n_aliases;
    rc = dup_strings(in->aliases, in->n_aliases, &out->aliases);
    if (rc || !in->n_recognitions)
        return rc;
    out->recognitions = malloc(in->n_recognitions * sizeof(*out->recognitions));
    if (!out->recognitions)
        return CV_ERR_NOMEM;
    memcpy(out->recognitions, in->recognitions, in->n_recognitions * sizeof(*in->recognitions));
    out->n_recognitions = in->n_recognitions;
    return CV_OK;
}

/* Merges copies of everything in 'from' into 'to' (same id or acronym replaces). */
static int merge_copy(struct cv_bodies *to, const struct cv_bodies *from)
{
    int rc = CV_OK;
    for (size_t i = 0; i < from->n_abs && !rc; i++) {
        struct cv_ab ab;
        rc = copy_ab(&from->abs[i], &ab);
        if (rc)
            cv_ab_cleanup(&ab);
        else
            rc = cv_bodies_put_ab(to, &ab);
    }
    for (size_t i = 0; i < from->n_cbs && !rc; i++) {
        struct cv_cb cb;
        rc = copy_cb(&from->cbs[i], &cb);
        if (rc)
            cv_cb_cleanup(&cb);
        else
            rc = cv_bodies_put_cb(to, &cb);
    }
    return rc;
}

/* ---- fetching ---------------------------------------------------------------------------- */

static int read_limited(const char *path, char **buf, size_t *len, char *err, size_t cap)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    size_t n = 0, alloc = 0, got;
    int rc = CV_OK;

    *buf = NULL;
    *len = 0;
    if (!f)
        return fail(err, cap, CV_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    for (;;) {
        if (alloc - n < 65536) {
            alloc = alloc ? alloc * 2 : 65536 + 1;
            char *grown = realloc(data, alloc);
            if (!grown) {
                rc = fail(err, cap, CV_ERR_NOMEM, "out of memory");
                goto out;
            }
            data = grown;
        }
        got = fread(data + n, 1, alloc - n - 1, f);
        n += got;
        if (n > CV_SOURCE_MAX_BYTES) {
            rc = fail(err, cap, CV_ERR_TOO_LARGE, "%s is larger than %d bytes", path,
                      CV_SOURCE_MAX_BYTES);
            goto out;
        }
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        rc = fail(err, cap, CV_ERR_IO, "cannot read %s", path);
        goto out;
    }
    data[n] = '\0';
    *buf = data;
    *len = n;
    data = NULL;
out:
    free(data);
    fclose(f);
    return rc;
}

/* Parses 'len' bytes of 'body' by the source's format into a fresh registry '*out'. */
static int parse_copy(struct cv_source *src, const struct cv_xml_schema *schema, const char *body,
                      size_t len, struct cv_bodies *out, char *err, size_t cap)
{
    int rc;
    cv_bodies_init(out);
    src->parses++;
    switch (src->format) {
    case CV_SOURCE_XML:
        rc = cv_xml_load_listing_mem(out, body, len, src->name, schema, err, cap);
        break;
    case CV_SOURCE_HTML:
        rc = cv_html_listing_load_mem(out, body, len, src->name, &src->html, err, cap);
        break;
    default:
        rc = cv_listing_load_json_mem(out, body, len, src->name, err, cap);
        break;
    }
    if (rc) {
        cv_bodies_cleanup(out);
        cv_bodies_init(out);
    }
    return rc;
}

/* Makes 'body' the source's good copy: parses it and, when it parses, replaces the state. */
static int adopt(struct cv_source *src, const struct cv_xml_schema *schema, const char *body,
                 size_t len, const char *etag, const char *last_modified, long long fetched_at,
                 char *err, size_t cap)
{
    struct cv_source_state *st = src->state;
    struct cv_bodies parsed;
    struct cv_sha256 h;
    int rc = parse_copy(src, schema, body, len, &parsed, err, cap);
    if (rc)
        return rc;
    state_clear(st);
    cv_bodies_cleanup(&st->parsed); /* empty after state_clear: nothing allocated */
    st->parsed = parsed;
    cv_sha256_init(&h);
    cv_sha256_update(&h, body, len);
    cv_sha256_final(&h, st->hash);
    st->etag = etag ? strdup(etag) : NULL;
    st->last_modified = last_modified ? strdup(last_modified) : NULL;
    st->fetched_at = fetched_at;
    st->have = true;
    return CV_OK;
}

/* The source failed for 'why': use the copy in memory, else the keeper's. */
static void fall_back(struct cv_source *src, const struct cv_refresh_env *env,
                      const struct cv_xml_schema *schema, struct cv_source_copy *kept,
                      bool have_kept, const char *why)
{
    char perr[CV_SOURCE_ERROR_MAX];
    struct cv_source_copy fetched = {0};

    snprintf(src->error, sizeof(src->error), "%s", why);
    if (src->state->have) {
        src->status = CV_SOURCE_STALE;
        src->fetched_at = src->state->fetched_at;
        return;
    }
    if (!have_kept && env->keeper && env->keeper->get &&
        env->keeper->get(env->keeper->ctx, src->name, &fetched) == CV_OK) {
        kept = &fetched;
        have_kept = true;
    }
    if (have_kept && adopt(src, schema, kept->body, kept->body_len, kept->etag, kept->last_modified,
                           kept->fetched_at, perr, sizeof(perr)) == CV_OK) {
        src->status = CV_SOURCE_STALE;
        src->fetched_at = src->state->fetched_at;
    } else {
        src->status = CV_SOURCE_FAILED;
        src->fetched_at = 0;
        if (have_kept)
            snprintf(src->error, sizeof(src->error),
                     "%.200s; the last good copy is unusable: %.200s", why, perr);
    }
    cv_source_copy_cleanup(&fetched);
}

static void keep(const struct cv_refresh_env *env, const struct cv_source *src, const char *body,
                 size_t len)
{
    struct cv_source_copy c = {(char *)body, len, src->state->etag, src->state->last_modified,
                               src->state->fetched_at};
    if (env->keeper && env->keeper->put)
        env->keeper->put(env->keeper->ctx, src->name, &c); /* best effort: memory still has it */
}

static void refresh_file(struct cv_source *src, const struct cv_refresh_env *env,
                         const struct cv_xml_schema *schema)
{
    char why[CV_SOURCE_ERROR_MAX];
    unsigned char hash[CV_SHA256_LEN];
    struct cv_sha256 h;
    char *body = NULL;
    size_t len;

    if (read_limited(src->location, &body, &len, why, sizeof(why))) {
        fall_back(src, env, schema, NULL, false, why);
        return;
    }
    cv_sha256_init(&h);
    cv_sha256_update(&h, body, len);
    cv_sha256_final(&h, hash);
    if (src->state->have && memcmp(hash, src->state->hash, sizeof(hash)) == 0) {
        src->status = CV_SOURCE_NOT_MODIFIED;
        src->fetched_at = src->state->fetched_at;
    } else if (adopt(src, schema, body, len, NULL, NULL, env->now, why, sizeof(why)) == CV_OK) {
        src->status = CV_SOURCE_OK;
        src->fetched_at = env->now;
        keep(env, src, body, len);
    } else {
        fall_back(src, env, schema, NULL, false, why);
    }
    free(body);
}

static void refresh_url(struct cv_source *src, const struct cv_refresh_env *env,
                        const struct cv_xml_schema *schema)
{
    struct cv_source_state *st = src->state;
    struct cv_source_copy kept = {0};
    struct cv_http_request req = {.method = "GET", .url = src->location};
    struct cv_http_response resp = {0};
    bool have_kept = false;
    char why[CV_SOURCE_ERROR_MAX];
    int rc;

    if (!env->http) {
        fall_back(src, env, schema, NULL, false, "no HTTP client configured");
        return;
    }
    if (!st->have && env->keeper && env->keeper->get)
        have_kept = env->keeper->get(env->keeper->ctx, src->name, &kept) == CV_OK;
    req.if_none_match = st->have ? st->etag : kept.etag;
    req.if_modified_since = st->have ? st->last_modified : kept.last_modified;
    rc = cv_http_do(env->http, &req, &resp);
    if (rc) {
        snprintf(why, sizeof(why), "%s", resp.error[0] ? resp.error : cv_strerror(rc));
        fall_back(src, env, schema, &kept, have_kept, why);
    } else if (resp.status == 304 && (st->have || have_kept)) {
        if (st->have || adopt(src, schema, kept.body, kept.body_len, kept.etag, kept.last_modified,
                              kept.fetched_at, why, sizeof(why)) == CV_OK) {
            src->status = CV_SOURCE_NOT_MODIFIED;
            src->fetched_at = st->fetched_at;
        } else {
            src->status = CV_SOURCE_FAILED;
            src->fetched_at = 0;
            snprintf(src->error, sizeof(src->error),
                     "not modified, but the last good copy is "
                     "unusable: %.300s",
                     why);
        }
    } else if (resp.status == 200) {
        if (adopt(src, schema, resp.body ? resp.body : "", resp.body_len, resp.etag,
                  resp.last_modified, env->now, why, sizeof(why)) == CV_OK) {
            src->status = CV_SOURCE_OK;
            src->fetched_at = env->now;
            keep(env, src, resp.body ? resp.body : "", resp.body_len);
        } else {
            fall_back(src, env, schema, &kept, have_kept, why);
        }
    } else {
        snprintf(why, sizeof(why), "HTTP status %ld", resp.status);
        fall_back(src, env, schema, &kept, have_kept, why);
    }
    cv_http_response_cleanup(&resp);
    cv_source_copy_cleanup(&kept);
}

int cv_sources_refresh(struct cv_sources *s, const struct cv_refresh_env *env,
                       struct cv_reference *out, size_t *n_unusable, char *err, size_t cap)
{
    struct cv_sha256 h;
    unsigned char d[CV_SHA256_LEN];
    size_t unusable = 0;
    int rc;

    if (n_unusable)
        *n_unusable = 0;
    rc = cv_reference_load(out, env->config_dir, env->listings, env->n_listings, err, cap);
    if (rc)
        return rc;
    cv_sha256_init(&h);
    cv_sha256_update(&h, out->version, strlen(out->version) + 1);
    for (size_t i = 0; i < s->n; i++) {
        struct cv_source *src = &s->items[i];
        src->error[0] = '\0';
        if (env->kept_only)
            fall_back(src, env, out->schema, NULL, false, "not fetched: the kept copy is used");
        else if (src->kind == CV_SOURCE_URL)
            refresh_url(src, env, out->schema);
        else
            refresh_file(src, env, out->schema);
        cv_sha256_update(&h, src->name, strlen(src->name) + 1);
        if (src->status == CV_SOURCE_FAILED) {
            unusable++;
            cv_sha256_update(&h, "-", 2);
            continue;
        }
        cv_sha256_update(&h, src->state->hash, sizeof(src->state->hash));
        rc = merge_copy(&out->bodies, &src->state->parsed);
        if (rc) {
            fail(err, cap, rc, "%s: cannot merge (%s)", src->name, cv_strerror(rc));
            cv_reference_cleanup(out);
            return rc;
        }
    }
    cv_sha256_final(&h, d);
    for (int i = 0; i < 8; i++)
        snprintf(out->version + 2 * i, 3, "%02x", d[i]);
    if (n_unusable)
        *n_unusable = unusable;
    return CV_OK;
}

int cv_sources_http_client_new(const struct cv_sources *s, const struct cv_http_client_config *cfg,
                               struct cv_http_client **out, char *err, size_t cap)
{
    struct cv_http_client_config c = {0};
    const char **origins;
    size_t n = 0;
    int rc;

    *out = NULL;
    origins = calloc(s->n + 1, sizeof(*origins));
    if (!origins)
        return fail(err, cap, CV_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < s->n; i++)
        if (s->items[i].kind == CV_SOURCE_URL)
            origins[n++] = s->items[i].location; /* the client keeps scheme, host and port */
    if (n) {
        if (cfg)
            c = *cfg;
        c.allowed_origins = origins;
        c.n_allowed_origins = n;
        rc = cv_http_client_new(&c, out, err, cap);
    } else {
        rc = CV_OK;
    }
    free(origins);
    return rc;
}

/* "2026-04-01T10:00:00Z" */
static void iso_time(long long t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, cap, "%lld", t);
}

static void age(long long secs, char *buf, size_t cap)
{
    if (secs < 0)
        secs = 0;
    if (secs < 120)
        snprintf(buf, cap, "%lld s ago", secs);
    else if (secs < 7200)
        snprintf(buf, cap, "%lld min ago", secs / 60);
    else if (secs < 172800)
        snprintf(buf, cap, "%lld h ago", secs / 3600);
    else
        snprintf(buf, cap, "%lld days ago", secs / 86400);
}

void cv_source_describe(const struct cv_source *src, long long now, char *buf, size_t cap)
{
    char at[32], ago[32];
    iso_time(src->fetched_at, at, sizeof(at));
    age(now - src->fetched_at, ago, sizeof(ago));
    switch (src->status) {
    case CV_SOURCE_OK:
        snprintf(buf, cap, "source %s: ok (fetched at %s)", src->name, at);
        break;
    case CV_SOURCE_NOT_MODIFIED:
        snprintf(buf, cap, "source %s: not modified (copy fetched at %s, %s)", src->name, at, ago);
        break;
    case CV_SOURCE_STALE:
        snprintf(buf, cap, "source %s failed (%s); using the copy fetched at %s (%s)", src->name,
                 src->error, at, ago);
        break;
    case CV_SOURCE_FAILED:
        snprintf(buf, cap, "source %s failed (%s); no good copy to use", src->name, src->error);
        break;
    default:
        snprintf(buf, cap, "source %s: not refreshed yet", src->name);
        break;
    }
}

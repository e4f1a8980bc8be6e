/* Registry connectors (SPEC 6): config loading, the generic JSON connector, the CertSearch-shaped
 * connector, the result cache in Redis, and per-connector circuit breaker, concurrency and rate
 * limits. The HTTP goes through cv_http_do; nothing here includes curl. */
#include "certvet/registry.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "certvet/error.h"
#include "certvet/http_client.h"
#include "certvet/names.h"

#define NUM_KEY_MAX   (CV_CERT_NUMBER_MAX * 4 + 1)
#define CACHE_KEY_MAX 240
#define URL_MAX       2048
#define TEXT_MAX      256

enum conn_type { CONN_GENERIC = 0, CONN_CERTSEARCH };

struct status_entry {
    char *from;                 /* the registry's word */
    enum cv_registry_status to; /* ours */
};

struct connector {
    char *name;
    enum conn_type type;
    bool any_cb;    /* "*" in cbs */
    char **cbs;     /* ids and names as written */
    char **cb_keys; /* cv_name_key of each */
    size_t n_cbs;
    char *url;         /* generic: template with {number}, {cb}, {cb_id}, {cb_name} */
    char *base;        /* certsearch: API base URL without trailing '/' */
    char *origin;      /* scheme://host[:port] */
    char *auth_header; /* header name, or NULL */
    char *auth_env;    /* environment variable holding the secret, or NULL */
    char *auth_value;  /* "Name: prefix+secret", read at load time; NULL when unset */
    char *record_ptr;  /* generic: JSON pointer of the record ("" = root) */
    char *ptr_status, *ptr_holder, *ptr_standard, *ptr_expiry;
    struct status_entry *smap;
    size_t n_smap;
    int match_rate;
    int ttl_found, ttl_not_found;
    int timeout_ms, connect_timeout_ms, max_retries, backoff_ms;
    int breaker_failures, breaker_open_ms;
    int max_concurrent;
    double rate_per_s; /* 0: no rate limit */

    /* Runtime state, under 'mu'. */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int in_flight;
    int consecutive_failures;
    bool open;         /* breaker open (or half-open once open_until has passed) */
    bool trial;        /* a half-open trial request is under way */
    double open_until; /* monotonic seconds */
    double tokens;     /* token bucket */
    double tokens_at;  /* when 'tokens' was last refilled */
    struct cv_registry_stats stats;
};

struct cv_registry_set {
    struct connector *c;
    size_t n;
    const char **origins; /* borrowed from the connectors */
    size_t n_origins;
};

/* What one lookup found, before it is copied into the caller's buffer. */
struct outcome {
    enum cv_registry_status st;
    char holder[TEXT_MAX];
    char standard[TEXT_MAX];
    cv_date expiry;
    char error[TEXT_MAX];
    bool requested; /* a request went out: an UNAVAILABLE then counts for the breaker */
};

/* ---- small helpers -------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void set_err(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t cap, const char *fmt, ...)
{
    if (!err || cap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

static void fail(struct outcome *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct outcome *o, const char *fmt, ...)
{
    o->st = CV_REG_UNAVAILABLE;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->error, sizeof o->error, fmt, ap);
    va_end(ap);
}

static void copy_text(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* Upper case, letters and digits only: "QMS-2021/0042 a" -> "QMS20210042A". */
static void number_key(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; s && *s && n + 1 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (isalnum(ch))
            out[n++] = (char)toupper(ch);
    }
    out[n] = '\0';
}

/* Percent-encodes everything but RFC 3986 unreserved characters. */
static bool url_append_encoded(char *out, size_t cap, size_t *n, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
            if (*n + 1 >= cap)
                return false;
            out[(*n)++] = (char)ch;
        } else {
            if (*n + 3 >= cap)
                return false;
            out[(*n)++] = '%';
            out[(*n)++] = hex[ch >> 4];
            out[(*n)++] = hex[ch & 15];
        }
    }
    out[*n] = '\0';
    return true;
}

static const char *json_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* RFC 6901 JSON pointer ("" is the whole document); NULL when absent. */
static json_t *json_pointer(json_t *root, const char *ptr)
{
    json_t *cur = root;
    if (!ptr || !*ptr)
        return root;
    if (*ptr != '/')
        return NULL;
    const char *p = ptr;
    char tok[256];
    while (cur && *p == '/') {
        p++;
        size_t n = 0;
        while (*p && *p != '/' && n + 1 < sizeof tok) {
            if (p[0] == '~' && p[1] == '0') {
                tok[n++] = '~';
                p += 2;
            } else if (p[0] == '~' && p[1] == '1') {
                tok[n++] = '/';
                p += 2;
            } else {
                tok[n++] = *p++;
            }
        }
        tok[n] = '\0';
        if (json_is_object(cur)) {
            cur = json_object_get(cur, tok);
        } else if (json_is_array(cur)) {
            char *end;
            errno = 0;
            unsigned long i = strtoul(tok, &end, 10);
            if (n == 0 || *end || errno)
                return NULL;
            cur = json_array_get(cur, i);
        } else {
            return NULL;
        }
    }
    return cur;
}

/* Dates as registries write them: YYYY-MM-DD, YYYYMMDD, or an ISO timestamp. */
static cv_date parse_date_loose(const char *s)
{
    cv_date d;
    if (!s)
        return CV_DATE_NONE;
    size_t len = strlen(s);
    if (cv_date_parse(s, len, &d) == CV_OK)
        return d;
    if (len > 10 && (s[10] == 'T' || s[10] == ' ') && cv_date_parse(s, 10, &d) == CV_OK)
        return d;
    return CV_DATE_NONE;
}

static bool status_word(const char *s, enum cv_registry_status *out)
{
    static const struct {
        const char *word;
        enum cv_registry_status st;
    } words[] = {
        {"active", CV_REG_ACTIVE},       {"suspended", CV_REG_SUSPENDED},
        {"withdrawn", CV_REG_WITHDRAWN}, {"cancelled", CV_REG_WITHDRAWN},
        {"canceled", CV_REG_WITHDRAWN},  {"expired", CV_REG_EXPIRED},
        {"not_found", CV_REG_NOT_FOUND},
    };
    for (size_t i = 0; s && i < sizeof words / sizeof words[0]; i++) {
        if (strcasecmp(s, words[i].word) == 0) {
            *out = words[i].st;
            return true;
        }
    }
    return false;
}

const char *cv_registry_status_name(enum cv_registry_status s)
{
    switch (s) {
    case CV_REG_NOT_CONSULTED:
        return "not_consulted";
    case CV_REG_ACTIVE:
        return "active";
    case CV_REG_SUSPENDED:
        return "suspended";
    case CV_REG_WITHDRAWN:
        return "withdrawn";
    case CV_REG_EXPIRED:
        return "expired";
    case CV_REG_NOT_FOUND:
        return "not_found";
    case CV_REG_UNAVAILABLE:
        return "unavailable";
    }
    return "unknown";
}

/* ---- configuration -------------------------------------------------------------------- */

static void connector_cleanup(struct connector *c)
{
    free(c->name);
    for (size_t i = 0; i < c->n_cbs; i++) {
        free(c->cbs[i]);
        free(c->cb_keys[i]);
    }
    free(c->cbs);
    free(c->cb_keys);
    free(c->url);
    free(c->base);
    free(c->origin);
    free(c->auth_header);
    free(c->auth_env);
    free(c->auth_value);
    free(c->record_ptr);
    free(c->ptr_status);
    free(c->ptr_holder);
    free(c->ptr_standard);
    free(c->ptr_expiry);
    for (size_t i = 0; i < c->n_smap; i++)
        free(c->smap[i].from);
    free(c->smap);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cond);
}

void cv_registry_set_free(struct cv_registry_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        connector_cleanup(&set->c[i]);
    free(set->c);
    free(set->origins);
    free(set);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* "scheme://host[:port]" of 'url' (http or https, no placeholder in it), malloc'd; NULL if bad. */
static char *url_origin(const char *url)
{
    const char *p;
    if (strncmp(url, "https://", 8) == 0)
        p = url + 8;
    else if (strncmp(url, "http://", 7) == 0)
        p = url + 7;
    else
        return NULL;
    const char *end = p + strcspn(p, "/?#");
    if (end == p)
        return NULL;
    for (const char *q = p; q < end; q++)
        if (*q == '{' || *q == '}' || *q == '@' || isspace((unsigned char)*q))
            return NULL;
    return strndup(url, (size_t)(end - url));
}

/* Reads an optional integer field in [lo, hi] into '*out' (left alone when absent). */
static bool opt_int(json_t *o, const char *key, long lo, long hi, int *out, const char *name,
                    char *err, size_t cap)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return true;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        set_err(err, cap, "connector '%s': field '%s': an integer in %ld..%ld expected", name, key,
                lo, hi);
        return false;
    }
    *out = (int)json_integer_value(v);
    return true;
}

static bool opt_str(json_t *o, const char *key, char **out, const char *name, char *err, size_t cap)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return true;
    if (!json_is_string(v)) {
        set_err(err, cap, "connector '%s': field '%s': a string expected", name, key);
        return false;
    }
    *out = strdup(json_string_value(v));
    return *out != NULL;
}

static int parse_connector(json_t *o, size_t idx, struct connector *c, char *err, size_t cap)
{
    char idxname[32];
    snprintf(idxname, sizeof idxname, "#%zu", idx + 1);
    const char *name = json_str(o, "name");
    if (!json_is_object(o)) {
        set_err(err, cap, "connector %s: an object expected", idxname);
        return CV_ERR_INVALID;
    }
    if (!name || !*name || strlen(name) > 64 || strchr(name, ':')) {
        set_err(err, cap,
                "connector %s: field 'name': a string of 1..64 characters without ':' "
                "expected",
                idxname);
        return CV_ERR_INVALID;
    }
    c->name = strdup(name);
    if (!c->name)
        return CV_ERR_NOMEM;

    const char *type = json_str(o, "type");
    if (!type || strcmp(type, "generic") == 0) {
        c->type = CONN_GENERIC;
    } else if (strcmp(type, "certsearch") == 0) {
        c->type = CONN_CERTSEARCH;
    } else {
        set_err(err, cap, "connector '%s': field 'type': \"generic\" or \"certsearch\" expected",
                name);
        return CV_ERR_INVALID;
    }

    json_t *cbs = json_object_get(o, "cbs");
    if (!json_is_array(cbs) || json_array_size(cbs) == 0) {
        set_err(err, cap,
                "connector '%s': field 'cbs': a non-empty array of CB ids or names "
                "(or \"*\") expected",
                name);
        return CV_ERR_INVALID;
    }
    size_t n = json_array_size(cbs);
    c->cbs = calloc(n, sizeof *c->cbs);
    c->cb_keys = calloc(n, sizeof *c->cb_keys);
    if (!c->cbs || !c->cb_keys)
        return CV_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(cbs, i));
        if (!s || !*s) {
            set_err(err, cap, "connector '%s': field 'cbs': entry %zu is not a non-empty string",
                    name, i + 1);
            return CV_ERR_INVALID;
        }
        char key[CV_NAME_KEY_MAX];
        cv_name_key(s, key);
        c->cbs[i] = strdup(s);
        c->cb_keys[i] = strdup(key);
        c->n_cbs++;
        if (!c->cbs[i] || !c->cb_keys[i])
            return CV_ERR_NOMEM;
        if (strcmp(s, "*") == 0)
            c->any_cb = true;
    }

    const char *urlkey = c->type == CONN_GENERIC ? "url" : "base_url";
    const char *url = json_str(o, urlkey);
    if (!url || !(c->origin = url_origin(url))) {
        set_err(err, cap, "connector '%s': field '%s': an http(s) URL with a literal host expected",
                name, urlkey);
        return CV_ERR_INVALID;
    }
    if (c->type == CONN_GENERIC) {
        c->url = strdup(url);
        if (!c->url)
            return CV_ERR_NOMEM;
    } else {
        size_t len = strlen(url);
        while (len > 0 && url[len - 1] == '/')
            len--;
        c->base = strndup(url, len);
        if (!c->base)
            return CV_ERR_NOMEM;
    }

    /* Authentication: the secret only ever comes from the environment. */
    if (json_object_get(o, "api_key") || json_object_get(o, "auth_value")) {
        set_err(err, cap,
                "connector '%s': a key in the file is refused: name an environment "
                "variable in 'api_key_env' / 'auth_env'",
                name);
        return CV_ERR_INVALID;
    }
    char *prefix = NULL;
    if (!opt_str(o, c->type == CONN_GENERIC ? "auth_env" : "api_key_env", &c->auth_env, name, err,
                 cap) ||
        !opt_str(o, "auth_header", &c->auth_header, name, err, cap) ||
        !opt_str(o, "auth_prefix", &prefix, name, err, cap)) {
        free(prefix);
        return CV_ERR_INVALID;
    }
    if (c->type == CONN_CERTSEARCH && !c->auth_header)
        c->auth_header = strdup("x-http-authorization");
    if (c->auth_env && !c->auth_header) {
        free(prefix);
        set_err(err, cap, "connector '%s': field 'auth_header': needed with 'auth_env'", name);
        return CV_ERR_INVALID;
    }
    if (c->auth_env) {
        const char *secret = getenv(c->auth_env);
        if (secret && *secret) {
            size_t len =
                strlen(c->auth_header) + strlen(secret) + (prefix ? strlen(prefix) : 0) + 3;
            c->auth_value = malloc(len);
            if (!c->auth_value) {
                free(prefix);
                return CV_ERR_NOMEM;
            }
            snprintf(c->auth_value, len, "%s: %s%s", c->auth_header, prefix ? prefix : "", secret);
            if (strpbrk(c->auth_value, "\r\n")) {
                free(prefix);
                set_err(err, cap, "connector '%s': environment variable %s holds a line break",
                        name, c->auth_env);
                return CV_ERR_INVALID;
            }
        }
    }
    free(prefix);

    if (c->type == CONN_GENERIC) {
        json_t *fields = json_object_get(o, "fields");
        if (!json_is_object(fields)) {
            set_err(err, cap,
                    "connector '%s': field 'fields': an object of JSON pointers "
                    "(status, holder, standard, expiry) expected",
                    name);
            return CV_ERR_INVALID;
        }
        if (!opt_str(o, "record", &c->record_ptr, name, err, cap))
            return CV_ERR_INVALID;
        struct {
            const char *key;
            char **dst;
        } ptrs[] = {{"status", &c->ptr_status},
                    {"holder", &c->ptr_holder},
                    {"standard", &c->ptr_standard},
                    {"expiry", &c->ptr_expiry}};
        for (size_t i = 0; i < sizeof ptrs / sizeof ptrs[0]; i++) {
            json_t *v = json_object_get(fields, ptrs[i].key);
            const char *s = json_string_value(v);
            if ((v && !s) || (s && *s && *s != '/')) {
                set_err(err, cap,
                        "connector '%s': field 'fields.%s': a JSON pointer (\"/a/b\") "
                        "expected",
                        name, ptrs[i].key);
                return CV_ERR_INVALID;
            }
            *ptrs[i].dst = dup_or_null(s);
        }
        if (!c->ptr_status) {
            set_err(err, cap, "connector '%s': field 'fields.status': required", name);
            return CV_ERR_INVALID;
        }
        if (c->record_ptr && *c->record_ptr && *c->record_ptr != '/') {
            set_err(err, cap, "connector '%s': field 'record': a JSON pointer expected", name);
            return CV_ERR_INVALID;
        }
        json_t *smap = json_object_get(o, "status_map");
        if (smap && !json_is_object(smap)) {
            set_err(err, cap, "connector '%s': field 'status_map': an object expected", name);
            return CV_ERR_INVALID;
        }
        if (smap) {
            c->smap = calloc(json_object_size(smap) + 1, sizeof *c->smap);
            if (!c->smap)
                return CV_ERR_NOMEM;
            const char *k;
            json_t *v;
            json_object_foreach(smap, k, v)
            {
                enum cv_registry_status st;
                if (!status_word(json_string_value(v), &st)) {
                    set_err(err, cap,
                            "connector '%s': field 'status_map.%s': one of active, "
                            "suspended, withdrawn, cancelled, expired, not_found expected",
                            name, k);
                    return CV_ERR_INVALID;
                }
                c->smap[c->n_smap].from = strdup(k);
                c->smap[c->n_smap].to = st;
                if (!c->smap[c->n_smap++].from)
                    return CV_ERR_NOMEM;
            }
        }
    }

    c->match_rate = 100;
    c->ttl_found = CV_REGISTRY_TTL_FOUND;
    c->ttl_not_found = CV_REGISTRY_TTL_NOTFOUND;
    c->timeout_ms = 10000;
    c->connect_timeout_ms = 3000;
    c->max_retries = 2;
    c->backoff_ms = 200;
    c->breaker_failures = 5;
    c->breaker_open_ms = 60000;
    c->max_concurrent = 8;
    int rate = 0;
    json_t *breaker = json_object_get(o, "breaker");
    if (breaker && !json_is_object(breaker)) {
        set_err(err, cap, "connector '%s': field 'breaker': an object expected", name);
        return CV_ERR_INVALID;
    }
    int open_s = -1;
    if (!opt_int(o, "match_rate", 80, 100, &c->match_rate, name, err, cap) ||
        !opt_int(o, "ttl_found_s", 1, 90 * 86400, &c->ttl_found, name, err, cap) ||
        !opt_int(o, "ttl_not_found_s", 1, 30 * 86400, &c->ttl_not_found, name, err, cap) ||
        !opt_int(o, "timeout_ms", 100, 120000, &c->timeout_ms, name, err, cap) ||
        !opt_int(o, "connect_timeout_ms", 100, 60000, &c->connect_timeout_ms, name, err, cap) ||
        !opt_int(o, "retries", 0, 10, &c->max_retries, name, err, cap) ||
        !opt_int(o, "backoff_ms", 1, 60000, &c->backoff_ms, name, err, cap) ||
        !opt_int(o, "max_concurrent", 1, 1000, &c->max_concurrent, name, err, cap) ||
        !opt_int(o, "rate_per_s", 0, 10000, &rate, name, err, cap) ||
        (breaker && !opt_int(breaker, "failures", 1, 1000, &c->breaker_failures, name, err, cap)) ||
        (breaker && !opt_int(breaker, "open_s", 0, 86400, &open_s, name, err, cap)) ||
        (breaker && !opt_int(breaker, "open_ms", 1, 86400000, &c->breaker_open_ms, name, err, cap)))
        return CV_ERR_INVALID;
    if (c->match_rate % 5) {
        set_err(err, cap, "connector '%s': field 'match_rate': 80..100 in steps of 5", name);
        return CV_ERR_INVALID;
    }
    if (open_s >= 0)
        c->breaker_open_ms = open_s * 1000;
    if (c->connect_timeout_ms > c->timeout_ms)
        c->connect_timeout_ms = c->timeout_ms;
    c->rate_per_s = rate;
    c->tokens = rate > 0 ? rate : 0;
    c->tokens_at = now_s();
    return CV_OK;
}

int cv_registry_set_parse(const char *json, size_t len, struct cv_registry_set **out, char *err,
                          size_t cap)
{
    int rc = CV_OK;
    json_error_t je;
    struct cv_registry_set *set = NULL;
    json_t *root = NULL;
    *out = NULL;
    if (len > CV_REGISTRY_CONFIG_MAX) {
        set_err(err, cap, "registries: larger than %d bytes", CV_REGISTRY_CONFIG_MAX);
        return CV_ERR_TOO_LARGE;
    }
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        set_err(err, cap, "registries: line %d: %s", je.line, je.text);
        return CV_ERR_PARSE;
    }
    json_t *list = json_object_get(root, "connectors");
    if (!json_is_array(list)) {
        set_err(err, cap, "registries: field 'connectors': an array expected");
        rc = CV_ERR_INVALID;
        goto out;
    }
    size_t n = json_array_size(list);
    if (n > CV_REGISTRY_MAX) {
        set_err(err, cap, "registries: more than %d connectors", CV_REGISTRY_MAX);
        rc = CV_ERR_TOO_LARGE;
        goto out;
    }
    set = calloc(1, sizeof *set);
    if (!set || !(set->c = calloc(n ? n : 1, sizeof *set->c)) ||
        !(set->origins = calloc(n ? n : 1, sizeof *set->origins))) {
        rc = CV_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct connector *c = &set->c[i];
        pthread_mutex_init(&c->mu, NULL);
        pthread_cond_init(&c->cond, NULL);
        set->n++;
        rc = parse_connector(json_array_get(list, i), i, c, err, cap);
        if (rc)
            goto out;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(set->c[j].name, c->name) == 0) {
                set_err(err, cap, "connector '%s': field 'name': used twice", c->name);
                rc = CV_ERR_INVALID;
                goto out;
            }
        }
        bool seen = false;
        for (size_t j = 0; j < set->n_origins; j++)
            seen = seen || strcmp(set->origins[j], c->origin) == 0;
        if (!seen)
            set->origins[set->n_origins++] = c->origin;
    }
out:
    json_decref(root);
    if (rc == CV_ERR_NOMEM)
        set_err(err, cap, "registries: out of memory");
    if (rc) {
        cv_registry_set_free(set);
        return rc;
    }
    *out = set;
    return CV_OK;
}

int cv_registry_set_load(const char *path, struct cv_registry_set **out, char *err, size_t cap)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_err(err, cap, "%s: %s", path, strerror(errno));
        return CV_ERR_IO;
    }
    char *data = malloc(CV_REGISTRY_CONFIG_MAX + 1);
    if (!data) {
        fclose(f);
        return CV_ERR_NOMEM;
    }
    size_t len = fread(data, 1, CV_REGISTRY_CONFIG_MAX + 1, f);
    bool bad = ferror(f);
    fclose(f);
    int rc;
    if (bad) {
        set_err(err, cap, "%s: read error", path);
        rc = CV_ERR_IO;
    } else {
        rc = cv_registry_set_parse(data, len, out, err, cap);
    }
    free(data);
    return rc;
}

size_t cv_registry_set_origins(const struct cv_registry_set *set, const char *const **origins)
{
    *origins = set ? (const char *const *)set->origins : NULL;
    return set ? set->n_origins : 0;
}

int cv_registry_stats(struct cv_registry_set *set, const char *name, struct cv_registry_stats *out)
{
    for (size_t i = 0; set && i < set->n; i++) {
        struct connector *c = &set->c[i];
        if (strcmp(c->name, name) == 0) {
            pthread_mutex_lock(&c->mu);
            *out = c->stats;
            out->breaker_open = c->open ? 1 : 0;
            pthread_mutex_unlock(&c->mu);
            return CV_OK;
        }
    }
    return CV_ERR_NOT_FOUND;
}

/* ---- connector selection and cache ---------------------------------------------------- */

static struct connector *pick_connector(struct cv_registry_set *set,
                                        const struct cv_certificate *cert)
{
    char key[CV_NAME_KEY_MAX] = "";
    if (cert->cb_name)
        cv_name_key(cert->cb_name, key);
    for (size_t i = 0; set && i < set->n; i++) {
        struct connector *c = &set->c[i];
        if (c->any_cb)
            return c;
        for (size_t j = 0; j < c->n_cbs; j++) {
            if (cert->cb_id && strcmp(cert->cb_id, c->cbs[j]) == 0)
                return c;
            if (*key && strcmp(key, c->cb_keys[j]) == 0)
                return c;
        }
    }
    return NULL;
}

static void cache_key(const struct connector *c, const struct cv_certificate *cert, char *out,
                      size_t cap)
{
    char num[NUM_KEY_MAX], cb[CV_NAME_KEY_MAX] = "";
    number_key(cert->certificate_number, num, sizeof num);
    if (cert->cb_id && *cert->cb_id)
        snprintf(cb, sizeof cb, "%s", cert->cb_id);
    else if (cert->cb_name)
        cv_name_key(cert->cb_name, cb);
    for (char *p = cb; *p; p++)
        if (*p == ' ' || *p == ':')
            *p = '_';
    snprintf(out, cap, "reg:%.64s:%.80s:%.80s", c->name, num, cb);
}

static bool cache_read(struct cv_store *store, const char *key, struct outcome *o)
{
    char *val = NULL;
    if (!store || cv_store_cache_get(store, key, &val) != CV_OK)
        return false;
    json_t *v = json_loads(val, 0, NULL);
    free(val);
    enum cv_registry_status st;
    bool ok = v && status_word(json_str(v, "status"), &st);
    if (ok) {
        o->st = st;
        copy_text(o->holder, sizeof o->holder, json_str(v, "holder"));
        copy_text(o->standard, sizeof o->standard, json_str(v, "standard"));
        o->expiry = parse_date_loose(json_str(v, "expiry"));
    }
    json_decref(v);
    return ok;
}

static void cache_write(struct cv_store *store, const struct connector *c, const char *key,
                        const struct outcome *o)
{
    if (!store ||
        (o->st != CV_REG_NOT_FOUND && o->st != CV_REG_ACTIVE && o->st != CV_REG_SUSPENDED &&
         o->st != CV_REG_WITHDRAWN && o->st != CV_REG_EXPIRED))
        return;
    char date[CV_DATE_STRLEN] = "";
    if (o->expiry != CV_DATE_NONE)
        cv_date_format(o->expiry, date);
    json_t *v = json_pack("{s:s, s:s, s:s, s:s}", "status", cv_registry_status_name(o->st),
                          "holder", o->holder, "standard", o->standard, "expiry", date);
    char *s = v ? json_dumps(v, JSON_COMPACT) : NULL;
    if (s)
        (void)cv_store_cache_put(store, key, s,
                                 o->st == CV_REG_NOT_FOUND ? c->ttl_not_found : c->ttl_found);
    free(s);
    json_decref(v);
}

/* ---- breaker and limits --------------------------------------------------------------- */

/* May a request go out? Sets '*trial' when this one is the half-open trial. */
static bool breaker_enter(struct connector *c, bool *trial)
{
    bool ok = true;
    *trial = false;
    pthread_mutex_lock(&c->mu);
    if (c->open) {
        if (c->trial || now_s() < c->open_until) {
            ok = false;
            c->stats.short_circuits++;
        } else {
            c->trial = true;
            *trial = true;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return ok;
}

static void breaker_leave(struct connector *c, bool trial, bool failed)
{
    pthread_mutex_lock(&c->mu);
    if (trial)
        c->trial = false;
    if (!failed) {
        c->consecutive_failures = 0;
        c->open = false;
    } else {
        c->consecutive_failures++;
        if (trial || c->consecutive_failures >= c->breaker_failures) {
            c->open = true;
            c->open_until = now_s() + c->breaker_open_ms / 1000.0;
        }
    }
    pthread_mutex_unlock(&c->mu);
}

/* Takes a concurrency slot and a rate token, waiting at most the connector's timeout. */
static bool limits_enter(struct connector *c, struct outcome *o)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    long long ns = deadline.tv_nsec + (long long)c->timeout_ms * 1000000LL;
    deadline.tv_sec += (time_t)(ns / 1000000000LL);
    deadline.tv_nsec = (long)(ns % 1000000000LL);

    pthread_mutex_lock(&c->mu);
    while (c->in_flight >= c->max_concurrent) {
        if (pthread_cond_timedwait(&c->cond, &c->mu, &deadline) == ETIMEDOUT &&
            c->in_flight >= c->max_concurrent) {
            pthread_mutex_unlock(&c->mu);
            fail(o, "%s: more than %d concurrent lookups for %d ms", c->name, c->max_concurrent,
                 c->timeout_ms);
            return false;
        }
    }
    double wait = 0;
    if (c->rate_per_s > 0) {
        double t = now_s();
        c->tokens += (t - c->tokens_at) * c->rate_per_s;
        if (c->tokens > c->rate_per_s)
            c->tokens = c->rate_per_s;
        c->tokens_at = t;
        c->tokens -= 1;
        if (c->tokens < 0) {
            wait = -c->tokens / c->rate_per_s;
            if (wait * 1000 > c->timeout_ms) {
                c->tokens += 1;
                pthread_mutex_unlock(&c->mu);
                fail(o, "%s: rate limit of %g requests per second", c->name, c->rate_per_s);
                return false;
            }
        }
    }
    c->in_flight++;
    pthread_mutex_unlock(&c->mu);
    if (wait > 0) {
        struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
        while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
            ;
    }
    return true;
}

static void limits_leave(struct connector *c)
{
    pthread_mutex_lock(&c->mu);
    c->in_flight--;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->mu);
}

/* ---- HTTP ----------------------------------------------------------------------------- */

/* One request; on CV_OK 'resp' holds an HTTP answer (any status). Otherwise 'o' says why. */
static int http_call(struct cv_http_client *hc, struct connector *c, const char *method,
                     const char *url, const char *body, struct cv_http_response *resp,
                     struct outcome *o)
{
    struct cv_http_request req = {0};
    size_t nh = 0;
    req.method = method;
    req.url = url;
    req.headers[nh++] = "Accept: application/json";
    if (body) {
        req.headers[nh++] = "Content-Type: application/json";
        req.body = body;
        req.body_len = strlen(body);
    }
    if (c->auth_value)
        req.headers[nh++] = c->auth_value;
    o->requested = true;
    int rc = cv_http_do(hc, &req, resp);
    if (rc == CV_ERR_TOO_LARGE)
        fail(o, "%s: answer too large", c->name);
    else if (rc == CV_ERR_HOSTILE)
        fail(o, "%s: URL refused (not on the allow-list)", c->name);
    else if (rc)
        fail(o, "%s: %s", c->name, resp->error[0] ? resp->error : cv_strerror(rc));
    return rc;
}

static void fail_status(struct connector *c, long status, struct outcome *o)
{
    if (status == 429)
        fail(o, "%s: rate limited by the registry (HTTP 429)", c->name);
    else
        fail(o, "%s: HTTP %ld", c->name, status);
}

/* ---- generic connector ---------------------------------------------------------------- */

static bool expand_template(const struct connector *c, const struct cv_certificate *cert, char *out,
                            size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (const char *p = c->url; *p;) {
        const char *val = NULL;
        size_t skip = 0;
        if (strncmp(p, "{number}", 8) == 0) {
            val = cert->certificate_number, skip = 8;
        } else if (strncmp(p, "{cb}", 4) == 0) {
            val = cert->cb_id ? cert->cb_id : cert->cb_name, skip = 4;
        } else if (strncmp(p, "{cb_id}", 7) == 0) {
            val = cert->cb_id, skip = 7;
        } else if (strncmp(p, "{cb_name}", 9) == 0) {
            val = cert->cb_name, skip = 9;
        }
        if (skip) {
            if (!url_append_encoded(out, cap, &n, val ? val : ""))
                return false;
            p += skip;
        } else {
            if (n + 1 >= cap)
                return false;
            out[n++] = *p++;
            out[n] = '\0';
        }
    }
    return true;
}

static void map_status(const struct connector *c, const char *word, struct outcome *o)
{
    for (size_t i = 0; i < c->n_smap; i++) {
        if (strcmp(word, c->smap[i].from) == 0) {
            o->st = c->smap[i].to;
            return;
        }
    }
    for (size_t i = 0; i < c->n_smap; i++) {
        if (strcasecmp(word, c->smap[i].from) == 0) {
            o->st = c->smap[i].to;
            return;
        }
    }
    enum cv_registry_status st;
    if (status_word(word, &st))
        o->st = st;
    else
        fail(o, "%s: unknown registry status '%.64s'", c->name, word);
}

static bool json_empty(const json_t *v)
{
    return !v || json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0) ||
           (json_is_object(v) && json_object_size(v) == 0);
}

static void generic_lookup(struct cv_http_client *hc, struct connector *c,
                           const struct cv_certificate *cert, struct outcome *o)
{
    char url[URL_MAX];
    struct cv_http_response resp = {0};
    json_t *root = NULL;
    if (!expand_template(c, cert, url, sizeof url)) {
        fail(o, "%s: URL longer than %d bytes", c->name, URL_MAX);
        return;
    }
    if (http_call(hc, c, "GET", url, NULL, &resp, o))
        goto out;
    if (resp.status == 404 || resp.status == 204) {
        o->st = CV_REG_NOT_FOUND;
        goto out;
    }
    if (resp.status < 200 || resp.status > 299) {
        fail_status(c, resp.status, o);
        goto out;
    }
    if (!resp.body || resp.body_len == 0) {
        o->st = CV_REG_NOT_FOUND;
        goto out;
    }
    json_error_t je;
    root = json_loadb(resp.body, resp.body_len, 0, &je);
    if (!root) {
        fail(o, "%s: answer is not JSON (%s)", c->name, je.text);
        goto out;
    }
    json_t *rec = json_pointer(root, c->record_ptr);
    if (json_is_array(rec))
        rec = json_array_get(rec, 0);
    if (json_empty(rec)) {
        o->st = CV_REG_NOT_FOUND;
        goto out;
    }
    const char *status = json_string_value(json_pointer(rec, c->ptr_status));
    if (!status) {
        fail(o, "%s: answer has no status string at %s", c->name, c->ptr_status);
        goto out;
    }
    map_status(c, status, o);
    if (o->st == CV_REG_UNAVAILABLE || o->st == CV_REG_NOT_FOUND)
        goto out;
    copy_text(o->holder, sizeof o->holder, json_string_value(json_pointer(rec, c->ptr_holder)));
    copy_text(o->standard, sizeof o->standard,
              json_string_value(json_pointer(rec, c->ptr_standard)));
    o->expiry = parse_date_loose(json_string_value(json_pointer(rec, c->ptr_expiry)));
out:
    json_decref(root);
    cv_http_response_cleanup(&resp);
}

/* ---- CertSearch-shaped connector ------------------------------------------------------ */

/* Problem JSON {type,title,status,detail,instance,code} into a reason. */
static void certsearch_problem(struct connector *c, const struct cv_http_response *resp,
                               struct outcome *o)
{
    json_t *p = resp->body ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
    const char *code = json_str(p, "code");
    const char *detail = json_str(p, "detail");
    if (!detail)
        detail = json_str(p, "title");
    if (resp->status == 429)
        fail(o, "%s: rate limited by the registry (HTTP 429)", c->name);
    else if (code && strcmp(code, "insufficient_credit") == 0)
        fail(o, "%s: insufficient_credit%s%.120s", c->name, detail ? ": " : "",
             detail ? detail : "");
    else
        fail(o, "%s: HTTP %ld%s%.40s%s%.120s", c->name, resp->status, code ? " " : "",
             code ? code : "", detail ? ": " : "", detail ? detail : "");
    json_decref(p);
}

/* The certificate object in 'root' whose number matches 'num', or NULL. Looks in
 * root.certificates, root.data.certificates and root.data[i].certificates. */
static json_t *certsearch_find(json_t *root, const char *num, json_t **company)
{
    json_t *data = json_object_get(root, "data");
    json_t *cands[64];
    size_t n = 0;
    cands[n++] = root;
    if (json_is_object(data))
        cands[n++] = data;
    for (size_t i = 0; json_is_array(data) && i < json_array_size(data) && n < 64; i++)
        cands[n++] = json_array_get(data, i);
    for (size_t i = 0; i < n; i++) {
        json_t *certs = json_object_get(cands[i], "certificates");
        for (size_t j = 0; json_is_array(certs) && j < json_array_size(certs); j++) {
            json_t *cert = json_array_get(certs, j);
            char k[NUM_KEY_MAX];
            number_key(json_str(cert, "certification_number"), k, sizeof k);
            if (*k && strcmp(k, num) == 0) {
                *company = cands[i];
                return cert;
            }
        }
    }
    return NULL;
}

static void certsearch_fill(struct connector *c, json_t *cert, json_t *company, struct outcome *o)
{
    const char *status = json_str(cert, "certification_status");
    enum cv_registry_status st;
    if (!status || !status_word(status, &st) || st == CV_REG_NOT_FOUND) {
        fail(o, "%s: unknown certification_status '%.64s'", c->name, status ? status : "");
        return;
    }
    o->st = st;
    json_t *ce = json_array_get(json_object_get(cert, "certified_entities"), 0);
    const char *holder = json_str(ce, "certified_entity_name");
    if (!holder)
        holder = json_str(company, "matched_certified_entity_name");
    if (!holder)
        holder = json_str(company, "certified_entity_name");
    copy_text(o->holder, sizeof o->holder, holder);
    json_t *scheme = json_array_get(json_object_get(cert, "certification_standards_scheme"), 0);
    const char *std = json_str(scheme, "standard_name");
    copy_text(o->standard, sizeof o->standard, std ? std : json_str(scheme, "scheme_name"));
    o->expiry = parse_date_loose(json_str(cert, "certification_expiry_date"));
}

static void certsearch_lookup(struct cv_http_client *hc, struct connector *c,
                              const struct cv_certificate *cert, struct outcome *o)
{
    char url[URL_MAX], num[NUM_KEY_MAX];
    struct cv_http_response resp = {0}, resp2 = {0};
    json_t *root = NULL, *root2 = NULL, *body = NULL;
    char *text = NULL;
    if (!c->auth_value) {
        fail(o, "%s: API key not set (environment variable %s)", c->name,
             c->auth_env ? c->auth_env : "api_key_env");
        return;
    }
    if (!cert->holder_country || !cert->holder_name) {
        fail(o, "%s: the certificate has no holder_country (CertSearch needs company_country)",
             c->name);
        return;
    }
    number_key(cert->certificate_number, num, sizeof num);
    body = json_pack("{s:s, s:s, s:i}", "company_country", cert->holder_country, "company_name",
                     cert->holder_name, "match_rate", c->match_rate);
    json_t *ids = json_object();
    if (body && ids) {
        if (cert->holder_vat)
            json_object_set_new(ids, "vat", json_string(cert->holder_vat));
        if (cert->holder_duns)
            json_object_set_new(ids, "duns_number", json_string(cert->holder_duns));
        if (cert->holder_registration)
            json_object_set_new(ids, "business_registration_number",
                                json_string(cert->holder_registration));
    }
    if (ids && json_object_size(ids) > 0 && body)
        json_object_set(body, "company_identifiers", ids);
    json_decref(ids);
    text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (!text) {
        fail(o, "%s: out of memory", c->name);
        goto out;
    }
    snprintf(url, sizeof url, "%s/company", c->base);
    if (http_call(hc, c, "POST", url, text, &resp, o))
        goto out;
    if (resp.status == 404) {
        o->st = CV_REG_NOT_FOUND;
        goto out;
    }
    if (resp.status < 200 || resp.status > 299) {
        certsearch_problem(c, &resp, o);
        goto out;
    }
    json_error_t je;
    root = resp.body ? json_loadb(resp.body, resp.body_len, 0, &je) : NULL;
    if (!root) {
        fail(o, "%s: answer is not JSON (%s)", c->name, resp.body ? je.text : "empty body");
        goto out;
    }
    json_t *company = NULL;
    json_t *found = certsearch_find(root, num, &company);
    if (!found) {
        o->st = CV_REG_NOT_FOUND;
        goto out;
    }
    const char *cert_id = json_str(found, "cert_id");
    bool complete =
        json_str(found, "certification_status") && json_str(found, "certification_expiry_date");
    if (!complete && cert_id) {
        size_t n = (size_t)snprintf(url, sizeof url, "%s/certificate/", c->base);
        if (n < sizeof url && url_append_encoded(url, sizeof url, &n, cert_id)) {
            struct outcome o2 = *o;
            if (http_call(hc, c, "GET", url, NULL, &resp2, &o2) == CV_OK && resp2.status == 200 &&
                resp2.body) {
                root2 = json_loadb(resp2.body, resp2.body_len, 0, NULL);
                json_t *detail = json_object_get(root2, "data");
                if (json_is_array(detail))
                    detail = json_array_get(detail, 0);
                if (!json_is_object(detail))
                    detail = root2;
                if (json_str(detail, "certification_status"))
                    found = detail;
            } else if (!json_str(found, "certification_status")) {
                if (o2.st != CV_REG_UNAVAILABLE)
                    certsearch_problem(c, &resp2, &o2);
                *o = o2;
                goto out;
            }
        }
    }
    certsearch_fill(c, found, company, o);
out:
    free(text);
    json_decref(body);
    json_decref(root);
    json_decref(root2);
    cv_http_response_cleanup(&resp);
    cv_http_response_cleanup(&resp2);
}

/* ---- lookup --------------------------------------------------------------------------- */

/* Copies 's' into the caller's buffer; NULL for an empty string. */
static const char *put_str(char *buf, size_t cap, size_t *used, const char *s)
{
    if (!s || !*s || *used + 1 >= cap)
        return NULL;
    size_t room = cap - *used;
    char *dst = buf + *used;
    snprintf(dst, room, "%s", s);
    *used += strlen(dst) + 1;
    return dst;
}

static void network_lookup(struct connector *c, const struct cv_certificate *cert,
                           struct outcome *o)
{
    struct cv_http_client_config cfg = {0};
    const char *origins[1] = {c->origin};
    struct cv_http_client *hc = NULL;
    char err[TEXT_MAX];
    cfg.connect_timeout_ms = c->connect_timeout_ms;
    cfg.total_timeout_ms = c->timeout_ms;
    cfg.max_retries =
        c->max_retries == 0 ? -1 : c->max_retries; /* the client reads 0 as "default" */
    cfg.backoff_base_ms = c->backoff_ms;
    cfg.max_response_bytes = 4 * 1024 * 1024;
    cfg.allowed_origins = origins;
    cfg.n_allowed_origins = 1;
    if (cv_http_client_new(&cfg, &hc, err, sizeof err) != CV_OK) {
        fail(o, "%s: %s", c->name, err);
        return;
    }
    if (c->type == CONN_GENERIC)
        generic_lookup(hc, c, cert, o);
    else
        certsearch_lookup(hc, c, cert, o);
    cv_http_client_free(hc);
}

int cv_registry_lookup(struct cv_registry_set *set, struct cv_store *store,
                       const struct cv_certificate *cert, struct cv_registry_result *out, char *buf,
                       size_t cap)
{
    if (!cert || !out || !buf || cap < 64)
        return CV_ERR_USAGE;
    memset(out, 0, sizeof *out);
    out->status = CV_REG_NOT_CONSULTED;
    out->expiry_date = CV_DATE_NONE;
    buf[0] = '\0';
    struct connector *c = pick_connector(set, cert);
    if (!c)
        return CV_OK;

    struct outcome o = {0};
    o.expiry = CV_DATE_NONE;
    char key[CACHE_KEY_MAX];
    cache_key(c, cert, key, sizeof key);
    pthread_mutex_lock(&c->mu);
    c->stats.lookups++;
    pthread_mutex_unlock(&c->mu);

    bool hit = cache_read(store, key, &o);
    if (hit) {
        pthread_mutex_lock(&c->mu);
        c->stats.cache_hits++;
        pthread_mutex_unlock(&c->mu);
    } else {
        bool trial;
        if (!breaker_enter(c, &trial)) {
            fail(&o, "%s: circuit open after repeated failures", c->name);
        } else if (limits_enter(c, &o)) {
            pthread_mutex_lock(&c->mu);
            c->stats.requests++;
            pthread_mutex_unlock(&c->mu);
            network_lookup(c, cert, &o);
            limits_leave(c);
            breaker_leave(c, trial, o.st == CV_REG_UNAVAILABLE && o.requested);
        } else if (trial) {
            pthread_mutex_lock(&c->mu);
            c->trial = false; /* no request went out: the next lookup makes the trial */
            pthread_mutex_unlock(&c->mu);
        }
        if (o.st == CV_REG_UNAVAILABLE) {
            pthread_mutex_lock(&c->mu);
            c->stats.failures++;
            pthread_mutex_unlock(&c->mu);
        } else {
            cache_write(store, c, key, &o);
        }
    }

    size_t used = 0;
    out->status = o.st;
    out->registry = put_str(buf, cap, &used, c->name);
    out->error = o.st == CV_REG_UNAVAILABLE ? put_str(buf, cap, &used, o.error) : NULL;
    out->holder_name = put_str(buf, cap, &used, o.holder);
    out->standard = put_str(buf, cap, &used, o.standard);
    out->expiry_date = o.expiry;
    return CV_OK;
}

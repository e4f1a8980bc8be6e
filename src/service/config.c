/* The service configuration: defaults, a JSON file (Jansson) read through one key table, and
 * environment overrides. config/certvet.sample.json documents every key. */
#include "certvet/service.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certvet/error.h"
#include "certvet/store.h"

#ifndef CERTVET_DEFAULT_CONFIG_DIR
#define CERTVET_DEFAULT_CONFIG_DIR "config"
#endif

#define KEY_NAME_MAX 64 /* bytes of an API key's name */
#define MAX_KEYS     1024
#define MAX_LISTINGS 256

enum kind {
    K_STRING,      /* a non-empty string */
    K_STRING_NULL, /* a string, or null (empty counts as null) */
    K_INT,         /* an integer in [min, max] into an int */
    K_SIZE,        /* an integer in [min, max] into a size_t */
    K_LISTINGS,    /* an array of paths (listings, n_listings) */
    K_KEYS,        /* an array of {name, role, sha256} (keys, n_keys) */
};

/* The config keys: the single source of truth for names, types, ranges and where they go. */
static const struct key_def {
    const char *section;
    const char *name;
    enum kind kind;
    size_t offset;
    long long min, max;
} keys[] = {
    {"listen", "address", K_STRING, offsetof(struct cv_service_config, listen_address), 0, 0},
    {"listen", "port", K_INT, offsetof(struct cv_service_config, port), 0, 65535},
    {"listen", "threads", K_INT, offsetof(struct cv_service_config, threads), 1, 256},
    {"redis", "url", K_STRING_NULL, offsetof(struct cv_service_config, redis_url), 0, 0},
    {"redis", "prefix", K_STRING, offsetof(struct cv_service_config, redis_prefix), 0, 0},
    {"redis", "timeout_ms", K_INT, offsetof(struct cv_service_config, redis_timeout_ms), 1, 600000},
    {"redis", "server", K_STRING, offsetof(struct cv_service_config, redis_server), 0, 0},
    {"paths", "data_dir", K_STRING, offsetof(struct cv_service_config, data_dir), 0, 0},
    {"paths", "config_dir", K_STRING, offsetof(struct cv_service_config, config_dir), 0, 0},
    {"paths", "listings", K_LISTINGS, offsetof(struct cv_service_config, listings), 0, 0},
    {"paths", "profiles", K_STRING_NULL, offsetof(struct cv_service_config, profiles_path), 0, 0},
    {"paths", "registries", K_STRING_NULL, offsetof(struct cv_service_config, registries_path), 0,
     0},
    {"paths", "ready_file", K_STRING_NULL, offsetof(struct cv_service_config, ready_file), 0, 0},
    {"auth", "keys", K_KEYS, offsetof(struct cv_service_config, keys), 0, 0},
    {"limits", "body_bytes", K_SIZE, offsetof(struct cv_service_config, body_bytes), 1024,
     1LL << 30},
    /* one request is one MULTI/EXEC, which the store bounds */
    {"limits", "batch_records", K_SIZE, offsetof(struct cv_service_config, batch_records), 1,
     CV_STORE_BATCH_MAX},
    {"limits", "header_bytes", K_SIZE, offsetof(struct cv_service_config, header_bytes), 4096,
     1 << 20},
    {"limits", "connection_timeout_s", K_INT,
     offsetof(struct cv_service_config, connection_timeout_s), 1, 3600},
    {"limits", "connections", K_INT, offsetof(struct cv_service_config, connections), 1, 100000},
    {"cache", "ttl_s", K_INT, offsetof(struct cv_service_config, cache_ttl_s), 1, 30 * 86400},
    {"verify", "expiring_within", K_INT, offsetof(struct cv_service_config, expiring_within), 0,
     100000},
    {"verify", "surveillance_grace", K_INT, offsetof(struct cv_service_config, surveillance_grace),
     0, 100000},
    {"reference", "refresh_s", K_INT, offsetof(struct cv_service_config, reference_refresh_s), 0,
     30 * 86400},
    {"scan", "thresholds", K_STRING_NULL, offsetof(struct cv_service_config, scan_thresholds), 0,
     0},
    {"scan", "within", K_INT, offsetof(struct cv_service_config, scan_within), 0, 3650},
    {"notify", "webhook_url", K_STRING_NULL, offsetof(struct cv_service_config, webhook_url), 0, 0},
    {"notify", "webhook_secret_env", K_STRING,
     offsetof(struct cv_service_config, webhook_secret_env), 0, 0},
    {"notify", "smtp_url", K_STRING_NULL, offsetof(struct cv_service_config, smtp_url), 0, 0},
    {"notify", "smtp_from", K_STRING_NULL, offsetof(struct cv_service_config, smtp_from), 0, 0},
    {"notify", "smtp_to", K_STRING_NULL, offsetof(struct cv_service_config, smtp_to), 0, 0},
    {"notify", "smtp_user", K_STRING_NULL, offsetof(struct cv_service_config, smtp_user), 0, 0},
    {"notify", "smtp_password_env", K_STRING, offsetof(struct cv_service_config, smtp_password_env),
     0, 0},
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static int fail(char *err, size_t cap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t cap, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && cap)
        vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return rc;
}

/* Replaces the owned string '*field' by a copy of 's' (NULL clears it). */
static int set_string(char **field, const char *s)
{
    char *copy = NULL;
    if (s) {
        copy = strdup(s);
        if (!copy)
            return CV_ERR_NOMEM;
    }
    free(*field);
    *field = copy;
    return CV_OK;
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void free_keys(struct cv_api_key *k, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(k[i].name);
    free(k);
}

void cv_service_config_init(struct cv_service_config *c)
{
    const char *env_config = getenv("CERTVET_CONFIG_DIR");
    memset(c, 0, sizeof(*c));
    c->listen_address = strdup("127.0.0.1");
    c->port = 8080;
    c->threads = 2;
    c->redis_prefix = strdup("certvet:");
    c->redis_timeout_ms = 2000;
    c->data_dir = strdup("./var");
    c->redis_server = strdup("redis-server");
    c->config_dir = strdup(env_config && *env_config ? env_config : CERTVET_DEFAULT_CONFIG_DIR);
    c->body_bytes = 16 * 1024 * 1024;
    c->batch_records = 10000;
    c->header_bytes = 16 * 1024;
    c->connection_timeout_s = 10;
    c->connections = 1000;
    c->cache_ttl_s = 3600;
    c->expiring_within = 90;
    c->surveillance_grace = 90;
    c->scan_within = 30;
    c->webhook_secret_env = strdup("CERTVET_WEBHOOK_SECRET");
    c->smtp_password_env = strdup("CERTVET_SMTP_PASSWORD");
}

void cv_service_config_cleanup(struct cv_service_config *c)
{
    if (!c)
        return;
    free(c->listen_address);
    free(c->redis_url);
    free(c->redis_prefix);
    free(c->data_dir);
    free(c->redis_server);
    free(c->config_dir);
    free(c->ready_file);
    free(c->profiles_path);
    free(c->registries_path);
    free(c->scan_thresholds);
    free(c->webhook_url);
    free(c->webhook_secret_env);
    free(c->smtp_url);
    free(c->smtp_from);
    free(c->smtp_to);
    free(c->smtp_user);
    free(c->smtp_password_env);
    free_strings(c->listings, c->n_listings);
    free_keys(c->keys, c->n_keys);
    memset(c, 0, sizeof(*c));
}

int cv_service_config_add_listing(struct cv_service_config *c, const char *path)
{
    if (c->n_listings >= MAX_LISTINGS)
        return CV_ERR_TOO_LARGE;
    char **v = realloc(c->listings, (c->n_listings + 1) * sizeof(*v));
    if (!v)
        return CV_ERR_NOMEM;
    c->listings = v;
    v[c->n_listings] = strdup(path);
    if (!v[c->n_listings])
        return CV_ERR_NOMEM;
    c->n_listings++;
    return CV_OK;
}

int cv_service_config_set_listen(struct cv_service_config *c, const char *hostport, char *err,
                                 size_t cap)
{
    char host[256];
    const char *colon, *port_text;
    size_t host_len;

    if (hostport[0] == '[') { /* [IPv6]:port */
        const char *close = strchr(hostport, ']');
        if (!close || close[1] != ':')
            return fail(err, cap, CV_ERR_USAGE, "'%s' is not HOST:PORT ([ADDR]:PORT for IPv6)",
                        hostport);
        host_len = (size_t)(close - hostport - 1);
        memcpy(host, hostport + 1, host_len < sizeof(host) ? host_len : 0);
        port_text = close + 2;
    } else {
        colon = strrchr(hostport, ':');
        if (!colon || strchr(hostport, ':') != colon)
            return fail(err, cap, CV_ERR_USAGE, "'%s' is not HOST:PORT ([ADDR]:PORT for IPv6)",
                        hostport);
        host_len = (size_t)(colon - hostport);
        memcpy(host, hostport, host_len < sizeof(host) ? host_len : 0);
        port_text = colon + 1;
    }
    if (host_len >= sizeof(host))
        return fail(err, cap, CV_ERR_USAGE, "'%s': the host name is too long", hostport);
    host[host_len] = '\0';
    char *end;
    errno = 0;
    long port = strtol(port_text, &end, 10);
    if (!isdigit((unsigned char)*port_text) || *end || errno || port < 0 || port > 65535)
        return fail(err, cap, CV_ERR_USAGE, "'%s': the port must be a number from 0 to 65535",
                    hostport);
    if (host_len && set_string(&c->listen_address, host))
        return fail(err, cap, CV_ERR_NOMEM, "out of memory");
    c->port = (int)port;
    return CV_OK;
}

/* auth.keys[i]: {"name", "role", "sha256"}; unknown members are refused. */
static int load_key(const json_t *o, size_t i, struct cv_api_key *k, char *err, size_t cap)
{
    const char *name, *role, *hash;
    const char *member;
    json_t *v;
    if (!json_is_object(o))
        return fail(err, cap, CV_ERR_INVALID,
                    "auth.keys[%zu]: expected an object {\"name\", \"role\", \"sha256\"}", i);
    json_object_foreach((json_t *)o, member, v)
    {
        if (strcmp(member, "name") && strcmp(member, "role") && strcmp(member, "sha256") &&
            member[0] != '_')
            return fail(err, cap, CV_ERR_INVALID, "auth.keys[%zu].%s: unknown key", i, member);
    }
    name = json_string_value(json_object_get(o, "name"));
    role = json_string_value(json_object_get(o, "role"));
    hash = json_string_value(json_object_get(o, "sha256"));
    if (!name || !*name || strlen(name) > KEY_NAME_MAX)
        return fail(err, cap, CV_ERR_INVALID,
                    "auth.keys[%zu].name: expected a string of 1 to %d characters", i,
                    KEY_NAME_MAX);
    for (const char *p = name; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return fail(err, cap, CV_ERR_INVALID,
                        "auth.keys[%zu].name: control characters are not allowed", i);
    }
    if (!role || cv_role_parse(role, &k->role))
        return fail(err, cap, CV_ERR_INVALID,
                    "auth.keys[%zu].role: expected \"read\", \"write\" or \"admin\"", i);
    if (!hash || strlen(hash) != 64)
        return fail(err, cap, CV_ERR_INVALID,
                    "auth.keys[%zu].sha256: expected 64 hex digits (certvet keygen prints them)",
                    i);
    for (int j = 0; j < 64; j++) {
        if (!isxdigit((unsigned char)hash[j]))
            return fail(err, cap, CV_ERR_INVALID,
                        "auth.keys[%zu].sha256: expected 64 hex digits (certvet keygen prints "
                        "them)",
                        i);
        k->sha256[j] = (char)tolower((unsigned char)hash[j]);
    }
    k->sha256[64] = '\0';
    k->name = strdup(name);
    return k->name ? CV_OK : fail(err, cap, CV_ERR_NOMEM, "out of memory");
}

static int load_keys(struct cv_service_config *c, const json_t *v, char *err, size_t cap)
{
    struct cv_api_key *k = NULL;
    size_t n = 0, i;
    json_t *e;
    int rc = CV_OK;
    if (!json_is_array(v))
        return fail(err, cap, CV_ERR_INVALID, "auth.keys: expected an array");
    if (json_array_size(v) > MAX_KEYS)
        return fail(err, cap, CV_ERR_INVALID, "auth.keys: at most %d keys", MAX_KEYS);
    if (json_array_size(v)) {
        k = calloc(json_array_size(v), sizeof(*k));
        if (!k)
            return fail(err, cap, CV_ERR_NOMEM, "out of memory");
    }
    json_array_foreach(v, i, e)
    {
        rc = load_key(e, i, &k[i], err, cap);
        if (rc)
            goto out;
        n++;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(k[j].sha256, k[i].sha256) == 0) {
                rc = fail(err, cap, CV_ERR_INVALID,
                          "auth.keys[%zu].sha256: the same key as auth.keys[%zu]", i, j);
                goto out;
            }
            if (strcmp(k[j].name, k[i].name) == 0) {
                rc = fail(err, cap, CV_ERR_INVALID,
                          "auth.keys[%zu].name: '%s' is already the name of auth.keys[%zu]", i,
                          k[i].name, j);
                goto out;
            }
        }
    }
    free_keys(c->keys, c->n_keys);
    c->keys = k;
    c->n_keys = n;
    k = NULL;
out:
    if (k)
        free_keys(k, n);
    return rc;
}

static int load_listings(struct cv_service_config *c, const json_t *v, char *err, size_t cap)
{
    size_t i;
    json_t *e;
    if (!json_is_array(v))
        return fail(err, cap, CV_ERR_INVALID, "paths.listings: expected an array of file names");
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e) || !*json_string_value(e))
            return fail(err, cap, CV_ERR_INVALID,
                        "paths.listings[%zu]: expected a non-empty file name", i);
    }
    free_strings(c->listings, c->n_listings);
    c->listings = NULL;
    c->n_listings = 0;
    json_array_foreach(v, i, e)
    {
        int rc = cv_service_config_add_listing(c, json_string_value(e));
        if (rc)
            return fail(err, cap, rc, "paths.listings: %s", cv_strerror(rc));
    }
    return CV_OK;
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a real number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "something else";
}

static int apply(struct cv_service_config *c, const struct key_def *d, const json_t *v, char *err,
                 size_t cap)
{
    char *base = (char *)c;
    switch (d->kind) {
    case K_STRING:
        if (!json_is_string(v) || !*json_string_value(v))
            return fail(err, cap, CV_ERR_INVALID, "%s.%s: expected a non-empty string, got %s",
                        d->section, d->name, json_is_string(v) ? "\"\"" : json_kind(v));
        if (set_string((char **)(base + d->offset), json_string_value(v)))
            return fail(err, cap, CV_ERR_NOMEM, "out of memory");
        return CV_OK;
    case K_STRING_NULL:
        if (!json_is_string(v) && !json_is_null(v))
            return fail(err, cap, CV_ERR_INVALID, "%s.%s: expected a string or null, got %s",
                        d->section, d->name, json_kind(v));
        if (set_string((char **)(base + d->offset),
                       json_is_string(v) && *json_string_value(v) ? json_string_value(v) : NULL))
            return fail(err, cap, CV_ERR_NOMEM, "out of memory");
        return CV_OK;
    case K_INT:
    case K_SIZE: {
        if (!json_is_integer(v) || json_integer_value(v) < d->min || json_integer_value(v) > d->max)
            return fail(err, cap, CV_ERR_INVALID,
                        "%s.%s: expected an integer from %lld to %lld, got %s", d->section, d->name,
                        d->min, d->max, json_is_integer(v) ? "one out of range" : json_kind(v));
        if (d->kind == K_INT)
            *(int *)(base + d->offset) = (int)json_integer_value(v);
        else
            *(size_t *)(base + d->offset) = (size_t)json_integer_value(v);
        return CV_OK;
    }
    case K_LISTINGS:
        return load_listings(c, v, err, cap);
    case K_KEYS:
        return load_keys(c, v, err, cap);
    }
    return CV_ERR_INVALID;
}

static bool is_section(const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        if (strcmp(keys[i].section, name) == 0)
            return true;
    }
    return false;
}

static const struct key_def *find_key(const char *section, const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
            return &keys[i];
    }
    return NULL;
}

static int load_file(struct cv_service_config *c, const char *path, char *err, size_t cap)
{
    json_error_t jerr;
    const char *section, *name;
    json_t *sv, *v;
    int rc = CV_OK;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        if (jerr.line < 1)
            return fail(err, cap, CV_ERR_IO, "%s: %s", path, jerr.text);
        return fail(err, cap, CV_ERR_PARSE, "%s:%d:%d: %s", path, jerr.line, jerr.column,
                    jerr.text);
    }
    if (!json_is_object(root)) {
        rc = fail(err, cap, CV_ERR_INVALID, "%s: expected a JSON object, got %s", path,
                  json_kind(root));
        goto out;
    }
    /* Keys starting with '_' are documentation ("_doc") and ignored. */
    json_object_foreach(root, section, sv)
    {
        if (section[0] == '_')
            continue;
        if (!is_section(section)) {
            rc = fail(err, cap, CV_ERR_INVALID, "%s: unknown key '%s'", path, section);
            goto out;
        }
        if (!json_is_object(sv)) {
            rc = fail(err, cap, CV_ERR_INVALID, "%s: %s: expected an object, got %s", path, section,
                      json_kind(sv));
            goto out;
        }
        json_object_foreach(sv, name, v)
        {
            if (name[0] == '_')
                continue;
            const struct key_def *d = find_key(section, name);
            if (!d) {
                rc = fail(err, cap, CV_ERR_INVALID, "%s: unknown key '%s.%s'", path, section, name);
                goto out;
            }
            char inner[512];
            rc = apply(c, d, v, inner, sizeof(inner));
            if (rc) {
                fail(err, cap, rc, "%s: %s", path, inner);
                goto out;
            }
        }
    }
out:
    json_decref(root);
    return rc;
}

/* The environment overrides, in the order service.h lists them. */
static int load_env(struct cv_service_config *c, char *err, size_t cap)
{
    const char *v = getenv("CERTVET_LISTEN");
    char inner[400];
    if (v && *v && cv_service_config_set_listen(c, v, inner, sizeof(inner)))
        return fail(err, cap, CV_ERR_USAGE, "CERTVET_LISTEN: %s", inner);
    v = getenv("CERTVET_REDIS_URL");
    if (v && *v && set_string(&c->redis_url, v))
        return fail(err, cap, CV_ERR_NOMEM, "out of memory");
    v = getenv("CERTVET_DATA_DIR");
    if (v && *v && set_string(&c->data_dir, v))
        return fail(err, cap, CV_ERR_NOMEM, "out of memory");
    return CV_OK;
}

int cv_service_config_load(struct cv_service_config *c, const char *path, char *err, size_t cap)
{
    int rc = CV_OK;
    if (err && cap)
        err[0] = '\0';
    if (!c->listen_address || !c->redis_prefix || !c->data_dir || !c->redis_server ||
        !c->config_dir)
        return fail(err, cap, CV_ERR_NOMEM, "out of memory");
    if (path)
        rc = load_file(c, path, err, cap);
    if (!rc)
        rc = load_env(c, err, cap);
    return rc;
}

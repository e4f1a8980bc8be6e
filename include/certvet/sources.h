/* Listing sources (SPEC 6, config/sources.json): files and URLs in JSON, XML or HTML, fetched
 * with conditional GET, parsed, and layered over the shipped reference data into a new
 * struct cv_reference. The last good copy of each source is kept (through a keeper, normally the
 * Redis store) and used when the source fails. */
#ifndef CERTVET_SOURCES_H
#define CERTVET_SOURCES_H

#include <stdbool.h>
#include <stddef.h>

#include "certvet/bodies.h"
#include "certvet/html_listing.h"
#include "certvet/refdata.h"

#define CV_SOURCES_MAX      64                 /* sources in one sources.json */
#define CV_SOURCE_NAME_MAX  64                 /* bytes in a source name */
#define CV_SOURCE_MAX_BYTES (16 * 1024 * 1024) /* one fetched copy (file or HTTP body) */
#define CV_SOURCES_FILE_MAX (1024 * 1024)      /* sources.json itself */
#define CV_SOURCE_ERROR_MAX 512

enum cv_source_kind {
    CV_SOURCE_FILE = 0,
    CV_SOURCE_URL,
};

enum cv_source_format {
    CV_SOURCE_JSON = 0,
    CV_SOURCE_XML,
    CV_SOURCE_HTML,
};

/* What the last refresh made of one source. */
enum cv_source_status {
    CV_SOURCE_NEVER = 0,    /* not refreshed yet */
    CV_SOURCE_OK,           /* fetched and parsed */
    CV_SOURCE_NOT_MODIFIED, /* unchanged since the last good copy (304, or same file bytes) */
    CV_SOURCE_STALE,        /* failed; the last good copy was used */
    CV_SOURCE_FAILED,       /* failed with no usable copy: it contributes nothing */
};

/* The last good copy as the keeper stores it. Strings malloc'd when the keeper returns them. */
struct cv_source_copy {
    char *body;
    size_t body_len;
    char *etag;           /* or NULL */
    char *last_modified;  /* or NULL */
    long long fetched_at; /* Unix seconds */
};

/* Where last good copies live (the service and `certvet refresh` wire the Redis store in). get
 * fills '*out' with malloc'd strings (freed by the caller with cv_source_copy_cleanup) and
 * returns CV_OK or CV_ERR_NOT_FOUND (any other error counts as "no copy"); put copies. */
struct cv_source_keeper {
    void *ctx;
    int (*get)(void *ctx, const char *name, struct cv_source_copy *out);
    int (*put)(void *ctx, const char *name, const struct cv_source_copy *copy);
};

struct cv_source_state; /* private: the parsed last good copy and its validators */

struct cv_source {
    char *name; /* owned */
    enum cv_source_kind kind;
    char *location; /* owned: the path (resolved against sources.json's directory) or the URL */
    enum cv_source_format format;
    long refresh_s;              /* 0: only on demand */
    struct cv_html_mapping html; /* format html: points into 'html_strings' */
    char *html_strings[12];      /* owned copies of the mapping's expressions */
    /* Set by cv_sources_refresh: */
    enum cv_source_status status;
    char error[CV_SOURCE_ERROR_MAX]; /* why it failed (STALE or FAILED), else "" */
    long long fetched_at;            /* Unix seconds of the copy in use, 0 when none */
    unsigned long parses;            /* times a copy of it was parsed (tests and metrics) */
    struct cv_source_state *state;   /* owned */
};

struct cv_sources {
    struct cv_source *items; /* owned */
    size_t n;
};

/* Loads sources.json at 'path' into 's' (zeroed first). Relative file paths are resolved against
 * the file's directory. Errors name the entry and field in 'err'. On failure 's' is empty
 * (cleanup is still safe). */
int cv_sources_load(struct cv_sources *s, const char *path, char *err, size_t cap);
void cv_sources_cleanup(struct cv_sources *s);

/* How to fetch. 'http' (may be NULL: url sources then fail) is a struct cv_http_client; 'keeper'
 * may be NULL (no last good copies beyond this process's memory). 'now' is the Unix time to
 * stamp fresh copies with. */
struct cv_http_client;
struct cv_refresh_env {
    const char *config_dir; /* standards.json, accreditation-bodies.json and the XSDs */
    struct cv_http_client *http;
    const struct cv_source_keeper *keeper;
    long long now;
    const char *const *listings; /* extra listing files merged before the sources, may be NULL */
    size_t n_listings;
    /* Fetch nothing: every source uses its last good copy from the keeper (status STALE), or
     * contributes nothing (FAILED) when none is kept. The nightly scan builds its reference this
     * way, so it sees exactly what the last refresh kept. */
    bool kept_only;
};

/* Fetches every source (file: read with CV_SOURCE_MAX_BYTES as limit; url: conditional GET with
 * the validators of the last good copy), parses what changed, falls back to the last good copy
 * (in memory, else from the keeper) for a source that fails, and builds '*out' (zeroed first):
 * the shipped reference data of 'config_dir' with each usable source merged in order. The version
 * covers the shipped files and each source's copy. Each source's status, error, fetched_at and
 * parses are updated. Returns CV_OK when the reference was built (even if sources failed: see
 * their status; '*n_unusable' gets the number of FAILED ones) or the error loading the shipped
 * data (message in 'err'; '*out' is then empty). Not thread-safe: one refresh at a time per 's'. */
int cv_sources_refresh(struct cv_sources *s, const struct cv_refresh_env *env,
                       struct cv_reference *out, size_t *n_unusable, char *err, size_t cap);

/* Makes an HTTP client (cv_http_client_new with 'cfg', whose allow-list is ignored) allowed to
 * reach exactly the origins of the url sources in 's'. '*out' is NULL when there are none (free
 * with cv_http_client_free). Errors as cv_http_client_new. */
struct cv_http_client_config;
int cv_sources_http_client_new(const struct cv_sources *s, const struct cv_http_client_config *cfg,
                               struct cv_http_client **out, char *err, size_t cap);

/* Writes "source X ok", "... failed (why); using the copy fetched at 2026-04-01T10:00:00Z (2 h
 * ago)" and the like for one source after a refresh, relative to 'now' (Unix seconds). */
void cv_source_describe(const struct cv_source *src, long long now, char *buf, size_t cap);

/* Frees the members of a copy and zeroes it. Accepts NULL. */
void cv_source_copy_cleanup(struct cv_source_copy *c);

/* Names for reports: "ok", "not modified", "stale", "failed", "never"; and the format names. */
const char *cv_source_status_name(enum cv_source_status st);
const char *cv_source_format_name(enum cv_source_format f);

#endif

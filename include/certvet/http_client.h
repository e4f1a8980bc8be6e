/* Outbound HTTP (libcurl): the one client every fetch goes through. Only src/net/ includes curl.
 * Requests go only to URLs whose origin is on the client's allow-list (configured sources,
 * registries and webhooks); nothing taken from an incoming request is ever fetched. */
#ifndef CERTVET_HTTP_CLIENT_H
#define CERTVET_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#define CV_HTTP_HEADER_MAX 8 /* extra request headers */

struct cv_http_client; /* opaque; one per thread (a curl easy handle is reused) */

struct cv_http_client_config {
    const char *user_agent;    /* default "certvet/<version>" */
    int connect_timeout_ms;    /* default 3000 */
    int total_timeout_ms;      /* budget of one cv_http_do call (retries, waits, redirects
                                  included), default 10000 */
    size_t max_response_bytes; /* default 16 MiB; past it: CV_ERR_TOO_LARGE */
    int max_retries;           /* on 5xx, 429 and timeouts; 0: default 2; negative: none */
    int backoff_base_ms;       /* first retry after base..2*base (jitter), doubling; default 200 */
    int max_redirects;         /* 0: default 3; negative: none followed; each must stay on the
                                  allow-list */
    const char *const *allowed_origins; /* "https://host[:port]" / "http://127.0.0.1:port" */
    size_t n_allowed_origins;
    const char *ca_file; /* optional CA bundle; TLS verification is always on */
};

struct cv_http_request {
    const char *method; /* "GET" (default) or "POST" */
    const char *url;
    const char *headers[CV_HTTP_HEADER_MAX]; /* "Name: value", NULL-terminated if fewer */
    const char *body;                        /* for POST, may be NULL */
    size_t body_len;
    const char *if_none_match;     /* conditional GET: an ETag, or NULL */
    const char *if_modified_since; /* conditional GET: a Last-Modified value, or NULL */
};

struct cv_http_response {
    long status; /* HTTP status; 304 for "not modified" */
    char *body;  /* malloc'd, NUL-terminated; NULL when there is none */
    size_t body_len;
    char *etag;          /* malloc'd or NULL */
    char *last_modified; /* malloc'd or NULL */
    char *content_type;  /* malloc'd or NULL */
    int attempts;        /* requests made, retries included */
    char error[256];     /* what went wrong, for logs and REGISTRY_UNAVAILABLE details */
};

int cv_http_client_new(const struct cv_http_client_config *cfg, struct cv_http_client **out,
                       char *err, size_t cap);
void cv_http_client_free(struct cv_http_client *c);

/* Performs 'req' with retries (exponential backoff with jitter; Retry-After honoured up to the
 * total timeout). Returns CV_OK when an HTTP answer came (any status: the caller judges it),
 * CV_ERR_UNAVAILABLE on connection failure or timeout after the retries, CV_ERR_TOO_LARGE past the
 * size limit, CV_ERR_HOSTILE for a URL (or redirect) outside the allow-list, CV_ERR_USAGE for a
 * request that cannot be sent (method other than GET/POST, a header with CR/LF). More than
 * max_redirects redirects is CV_ERR_UNAVAILABLE. A hang spends the call's whole budget in one
 * attempt; connection failures, resets and 5xx/429 are retried while the budget lasts (a wait
 * that would pass it ends the call with the last outcome). 'resp' is always filled (free with
 * cv_http_response_cleanup); on an error it holds only 'attempts' and 'error'. */
int cv_http_do(struct cv_http_client *c, const struct cv_http_request *req,
               struct cv_http_response *resp);
void cv_http_response_cleanup(struct cv_http_response *resp);

#endif

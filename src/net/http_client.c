/* The outbound HTTP client: the libcurl adapter (the only file besides the rest of src/net/ that
 * sees curl). One reusable easy handle per client; every URL and every redirect target is checked
 * against the configured origins; answers are bounded in size and every call in time. */
#include "certvet/http_client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "certvet/error.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 3000
#define DEFAULT_TOTAL_TIMEOUT_MS   10000
#define DEFAULT_MAX_RESPONSE_BYTES ((size_t)16 * 1024 * 1024)
#define DEFAULT_MAX_RETRIES        2
#define DEFAULT_BACKOFF_BASE_MS    200
#define DEFAULT_MAX_REDIRECTS      3
#define MAX_ORIGINS                64   /* configured origins per client */
#define ORIGIN_HOST_MAX            256  /* host part of an origin, bytes */
#define HEADER_VALUE_MAX           1024 /* captured response header values; longer are dropped */
#define URL_MAX                    8192 /* request and redirect URLs */
#define RETRY_AFTER_MAX_S          3600 /* a larger Retry-After is clamped (still past the budget) */
#define BODY_INITIAL_CAP           4096

struct origin {
    char scheme[8]; /* "http" or "https" */
    char host[ORIGIN_HOST_MAX];
    long port; /* explicit or the scheme's default */
};

struct cv_http_client {
    CURL *easy; /* reused across calls: keeps connections and TLS sessions */
    char *user_agent;
    char *ca_file;
    int connect_timeout_ms;
    int total_timeout_ms; /* budget of one cv_http_do call, retries and redirects included */
    size_t max_response_bytes;
    int max_retries;
    int backoff_base_ms;
    int max_redirects;
    struct origin origins[MAX_ORIGINS];
    size_t n_origins;
    uint64_t rng; /* xorshift state for the backoff jitter */
    char errbuf[CURL_ERROR_SIZE];
};

/* What one transfer collects; reset before each attempt. */
struct transfer {
    char *body;
    size_t len, cap, limit;
    int too_large;
    char etag[HEADER_VALUE_MAX];
    char last_modified[HEADER_VALUE_MAX];
    char content_type[HEADER_VALUE_MAX];
    char retry_after[HEADER_VALUE_MAX];
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long long ms)
{
    struct timespec ts;
    if (ms <= 0)
        return;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) == -1)
        ;
}

static uint64_t next_random(struct cv_http_client *c)
{
    uint64_t x = c->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c->rng = x;
    return x;
}

static char *dup_or_null(const char *s)
{
    char *d;
    size_t n;
    if (!s)
        return NULL;
    n = strlen(s);
    d = malloc(n + 1);
    if (d)
        memcpy(d, s, n + 1);
    return d;
}

/* Parses 'url' into scheme, lower-case host and port (default port filled in). Only http and
 * https are accepted. Returns CV_OK, CV_ERR_INVALID or CV_ERR_NOMEM. */
static int parse_origin(const char *url, struct origin *o)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    int rc = CV_ERR_INVALID;

    if (!u)
        return CV_ERR_NOMEM;
    if (strlen(url) > URL_MAX)
        goto out;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
        goto out;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
        goto out;
    if (strcasecmp(scheme, "http") && strcasecmp(scheme, "https"))
        goto out;
    if (strlen(host) >= sizeof(o->host) || !host[0])
        goto out;
    snprintf(o->scheme, sizeof(o->scheme), "%s", scheme);
    for (char *p = o->scheme; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    for (size_t i = 0; host[i]; i++)
        o->host[i] = (char)(host[i] >= 'A' && host[i] <= 'Z' ? host[i] - 'A' + 'a' : host[i]);
    o->host[strlen(host)] = '\0';
    o->port = strtol(port, NULL, 10);
    rc = CV_OK;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

/* CV_OK when 'url' is on the client's allow-list, CV_ERR_HOSTILE (with a message) otherwise. */
static int check_allowed(const struct cv_http_client *c, const char *url, char *err, size_t cap)
{
    struct origin o;
    int rc = parse_origin(url, &o);
    if (rc == CV_ERR_NOMEM)
        return rc;
    if (rc) {
        snprintf(err, cap, "refused: not an http(s) URL");
        return CV_ERR_HOSTILE;
    }
    for (size_t i = 0; i < c->n_origins; i++)
        if (!strcmp(c->origins[i].scheme, o.scheme) && !strcmp(c->origins[i].host, o.host) &&
            c->origins[i].port == o.port)
            return CV_OK;
    snprintf(err, cap, "refused: origin %s://%.200s:%ld is not configured", o.scheme, o.host,
             o.port);
    return CV_ERR_HOSTILE;
}

int cv_http_client_new(const struct cv_http_client_config *cfg, struct cv_http_client **out,
                       char *err, size_t cap)
{
    struct cv_http_client *c = NULL;
    int rc;

    *out = NULL;
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK) {
        snprintf(err, cap, "curl_global_init: %s", curl_easy_strerror(global_rc));
        return CV_ERR_UNAVAILABLE;
    }
    if (!cfg || (cfg->n_allowed_origins && !cfg->allowed_origins)) {
        snprintf(err, cap, "http client: no configuration");
        return CV_ERR_USAGE;
    }
    if (cfg->n_allowed_origins > MAX_ORIGINS) {
        snprintf(err, cap, "http client: more than %d allowed origins", MAX_ORIGINS);
        return CV_ERR_TOO_LARGE;
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, cap, "out of memory");
        return CV_ERR_NOMEM;
    }
    c->connect_timeout_ms =
        cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    c->total_timeout_ms =
        cfg->total_timeout_ms > 0 ? cfg->total_timeout_ms : DEFAULT_TOTAL_TIMEOUT_MS;
    c->max_response_bytes =
        cfg->max_response_bytes ? cfg->max_response_bytes : DEFAULT_MAX_RESPONSE_BYTES;
    if (c->max_response_bytes > SIZE_MAX / 4)
        c->max_response_bytes = SIZE_MAX / 4; /* room for the NUL and the doubling */
    c->max_retries = cfg->max_retries > 0   ? cfg->max_retries
                     : cfg->max_retries < 0 ? 0
                                            : DEFAULT_MAX_RETRIES;
    c->backoff_base_ms = cfg->backoff_base_ms > 0 ? cfg->backoff_base_ms : DEFAULT_BACKOFF_BASE_MS;
    c->max_redirects = cfg->max_redirects > 0   ? cfg->max_redirects
                       : cfg->max_redirects < 0 ? 0
                                                : DEFAULT_MAX_REDIRECTS;
    c->rng = (uint64_t)now_ms() * 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)c;
    if (!c->rng)
        c->rng = 1;
    c->user_agent = dup_or_null(cfg->user_agent ? cfg->user_agent : "certvet/" CERTVET_VERSION);
    c->ca_file = dup_or_null(cfg->ca_file);
    c->easy = curl_easy_init();
    if (!c->user_agent || (cfg->ca_file && !c->ca_file) || !c->easy) {
        snprintf(err, cap, "out of memory");
        rc = CV_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < cfg->n_allowed_origins; i++) {
        const char *o = cfg->allowed_origins[i];
        rc = o ? parse_origin(o, &c->origins[i]) : CV_ERR_INVALID;
        if (rc) {
            snprintf(err, cap, "http client: bad allowed origin '%.100s'", o ? o : "(null)");
            goto out;
        }
    }
    c->n_origins = cfg->n_allowed_origins;
    *out = c;
    return CV_OK;
out:
    cv_http_client_free(c);
    return rc;
}

void cv_http_client_free(struct cv_http_client *c)
{
    if (!c)
        return;
    if (c->easy)
        curl_easy_cleanup(c->easy);
    free(c->user_agent);
    free(c->ca_file);
    free(c);
}

void cv_http_response_cleanup(struct cv_http_response *resp)
{
    if (!resp)
        return;
    free(resp->body);
    free(resp->etag);
    free(resp->last_modified);
    free(resp->content_type);
    resp->body = resp->etag = resp->last_modified = resp->content_type = NULL;
    resp->body_len = 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct transfer *t = userp;
    size_t n = size * nmemb;

    if (n > t->limit - t->len) {
        t->too_large = 1;
        return 0; /* curl aborts with CURLE_WRITE_ERROR */
    }
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : BODY_INITIAL_CAP;
        char *p;
        while (cap < t->len + n + 1)
            cap = cap > t->limit ? t->limit + 1 : cap * 2;
        if (cap > t->limit + 1)
            cap = t->limit + 1;
        p = realloc(t->body, cap);
        if (!p)
            return 0;
        t->body = p;
        t->cap = cap;
    }
    memcpy(t->body + t->len, data, n);
    t->len += n;
    t->body[t->len] = '\0';
    return n;
}

/* Copies the value of header line 'line' (of 'n' bytes) into 'dst' when its name is 'name'. */
static void capture(const char *line, size_t n, const char *name, char *dst)
{
    size_t nl = strlen(name), b, e;
    if (n <= nl || line[nl] != ':' || strncasecmp(line, name, nl))
        return;
    b = nl + 1;
    e = n;
    while (b < e && (line[b] == ' ' || line[b] == '\t'))
        b++;
    while (e > b && (line[e - 1] == '\r' || line[e - 1] == '\n' || line[e - 1] == ' ' ||
                     line[e - 1] == '\t'))
        e--;
    if (e - b >= HEADER_VALUE_MAX)
        return;
    memcpy(dst, line + b, e - b);
    dst[e - b] = '\0';
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    struct transfer *t = userp;
    size_t n = size * nmemb;

    if (n >= 5 && !strncmp(data, "HTTP/", 5)) { /* a new answer (after 100 Continue) */
        t->etag[0] = t->last_modified[0] = t->content_type[0] = t->retry_after[0] = '\0';
        return n;
    }
    capture(data, n, "ETag", t->etag);
    capture(data, n, "Last-Modified", t->last_modified);
    capture(data, n, "Content-Type", t->content_type);
    capture(data, n, "Retry-After", t->retry_after);
    return n;
}

/* Retry-After as milliseconds from now (delta-seconds or an HTTP date), or -1 when absent or
 * unreadable. */
static long long retry_after_ms(const char *v)
{
    long long s;
    if (!v[0])
        return -1;
    if (v[0] >= '0' && v[0] <= '9') {
        char *end;
        s = strtoll(v, &end, 10);
        if (*end)
            return -1;
    } else {
        time_t when = curl_getdate(v, NULL);
        if (when == -1)
            return -1;
        s = (long long)(when - time(NULL));
        if (s < 0)
            s = 0;
    }
    if (s > RETRY_AFTER_MAX_S)
        s = RETRY_AFTER_MAX_S;
    return s * 1000;
}

static int is_transient(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
        return 1;
    default:
        return 0;
    }
}

static int is_redirect(long status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

static int has_crlf(const char *s)
{
    return strchr(s, '\r') || strchr(s, '\n');
}

/* Builds the request header list; CV_ERR_USAGE for a header that would split the request. */
static int build_headers(const struct cv_http_request *req, int is_post, struct curl_slist **out)
{
    struct curl_slist *h = NULL, *n;
    char line[HEADER_VALUE_MAX + 32];
    int rc = CV_OK;

    for (int i = 0; i < CV_HTTP_HEADER_MAX && req->headers[i]; i++) {
        if (has_crlf(req->headers[i]) || !strchr(req->headers[i], ':')) {
            rc = CV_ERR_USAGE;
            goto out;
        }
        n = curl_slist_append(h, req->headers[i]);
        if (!n)
            goto nomem;
        h = n;
    }
    if (req->if_none_match) {
        if (has_crlf(req->if_none_match) || strlen(req->if_none_match) >= HEADER_VALUE_MAX) {
            rc = CV_ERR_USAGE;
            goto out;
        }
        snprintf(line, sizeof(line), "If-None-Match: %s", req->if_none_match);
        n = curl_slist_append(h, line);
        if (!n)
            goto nomem;
        h = n;
    }
    if (req->if_modified_since) {
        if (has_crlf(req->if_modified_since) ||
            strlen(req->if_modified_since) >= HEADER_VALUE_MAX) {
            rc = CV_ERR_USAGE;
            goto out;
        }
        snprintf(line, sizeof(line), "If-Modified-Since: %s", req->if_modified_since);
        n = curl_slist_append(h, line);
        if (!n)
            goto nomem;
        h = n;
    }
    if (is_post) {
        n = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
        if (!n)
            goto nomem;
        h = n;
    }
    *out = h;
    return CV_OK;
nomem:
    rc = CV_ERR_NOMEM;
out:
    curl_slist_free_all(h);
    *out = NULL;
    return rc;
}

/* Sets up the easy handle for one attempt at 'url' with 'timeout_ms' left in the budget. */
static CURLcode setup(struct cv_http_client *c, const char *url, int is_post,
                      const struct cv_http_request *req, struct curl_slist *headers,
                      struct transfer *t, long long timeout_ms)
{
    CURL *e = c->easy;
    CURLcode cc = CURLE_OK;
    long connect_ms = c->connect_timeout_ms < timeout_ms ? c->connect_timeout_ms : (long)timeout_ms;

    curl_easy_reset(e); /* options only: connections and the TLS session cache stay */
#define SET(opt, val)                                                                              \
    do {                                                                                           \
        cc = curl_easy_setopt(e, opt, val);                                                        \
        if (cc)                                                                                    \
            return cc;                                                                             \
    } while (0)
    SET(CURLOPT_ERRORBUFFER, c->errbuf);
    SET(CURLOPT_URL, url);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 0L); /* redirects are followed by hand, each one checked */
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    SET(CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->ca_file)
        SET(CURLOPT_CAINFO, c->ca_file);
    SET(CURLOPT_USERAGENT, c->user_agent);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_response_bytes);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, t);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, t);
    SET(CURLOPT_ACCEPT_ENCODING, ""); /* decoded bytes still count against the limit */
    if (headers)
        SET(CURLOPT_HTTPHEADER, headers);
    if (is_post) {
        SET(CURLOPT_POST, 1L);
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(req->body ? req->body_len : 0));
        SET(CURLOPT_POSTFIELDS, req->body ? req->body : "");
    } else {
        SET(CURLOPT_HTTPGET, 1L);
    }
#undef SET
    return cc;
}

static void transfer_reset(struct transfer *t, size_t limit)
{
    free(t->body);
    memset(t, 0, sizeof(*t));
    t->limit = limit;
}

/* Moves what 't' collected into 'resp' (body ownership passes to resp). */
static int transfer_move(struct transfer *t, struct cv_http_response *resp)
{
    cv_http_response_cleanup(resp);
    if (t->len) {
        resp->body = t->body;
        resp->body_len = t->len;
        t->body = NULL;
    }
    resp->etag = t->etag[0] ? dup_or_null(t->etag) : NULL;
    resp->last_modified = t->last_modified[0] ? dup_or_null(t->last_modified) : NULL;
    resp->content_type = t->content_type[0] ? dup_or_null(t->content_type) : NULL;
    if ((t->etag[0] && !resp->etag) || (t->last_modified[0] && !resp->last_modified) ||
        (t->content_type[0] && !resp->content_type))
        return CV_ERR_NOMEM;
    return CV_OK;
}

/* Translates a failed transfer (CURLcode + error buffer) into our error, once. */
static int translate(struct cv_http_client *c, CURLcode cc, const struct transfer *t,
                     struct cv_http_response *resp)
{
    if (t->too_large || cc == CURLE_FILESIZE_EXCEEDED) {
        snprintf(resp->error, sizeof(resp->error), "response larger than %zu bytes",
                 c->max_response_bytes);
        return CV_ERR_TOO_LARGE;
    }
    if (cc == CURLE_OUT_OF_MEMORY || cc == CURLE_WRITE_ERROR) {
        snprintf(resp->error, sizeof(resp->error), "out of memory");
        return CV_ERR_NOMEM;
    }
    snprintf(resp->error, sizeof(resp->error), "%.100s%s%.140s", curl_easy_strerror(cc),
             c->errbuf[0] ? ": " : "", c->errbuf);
    if (cc == CURLE_UNSUPPORTED_PROTOCOL || cc == CURLE_URL_MALFORMAT)
        return CV_ERR_HOSTILE;
    return CV_ERR_UNAVAILABLE;
}

int cv_http_do(struct cv_http_client *c, const struct cv_http_request *req,
               struct cv_http_response *resp)
{
    struct transfer t = {0};
    struct curl_slist *headers = NULL;
    char *url = NULL;
    long long deadline;
    int rc, is_post, redirects = 0, retries = 0;

    memset(resp, 0, sizeof(*resp));
    if (!c || !req || !req->url) {
        snprintf(resp->error, sizeof(resp->error), "no URL");
        return CV_ERR_USAGE;
    }
    if (req->method && strcmp(req->method, "GET") && strcmp(req->method, "POST")) {
        snprintf(resp->error, sizeof(resp->error), "unsupported method");
        return CV_ERR_USAGE;
    }
    is_post = req->method && !strcmp(req->method, "POST");
    deadline = now_ms() + c->total_timeout_ms;
    url = dup_or_null(req->url);
    if (!url) {
        rc = CV_ERR_NOMEM;
        goto out;
    }
    rc = build_headers(req, is_post, &headers);
    if (rc) {
        snprintf(resp->error, sizeof(resp->error), "bad request header");
        goto out;
    }
    for (;;) {
        CURLcode cc;
        long status = 0;
        long long left, delay;

        rc = check_allowed(c, url, resp->error, sizeof(resp->error));
        if (rc)
            goto out;
        left = deadline - now_ms();
        if (left <= 0) {
            snprintf(resp->error, sizeof(resp->error), "time budget of %d ms spent",
                     c->total_timeout_ms);
            rc = CV_ERR_UNAVAILABLE;
            goto out;
        }
        transfer_reset(&t, c->max_response_bytes);
        c->errbuf[0] = '\0';
        cc = setup(c, url, is_post, req, headers, &t, left);
        if (cc == CURLE_OK) {
            resp->attempts++;
            cc = curl_easy_perform(c->easy);
        }
        if (cc == CURLE_OK)
            curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);

        if (cc != CURLE_OK) {
            rc = translate(c, cc, &t, resp);
            if (rc != CV_ERR_UNAVAILABLE || !is_transient(cc))
                goto out;
        } else if (is_redirect(status)) {
            char *loc = NULL;
            curl_easy_getinfo(c->easy, CURLINFO_REDIRECT_URL, &loc);
            if (loc) {
                char *next;
                if (++redirects > c->max_redirects) {
                    snprintf(resp->error, sizeof(resp->error), "more than %d redirects",
                             c->max_redirects);
                    rc = CV_ERR_UNAVAILABLE;
                    goto out;
                }
                if (strlen(loc) > URL_MAX) {
                    snprintf(resp->error, sizeof(resp->error), "redirect URL too long");
                    rc = CV_ERR_HOSTILE;
                    goto out;
                }
                next = dup_or_null(loc); /* loc belongs to the handle, reset next round */
                if (!next) {
                    rc = CV_ERR_NOMEM;
                    goto out;
                }
                free(url);
                url = next;
                if (status == 303 || ((status == 301 || status == 302) && is_post))
                    is_post = 0; /* the body is not sent again */
                continue;
            }
            break; /* a redirect without Location: the caller judges it */
        } else if (status < 500 && status != 429) {
            break;
        }

        /* A transient failure or a 5xx/429 answer: retry if allowed and the budget permits. */
        if (retries >= c->max_retries)
            goto exhausted;
        {
            long long base = (long long)c->backoff_base_ms << (retries < 20 ? retries : 20);
            long long ra = cc == CURLE_OK ? retry_after_ms(t.retry_after) : -1;
            delay = base + (long long)(next_random(c) % (uint64_t)(base + 1));
            if (ra > delay)
                delay = ra;
        }
        if (now_ms() + delay >= deadline)
            goto exhausted;
        sleep_ms(delay);
        retries++;
        continue;
    exhausted:
        if (cc != CURLE_OK)
            goto out; /* rc and resp->error set by translate() */
        break;
    }
    resp->status = 0;
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &resp->status);
    rc = transfer_move(&t, resp);
    if (rc)
        snprintf(resp->error, sizeof(resp->error), "out of memory");
    else
        resp->error[0] = '\0';
out:
    if (rc) {
        int attempts = resp->attempts;
        char error[sizeof(resp->error)];
        memcpy(error, resp->error, sizeof(error));
        cv_http_response_cleanup(resp);
        memset(resp, 0, sizeof(*resp));
        resp->attempts = attempts;
        memcpy(resp->error, error, sizeof(error));
        if (!resp->error[0])
            snprintf(resp->error, sizeof(resp->error), "%s", cv_strerror((enum cv_err)rc));
    }
    free(t.body);
    free(url);
    curl_slist_free_all(headers);
    return rc;
}

/* HTTP helpers shared by the handlers: answers (JSON, problem+json, raw bodies), query and body
 * parsing that answers 400/415 itself (the `_or_respond` helpers), request ids, and the JSON log
 * lines. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "certvet/error.h"
#include "certvet/reader.h"
#include "certvet/report.h"
#include "internal.h"

#define PROBLEM_BASE "https://certvet.example/problems/"
#define JSON_TYPE    "application/json; charset=utf-8"
#define LOG_LINE_MAX                                                                               \
    (64 * 1024) /* a log line longer than this is cut (never happens in practice) */

/* The problem types: the single source of truth for slugs, statuses, titles and the header some
 * of them carry. */
static const struct {
    const char *slug;
    unsigned status;
    const char *title;
    const char *header, *value;
} problems[CV_P_COUNT] = {
    [CV_P_BAD_REQUEST] = {"bad-request", 400, "Bad request", NULL, NULL},
    [CV_P_INVALID_JSON] = {"invalid-json", 400, "Malformed JSON", NULL, NULL},
    [CV_P_INVALID_BODY] = {"invalid-body", 400, "Unreadable request body", NULL, NULL},
    [CV_P_INVALID_FIELD] = {"invalid-field", 400, "Invalid field", NULL, NULL},
    [CV_P_UNAUTHORIZED] = {"unauthorized", 401, "Authentication required",
                           MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"certvet\""},
    [CV_P_FORBIDDEN] = {"forbidden", 403, "Role too low", NULL, NULL},
    [CV_P_NOT_FOUND] = {"not-found", 404, "Not found", NULL, NULL},
    [CV_P_METHOD] = {"method-not-allowed", 405, "Method not allowed", NULL, NULL},
    [CV_P_CONFLICT] = {"conflict", 409, "Concurrent change", NULL, NULL},
    [CV_P_BODY_TOO_LARGE] = {"body-too-large", 413, "Request body too large", NULL, NULL},
    [CV_P_BATCH_TOO_LARGE] = {"batch-too-large", 413, "Too many records in one request", NULL,
                              NULL},
    [CV_P_MEDIA_TYPE] = {"unsupported-media-type", 415, "Unsupported Content-Type", NULL, NULL},
    [CV_P_REFUSED] = {"records-refused", 422, "Every record was refused", NULL, NULL},
    [CV_P_INTERNAL] = {"internal-error", 500, "Internal error", NULL, NULL},
    [CV_P_NOT_IMPLEMENTED] = {"not-implemented", 501, "Not implemented yet", NULL, NULL},
    [CV_P_STORE] = {"store-unavailable", 503, "Store unavailable", MHD_HTTP_HEADER_RETRY_AFTER,
                    "1"},
};

unsigned cv_problem_status(enum cv_problem p)
{
    return problems[p].status;
}

/* ---- answering ---------------------------------------------------------------------------- */

static void queue(struct cv_request *rq, unsigned status, struct MHD_Response *resp)
{
    if (MHD_queue_response(rq->conn, status, resp) == MHD_YES)
        rq->queued = true;
    else
        rq->queue_failed = true;
    MHD_destroy_response(resp);
}

void cv_http_send(struct cv_request *rq, unsigned status, struct MHD_Response *resp, bool now)
{
    if (!resp) {
        rq->queue_failed = true;
        return;
    }
    if (rq->queued || rq->deferred) { /* the first answer wins */
        MHD_destroy_response(resp);
        return;
    }
    rq->status = status;
    MHD_add_response_header(resp, "X-Request-Id", rq->request_id);
    if (atomic_load_explicit(&rq->srv->draining, memory_order_relaxed) || (now && !rq->final))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    if (rq->final || now)
        queue(rq, status, resp);
    else
        rq->deferred = resp;
}

void cv_http_queue_deferred(struct cv_request *rq)
{
    struct MHD_Response *resp = rq->deferred;
    rq->deferred = NULL;
    if (resp)
        queue(rq, rq->status, resp);
}

void cv_http_body(struct cv_request *rq, unsigned status, const char *content_type, char *data,
                  size_t len)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(data);
        cv_http_send(rq, status, NULL, false);
        return;
    }
    if (content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    cv_http_send(rq, status, resp, false);
}

static void send_json(struct cv_request *rq, unsigned status, const char *type, json_t *body,
                      bool now)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) {
        cv_http_send(rq, status, NULL, now);
        return;
    }
    size_t len = strlen(text);
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        cv_http_send(rq, status, NULL, now);
        return;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    cv_http_send(rq, status, resp, now);
}

void cv_http_json(struct cv_request *rq, unsigned status, json_t *body)
{
    if (!body) {
        cv_http_problem(rq, CV_P_INTERNAL, NULL, false, "out of memory");
        return;
    }
    send_json(rq, status, JSON_TYPE, body, false);
}

void cv_http_empty(struct cv_request *rq, unsigned status)
{
    cv_http_send(rq, status, MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT),
                 false);
}

void cv_http_problem(struct cv_request *rq, enum cv_problem p, json_t *errors, bool now,
                     const char *fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);

    char type[128];
    snprintf(type, sizeof(type), PROBLEM_BASE "%s", problems[p].slug);
    json_t *o =
        json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", type, "title", problems[p].title, "status",
                  (int)problems[p].status, "detail", detail, "instance", rq->url ? rq->url : "");
    if (o && errors)
        json_object_set(o, "errors", errors);
    json_decref(errors);
    if (!o) {
        cv_http_send(rq, problems[p].status, NULL, now);
        return;
    }
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    struct MHD_Response *resp =
        text ? MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE) : NULL;
    if (!resp) {
        free(text);
        cv_http_send(rq, problems[p].status, NULL, now);
        return;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/problem+json");
    if (problems[p].header)
        MHD_add_response_header(resp, problems[p].header, problems[p].value);
    if (p == CV_P_METHOD && rq->allow[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rq->allow);
    cv_http_send(rq, problems[p].status, resp, now);
}

/* ---- reading the request -------------------------------------------------------------------- */

const char *cv_http_header(struct cv_request *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

const char *cv_http_query(struct cv_request *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
}

int cv_query_date_or_respond(struct cv_request *rq, const char *name, cv_date def, cv_date *out)
{
    const char *v = cv_http_query(rq, name);
    *out = def;
    if (!v || !*v)
        return CV_OK;
    if (cv_date_parse(v, strlen(v), out)) {
        cv_http_problem(rq, CV_P_BAD_REQUEST, NULL, false,
                        "query parameter '%s': '%.40s' is not a date (YYYY-MM-DD)", name, v);
        return CV_ERR_USAGE;
    }
    return CV_OK;
}

int cv_query_long_or_respond(struct cv_request *rq, const char *name, long def, long min, long max,
                             long *out)
{
    const char *v = cv_http_query(rq, name);
    char *end;
    *out = def;
    if (!v || !*v)
        return CV_OK;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!isdigit((unsigned char)v[0]) || *end || errno || n < min || n > max) {
        cv_http_problem(rq, CV_P_BAD_REQUEST, NULL, false,
                        "query parameter '%s': expected an integer from %ld to %ld", name, min,
                        max);
        return CV_ERR_USAGE;
    }
    *out = n;
    return CV_OK;
}

void cv_http_media_type(struct cv_request *rq, char *out, size_t cap)
{
    const char *v = cv_http_header(rq, MHD_HTTP_HEADER_CONTENT_TYPE);
    size_t n = 0;
    out[0] = '\0';
    if (!v || !cap)
        return;
    while (*v == ' ' || *v == '\t')
        v++;
    for (; *v && *v != ';' && *v != ' ' && *v != '\t' && n + 1 < cap; v++)
        out[n++] = (char)tolower((unsigned char)*v);
    out[n] = '\0';
}

json_t *cv_body_json_or_respond(struct cv_request *rq)
{
    char type[96];
    json_error_t jerr;
    cv_http_media_type(rq, type, sizeof(type));
    if (type[0] && strcmp(type, "application/json") != 0) {
        cv_http_problem(rq, CV_P_MEDIA_TYPE, NULL, false,
                        "Content-Type '%.60s' is not accepted here; send application/json", type);
        return NULL;
    }
    if (rq->body.len == 0) {
        cv_http_problem(rq, CV_P_INVALID_BODY, NULL, false, "the request body is empty");
        return NULL;
    }
    json_t *root = json_loadb(rq->body.data, rq->body.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        cv_http_problem(rq, CV_P_INVALID_JSON, NULL, false,
                        "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column,
                        jerr.text);
        return NULL;
    }
    return root;
}

int cv_buf_printf(struct cv_buf *b, const char *fmt, ...)
{
    char small[1024], *big = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return CV_ERR_INVALID;
    const char *p = small;
    if ((size_t)n >= sizeof(small)) {
        big = malloc((size_t)n + 1);
        if (!big)
            return CV_ERR_NOMEM;
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        p = big;
    }
    int rc = cv_buf_append(b, p, (size_t)n);
    free(big);
    if (!rc && b->overflow)
        rc = CV_ERR_TOO_LARGE;
    return rc;
}

json_t *cv_record_error_json(const struct cv_record_error *e)
{
    return json_pack("{s:s, s:o, s:o, s:o, s:s, s:s}", "source", e->source ? e->source : "body",
                     "line", e->line > 0 ? json_integer(e->line) : json_null(), "index",
                     e->index >= 0 ? json_integer(e->index) : json_null(), "field",
                     e->field ? json_string(e->field) : json_null(), "message", e->message,
                     "severity", e->is_warning ? "warning" : "error");
}

/* ---- request ids and logs --------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

void cv_request_id_init(struct cv_request *rq, const char *from_client)
{
    size_t n = from_client ? strlen(from_client) : 0;
    bool sane = n > 0 && n <= CV_REQUEST_ID_MAX;
    for (size_t i = 0; sane && i < n; i++) {
        unsigned char c = (unsigned char)from_client[i];
        sane = isalnum(c) || c == '.' || c == '_' || c == ':' || c == '-';
    }
    if (sane) {
        memcpy(rq->request_id, from_client, n + 1);
        return;
    }
    unsigned long k = atomic_fetch_add_explicit(&rq->srv->id_counter, 1, memory_order_relaxed);
    snprintf(rq->request_id, sizeof(rq->request_id), "%016llx",
             (unsigned long long)splitmix64(rq->srv->id_seed + k));
}

static void timestamp(char out[40])
{
    /* The date and time to the second are formatted once per second and thread: every request
     * logs a line. */
    static _Thread_local time_t last_s = -1;
    static _Thread_local char last[32];
    static _Thread_local size_t last_n;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != last_s) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        last_n = strftime(last, sizeof(last), "%Y-%m-%dT%H:%M:%S", &tm);
        last_s = ts.tv_sec;
    }
    long ms = ts.tv_nsec / 1000000;
    memcpy(out, last, last_n);
    char *p = out + last_n;
    p[0] = '.';
    p[1] = (char)('0' + ms / 100);
    p[2] = (char)('0' + ms / 10 % 10);
    p[3] = (char)('0' + ms % 10);
    p[4] = 'Z';
    p[5] = '\0';
}

/* Writes one log line (and its newline) to standard error, cut at LOG_LINE_MAX. */
static void log_write(char *line, size_t n)
{
    if (n > LOG_LINE_MAX)
        n = LOG_LINE_MAX;
    line[n] = '\n'; /* the caller left room: the NUL is replaced */
    const char *p = line;
    size_t left = n + 1;
    while (left) {
        ssize_t w = write(STDERR_FILENO, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        left -= (size_t)w;
    }
}

static void log_oom(void)
{
    static const char oom[] = "{\"level\":\"error\",\"msg\":\"out of memory (log)\"}\n";
    (void)!write(STDERR_FILENO, oom, sizeof(oom) - 1);
}

void cv_log(const char *level, const char *msg, json_t *fields)
{
    char ts[40];
    timestamp(ts);
    json_t *o = json_pack("{s:s, s:s, s:s}", "ts", ts, "level", level, "msg", msg);
    if (o && fields)
        json_object_update(o, fields);
    json_decref(fields);
    char *line = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(o);
    if (!line) {
        log_oom();
        return;
    }
    log_write(line, strlen(line)); /* json_dumps left room for the newline */
    free(line);
}

/* A real as json_dumps writes it with JSON_REAL_PRECISION(6) (Jansson's jsonp_dtostr): "%.6g",
 * ".0" added when it would read back as an integer, no '+' or leading zeros in the exponent. */
static size_t real_text(double v, char *out, size_t cap)
{
    int r = snprintf(out, cap, "%.6g", v);
    if (r < 0 || (size_t)r + 3 >= cap)
        return 0;
    size_t n = (size_t)r;
    if (!strchr(out, '.') && !strchr(out, 'e')) {
        memcpy(out + n, ".0", 3);
        n += 2;
    }
    char *e = strchr(out, 'e');
    if (e) {
        char *start = e + 1, *end = start + 1;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, n - (size_t)(end - out) + 1);
            n -= (size_t)(end - start);
        }
    }
    return n;
}

/* The request line of every answer, written as text (the same bytes cv_log gives for these
 * fields): it is on every request's path, and building a Jansson object for it cost more than
 * the rest of a cache hit's JSON work (docs/BENCHMARKS.md). */
void cv_log_request(const struct cv_request *rq, double seconds, const char *termination)
{
    const char *route = rq->route == CV_NO_ROUTE ? "unmatched" : cv_routes[rq->route].name;
    const char *level = rq->status >= 500 ? "error" : rq->status == 0 ? "warning" : "info";
    char ts[40], num[48];
    struct cv_buf b;
    int rc;
    timestamp(ts);
    cv_buf_init(&b, LOG_LINE_MAX + 1);
    rc = cv_buf_reserve(&b, 512);
#define LIT(s) (rc = rc ? rc : cv_buf_append(&b, s, sizeof(s) - 1))
#define STR(s) (rc = rc ? rc : cv_json_string_append(&b, s))
    LIT("{\"ts\":");
    STR(ts);
    LIT(",\"level\":");
    STR(level);
    LIT(",\"msg\":\"request\",\"method\":");
    STR(rq->method);
    LIT(",\"route\":");
    STR(route);
    LIT(",\"status\":");
    snprintf(num, sizeof(num), "%d", (int)rq->status);
    rc = rc ? rc : cv_buf_append(&b, num, strlen(num));
    LIT(",\"duration_ms\":");
    long long us = (long long)(seconds * 1e6 + 0.5);
    size_t n;
    if (us >= 0 && us < 1000000) {
        /* below a second the value has at most 6 significant digits: "%.6g" of us / 1000 is
         * the exact decimal, written without the float formatter */
        n = (size_t)snprintf(num, sizeof(num), "%lld", us / 1000);
        int frac = (int)(us % 1000);
        num[n++] = '.';
        if (!frac) {
            num[n++] = '0';
        } else {
            char d[3] = {(char)('0' + frac / 100), (char)('0' + frac / 10 % 10),
                         (char)('0' + frac % 10)};
            int keep = d[2] != '0' ? 3 : d[1] != '0' ? 2 : 1;
            memcpy(num + n, d, (size_t)keep);
            n += (size_t)keep;
        }
        num[n] = '\0';
    } else {
        n = real_text((double)us / 1e3, num, sizeof(num));
    }
    rc = rc ? rc : n ? cv_buf_append(&b, num, n) : CV_ERR_INVALID;
    LIT(",\"request_id\":");
    STR(rq->request_id);
    LIT(",\"key\":");
    if (rq->key)
        STR(rq->key->name);
    else
        LIT("null");
    if (termination) {
        LIT(",\"termination\":");
        STR(termination);
    }
    LIT("}");
    rc = rc ? rc : cv_buf_append(&b, "", 1); /* room for the newline */
#undef LIT
#undef STR
    if (rc == CV_OK && !b.overflow)
        log_write(b.data, b.len - 1);
    else if (b.overflow && b.len > LOG_LINE_MAX)
        log_write(b.data, LOG_LINE_MAX); /* cut, as cv_log cuts */
    else if (rc == CV_ERR_NOMEM)
        log_oom();
    else
        cv_log(level, "request", NULL); /* a field Jansson would refuse: the line without them */
    cv_buf_cleanup(&b);
}

void cv_csv_cell(struct cv_buf *b, const char *s, bool last)
{
    if (!s)
        s = "";
    if (strpbrk(s, ",\"\r\n")) {
        cv_buf_append(b, "\"", 1);
        for (; *s; s++) {
            if (*s == '"')
                cv_buf_append(b, "\"", 1);
            cv_buf_append(b, s, 1);
        }
        cv_buf_append(b, "\"", 1);
    } else {
        cv_buf_append(b, s, strlen(s));
    }
    cv_buf_append(b, last ? "\r\n" : ",", last ? 2 : 1);
}

bool cv_http_wants_csv(struct cv_request *rq)
{
    const char *accept = cv_http_header(rq, MHD_HTTP_HEADER_ACCEPT);
    return accept && strstr(accept, "text/csv");
}

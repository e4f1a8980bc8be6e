/* certvet-fixture-server: a small libmicrohttpd file server for the tests of the HTTP client,
 * listing sources and registries, with switchable faults.
 *
 *   certvet-fixture-server --root DIR --port-file F
 *
 * Listens on 127.0.0.1 on a free port and writes "127.0.0.1:PORT" to F (atomically, by rename)
 * once it accepts connections. Exits on SIGTERM or SIGINT.
 *
 * Files: GET (or POST, the body is ignored) /a/b.json serves DIR/a/b.json; ".json" is
 * application/json, ".xml" application/xml, ".html" text/html, anything else text/plain. Answers
 * carry an ETag (a hash of the content) and Last-Modified (the file's mtime); a request whose
 * If-None-Match equals the ETag, or whose If-Modified-Since equals the Last-Modified value, gets
 * 304 with no body. A missing file is 404; a path with ".." is 400. With "?chunked=1" the body
 * is sent chunked, without Content-Length (the query string is not part of the path).
 *
 * Control API (never counted in the statistics):
 *   POST /_control  {"path": "/x", "mode": "...", "status": 500, "times": N, "delay_ms": N,
 *                    "retry_after": N, "location": "http://..."}
 *     makes the next N requests for path /x (default 1; -1: all of them) misbehave:
 *       ok        serve normally (clears the rule)
 *       slow      wait delay_ms, then serve normally
 *       hang      accept the request and answer nothing for delay_ms (default 30000), or until
 *                 the server shuts down; then close the connection without an answer
 *       reset     close the connection without an answer
 *       status    answer 'status' (default 500) with a small JSON body, and "Retry-After:
 *                 <retry_after>" when retry_after is given (>= 0); with
 *                 "retry_after_date": true the header is the HTTP date retry_after seconds ahead
 *       garbage   answer 200 with 512 random bytes
 *       truncate  announce the full length, send half of the file, close the connection
 *       redirect  answer 'status' (default 302) with "Location: <location>"
 *     Answers 204, or 400 for a body it cannot read.
 *   POST /_control  {"reset_stats": true}   forgets every request count (204)
 *   GET /_stats?path=/x   200 {"requests": n}: requests for /x so far (those that misbehaved
 *                         included)
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_PATHS        256                 /* distinct paths with rules or counts */
#define PATH_MAX_LEN     512                 /* request path, bytes */
#define LOCATION_MAX     1024                /* redirect target, bytes */
#define CONTROL_BODY_MAX 4096                /* POST /_control body, bytes */
#define FILE_MAX         (64L * 1024 * 1024) /* largest served file */
#define GARBAGE_BYTES    512
#define HANG_DEFAULT_MS  30000
#define HANG_MAX_MS      120000
#define POLL_SLICE_MS    20

enum mode {
    MODE_OK,
    MODE_SLOW,
    MODE_HANG,
    MODE_RESET,
    MODE_STATUS,
    MODE_GARBAGE,
    MODE_TRUNCATE,
    MODE_REDIRECT
};

static const char *const mode_names[] = {"ok",     "slow",    "hang",     "reset",
                                         "status", "garbage", "truncate", "redirect"};

struct entry {
    char path[PATH_MAX_LEN];
    long requests;
    enum mode mode;
    int times; /* requests left to misbehave; -1: all */
    int status;
    int delay_ms;
    int retry_after;      /* -1: no header */
    int retry_after_date; /* send Retry-After as an HTTP date */
    char location[LOCATION_MAX];
};

/* What one fault decision says to do with a request (copied out of the table under the lock). */
struct action {
    enum mode mode;
    int status, delay_ms, retry_after, retry_after_date;
    char location[LOCATION_MAX];
};

struct conn_state {
    struct action a; /* decided (and counted) on the first call */
    char body[CONTROL_BODY_MAX + 1];
    size_t len;
    int too_large;
};

static const char *root;
static struct entry table[MAX_PATHS];
static size_t n_entries;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int stopping;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Sleeps up to 'ms', in slices, returning early when the server shuts down. */
static void wait_or_stop(long ms)
{
    for (long waited = 0; waited < ms && !atomic_load(&stopping); waited += POLL_SLICE_MS)
        sleep_ms(ms - waited < POLL_SLICE_MS ? ms - waited : POLL_SLICE_MS);
}

/* The entry for 'path', created when 'create'; call with the lock held. */
static struct entry *find(const char *path, int create)
{
    for (size_t i = 0; i < n_entries; i++)
        if (!strcmp(table[i].path, path))
            return &table[i];
    if (!create || n_entries == MAX_PATHS || strlen(path) >= PATH_MAX_LEN)
        return NULL;
    memset(&table[n_entries], 0, sizeof(table[0]));
    snprintf(table[n_entries].path, PATH_MAX_LEN, "%s", path);
    table[n_entries].retry_after = -1;
    return &table[n_entries++];
}

/* Counts a request for 'path' and decides what to do with it. */
static void count_and_decide(const char *path, struct action *a)
{
    struct entry *e;
    memset(a, 0, sizeof(*a));
    a->mode = MODE_OK;
    a->retry_after = -1;
    pthread_mutex_lock(&lock);
    e = find(path, 1);
    if (e) {
        e->requests++;
        if (e->mode != MODE_OK && e->times != 0) {
            a->mode = e->mode;
            a->status = e->status;
            a->delay_ms = e->delay_ms;
            a->retry_after = e->retry_after;
            a->retry_after_date = e->retry_after_date;
            memcpy(a->location, e->location, sizeof(a->location));
            if (e->times > 0 && --e->times == 0)
                e->mode = MODE_OK;
        }
    }
    pthread_mutex_unlock(&lock);
}

static enum MHD_Result send_simple(struct MHD_Connection *conn, unsigned status, const char *ctype,
                                   const char *body)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;
    if (!r)
        return MHD_NO;
    if (ctype)
        MHD_add_response_header(r, "Content-Type", ctype);
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handle_control(struct MHD_Connection *conn, struct conn_state *st)
{
    json_error_t jerr;
    json_t *j, *v;
    const char *path, *mode;
    struct entry *e;
    int m = -1;

    if (st->too_large)
        return send_simple(conn, 413, "text/plain", "too large\n");
    j = json_loadb(st->body, st->len, 0, &jerr);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        return send_simple(conn, 400, "text/plain", "bad json\n");
    }
    if (json_is_true(json_object_get(j, "reset_stats"))) {
        pthread_mutex_lock(&lock);
        for (size_t i = 0; i < n_entries; i++)
            table[i].requests = 0;
        pthread_mutex_unlock(&lock);
        json_decref(j);
        return send_simple(conn, 204, NULL, "");
    }
    path = json_string_value(json_object_get(j, "path"));
    mode = json_string_value(json_object_get(j, "mode"));
    for (size_t i = 0; mode && i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
        if (!strcmp(mode, mode_names[i]))
            m = (int)i;
    if (!path || path[0] != '/' || m < 0) {
        json_decref(j);
        return send_simple(conn, 400, "text/plain", "need path and a known mode\n");
    }
    pthread_mutex_lock(&lock);
    e = find(path, 1);
    if (e) {
        e->mode = (enum mode)m;
        v = json_object_get(j, "times");
        e->times = json_is_integer(v) ? (int)json_integer_value(v) : 1;
        v = json_object_get(j, "status");
        e->status =
            json_is_integer(v) ? (int)json_integer_value(v) : (m == MODE_REDIRECT ? 302 : 500);
        if (e->status < 100 || e->status > 599)
            e->status = 500;
        v = json_object_get(j, "delay_ms");
        e->delay_ms = json_is_integer(v) ? (int)json_integer_value(v)
                                         : (m == MODE_HANG ? HANG_DEFAULT_MS : 0);
        if (e->delay_ms < 0 || e->delay_ms > HANG_MAX_MS)
            e->delay_ms = HANG_MAX_MS;
        v = json_object_get(j, "retry_after");
        e->retry_after = json_is_integer(v) ? (int)json_integer_value(v) : -1;
        e->retry_after_date = json_is_true(json_object_get(j, "retry_after_date"));
        v = json_object_get(j, "location");
        snprintf(e->location, sizeof(e->location), "%s",
                 json_is_string(v) ? json_string_value(v) : "/");
    }
    pthread_mutex_unlock(&lock);
    json_decref(j);
    if (!e)
        return send_simple(conn, 507, "text/plain", "path table full\n");
    return send_simple(conn, 204, NULL, "");
}

static enum MHD_Result handle_stats(struct MHD_Connection *conn)
{
    const char *path = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "path");
    char body[64];
    long n = 0;
    if (!path)
        return send_simple(conn, 400, "text/plain", "need ?path=\n");
    pthread_mutex_lock(&lock);
    {
        struct entry *e = find(path, 0);
        if (e)
            n = e->requests;
    }
    pthread_mutex_unlock(&lock);
    snprintf(body, sizeof(body), "{\"requests\": %ld}\n", n);
    return send_simple(conn, 200, "application/json", body);
}

static const char *content_type(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (dot && !strcmp(dot, ".json"))
        return "application/json";
    if (dot && !strcmp(dot, ".xml"))
        return "application/xml";
    if (dot && !strcmp(dot, ".html"))
        return "text/html";
    return "text/plain";
}

/* Reads DIR/path into a malloc'd buffer. Returns 0, or the HTTP status to answer with. */
static unsigned load_file(const char *path, char **data, size_t *len, struct stat *st)
{
    char full[4096];
    FILE *f;
    *data = NULL;
    *len = 0;
    if (strstr(path, ".."))
        return 400;
    snprintf(full, sizeof(full), "%s%s", root, path);
    if (stat(full, st) || !S_ISREG(st->st_mode))
        return 404;
    if (st->st_size > FILE_MAX)
        return 500;
    f = fopen(full, "rb");
    if (!f)
        return 404;
    *data = malloc((size_t)st->st_size + 1);
    if (!*data) {
        fclose(f);
        return 500;
    }
    *len = fread(*data, 1, (size_t)st->st_size, f);
    fclose(f);
    return 0;
}

/* A body handed out by callback: chunked (no Content-Length), or cut short after announcing the
 * full length. */
struct streamed {
    char *data;
    size_t len;     /* the file's length */
    size_t stop_at; /* bytes sent before the end (len, or len / 2 when truncated) */
    int truncated;
};

static ssize_t streamed_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct streamed *t = cls;
    size_t n;
    if (pos >= t->stop_at)
        return t->truncated ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
    n = t->stop_at - (size_t)pos < max ? t->stop_at - (size_t)pos : max;
    memcpy(buf, t->data + pos, n);
    return (ssize_t)n;
}

static void streamed_free(void *cls)
{
    struct streamed *t = cls;
    free(t->data);
    free(t);
}

static enum MHD_Result serve_file(struct MHD_Connection *conn, const char *path,
                                  const struct action *a)
{
    struct MHD_Response *r;
    struct stat st;
    char *data;
    size_t len;
    unsigned code = load_file(path, &data, &len, &st);
    char etag[32], lastmod[64];
    const char *inm, *ims;
    int chunked;
    uint64_t h = 1469598103934665603ull;
    struct tm tm;
    enum MHD_Result ret;

    if (code) {
        free(data);
        return send_simple(conn, code, "text/plain", code == 404 ? "not found\n" : "error\n");
    }
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)data[i]) * 1099511628211ull;
    snprintf(etag, sizeof(etag), "\"%016llx\"", (unsigned long long)h);
    gmtime_r(&st.st_mtime, &tm);
    strftime(lastmod, sizeof(lastmod), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    chunked = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "chunked") != NULL;
    inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "If-None-Match");
    ims = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "If-Modified-Since");
    if ((inm && !strcmp(inm, etag)) || (!inm && ims && !strcmp(ims, lastmod))) {
        free(data);
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        code = 304;
    } else if (a->mode == MODE_TRUNCATE || chunked) {
        struct streamed *t = malloc(sizeof(*t));
        if (!t) {
            free(data);
            return MHD_NO;
        }
        t->data = data;
        t->len = len;
        t->truncated = a->mode == MODE_TRUNCATE;
        t->stop_at = t->truncated ? len / 2 : len;
        r = MHD_create_response_from_callback(t->truncated ? len : MHD_SIZE_UNKNOWN, 4096,
                                              streamed_reader, t, streamed_free);
        if (!r)
            streamed_free(t);
        code = 200;
    } else {
        r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
        if (!r)
            free(data);
        code = 200;
    }
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "ETag", etag);
    MHD_add_response_header(r, "Last-Modified", lastmod);
    if (code == 200)
        MHD_add_response_header(r, "Content-Type", content_type(path));
    ret = MHD_queue_response(conn, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result fault_answer(struct MHD_Connection *conn, const struct action *a)
{
    struct MHD_Response *r;
    enum MHD_Result ret;
    char body[GARBAGE_BYTES];

    if (a->mode == MODE_GARBAGE) {
        unsigned seed = (unsigned)time(NULL);
        for (size_t i = 0; i < sizeof(body); i++)
            body[i] = (char)(rand_r(&seed) & 0xff);
        r = MHD_create_response_from_buffer(sizeof(body), body, MHD_RESPMEM_MUST_COPY);
        if (!r)
            return MHD_NO;
        MHD_add_response_header(r, "Content-Type", "application/json");
        ret = MHD_queue_response(conn, 200, r);
        MHD_destroy_response(r);
        return ret;
    }
    if (a->mode == MODE_REDIRECT) {
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (!r)
            return MHD_NO;
        MHD_add_response_header(r, "Location", a->location);
        ret = MHD_queue_response(conn, (unsigned)a->status, r);
        MHD_destroy_response(r);
        return ret;
    }
    /* MODE_STATUS */
    snprintf(body, sizeof(body), "{\"error\": \"injected status %d\"}\n", a->status);
    r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (a->retry_after >= 0) {
        char ra[64];
        if (a->retry_after_date) {
            time_t when = time(NULL) + a->retry_after;
            struct tm tm;
            gmtime_r(&when, &tm);
            strftime(ra, sizeof(ra), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        } else {
            snprintf(ra, sizeof(ra), "%d", a->retry_after);
        }
        MHD_add_response_header(r, "Retry-After", ra);
    }
    ret = MHD_queue_response(conn, (unsigned)a->status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    struct conn_state *st = *req_cls;
    int is_control = !strcmp(url, "/_control"), is_stats = !strcmp(url, "/_stats");
    (void)cls;
    (void)version;

    if (!st) {
        st = calloc(1, sizeof(*st));
        if (!st)
            return MHD_NO;
        *req_cls = st;
        st->a.mode = MODE_OK;
        if (!is_control && !is_stats) {
            count_and_decide(url, &st->a);
            if (st->a.mode == MODE_RESET)
                return MHD_NO;
            if (st->a.mode == MODE_HANG) {
                wait_or_stop(st->a.delay_ms);
                return MHD_NO;
            }
            if (st->a.mode == MODE_SLOW)
                wait_or_stop(st->a.delay_ms);
        }
        return MHD_YES; /* answer once the whole upload is in */
    }
    if (*upload_data_size) {
        if (is_control && st->len + *upload_data_size <= CONTROL_BODY_MAX) {
            memcpy(st->body + st->len, upload_data, *upload_data_size);
            st->len += *upload_data_size;
        } else if (is_control) {
            st->too_large = 1;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (is_control)
        return strcmp(method, "POST") ? send_simple(conn, 405, "text/plain", "POST only\n")
                                      : handle_control(conn, st);
    if (is_stats)
        return handle_stats(conn);
    if (strlen(url) >= PATH_MAX_LEN)
        return send_simple(conn, 414, "text/plain", "too long\n");
    if (st->a.mode == MODE_STATUS || st->a.mode == MODE_GARBAGE || st->a.mode == MODE_REDIRECT)
        return fault_answer(conn, &st->a);
    return serve_file(conn, url, &st->a);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    free(*req_cls);
    *req_cls = NULL;
}

static int write_port_file(const char *path, unsigned port)
{
    char tmp[4096];
    FILE *f;
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "127.0.0.1:%u\n", port);
    if (fclose(f))
        return -1;
    return rename(tmp, path);
}

int main(int argc, char **argv)
{
    const char *port_file = NULL;
    struct sockaddr_in sa;
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;
    sigset_t set;
    int sig = 0;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--root") && i + 1 < argc)
            root = argv[++i];
        else if (!strcmp(argv[i], "--port-file") && i + 1 < argc)
            port_file = argv[++i];
        else {
            fprintf(stderr, "usage: %s --root DIR --port-file F\n", argv[0]);
            return 2;
        }
    }
    if (!root || !port_file) {
        fprintf(stderr, "usage: %s --root DIR --port-file F\n", argv[0]);
        return 2;
    }
    /* Every thread (MHD's included) inherits the blocked mask; main takes the signal. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = 0;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* No MHD_USE_ERROR_LOG: the faults it would report are the ones injected on purpose. */
    d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                             MHD_USE_ITC,
                         0, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR,
                         (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "fixture server: cannot start\n");
        return 1;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    if (!info || !info->port || write_port_file(port_file, info->port)) {
        fprintf(stderr, "fixture server: cannot write %s: %s\n", port_file, strerror(errno));
        MHD_stop_daemon(d);
        return 1;
    }
    while (sigwait(&set, &sig) != 0)
        ;
    atomic_store(&stopping, 1);
    MHD_stop_daemon(d);
    return 0;
}

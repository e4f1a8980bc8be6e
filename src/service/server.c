/* The HTTP server: the libmicrohttpd daemon and its limits, one request's life (route, auth,
 * body, dispatch, completion), a store connection per worker thread, and the graceful drain on
 * SIGTERM/SIGINT. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "certvet/error.h"
#include "internal.h"

#define DRAIN_TIMEOUT_MS 10000 /* in-flight requests get this long to finish on SIGTERM */
#define STORE_RETRY_MS   250   /* a worker retries a failed store connect after this */
#define STORE_ERR_MAX    256
#define MAIN_TICK_MS     100 /* how often the main thread looks for slow clients and idle puts */

static struct cv_server server; /* one per process: signal handlers need to find it */
static int signal_pipe[2] = {-1, -1};

/* ---- time ------------------------------------------------------------------------------------ */

static struct timespec now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts;
}

static double seconds_since(struct timespec t0)
{
    struct timespec t = now_mono();
    return (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
}

static long long ms_between(struct timespec a, struct timespec b)
{
    return (long long)(b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
}

/* ---- one store connection per worker thread ---------------------------------------------------
 */

struct thread_store {
    struct thread_store *prev, *next; /* in 'open_stores' once 'store' is set, under its lock */
    struct cv_store *store;           /* owned; NULL until a connect succeeds, then set for good */
    struct timespec retry_at;         /* after a failed connect, no new attempt before this */
    bool logged_down;                 /* the failure was logged; log again only after a recovery */
    struct cv_store_stats seen;       /* counters already added to the metrics */
};

static pthread_key_t store_key;
static bool store_key_ok;
static pthread_once_t store_key_once = PTHREAD_ONCE_INIT;

/* Every thread's open store, for flush_idle_stores (the main thread). */
static pthread_mutex_t open_stores_lock = PTHREAD_MUTEX_INITIALIZER;
static struct thread_store *open_stores;

static void thread_store_free(void *p)
{
    struct thread_store *ts = p;
    if (ts->store) {
        pthread_mutex_lock(&open_stores_lock);
        if (ts->prev)
            ts->prev->next = ts->next;
        else
            open_stores = ts->next;
        if (ts->next)
            ts->next->prev = ts->prev;
        pthread_mutex_unlock(&open_stores_lock);
    }
    cv_store_close(ts->store);
    free(ts);
}

/* Under load a worker's cache puts go out with its next Redis command (one write, one wake-up of
 * Redis for both; see the end of on_request); one that goes idle after a put would keep it: the
 * main thread sends what such workers left buffered, every MAIN_TICK_MS. */
static void flush_idle_stores(void)
{
    pthread_mutex_lock(&open_stores_lock);
    for (struct thread_store *ts = open_stores; ts; ts = ts->next)
        cv_store_flush_deferred(ts->store);
    pthread_mutex_unlock(&open_stores_lock);
}

static void make_store_key(void)
{
    store_key_ok = pthread_key_create(&store_key, thread_store_free) == 0;
}

static struct thread_store *thread_store(void)
{
    if (!store_key_ok)
        return NULL;
    struct thread_store *ts = pthread_getspecific(store_key);
    if (!ts) {
        ts = calloc(1, sizeof(*ts));
        if (ts && pthread_setspecific(store_key, ts)) {
            free(ts);
            ts = NULL;
        }
    }
    return ts;
}

struct cv_store *cv_store_try(struct cv_request *rq)
{
    char err[STORE_ERR_MAX] = "";
    struct thread_store *ts = thread_store();
    if (!ts)
        return NULL;
    if (ts->store)
        return ts->store;
    struct timespec now = now_mono();
    if (ms_between(ts->retry_at, now) < 0)
        return NULL;
    int rc = cv_store_open(&rq->srv->store_cfg, &ts->store, err, sizeof(err));
    if (rc) {
        ts->store = NULL;
        ts->retry_at = now;
        ts->retry_at.tv_nsec += STORE_RETRY_MS * 1000000L;
        if (ts->retry_at.tv_nsec >= 1000000000L) {
            ts->retry_at.tv_sec++;
            ts->retry_at.tv_nsec -= 1000000000L;
        }
        cv_metrics_store(1, 0);
        if (!ts->logged_down)
            cv_log("warning", "store unavailable", json_pack("{s:s}", "detail", err));
        ts->logged_down = true;
        return NULL;
    }
    pthread_mutex_lock(&open_stores_lock);
    ts->next = open_stores;
    if (open_stores)
        open_stores->prev = ts;
    open_stores = ts;
    pthread_mutex_unlock(&open_stores_lock);
    if (ts->logged_down)
        cv_log("info", "store connected", NULL);
    ts->logged_down = false;
    memset(&ts->seen, 0, sizeof(ts->seen));
    return ts->store;
}

/* Adds what this thread's store counted since the last request to the metrics. */
static void thread_store_publish(void)
{
    struct thread_store *ts = store_key_ok ? pthread_getspecific(store_key) : NULL;
    struct cv_store_stats st;
    if (!ts || !ts->store)
        return;
    cv_store_stats(ts->store, &st);
    cv_metrics_store(st.errors - ts->seen.errors, st.reconnects - ts->seen.reconnects);
    ts->seen = st;
}

/* Sends this thread's buffered cache puts now (cv_store_flush_deferred). */
static void thread_store_flush(void)
{
    struct thread_store *ts = store_key_ok ? pthread_getspecific(store_key) : NULL;
    if (ts && ts->store)
        cv_store_flush_deferred(ts->store);
}

struct cv_store *cv_store_or_respond(struct cv_request *rq)
{
    struct cv_store *s = cv_store_try(rq);
    if (!s)
        cv_http_problem(rq, CV_P_STORE, NULL, false,
                        "the store (Redis) cannot be reached; retry shortly");
    return s;
}

void cv_store_failed_respond(struct cv_request *rq, int rc, const char *what)
{
    switch (rc) {
    case CV_ERR_NOT_FOUND:
        cv_http_problem(rq, CV_P_NOT_FOUND, NULL, false, "no %s with id '%s'", what, rq->id);
        break;
    case CV_ERR_UNAVAILABLE: {
        struct thread_store *ts = thread_store();
        enum cv_store_cause cause = ts && ts->store ? cv_store_cause(ts->store) : CV_CAUSE_NONE;
        if (cause == CV_CAUSE_UNCONFIRMED) {
            cv_http_problem(rq, CV_P_STORE, NULL, false,
                            "the write reached the store (Redis) but not enough replicas "
                            "confirmed it in time, so it is not acknowledged; retry (writes are "
                            "idempotent)");
        } else if (cause == CV_CAUSE_NOT_PERSISTING) {
            /* The append-only file's disk is full or failing: say so to the client, and to the
             * operator with Redis' words. */
            cv_log("error", "store refuses writes",
                   json_pack("{s:s}", "detail", cv_store_errstr(ts->store)));
            cv_http_problem(rq, CV_P_STORE, NULL, false,
                            "the store (Redis) refuses writes: it cannot persist them (its disk "
                            "is full or failing); nothing was changed, reads still work");
        } else {
            cv_http_problem(rq, CV_P_STORE, NULL, false,
                            "the store (Redis) did not answer; nothing was changed, retry shortly");
        }
        break;
    }
    case CV_ERR_CONFLICT:
        cv_http_problem(rq, CV_P_CONFLICT, NULL, false,
                        "other writers kept changing the same records; nothing was changed, "
                        "retry");
        break;
    case CV_ERR_USAGE:
        cv_http_problem(rq, CV_P_BAD_REQUEST, NULL, false,
                        "%s: an id, cursor or limit is outside what the store accepts", what);
        break;
    case CV_ERR_NOMEM:
        cv_http_problem(rq, CV_P_INTERNAL, NULL, false, "out of memory");
        break;
    default:
        cv_log("error", "store call failed",
               json_pack("{s:s, s:s, s:s}", "what", what, "error", cv_strerror(rc), "request_id",
                         rq->request_id));
        cv_http_problem(rq, CV_P_INTERNAL, NULL, false, "the store failed (%s)", cv_strerror(rc));
        break;
    }
}

/* ---- the receive deadline (slow clients) ----------------------------------------------------
 * MHD's connection timeout is an idle timeout: a client that sends one byte a second keeps a
 * connection (and its memory) for ever. Each connection is watched from its start, and again
 * from the end of each request, until its next request is fully received; the main thread cuts
 * (shutdown, so MHD closes it) one that takes longer than limits.connection_timeout_s. */

struct conn_watch {
    struct conn_watch *prev, *next; /* in 'watched', under 'watch_lock' */
    MHD_socket fd;                  /* MHD's; open while listed (MHD closes it after CLOSED) */
    atomic_llong since_ms;          /* monotonic ms when receiving began; 0: not receiving */
};

static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn_watch *watched;

static long long mono_ms(void)
{
    struct timespec t = now_mono();
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct conn_watch *w = *socket_context;
    (void)cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        w = ci ? calloc(1, sizeof(*w)) : NULL;
        if (!w)
            return; /* unwatched: MHD's idle timeout still applies */
        w->fd = ci->connect_fd;
        atomic_init(&w->since_ms, mono_ms());
        pthread_mutex_lock(&watch_lock);
        w->next = watched;
        if (watched)
            watched->prev = w;
        watched = w;
        pthread_mutex_unlock(&watch_lock);
        *socket_context = w;
    } else if (w) {
        pthread_mutex_lock(&watch_lock);
        if (w->prev)
            w->prev->next = w->next;
        else
            watched = w->next;
        if (w->next)
            w->next->prev = w->prev;
        pthread_mutex_unlock(&watch_lock);
        free(w);
        *socket_context = NULL;
    }
}

/* Starts (now) or stops (0) the receive clock of the connection carrying 'conn'. */
static void watch_set(struct MHD_Connection *conn, long long since_ms)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct conn_watch *w = ci ? ci->socket_context : NULL;
    if (w)
        atomic_store_explicit(&w->since_ms, since_ms, memory_order_relaxed);
}

/* Cuts every connection whose request has been arriving for longer than 'limit_s'. */
static void cut_slow_clients(int limit_s)
{
    long long now = mono_ms();
    int cut = 0;
    pthread_mutex_lock(&watch_lock);
    for (struct conn_watch *w = watched; w; w = w->next) {
        long long since = atomic_load_explicit(&w->since_ms, memory_order_relaxed);
        if (since && now - since > (long long)limit_s * 1000) {
            atomic_store_explicit(&w->since_ms, 0, memory_order_relaxed);
            shutdown(w->fd, SHUT_RDWR);
            cut++;
        }
    }
    pthread_mutex_unlock(&watch_lock);
    if (cut)
        cv_log("warning", "slow clients cut: request not received within the time limit",
               json_pack("{s:i, s:i}", "connections", cut, "connection_timeout_s", limit_s));
}

/* ---- the request lifecycle ------------------------------------------------------------------- */

static void request_free(struct cv_request *rq)
{
    if (rq->deferred)
        MHD_destroy_response(rq->deferred);
    cv_buf_cleanup(&rq->body);
    cv_refs_release(rq->snap);
    free(rq);
}

/* The Content-Length the client declared, or -1 when there is none. */
static long long declared_length(struct cv_request *rq)
{
    const char *v = cv_http_header(rq, MHD_HTTP_HEADER_CONTENT_LENGTH);
    char *end;
    if (!v)
        return -1;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || end == v)
        return -1;
    return n > (unsigned long long)LLONG_MAX ? LLONG_MAX : (long long)n;
}

static bool has_body(struct cv_request *rq)
{
    return declared_length(rq) > 0 || cv_http_header(rq, MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL;
}

/* Route, auth and body limit: what can be decided from the headers. An answer decided here for
 * a request with a body is queued at once (the body is never read; MHD closes the connection);
 * otherwise it waits for MHD's next call (SPEC 11's pitfall). */
static void first_call(struct cv_request *rq)
{
    const struct cv_service_config *cfg = rq->srv->cfg;
    unsigned status = 0;
    bool body = has_body(rq);
    rq->route = cv_route_match(rq->method, rq->url, rq->id, rq->allow, sizeof(rq->allow), &status);
    if (rq->route == CV_NO_ROUTE) {
        if (status == 405)
            cv_http_problem(rq, CV_P_METHOD, NULL, body, "%s is not allowed here; use %s",
                            rq->method, rq->allow);
        else if (status == 400)
            cv_http_problem(rq, CV_P_BAD_REQUEST, NULL, body,
                            "the id in the path is malformed (1 to %d of A-Z a-z 0-9 . _ : @ -)",
                            CV_PATH_ID_MAX);
        else
            cv_http_problem(rq, CV_P_NOT_FOUND, NULL, body, "no route %s %s", rq->method, rq->url);
        return;
    }
    const struct cv_route_def *def = &cv_routes[rq->route];
    switch (cv_auth_check(cfg->keys, cfg->n_keys, cv_http_header(rq, MHD_HTTP_HEADER_AUTHORIZATION),
                          def->role, &rq->key, &rq->role)) {
    case CV_AUTH_OK:
        break;
    case CV_AUTH_MISSING:
        cv_http_problem(rq, CV_P_UNAUTHORIZED, NULL, body,
                        "this route needs a key with the '%s' role: send Authorization: Bearer "
                        "KEY",
                        cv_role_name(def->role));
        return;
    case CV_AUTH_UNKNOWN:
        cv_http_problem(rq, CV_P_UNAUTHORIZED, NULL, body, "the key is not known");
        return;
    case CV_AUTH_FORBIDDEN:
        cv_http_problem(rq, CV_P_FORBIDDEN, NULL, body,
                        "this route needs the '%s' role; key '%s' has the '%s' role",
                        cv_role_name(def->role), rq->key->name, cv_role_name(rq->role));
        return;
    }
    rq->wants_body = strcmp(def->method, "POST") == 0 || strcmp(def->method, "PUT") == 0;
    if (!rq->wants_body)
        return;
    long long declared = declared_length(rq);
    if (declared > (long long)cfg->body_bytes) {
        cv_http_problem(rq, CV_P_BODY_TOO_LARGE, NULL, true,
                        "the body is %lld bytes; the limit is %zu (limits.body_bytes)", declared,
                        cfg->body_bytes);
        return;
    }
    cv_buf_init(&rq->body, cfg->body_bytes);
    if (declared > 0 && cv_buf_reserve(&rq->body, (size_t)declared))
        cv_http_problem(rq, CV_P_INTERNAL, NULL, true, "out of memory");
}

/* Takes a piece of the body. MHD lets an answer be queued only on the first or the last call,
 * so a body that outgrows the limit is answered 413 on the last call; what comes after the limit
 * is dropped unread, and a client that sends more than another limits.body_bytes of it loses
 * the connection. Returns false to drop the connection. */
static bool upload(struct cv_request *rq, const char *data, size_t len)
{
    size_t limit = rq->srv->cfg->body_bytes;
    if (rq->queued)
        return true;
    if (!rq->wants_body || rq->deferred) {
        rq->discarded += len;
        return rq->discarded <= limit;
    }
    if (cv_buf_append(&rq->body, data, len)) {
        cv_http_problem(rq, CV_P_INTERNAL, NULL, false, "out of memory");
        return true;
    }
    if (rq->body.overflow) {
        rq->discarded = rq->body.len + len;
        cv_buf_cleanup(&rq->body);
        cv_http_problem(rq, CV_P_BODY_TOO_LARGE, NULL, false,
                        "the body is larger than %zu bytes (limits.body_bytes)", limit);
    }
    return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    struct cv_server *srv = cls;
    struct cv_request *rq = *req_cls;
    (void)version;
    if (!rq) {
        rq = calloc(1, sizeof(*rq));
        if (!rq)
            return MHD_NO;
        rq->conn = conn;
        rq->srv = srv;
        rq->snap = cv_refs_acquire(srv);
        rq->refs = &rq->snap->ref;
        rq->url = url;
        rq->route = CV_NO_ROUTE;
        rq->start = now_mono();
        snprintf(rq->method, sizeof(rq->method), "%s", method);
        cv_request_id_init(rq, cv_http_header(rq, "X-Request-Id"));
        *req_cls = rq;
        atomic_fetch_add_explicit(&srv->in_flight, 1, memory_order_relaxed);
        first_call(rq);
        return rq->queue_failed ? MHD_NO : MHD_YES;
    }
    if (*upload_data_size) {
        bool keep = upload(rq, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return keep ? MHD_YES : MHD_NO;
    }
    rq->final = true;
    watch_set(conn, 0);
    if (!rq->queued && rq->deferred)
        cv_http_queue_deferred(rq);
    if (!rq->queued && !rq->queue_failed) {
        cv_route_dispatch(rq);
        if (!rq->queued && !rq->queue_failed && !rq->deferred)
            cv_http_problem(rq, CV_P_INTERNAL, NULL, false, "the handler gave no answer");
    }
    thread_store_publish();
    /* A cache put waits for this worker's next Redis command (one write for both) only while other
     * requests are in progress; a request alone sends it now, before its answer goes out, so that
     * the client's next request finds it on any worker. */
    if (atomic_load_explicit(&srv->in_flight, memory_order_relaxed) <= 1)
        thread_store_flush();
    return rq->queued ? MHD_YES : MHD_NO;
}

static const char *termination_name(enum MHD_RequestTerminationCode toe)
{
    switch (toe) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK:
        return NULL;
    case MHD_REQUEST_TERMINATED_WITH_ERROR:
        return "error";
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
        return "timeout";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
        return "shutdown";
    case MHD_REQUEST_TERMINATED_READ_ERROR:
        return "read_error";
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
        return "client_abort";
    }
    return "unknown";
}

/* The one release point of a request's state. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct cv_server *srv = cls;
    struct cv_request *rq = *req_cls;
    watch_set(conn, mono_ms()); /* a kept-alive connection: the next request's clock */
    if (!rq)
        return;
    *req_cls = NULL;
    double secs = seconds_since(rq->start);
    if (!rq->queued)
        rq->status = 0; /* decided, but never sent */
    if (rq->status)
        cv_metrics_request(rq->route, rq->method, rq->status, secs);
    cv_log_request(rq, secs, termination_name(toe));
    request_free(rq);
    atomic_fetch_sub_explicit(&srv->in_flight, 1, memory_order_relaxed);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    cv_log("warning", "libmicrohttpd", json_pack("{s:s}", "detail", msg));
}

/* ---- start, wait, drain ------------------------------------------------------------------------
 */

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    (void)!write(signal_pipe[1], &b, 1);
    errno = saved;
}

static int install_signals(void)
{
    if (pipe(signal_pipe))
        return CV_ERR_IO;
    for (int i = 0; i < 2; i++) {
        fcntl(signal_pipe[i], F_SETFD, FD_CLOEXEC);
        fcntl(signal_pipe[i], F_SETFL, O_NONBLOCK);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    return CV_OK;
}

static void restore_signals(void)
{
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    for (int i = 0; i < 2; i++) {
        if (signal_pipe[i] >= 0)
            close(signal_pipe[i]);
        signal_pipe[i] = -1;
    }
}

/* Waits up to 'timeout_ms' (-1: for ever) for a signal; returns it, or 0. */
static int wait_signal(int timeout_ms)
{
    struct pollfd p = {.fd = signal_pipe[0], .events = POLLIN};
    for (;;) {
        int r = poll(&p, 1, timeout_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0;
        unsigned char b = 0;
        if (read(signal_pipe[0], &b, 1) == 1)
            return b;
    }
}

/* docs/openapi.yaml beside the configuration directory, if it is there. */
static void load_openapi(struct cv_server *srv)
{
    char path[4096];
    struct cv_buf b;
    char chunk[65536];
    size_t n;
    snprintf(path, sizeof(path), "%s/../docs/openapi.yaml", srv->cfg->config_dir);
    FILE *f = fopen(path, "rb");
    if (!f) {
        cv_log("info", "no OpenAPI document (GET /openapi.yaml answers 404)", NULL);
        return;
    }
    cv_buf_init(&b, CV_OPENAPI_MAX_BYTES);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        cv_buf_append(&b, chunk, n);
    if (ferror(f) || b.overflow || !b.data) {
        cv_log("warning", "OpenAPI document unreadable or larger than 1 MiB; not served", NULL);
        cv_buf_cleanup(&b);
    } else {
        srv->openapi = b.data;
        srv->openapi_len = b.len;
    }
    fclose(f);
}

/* mkdir -p, mode 0700 (the data directory holds uploads being read). */
static int make_dirs(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(buf))
        return CV_ERR_USAGE;
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) && errno != EEXIST)
            return CV_ERR_IO;
        *p = '/';
    }
    if (mkdir(buf, 0700) && errno != EEXIST)
        return CV_ERR_IO;
    return CV_OK;
}

static uint64_t random_seed(void)
{
    uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        uint64_t r;
        if (read(fd, &r, sizeof(r)) == (ssize_t)sizeof(r))
            seed ^= r;
        close(fd);
    }
    return seed;
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss->ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
    return false;
}

/* Resolves the listen address; with no keys configured, a non-loopback address is replaced by
 * 127.0.0.1 (docs/API.md). */
static int listen_address(const struct cv_service_config *c, struct sockaddr_storage *ss,
                          socklen_t *len)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int rc = getaddrinfo(c->listen_address, NULL, &hints, &res);
    if (rc || !res) {
        cv_log("error", "cannot resolve the listen address",
               json_pack("{s:s, s:s}", "address", c->listen_address, "detail", gai_strerror(rc)));
        return CV_ERR_USAGE;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    if (c->n_keys == 0) {
        cv_log("warning",
               "no API keys configured: every request has the admin role; listening "
               "on loopback only",
               NULL);
        if (!is_loopback(ss)) {
            struct sockaddr_in *in = (struct sockaddr_in *)ss;
            memset(ss, 0, sizeof(*ss));
            in->sin_family = AF_INET;
            in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            *len = sizeof(*in);
        }
    }
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)c->port);
    else
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)c->port);
    return CV_OK;
}

/* "host:port" ("[addr]:port" for IPv6) of the bound socket. */
static void bound_name(const struct sockaddr_storage *ss, unsigned port, char *out, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (ss->ss_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, host, sizeof(host));
        snprintf(out, cap, "%s:%u", host, port);
    } else {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, host, sizeof(host));
        snprintf(out, cap, "[%s]:%u", host, port);
    }
}

/* Writes "host:port\n" to the ready file through a temporary name, so readers never see half. */
static int write_ready_file(const char *path, const char *name)
{
    char tmp[4096];
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return CV_ERR_IO;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return CV_ERR_IO;
    int bad = fprintf(f, "%s\n", name) < 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path)) {
        unlink(tmp);
        return CV_ERR_IO;
    }
    return CV_OK;
}

/* The store URL for the log, without credentials. */
static void redacted_url(const char *url, char *out, size_t cap)
{
    if (strchr(url, '@') || strstr(url, "password"))
        snprintf(out, cap, "%.*s://(redacted)", (int)strcspn(url, ":"), url);
    else
        snprintf(out, cap, "%s", url);
}

static struct MHD_Daemon *start_daemon(struct cv_server *srv, struct sockaddr_storage *ss)
{
    const struct cv_service_config *c = srv->cfg;
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (ss->ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* a pool only for more than one thread (MHD warns about a pool of size 0 or 1) */
    struct MHD_OptionItem pool[] = {
        {c->threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, c->threads, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    /* the logger first, so MHD reports nothing through its own before it is set */
    return MHD_start_daemon(
        flags, (uint16_t)c->port, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
        NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)ss, MHD_OPTION_ARRAY, pool,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)c->connections, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)c->connection_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)c->header_bytes, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL, MHD_OPTION_END);
}

/* Stops taking connections, lets in-flight requests finish (up to DRAIN_TIMEOUT_MS, or until a
 * second signal), then stops the daemon. */
static void drain(struct cv_server *srv, struct MHD_Daemon *d, int sig)
{
    atomic_store(&srv->draining, true);
    cv_log("info", "shutting down",
           json_pack("{s:s, s:i}", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM", "in_flight",
                     (int)atomic_load(&srv->in_flight)));
    MHD_socket listen_fd = MHD_quiesce_daemon(d);
    struct timespec t0 = now_mono();
    bool drained = true;
    while (atomic_load(&srv->in_flight) > 0) {
        if (ms_between(t0, now_mono()) >= DRAIN_TIMEOUT_MS || wait_signal(10)) {
            drained = false;
            break;
        }
    }
    long left = atomic_load(&srv->in_flight);
    MHD_stop_daemon(d);
    if (listen_fd != MHD_INVALID_SOCKET)
        close(listen_fd);
    cv_log(drained ? "info" : "warning", "stopped",
           json_pack("{s:b, s:i}", "drained", drained, "abandoned", (int)left));
}

int cv_service_run(const struct cv_service_config *c)
{
    struct cv_server *srv = &server;
    struct MHD_Daemon *d = NULL;
    struct sockaddr_storage ss;
    socklen_t ss_len;
    char err[512], name[INET6_ADDRSTRLEN + 16], url[512];
    int status = 2;

    memset(srv, 0, sizeof(*srv));
    atomic_init(&srv->draining, false);
    atomic_init(&srv->in_flight, 0);
    atomic_init(&srv->id_counter, 0);
    srv->cfg = c;
    srv->id_seed = random_seed();
    if (!c->redis_url) {
        cv_log("error", "no store URL (redis.url); certvet serve starts an embedded one", NULL);
        return status;
    }
    srv->store_cfg = (struct cv_store_config){c->redis_url, c->redis_prefix, c->redis_timeout_ms};
    if (cv_refs_init(srv, err, sizeof(err))) {
        cv_log("error", "cannot load the reference data", json_pack("{s:s}", "detail", err));
        goto out;
    }
    if (cv_score_profiles_load(srv, err, sizeof(err))) {
        cv_log("error", "cannot load the scoring profiles", json_pack("{s:s}", "detail", err));
        goto out;
    }
    if (c->registries_path &&
        cv_registry_set_load(c->registries_path, &srv->registries, err, sizeof(err))) {
        cv_log("error", "cannot load the registry connectors", json_pack("{s:s}", "detail", err));
        goto out;
    }
    load_openapi(srv);
    if (make_dirs(c->data_dir)) {
        cv_log("error", "cannot create the data directory",
               json_pack("{s:s, s:s}", "data_dir", c->data_dir, "detail", strerror(errno)));
        goto out;
    }
    pthread_once(&store_key_once, make_store_key);
    if (!store_key_ok || install_signals()) {
        cv_log("error", "cannot set up threads or signals", NULL);
        goto out;
    }
    if (listen_address(c, &ss, &ss_len))
        goto out;
    d = start_daemon(srv, &ss);
    if (!d) {
        cv_log("error", "cannot listen",
               json_pack("{s:s, s:i}", "address", c->listen_address, "port", c->port));
        goto out;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    bound_name(&ss, info ? info->port : (unsigned)c->port, name, sizeof(name));
    redacted_url(c->redis_url, url, sizeof(url));
    cv_log("info", "listening",
           json_pack("{s:s, s:i, s:i, s:s, s:s, s:i}", "listen", name, "threads", c->threads,
                     "keys", (int)c->n_keys, "store", url, "reference_version",
                     srv->current->ref.version, "connections", c->connections));
    if (cv_refs_start_refresher(srv))
        cv_log("error", "cannot start the periodic reference refresher", NULL);
    printf("certvet: listening on http://%s\n", name);
    fflush(stdout);
    if (c->ready_file && write_ready_file(c->ready_file, name)) {
        cv_log("error", "cannot write the ready file",
               json_pack("{s:s}", "ready_file", c->ready_file));
        MHD_stop_daemon(d);
        goto out;
    }
    int sig = 0;
    while (!sig) {
        sig = wait_signal(MAIN_TICK_MS);
        cut_slow_clients(c->connection_timeout_s);
        flush_idle_stores();
    }
    drain(srv, d, sig);
    if (c->ready_file)
        unlink(c->ready_file);
    status = 0;
out:
    restore_signals();
    free(srv->openapi);
    cv_profiles_cleanup(&srv->profiles);
    cv_registry_set_free(srv->registries);
    cv_refs_cleanup(srv);
    memset(srv, 0, sizeof(*srv));
    return status;
}

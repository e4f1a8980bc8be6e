/* The Redis adapter, the only file that includes hiredis: connection URLs, connecting with
 * timeouts, AUTH and SELECT, reconnecting after any error (with a short backoff), replies bounded
 * by CV_STORE_REPLY_MAX, and hiredis' replies and errors turned into ours. */
#include "redis.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "certvet/error.h"
#include "certvet/store.h"

#define DEFAULT_TIMEOUT_MS 2000
#define BACKOFF_MIN_MS     50   /* first pause after a failed reconnection */
#define BACKOFF_MAX_MS     1000 /* the pause doubles up to this */

struct cv_redis {
    struct cv_redis_url url;
    char where[CV_REDIS_HOST_MAX + 16]; /* "unix:/path" or "host:port", for messages */
    struct timeval timeout;             /* connect, and each read or write */
    redisContext *c;                    /* NULL while disconnected */
    size_t pending;                     /* commands appended whose replies are still unread */
    bool unsent;                        /* commands appended but not yet written */
    bool sigpipe_ignored;               /* SIGPIPE was SIG_IGN when we connected */
    bool connected_once;
    bool demoted;    /* a READONLY reply: dropped once the pipeline is read */
    size_t deferred; /* replies of cv_redis_send_deferred still to read and discard */
    /* Taken by the connection's user from cv_redis_begin until the replies it waits for are read
     * (or the connection is dropped), and only tried by cv_redis_flush_deferred from another
     * thread. An atomic flag, not a mutex: a connection may pass between threads (joined) while
     * a pipeline is open. */
    atomic_bool busy;
    bool held;       /* the user holds 'busy' (read and written by the user only) */
    bool flush_lost; /* cv_redis_flush_deferred lost the connection: counted at the next use */
    long long retry_at_ms; /* monotonic clock; no reconnection attempt before (0: none) */
    int backoff_ms;
    char last_connect_error[CV_REDIS_ERRSTR_MAX];
    int err;                   /* first error since cv_redis_clear_error, CV_OK if none */
    enum cv_store_cause cause; /* what 'err' was, when a reply told */
    char errstr[CV_REDIS_ERRSTR_MAX];
    unsigned long commands, errors, reconnects;
};

/* ---- URLs -------------------------------------------------------------------------------- */

static int url_error(char *err, size_t cap, int rc, const char *msg)
{
    if (err && cap)
        snprintf(err, cap, "redis URL: %s", msg);
    return rc;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes 'len' bytes of 's' into 'out' ('cap' bytes with the NUL). Returns 0, or -1 for
 * a bad escape, an encoded NUL or an overflow. */
static int percent_decode(const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            int hi, lo;
            if (len - i < 3)
                return -1;
            hi = hex_value(s[i + 1]);
            lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (o + 1 >= cap)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

/* Parses all of 's' ('len' bytes) as a decimal integer in [lo, hi]. Returns 0 or -1. */
static int parse_int(const char *s, size_t len, long lo, long hi, int *out)
{
    long v = 0;
    if (len == 0 || len > 9)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static bool host_char(char c, bool bracketed)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    if (bracketed)
        return c == ':' || c == '.' || c == '%';
    return c == '.' || c == '-' || c == '_';
}

static int parse_host(const char *s, size_t len, bool bracketed, struct cv_redis_url *u, char *err,
                      size_t cap)
{
    if (len == 0)
        return url_error(err, cap, CV_ERR_USAGE, "missing host");
    if (len >= sizeof(u->host))
        return url_error(err, cap, CV_ERR_USAGE, "host name too long");
    for (size_t i = 0; i < len; i++)
        if (!host_char(s[i], bracketed))
            return url_error(err, cap, CV_ERR_USAGE, "invalid character in host");
    memcpy(u->host, s, len);
    u->host[len] = '\0';
    return CV_OK;
}

/* "[[user]:password@]host[:port][/db]" after "redis://". */
static int parse_tcp(const char *s, struct cv_redis_url *u, char *err, size_t cap)
{
    size_t alen = strcspn(s, "/?#");
    const char *at = NULL, *hp = s, *colon;
    size_t hplen;

    if (s[alen] == '?' || s[alen] == '#')
        return url_error(err, cap, CV_ERR_USAGE, "redis:// URLs take no query or fragment");
    for (size_t i = 0; i < alen; i++)
        if (s[i] == '@')
            at = s + i; /* the last '@': a password may contain an unencoded one */
    if (at) {
        const char *ui_colon = memchr(s, ':', (size_t)(at - s));
        const char *pw = s;
        if (ui_colon) {
            if (percent_decode(s, (size_t)(ui_colon - s), u->user, sizeof(u->user)))
                return url_error(err, cap, CV_ERR_USAGE, "bad user name (escape or length)");
            pw = ui_colon + 1;
        }
        if (percent_decode(pw, (size_t)(at - pw), u->password, sizeof(u->password)))
            return url_error(err, cap, CV_ERR_USAGE, "bad password (escape or length)");
        hp = at + 1;
    }
    hplen = alen - (size_t)(hp - s);
    if (hplen > 0 && hp[0] == '[') {
        const char *close = memchr(hp, ']', hplen);
        int rc;
        if (!close)
            return url_error(err, cap, CV_ERR_USAGE, "unterminated [IPv6 address]");
        rc = parse_host(hp + 1, (size_t)(close - hp - 1), true, u, err, cap);
        if (rc)
            return rc;
        colon = close + 1 < hp + hplen ? close + 1 : NULL;
        if (colon && *colon != ':')
            return url_error(err, cap, CV_ERR_USAGE, "unexpected text after ]");
    } else {
        int rc;
        colon = memchr(hp, ':', hplen);
        rc = parse_host(hp, colon ? (size_t)(colon - hp) : hplen, false, u, err, cap);
        if (rc)
            return rc;
    }
    if (colon && parse_int(colon + 1, (size_t)(hp + hplen - colon - 1), 1, 65535, &u->port))
        return url_error(err, cap, CV_ERR_USAGE, "port must be a number in 1..65535");
    if (s[alen] == '/' && s[alen + 1] != '\0' &&
        parse_int(s + alen + 1, strlen(s + alen + 1), 0, CV_REDIS_DB_MAX, &u->db))
        return url_error(err, cap, CV_ERR_USAGE, "database must be a number after the /");
    return CV_OK;
}

/* "/absolute/path[?db=N&password=P&user=U]" after "unix://". */
static int parse_unix(const char *s, struct cv_redis_url *u, char *err, size_t cap)
{
    size_t plen = strcspn(s, "?#");
    const char *q;

    u->unix_socket = true;
    if (s[0] != '/')
        return url_error(err, cap, CV_ERR_USAGE,
                         "unix socket path must be absolute (unix:///path/to/redis.sock)");
    if (s[plen] == '#')
        return url_error(err, cap, CV_ERR_USAGE, "unix:// URLs take no fragment");
    if (plen >= sizeof(u->path))
        return url_error(err, cap, CV_ERR_USAGE,
                         "unix socket path too long (the system allows 107 bytes)");
    memcpy(u->path, s, plen);
    u->path[plen] = '\0';
    q = s[plen] == '?' ? s + plen + 1 : NULL;
    while (q && *q) {
        size_t plen2 = strcspn(q, "&");
        const char *eq = memchr(q, '=', plen2);
        size_t klen = eq ? (size_t)(eq - q) : plen2;
        const char *v = eq ? eq + 1 : q + plen2;
        size_t vlen = (size_t)(q + plen2 - v);
        if (!eq)
            return url_error(err, cap, CV_ERR_USAGE, "query parameters are name=value");
        if (klen == 2 && !memcmp(q, "db", 2)) {
            if (parse_int(v, vlen, 0, CV_REDIS_DB_MAX, &u->db))
                return url_error(err, cap, CV_ERR_USAGE, "db must be a number");
        } else if (klen == 8 && !memcmp(q, "password", 8)) {
            if (percent_decode(v, vlen, u->password, sizeof(u->password)))
                return url_error(err, cap, CV_ERR_USAGE, "bad password (escape or length)");
        } else if (klen == 4 && !memcmp(q, "user", 4)) {
            if (percent_decode(v, vlen, u->user, sizeof(u->user)))
                return url_error(err, cap, CV_ERR_USAGE, "bad user name (escape or length)");
        } else {
            return url_error(err, cap, CV_ERR_USAGE,
                             "unknown query parameter (db, password and user are known)");
        }
        q += plen2;
        if (*q == '&')
            q++;
    }
    return CV_OK;
}

/* "[[user]:password@]host[:port][,host[:port]]...[/master[/db]][?wait=N]" after
 * "redis-sentinel://". Each host goes through parse_tcp's checks. */
static int parse_sentinel(const char *s, struct cv_redis_url *u, char *err, size_t cap)
{
    size_t alen = strcspn(s, "/?#");
    const char *at = NULL, *hosts = s, *p;
    char item[CV_REDIS_HOST_MAX + 16];

    u->sentinel = true;
    snprintf(u->master, sizeof(u->master), "mymaster");
    if (s[alen] == '#')
        return url_error(err, cap, CV_ERR_USAGE, "redis-sentinel:// URLs take no fragment");
    for (size_t i = 0; i < alen; i++)
        if (s[i] == '@')
            at = s + i;
    if (at) {
        struct cv_redis_url creds;
        char userinfo[2 * CV_REDIS_SECRET_MAX + 8];
        int n = snprintf(userinfo, sizeof(userinfo), "%.*s@x", (int)(at - s), s);
        if (n < 0 || (size_t)n >= sizeof(userinfo) || parse_tcp(userinfo, &creds, err, cap))
            return url_error(err, cap, CV_ERR_USAGE, "bad user name or password");
        memcpy(u->user, creds.user, sizeof(u->user));
        memcpy(u->password, creds.password, sizeof(u->password));
        memset(&creds, 0, sizeof(creds));
        memset(userinfo, 0, sizeof(userinfo));
        hosts = at + 1;
    }
    for (p = hosts; p < s + alen;) {
        size_t len = strcspn(p, ",/?#");
        struct cv_redis_url one;
        if (len == 0 || len >= sizeof(item) - 1)
            return url_error(err, cap, CV_ERR_USAGE, "a Sentinel address is empty or too long");
        if (u->n_sentinels == CV_REDIS_SENTINELS_MAX)
            return url_error(err, cap, CV_ERR_USAGE, "at most 8 Sentinels");
        memcpy(item, p, len);
        item[len] = '\0';
        memset(&one, 0, sizeof(one));
        one.port = 26379;
        if (parse_tcp(item, &one, err, cap))
            return CV_ERR_USAGE;
        memcpy(u->sentinel_host[u->n_sentinels], one.host, sizeof(one.host));
        u->sentinel_port[u->n_sentinels++] = one.port;
        p += len;
        if (*p == ',')
            p++;
    }
    if (u->n_sentinels == 0)
        return url_error(err, cap, CV_ERR_USAGE, "no Sentinel address");
    p = s + alen;
    if (*p == '/') {
        size_t len = strcspn(++p, "/?#");
        if (len >= sizeof(u->master))
            return url_error(err, cap, CV_ERR_USAGE, "master name too long");
        if (len) {
            memcpy(u->master, p, len);
            u->master[len] = '\0';
        }
        p += len;
        if (*p == '/') {
            size_t dlen = strcspn(++p, "?#");
            if (parse_int(p, dlen, 0, CV_REDIS_DB_MAX, &u->db))
                return url_error(err, cap, CV_ERR_USAGE, "database must be a number");
            p += dlen;
        }
    }
    if (*p == '?') {
        p++;
        if (strncmp(p, "wait=", 5) ||
            parse_int(p + 5, strcspn(p + 5, "&#"), 0, CV_REDIS_WAIT_MAX, &u->wait_replicas) ||
            p[5 + strcspn(p + 5, "&#")] != '\0')
            return url_error(err, cap, CV_ERR_USAGE, "the only query parameter is wait=0..16");
    } else if (*p) {
        return url_error(err, cap, CV_ERR_USAGE, "unexpected text after the master name");
    }
    snprintf(u->host, sizeof(u->host), "%s", u->sentinel_host[0]); /* until a Sentinel answers */
    u->port = 6379;
    return CV_OK;
}

int cv_redis_parse_url(const char *url, struct cv_redis_url *u, char *err, size_t cap)
{
    memset(u, 0, sizeof(*u));
    u->port = 6379;
    if (err && cap)
        err[0] = '\0';
    if (!url || !*url)
        return url_error(err, cap, CV_ERR_USAGE, "empty");
    if (!strncasecmp(url, "rediss://", 9))
        return url_error(
            err, cap, CV_ERR_UNSUPPORTED,
            "TLS (rediss://) is not supported: use a unix socket or a local TLS proxy");
    if (!strncasecmp(url, "redis://", 8))
        return parse_tcp(url + 8, u, err, cap);
    if (!strncasecmp(url, "unix://", 7))
        return parse_unix(url + 7, u, err, cap);
    if (!strncasecmp(url, "redis-sentinel://", 17))
        return parse_sentinel(url + 17, u, err, cap);
    return url_error(err, cap, CV_ERR_USAGE,
                     "unknown scheme (redis://, unix:// or redis-sentinel://)");
}

/* ---- errors and counters ----------------------------------------------------------------- */

static int vset_error(struct cv_redis *r, int rc, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static int vset_error(struct cv_redis *r, int rc, const char *fmt, va_list ap)
{
    if (!r->err) {
        r->err = rc;
        vsnprintf(r->errstr, sizeof(r->errstr), fmt, ap);
    }
    return rc;
}

int cv_redis_set_error(struct cv_redis *r, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset_error(r, rc, fmt, ap);
    va_end(ap);
    return rc;
}

/* A failure of the server or the connection: counted, then recorded. */
__attribute__((format(printf, 3, 4))) static int fail(struct cv_redis *r, int rc, const char *fmt,
                                                      ...)
{
    va_list ap;
    r->errors++;
    va_start(ap, fmt);
    vset_error(r, rc, fmt, ap);
    va_end(ap);
    return rc;
}

const char *cv_redis_errstr(const struct cv_redis *r)
{
    return r->errstr;
}

int cv_redis_err(const struct cv_redis *r)
{
    return r->err;
}

void cv_redis_clear_error(struct cv_redis *r)
{
    r->err = CV_OK;
    r->cause = CV_CAUSE_NONE;
    r->errstr[0] = '\0';
}

enum cv_store_cause cv_redis_cause(const struct cv_redis *r)
{
    return r->cause;
}

/* Records the cause of an error just recorded, unless an earlier error holds the place. */
static void set_cause(struct cv_redis *r, int rc_before, enum cv_store_cause cause)
{
    if (rc_before == CV_OK)
        r->cause = cause;
}

void cv_redis_counters(const struct cv_redis *r, unsigned long *commands, unsigned long *errors,
                       unsigned long *reconnects)
{
    *commands = r->commands;
    *errors = r->errors;
    *reconnects = r->reconnects;
}

/* ---- connection -------------------------------------------------------------------------- */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void drop(struct cv_redis *r)
{
    if (r->c)
        redisFree(r->c);
    r->c = NULL;
    r->pending = 0;
    r->unsent = false;
    r->demoted = false;
    r->deferred = 0;
}

/* The user's side of 'busy': taken before touching the connection, given back once no reply it
 * waits for is unread. Waiting is for cv_redis_flush_deferred, which holds it for one write. */
static void hold(struct cv_redis *r)
{
    if (r->held)
        return;
    while (atomic_exchange_explicit(&r->busy, true, memory_order_acquire))
        sched_yield();
    r->held = true;
    if (r->flush_lost) {
        r->flush_lost = false;
        r->errors++;
    }
}

static void release_if_done(struct cv_redis *r)
{
    if (r->held && r->pending == 0) {
        r->held = false;
        atomic_store_explicit(&r->busy, false, memory_order_release);
    }
}

/* Turns the context's error into ours and drops the connection. 'saved_errno' is errno right
 * after the failing call (hiredis reports a socket timeout as EAGAIN). */
static int io_fail(struct cv_redis *r, const char *op, int saved_errno)
{
    const char *why = r->c->errstr[0] ? r->c->errstr : "connection error";
    if (r->c->err == REDIS_ERR_IO && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK))
        why = "timed out";
    fail(r, CV_ERR_UNAVAILABLE, "redis %s: %s: %s", r->where, op, why);
    drop(r);
    return CV_ERR_UNAVAILABLE;
}

/* Writes what hiredis has buffered. A peer that closed the socket raises SIGPIPE, which would kill
 * the process: unless it is ignored already, block it around the write and consume the signal
 * this write raised. */
static int write_buffered(struct cv_redis *r, int *saved_errno)
{
    sigset_t pipe_set, old, pending;
    bool was_pending = false;
    int done = 0, ok = REDIS_OK, saved = 0;

    r->unsent = false;
    if (r->sigpipe_ignored) {
        while (!done && ok == REDIS_OK)
            ok = redisBufferWrite(r->c, &done);
        saved = errno;
    } else {
        sigemptyset(&pipe_set);
        sigaddset(&pipe_set, SIGPIPE);
        if (sigpending(&pending) == 0)
            was_pending = sigismember(&pending, SIGPIPE) == 1;
        pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
        while (!done && ok == REDIS_OK)
            ok = redisBufferWrite(r->c, &done);
        saved = errno;
        if (!was_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
            struct timespec zero = {0, 0};
            sigtimedwait(&pipe_set, NULL, &zero);
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    *saved_errno = saved;
    return ok;
}

static int flush_output(struct cv_redis *r)
{
    int saved = 0;

    if (!r->unsent)
        return CV_OK;
    if (write_buffered(r, &saved) != REDIS_OK)
        return io_fail(r, "write", saved);
    return CV_OK;
}

/* Reads one reply, sending what is buffered first. The bytes buffered for it (read along with an
 * earlier reply) and received while waiting are counted: past CV_STORE_REPLY_MAX the reply is
 * refused and the connection dropped (hiredis 0.14 would otherwise buffer any announced length: its
 * 'maxbuf' only trims an idle buffer). */
static int read_one(struct cv_redis *r, redisReply **out)
{
    void *rep = NULL;
    size_t fed;
    int rc = flush_output(r);

    if (rc)
        return rc;
    fed = r->c->reader->len - r->c->reader->pos; /* read with an earlier reply, not yet parsed */
    if (redisGetReplyFromReader(r->c, &rep) != REDIS_OK)
        return io_fail(r, "read", errno);
    while (!rep) {
        size_t before = r->c->reader->len;
        if (redisBufferRead(r->c) != REDIS_OK)
            return io_fail(r, "read", errno);
        fed += r->c->reader->len - before;
        if (fed > CV_STORE_REPLY_MAX) {
            fail(r, CV_ERR_TOO_LARGE, "redis %s: reply larger than %d bytes refused", r->where,
                 CV_STORE_REPLY_MAX);
            drop(r);
            return CV_ERR_TOO_LARGE;
        }
        if (redisGetReplyFromReader(r->c, &rep) != REDIS_OK)
            return io_fail(r, "read", errno);
    }
    *out = rep;
    return CV_OK;
}

/* A failed connection or handshake: counted and recorded, and kept as the reason given while
 * reconnection is backing off. */
__attribute__((format(printf, 2, 3))) static void connect_failed(struct cv_redis *r,
                                                                 const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->last_connect_error, sizeof(r->last_connect_error), fmt, ap);
    va_end(ap);
    fail(r, CV_ERR_UNAVAILABLE, "%s", r->last_connect_error);
}

/* One command on the fresh connection, during the handshake (AUTH, SELECT). An error reply fails
 * the connection. */
static int handshake_command(struct cv_redis *r, int argc, const char **argv, const char *what)
{
    redisReply *rep = NULL;
    int rc;

    if (redisAppendCommandArgv(r->c, argc, argv, NULL) != REDIS_OK)
        return io_fail(r, what, errno);
    r->commands++;
    r->unsent = true;
    rc = read_one(r, &rep);
    if (rc)
        return rc;
    if (rep->type == REDIS_REPLY_ERROR) {
        connect_failed(r, "redis %s: %s: %.*s", r->where, what, (int)rep->len, rep->str);
        freeReplyObject(rep);
        drop(r);
        return CV_ERR_UNAVAILABLE;
    }
    freeReplyObject(rep);
    return CV_OK;
}

static void set_where(struct cv_redis *r)
{
    if (r->url.unix_socket)
        snprintf(r->where, sizeof(r->where), "unix:%s", r->url.path);
    else if (strchr(r->url.host, ':'))
        snprintf(r->where, sizeof(r->where), "[%s]:%d", r->url.host, r->url.port);
    else
        snprintf(r->where, sizeof(r->where), "%s:%d", r->url.host, r->url.port);
}

/* Asks the Sentinels, in order, for the current primary (SENTINEL get-master-addr-by-name) and
 * points url.host and url.port at it. */
static int ask_sentinels(struct cv_redis *r)
{
    char why[CV_REDIS_ERRSTR_MAX] = "no Sentinel answered";
    for (int i = 0; i < r->url.n_sentinels; i++) {
        redisContext *c =
            redisConnectWithTimeout(r->url.sentinel_host[i], r->url.sentinel_port[i], r->timeout);
        redisReply *rep = NULL;
        if (c && !c->err && redisSetTimeout(c, r->timeout) == REDIS_OK)
            rep = redisCommand(c, "SENTINEL get-master-addr-by-name %s", r->url.master);
        r->commands++;
        if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
            rep->element[0]->type == REDIS_REPLY_STRING &&
            rep->element[1]->type == REDIS_REPLY_STRING &&
            rep->element[0]->len < sizeof(r->url.host)) {
            int port = atoi(rep->element[1]->str);
            if (port > 0 && port <= 65535) {
                snprintf(r->url.host, sizeof(r->url.host), "%s", rep->element[0]->str);
                r->url.port = port;
                set_where(r);
                freeReplyObject(rep);
                redisFree(c);
                return CV_OK;
            }
        }
        snprintf(why, sizeof(why), "Sentinel %s:%d: %s", r->url.sentinel_host[i],
                 r->url.sentinel_port[i],
                 !c || c->err                            ? (c ? c->errstr : "out of memory")
                 : rep && rep->type == REDIS_REPLY_ERROR ? rep->str
                                                         : "does not know the master");
        if (rep)
            freeReplyObject(rep);
        if (c)
            redisFree(c);
    }
    connect_failed(r, "redis-sentinel %s: %s", r->url.master, why);
    return CV_ERR_UNAVAILABLE;
}

/* With Sentinels: the server we reached must be the primary (a Sentinel may not have noticed a
 * failover yet). */
static int check_primary(struct cv_redis *r)
{
    const char *role[] = {"ROLE"};
    redisReply *rep = NULL;
    int rc;

    if (redisAppendCommandArgv(r->c, 1, role, NULL) != REDIS_OK)
        return io_fail(r, "ROLE", errno);
    r->commands++;
    r->unsent = true;
    rc = read_one(r, &rep);
    if (rc)
        return rc;
    bool primary = rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 &&
                   rep->element[0]->type == REDIS_REPLY_STRING &&
                   !strcmp(rep->element[0]->str, "master");
    freeReplyObject(rep);
    if (!primary) {
        connect_failed(r, "redis %s: the Sentinels' primary of %s is not a primary (yet)", r->where,
                       r->url.master);
        drop(r);
        return CV_ERR_UNAVAILABLE;
    }
    return CV_OK;
}

static int connect_now(struct cv_redis *r)
{
    struct sigaction sa;
    redisContext *c;
    int rc;

    if (r->url.sentinel && ask_sentinels(r))
        return CV_ERR_UNAVAILABLE;
    if (r->url.unix_socket)
        c = redisConnectUnixWithTimeout(r->url.path, r->timeout);
    else
        c = redisConnectWithTimeout(r->url.host, r->url.port, r->timeout);
    if (!c)
        return fail(r, CV_ERR_NOMEM, "redis %s: connect: out of memory", r->where);
    if (c->err) {
        connect_failed(r, "redis %s: connect: %s", r->where, c->errstr);
        redisFree(c);
        return CV_ERR_UNAVAILABLE;
    }
    /* hiredis 0.14 applies the timeout to connect() only: set it on reads and writes too. */
    if (redisSetTimeout(c, r->timeout) != REDIS_OK) {
        connect_failed(r, "redis %s: setting the timeout: %s", r->where, c->errstr);
        redisFree(c);
        return CV_ERR_UNAVAILABLE;
    }
    if (!r->url.unix_socket)
        redisEnableKeepAlive(c);
    r->c = c;
    r->pending = 0;
    r->sigpipe_ignored = sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN;

    if (r->url.password[0]) {
        const char *auth_user[] = {"AUTH", r->url.user, r->url.password};
        const char *auth[] = {"AUTH", r->url.password};
        rc = r->url.user[0] ? handshake_command(r, 3, auth_user, "AUTH")
                            : handshake_command(r, 2, auth, "AUTH");
        if (rc)
            return rc;
    }
    if (r->url.db) {
        char db[16];
        const char *select[] = {"SELECT", db};
        snprintf(db, sizeof(db), "%d", r->url.db);
        rc = handshake_command(r, 2, select, "SELECT");
        if (rc)
            return rc;
    }
    return r->url.sentinel ? check_primary(r) : CV_OK;
}

/* Makes sure there is a connection, reconnecting when there is none, unless a reconnection failed
 * less than the backoff ago: then fails fast with the last reason. */
static int ensure_connected(struct cv_redis *r)
{
    long long now;
    int rc;

    if (r->c)
        return CV_OK;
    now = now_ms();
    if (r->retry_at_ms && now < r->retry_at_ms)
        return fail(r, CV_ERR_UNAVAILABLE, "%s (next attempt in %lld ms)", r->last_connect_error,
                    r->retry_at_ms - now);
    r->last_connect_error[0] = '\0';
    rc = connect_now(r);
    if (rc) {
        if (!r->last_connect_error[0]) /* the handshake lost the connection */
            snprintf(r->last_connect_error, sizeof(r->last_connect_error),
                     "redis %s: connection lost during AUTH/SELECT", r->where);
        drop(r);
        r->backoff_ms = r->backoff_ms ? r->backoff_ms * 2 : BACKOFF_MIN_MS;
        if (r->backoff_ms > BACKOFF_MAX_MS)
            r->backoff_ms = BACKOFF_MAX_MS;
        r->retry_at_ms = now_ms() + r->backoff_ms;
        return rc;
    }
    r->backoff_ms = 0;
    r->retry_at_ms = 0;
    if (r->connected_once)
        r->reconnects++;
    r->connected_once = true;
    return CV_OK;
}

int cv_redis_new(const char *url, int timeout_ms, struct cv_redis **out, char *err, size_t cap)
{
    struct cv_redis *r;
    int rc;

    *out = NULL;
    r = calloc(1, sizeof(*r));
    if (!r) {
        if (err && cap)
            snprintf(err, cap, "out of memory");
        return CV_ERR_NOMEM;
    }
    atomic_init(&r->busy, false);
    rc = cv_redis_parse_url(url, &r->url, err, cap);
    if (rc)
        goto out;
    if (timeout_ms <= 0)
        timeout_ms = DEFAULT_TIMEOUT_MS;
    r->timeout.tv_sec = timeout_ms / 1000;
    r->timeout.tv_usec = (timeout_ms % 1000) * 1000;
    set_where(r);
    rc = ensure_connected(r);
    if (rc && err && cap)
        snprintf(err, cap, "%s", r->errstr);
out:
    if (rc) {
        cv_redis_free(r);
        return rc;
    }
    *out = r;
    return CV_OK;
}

void cv_redis_free(struct cv_redis *r)
{
    if (!r)
        return;
    hold(r);
    if (r->c && r->unsent && r->deferred) { /* deferred writes still buffered: best effort */
        int saved;
        (void)write_buffered(r, &saved);
    }
    drop(r);
    /* The URL holds the password: do not leave it in freed memory. */
    memset(&r->url, 0, sizeof(r->url));
    free(r);
}

/* ---- commands ---------------------------------------------------------------------------- */

/* True when the server closed an idle connection (it was restarted, or dropped us): Redis sends
 * nothing unsolicited on a RESP2 connection, so a socket that is readable between commands holds
 * an end of file, an error, or bytes we would misread. Checking before sending lets the command
 * go to the new server instead of failing on the dead connection. */
static bool closed_by_peer(redisContext *c)
{
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

/* Reads and discards the replies of the commands sent by cv_redis_send_deferred (they arrived
 * while the caller did other work: no waiting in the common case). An error reply is counted. */
static void read_deferred(struct cv_redis *r)
{
    while (r->c && r->deferred) {
        redisReply *rep = NULL;
        r->deferred--;
        if (read_one(r, &rep)) /* the connection was dropped and the error recorded */
            return;
        if (rep->type == REDIS_REPLY_ERROR)
            r->errors++;
        freeReplyObject(rep);
    }
}

static int begin(struct cv_redis *r, bool check_idle);

int cv_redis_send_deferred(struct cv_redis *r, int argc, const char **argv)
{
    /* No idle check: a put lost with a closed connection costs nothing, and the next command's
     * check finds the closed connection before it is used. */
    int rc = begin(r, false);
    if (!rc)
        rc = cv_redis_append(r, argc, argv, NULL);
    if (!rc) {
        r->pending--;
        r->deferred++;
    }
    release_if_done(r);
    return rc;
}

void cv_redis_flush_deferred(struct cv_redis *r)
{
    int saved;

    if (atomic_exchange_explicit(&r->busy, true, memory_order_acquire))
        return; /* in use: its next read sends the buffer */
    if (r->c && r->unsent && r->deferred && r->pending == 0 &&
        write_buffered(r, &saved) != REDIS_OK) {
        drop(r); /* the user reconnects on its next command */
        r->flush_lost = true;
    }
    atomic_store_explicit(&r->busy, false, memory_order_release);
}

static int begin(struct cv_redis *r, bool check_idle)
{
    int rc;

    hold(r);
    /* Deferred commands still buffered go out with this one (their replies are read first, in
     * cv_redis_read); sent ones are read now, before the idle check: a reply makes the socket
     * readable. */
    if (!(r->c && r->unsent && r->deferred))
        read_deferred(r);
    if (r->c && r->pending)
        drop(r); /* an abandoned pipeline: its replies would be read as ours */
    else if (check_idle && r->c && closed_by_peer(r->c))
        drop(r);
    rc = ensure_connected(r);
    if (rc)
        release_if_done(r);
    return rc;
}

int cv_redis_begin(struct cv_redis *r)
{
    return begin(r, true);
}

int cv_redis_append(struct cv_redis *r, int argc, const char **argv, const size_t *lens)
{
    if (!r->c) {
        release_if_done(r);
        return cv_redis_set_error(r, CV_ERR_UNAVAILABLE, "redis %s: not connected", r->where);
    }
    if (redisAppendCommandArgv(r->c, argc, argv, lens) != REDIS_OK) {
        fail(r, CV_ERR_NOMEM, "redis %s: building a command: %s", r->where, r->c->errstr);
        drop(r);
        release_if_done(r);
        return CV_ERR_NOMEM;
    }
    r->pending++;
    r->commands++;
    r->unsent = true;
    return CV_OK;
}

static int read_reply(struct cv_redis *r, struct cv_reply **out)
{
    redisReply *rep = NULL;
    int rc;

    if (!r->c)
        return cv_redis_set_error(r, CV_ERR_UNAVAILABLE, "redis %s: connection lost", r->where);
    if (!r->pending)
        return cv_redis_set_error(r, CV_ERR_USAGE, "redis: read without a command");
    read_deferred(r); /* the replies of deferred commands sent with ours come first */
    if (!r->c)
        return CV_ERR_UNAVAILABLE;
    rc = read_one(r, &rep);
    if (rc)
        return rc;
    r->pending--;
    if (rep->type == REDIS_REPLY_ERROR) {
        int before = r->err;
        fail(r, CV_ERR_UNAVAILABLE, "redis %s: %.*s", r->where, (int)rep->len, rep->str);
        if (rep->len >= 7 && !memcmp(rep->str, "MISCONF", 7))
            set_cause(r, before, CV_CAUSE_NOT_PERSISTING);
        /* The primary was demoted by a failover: the next command asks the Sentinels again. */
        if (r->url.sentinel && rep->len >= 8 && !memcmp(rep->str, "READONLY", 8))
            r->demoted = true;
        freeReplyObject(rep);
        if (r->demoted && r->pending == 0)
            drop(r);
        return CV_ERR_UNAVAILABLE;
    }
    if (out)
        *out = (struct cv_reply *)rep;
    else
        freeReplyObject(rep);
    return CV_OK;
}

int cv_redis_read(struct cv_redis *r, struct cv_reply **out)
{
    int rc;

    if (out)
        *out = NULL;
    rc = read_reply(r, out);
    release_if_done(r);
    return rc;
}

int cv_redis_sync_replicas(struct cv_redis *r)
{
    char n[16], ms[24];
    const char *wait[] = {"WAIT", n, ms};
    struct cv_reply *rep = NULL;
    int rc;

    if (r->url.wait_replicas <= 0)
        return CV_OK;
    snprintf(n, sizeof(n), "%d", r->url.wait_replicas);
    snprintf(ms, sizeof(ms), "%ld",
             (long)(r->timeout.tv_sec * 1000 + r->timeout.tv_usec / 1000) / 2 + 1);
    rc = cv_redis_command(r, &rep, 3, wait, NULL);
    if (rc)
        return rc;
    long long got = cv_reply_integer(rep);
    cv_reply_free(rep);
    if (got < r->url.wait_replicas) {
        set_cause(r, r->err, CV_CAUSE_UNCONFIRMED);
        fail(r, CV_ERR_UNAVAILABLE, "redis %s: %lld of %d replicas confirmed the write", r->where,
             got, r->url.wait_replicas);
        /* A primary whose replicas left may have been failed over without knowing it yet (the
         * Sentinels demote it later): ask the Sentinels again on the next command. */
        if (r->url.sentinel)
            drop(r);
        return CV_ERR_UNAVAILABLE;
    }
    return CV_OK;
}

int cv_redis_command(struct cv_redis *r, struct cv_reply **out, int argc, const char **argv,
                     const size_t *lens)
{
    int rc;

    if (out)
        *out = NULL;
    rc = cv_redis_begin(r);
    if (rc)
        return rc;
    rc = cv_redis_append(r, argc, argv, lens);
    if (rc)
        return rc;
    return cv_redis_read(r, out);
}

/* ---- replies ----------------------------------------------------------------------------- */

static const redisReply *rr(const struct cv_reply *x)
{
    return (const redisReply *)x;
}

enum cv_reply_type cv_reply_type(const struct cv_reply *x)
{
    switch (rr(x)->type) {
    case REDIS_REPLY_STRING:
        return CV_REPLY_STRING;
    case REDIS_REPLY_ARRAY:
        return CV_REPLY_ARRAY;
    case REDIS_REPLY_INTEGER:
        return CV_REPLY_INTEGER;
    case REDIS_REPLY_STATUS:
        return CV_REPLY_STATUS;
    case REDIS_REPLY_ERROR:
        return CV_REPLY_ERROR;
    default:
        return CV_REPLY_NIL;
    }
}

const char *cv_reply_str(const struct cv_reply *x, size_t *len)
{
    const redisReply *p = rr(x);
    bool text = p->type == REDIS_REPLY_STRING || p->type == REDIS_REPLY_STATUS ||
                p->type == REDIS_REPLY_ERROR;
    if (len)
        *len = text ? p->len : 0;
    return text && p->str ? p->str : "";
}

long long cv_reply_integer(const struct cv_reply *x)
{
    return rr(x)->type == REDIS_REPLY_INTEGER ? rr(x)->integer : 0;
}

size_t cv_reply_count(const struct cv_reply *x)
{
    return rr(x)->type == REDIS_REPLY_ARRAY ? rr(x)->elements : 0;
}

const struct cv_reply *cv_reply_at(const struct cv_reply *x, size_t i)
{
    return (const struct cv_reply *)rr(x)->element[i];
}

char *cv_reply_strdup(const struct cv_reply *x)
{
    const redisReply *p = rr(x);
    char *s;
    if (p->type != REDIS_REPLY_STRING && p->type != REDIS_REPLY_STATUS)
        return NULL;
    s = malloc(p->len + 1);
    if (!s)
        return NULL;
    memcpy(s, p->str, p->len);
    s[p->len] = '\0';
    return s;
}

void cv_reply_free(struct cv_reply *x)
{
    if (x)
        freeReplyObject(x);
}

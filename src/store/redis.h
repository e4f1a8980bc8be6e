/* Internal to src/store/: the Redis connection adapter (redis.c, the only file that includes
 * hiredis). It parses connection URLs, connects with AUTH and SELECT, applies timeouts, drops and
 * reconnects after any error, bounds replies, counts commands, and hands replies out through the
 * small accessor API below so that store.c and embedded.c never see a hiredis type. */
#ifndef CERTVET_STORE_REDIS_H
#define CERTVET_STORE_REDIS_H

#include <stdbool.h>
#include <stddef.h>

#include <sys/un.h>

#define CV_REDIS_HOST_MAX   256 /* host name or address, bytes with the NUL */
#define CV_REDIS_PATH_MAX   sizeof(((struct sockaddr_un *)0)->sun_path) /* 108 on Linux */
#define CV_REDIS_SECRET_MAX 512 /* ACL user name or password, bytes with the NUL */
#define CV_REDIS_DB_MAX     1000000
#define CV_REDIS_ERRSTR_MAX 512

#define CV_REDIS_SENTINELS_MAX 8   /* Sentinels in one redis-sentinel:// URL */
#define CV_REDIS_MASTER_MAX    128 /* bytes of a Sentinel master name with the NUL */
#define CV_REDIS_WAIT_MAX      16  /* replicas a write may wait for */

/* A parsed connection URL (see cv_store_config.url). */
struct cv_redis_url {
    bool unix_socket; /* true: 'path'; false: 'host' and 'port' */
    /* redis-sentinel://: 'host' and 'port' are the current primary, asked of the Sentinels on
     * every (re)connection; a primary that became a replica is left for the new one. */
    bool sentinel;
    int n_sentinels;
    char sentinel_host[CV_REDIS_SENTINELS_MAX][CV_REDIS_HOST_MAX];
    int sentinel_port[CV_REDIS_SENTINELS_MAX];
    char master[CV_REDIS_MASTER_MAX];   /* the Sentinels' name of the primary */
    int wait_replicas;                  /* ?wait=N: writes confirmed by N replicas (WAIT) */
    char host[CV_REDIS_HOST_MAX];       /* IPv6 literals without their brackets */
    int port;                           /* 1..65535, default 6379 */
    char path[CV_REDIS_PATH_MAX];       /* absolute path of the socket */
    int db;                             /* SELECT after connecting when not 0 */
    char user[CV_REDIS_SECRET_MAX];     /* ACL user for AUTH, "" for the default user */
    char password[CV_REDIS_SECRET_MAX]; /* "" for no AUTH */
};

/* Parses 'url': "redis://[[user]:password@]host[:port][/db]" (user and password percent-decoded;
 * "redis://secret@host" also means a password, as redis-cli reads it),
 * "unix:///absolute/path[?db=N&password=P&user=U]", or
 * "redis-sentinel://[[user]:password@]host[:port][,host[:port]]...[/master[/db]][?wait=N]"
 * (Sentinels, default port 26379, master name default "mymaster"; user and password are the
 * primary's; wait=N makes every write wait until N replicas have it). Returns CV_OK, CV_ERR_USAGE
 * for a malformed URL or CV_ERR_UNSUPPORTED for "rediss://" (TLS), with a message in 'err' that
 * never contains the password. */
int cv_redis_parse_url(const char *url, struct cv_redis_url *u, char *err, size_t cap);

/* One connection that reconnects by itself. Not thread-safe. */
struct cv_redis;

/* Parses 'url' and connects ('timeout_ms' bounds the connect and then every read and write).
 * On success '*out' is set (free with cv_redis_free). On failure returns the parse error or
 * CV_ERR_UNAVAILABLE with a message in 'err'. */
int cv_redis_new(const char *url, int timeout_ms, struct cv_redis **out, char *err, size_t cap);
void cv_redis_free(struct cv_redis *r);

/* The first error since cv_redis_clear_error ("" when none) and its code (CV_OK when none). */
const char *cv_redis_errstr(const struct cv_redis *r);
int cv_redis_err(const struct cv_redis *r);
/* What the first error was, when an error reply or a WAIT told (enum cv_store_cause). */
enum cv_store_cause cv_redis_cause(const struct cv_redis *r);
void cv_redis_clear_error(struct cv_redis *r);

/* Records an error found by the caller (first error wins); returns 'rc'. Not counted in stats. */
int cv_redis_set_error(struct cv_redis *r, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Queues one command whose outcome nobody waits for (a cache entry): it is written with the
 * connection's next command, in the same write, and its reply read and discarded before that
 * command's (counted in 'errors' when it is an error); until then it waits in the output buffer
 * (cv_redis_flush_deferred sends it when the connection stays idle; cv_redis_free tries to).
 * Nothing blocks: CV_OK once the command is queued. */
int cv_redis_send_deferred(struct cv_redis *r, int argc, const char **argv);

/* Writes what cv_redis_send_deferred left buffered, unless the connection is in use: the one
 * function that may be called from another thread than the connection's user (never at the same
 * time as cv_redis_free). A failed write drops the connection; its user reconnects and counts the
 * error in 'errors'. */
void cv_redis_flush_deferred(struct cv_redis *r);

/* After a write: with ?wait=N, WAIT until N replicas acknowledged everything written on this
 * connection (bounded by the timeout), so that a failover loses nothing that was acknowledged.
 * CV_OK at once without ?wait; CV_ERR_UNAVAILABLE when fewer replicas confirmed in time. */
int cv_redis_sync_replicas(struct cv_redis *r);

/* Counters since cv_redis_new: commands sent, failures (connection, timeout, error replies,
 * oversized replies), successful reconnections after the first connection. */
void cv_redis_counters(const struct cv_redis *r, unsigned long *commands, unsigned long *errors,
                       unsigned long *reconnects);

/* ---- replies ------------------------------------------------------------------------------ */

/* A reply owned by the caller (free with cv_reply_free); its parts are borrowed from it. */
struct cv_reply;

enum cv_reply_type {
    CV_REPLY_STRING = 1, /* bulk string */
    CV_REPLY_ARRAY,
    CV_REPLY_INTEGER,
    CV_REPLY_NIL,
    CV_REPLY_STATUS, /* "+OK" and the like */
    CV_REPLY_ERROR,  /* only inside arrays (EXEC): a top-level error reply is an error code */
};

enum cv_reply_type cv_reply_type(const struct cv_reply *x);
/* The text of a string, status or error reply ('*len' may be NULL); "" for other types. */
const char *cv_reply_str(const struct cv_reply *x, size_t *len);
long long cv_reply_integer(const struct cv_reply *x);
/* Elements of an array reply (0 for other types) and element 'i' (< count). */
size_t cv_reply_count(const struct cv_reply *x);
const struct cv_reply *cv_reply_at(const struct cv_reply *x, size_t i);
/* A malloc'd NUL-terminated copy of a string reply's bytes, or NULL (nil or out of memory). */
char *cv_reply_strdup(const struct cv_reply *x);
void cv_reply_free(struct cv_reply *x);

/* ---- commands ----------------------------------------------------------------------------- */

/* Sends one command and reads its reply into '*out' (may be NULL to discard it). 'lens' may be
 * NULL when every argument is a C string. Returns CV_OK; CV_ERR_UNAVAILABLE when the server
 * cannot be reached, times out, or answers with an error reply (its text in errstr; the
 * connection stays); CV_ERR_TOO_LARGE when the reply exceeds CV_STORE_REPLY_MAX bytes. After a
 * connection error or an oversized reply the connection is dropped and the next call reconnects
 * (no sooner than a short backoff after a failed reconnection). */
int cv_redis_command(struct cv_redis *r, struct cv_reply **out, int argc, const char **argv,
                     const size_t *lens);

/* Pipelining: cv_redis_begin, any number of cv_redis_append, then one cv_redis_read per appended
 * command, in order. Nothing is sent before the first read. cv_redis_begin (also the start of
 * cv_redis_command) reconnects first when the server closed the idle connection (a restart) or a
 * pipeline was left with replies unread. The
 * return codes are those of cv_redis_command; an error reply does not break the pipeline (keep
 * reading), a connection error does (every later read fails fast). */
int cv_redis_begin(struct cv_redis *r);
int cv_redis_append(struct cv_redis *r, int argc, const char **argv, const size_t *lens);
int cv_redis_read(struct cv_redis *r, struct cv_reply **out);

#endif

/* Test helper for certvet-fixture-server (tests/fixture_server/fixture_server.c): start it as a
 * child serving a directory, switch faults on a path, read request counts, stop it. Talks plain
 * HTTP/1.0 over a socket, so it does not depend on the client under test. */
#ifndef CERTVET_TEST_FIXTURE_CLIENT_H
#define CERTVET_TEST_FIXTURE_CLIENT_H

#include <stddef.h>
#include <sys/types.h>

struct cv_fixture_server {
    char dir[64];    /* mkdtemp directory for the port file; removed by stop */
    int port;        /* 127.0.0.1:port */
    char origin[64]; /* "http://127.0.0.1:<port>", for allow-lists */
    pid_t pid;       /* the server, 0 when not running */
};

/* One fault rule; see the control API at the top of fixture_server.c. Unset numbers: pass the
 * values of CV_FIXTURE_MODE_INIT (-1 means "server default"). */
struct cv_fixture_mode {
    const char *path;     /* "/x.json" */
    const char *mode;     /* "ok", "slow", "hang", "reset", "status", "garbage", "truncate",
                             "redirect" */
    int status;           /* for "status" and "redirect"; -1: default (500 / 302) */
    int times;            /* requests that misbehave; 0 or -2: default 1; -1: all */
    int delay_ms;         /* for "slow" and "hang"; -1: default */
    int retry_after;      /* seconds, for "status"; -1: no header */
    const char *location; /* for "redirect"; NULL: "/" */
    int retry_after_date; /* nonzero: Retry-After as an HTTP date, retry_after seconds ahead */
};

#define CV_FIXTURE_MODE_INIT                                                                       \
    {                                                                                              \
        NULL, "ok", -1, 0, -1, -1, NULL                                                            \
    }

/* Starts 'binary' (the certvet-fixture-server path) with --root 'root' and waits (up to 10 s) for
 * its port file. Returns 0, or -1 with a message on stderr. */
int cv_fixture_start(struct cv_fixture_server *s, const char *binary, const char *root);

/* Stops the server (SIGTERM, then SIGKILL after 5 s), reaps it, removes its directory. Accepts a
 * struct that never started. */
void cv_fixture_stop(struct cv_fixture_server *s);

/* Writes "http://127.0.0.1:<port><path>" into 'buf'. Returns 'buf'. */
char *cv_fixture_url(const struct cv_fixture_server *s, const char *path, char *buf, size_t cap);

/* Sets a fault rule (POST /_control). Returns 0, or -1. */
int cv_fixture_set_mode(const struct cv_fixture_server *s, const struct cv_fixture_mode *m);

/* Forgets every request count (POST /_control {"reset_stats": true}). Returns 0, or -1. */
int cv_fixture_reset_stats(const struct cv_fixture_server *s);

/* Requests seen for 'path' (GET /_stats), or -1 on error. */
long cv_fixture_requests(const struct cv_fixture_server *s, const char *path);

#endif

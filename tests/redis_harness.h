/* A private redis-server for tests: unix socket in a fresh mkdtemp directory, no TCP port, no
 * persistence. Start one per test group; kill and restart it for fault tests. */
#ifndef CERTVET_TEST_REDIS_HARNESS_H
#define CERTVET_TEST_REDIS_HARNESS_H

#include <sys/types.h>

struct cv_test_redis {
    const char *password; /* optional, set before start: the server gets --requirepass */
    char dir[64];         /* the mkdtemp directory (socket, log); removed by stop */
    char sock[96];        /* unix socket path */
    char url[160];        /* "unix://<sock>", without the password */
    pid_t pid;            /* the server, 0 when not running */
};

/* Starts redis-server (from PATH) in a new directory and waits (up to 10 s) until it answers on
 * its socket. Returns 0, or -1 with a message on stderr. */
int cv_test_redis_start(struct cv_test_redis *r);

/* Stops the server (SIGTERM, then SIGKILL), reaps it and removes its directory. Accepts a
 * struct that never started. */
void cv_test_redis_stop(struct cv_test_redis *r);

/* SIGKILLs the server and reaps it; the directory and a stale socket file stay. */
void cv_test_redis_kill(struct cv_test_redis *r);

/* Starts the server again in the same directory, on the same socket. Returns 0 or -1. */
int cv_test_redis_restart(struct cv_test_redis *r);

/* Removes 'path' and everything below it (for test data directories). Returns 0 or -1. */
int cv_test_rmtree(const char *path);

#endif

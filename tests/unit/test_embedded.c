/* Unit tests for src/store/embedded.c: the redis-server child certvet starts under its data
 * directory (SPEC 7), its append-only file, restarts keeping data, refusal to share a directory
 * or a socket, clear errors for a path too long or a missing binary, and no orphan server when
 * the certvet process is killed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "test_util.h"
#include "redis_harness.h"

#include "certvet/error.h"
#include "certvet/store.h"

struct fixture {
    char base[64];  /* mkdtemp; removed at the end */
    char data[128]; /* base + "/nested/data": start must create it */
};

static int fixture_up(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->base, sizeof(f->base), "/tmp/cvemb-XXXXXX");
    assert_non_null(mkdtemp(f->base));
    snprintf(f->data, sizeof(f->data), "%s/nested/data", f->base);
    *state = f;
    return 0;
}

static int fixture_down(void **state)
{
    struct fixture *f = *state;
    cv_test_rmtree(f->base);
    free(f);
    return 0;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct cv_store *open_store(const char *url)
{
    struct cv_store_config cfg = {url, NULL, 2000};
    struct cv_store *s = NULL;
    char err[256];
    int rc = cv_store_open(&cfg, &s, err, sizeof(err));
    if (rc)
        print_error("open %s: %s\n", url, err);
    assert_int_equal(rc, CV_OK);
    return s;
}

static struct cv_embedded_redis *start(const char *dir, char *url, size_t url_cap)
{
    struct cv_embedded_redis *e = NULL;
    char err[512];
    int rc = cv_embedded_redis_start(dir, NULL, &e, url, url_cap, err, sizeof(err));
    if (rc)
        print_error("start %s: %s\n", dir, err);
    assert_int_equal(rc, CV_OK);
    assert_non_null(e);
    return e;
}

static void test_start_stop_keeps_data(void **state)
{
    struct fixture *f = *state;
    struct cv_embedded_redis *e;
    struct cv_store *s;
    struct stat st;
    char url[256], path[256], *json = NULL;
    struct cv_stored_cert c = {"c_1", "{\"kept\":true}", "S1", 20000, CV_DATE_NONE};

    e = start(f->data, url, sizeof(url));
    assert_int_equal(strncmp(url, "unix:///", 8), 0);
    assert_non_null(strstr(url, "/nested/data/redis.sock"));
    assert_int_equal(stat(f->data, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    s = open_store(url);
    assert_int_equal(cv_store_put_certificates(s, &c, 1, "t"), CV_OK);
    cv_store_close(s);
    cv_embedded_redis_stop(e);

    /* The server is gone (nothing answers), the append-only file is there. */
    snprintf(path, sizeof(path), "%s/appendonlydir/appendonly.aof.manifest", f->data);
    assert_int_equal(stat(path, &st), 0);
    {
        struct cv_store_config cfg = {url, NULL, 500};
        char err[256];
        assert_int_equal(cv_store_open(&cfg, &s, err, sizeof(err)), CV_ERR_UNAVAILABLE);
    }

    e = start(f->data, url, sizeof(url));
    s = open_store(url);
    assert_int_equal(cv_store_get_certificate(s, "c_1", &json), CV_OK);
    assert_string_equal(json, "{\"kept\":true}");
    free(json);
    cv_store_close(s);
    cv_embedded_redis_stop(e);
    cv_embedded_redis_stop(NULL);
}

/* A server that already answers on the socket is neither reused nor disturbed. */
static void test_refuses_a_live_socket(void **state)
{
    struct fixture *f = *state;
    struct cv_embedded_redis *e, *second = NULL;
    struct cv_store *s;
    char url[256], url2[256], err[512];

    e = start(f->data, url, sizeof(url));
    assert_int_equal(
        cv_embedded_redis_start(f->data, NULL, &second, url2, sizeof(url2), err, sizeof(err)),
        CV_ERR_CONFLICT);
    assert_null(second);
    assert_non_null(strstr(err, "already answers"));
    s = open_store(url); /* the first one still works */
    assert_int_equal(cv_store_ping(s), CV_OK);
    cv_store_close(s);
    cv_embedded_redis_stop(e);
}

/* Another process holding the directory's lock (another certvet) is refused with its pid. */
static void test_refuses_a_locked_directory(void **state)
{
    struct fixture *f = *state;
    struct cv_embedded_redis *e = NULL;
    char lock[256], url[256], err[512], pid[32], go;
    int ready[2], hold[2], status;
    pid_t child;

    snprintf(lock, sizeof(lock), "%s/nested", f->base);
    assert_int_equal(mkdir(lock, 0700), 0);
    assert_int_equal(mkdir(f->data, 0700), 0);
    snprintf(lock, sizeof(lock), "%s/certvet-redis.lock", f->data);
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(hold), 0);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        int fd = open(lock, O_RDWR | O_CREAT, 0600);
        char c = fd >= 0 && fcntl(fd, F_SETLK, &fl) == 0 ? 'y' : 'n';
        close(hold[1]);
        if (write(ready[1], &c, 1) != 1)
            _exit(1);
        if (read(hold[0], &c, 1) < 0) /* until the parent closes its end */
            _exit(1);
        _exit(0);
    }
    close(hold[0]);
    assert_int_equal(read(ready[0], &go, 1), 1);
    assert_int_equal(go, 'y');
    assert_int_equal(cv_embedded_redis_start(f->data, NULL, &e, url, sizeof(url), err, sizeof(err)),
                     CV_ERR_CONFLICT);
    snprintf(pid, sizeof(pid), "pid %ld", (long)child);
    assert_non_null(strstr(err, pid));
    close(hold[1]);
    assert_int_equal(waitpid(child, &status, 0), child);
    close(ready[0]);
    close(ready[1]);
    e = start(f->data, url, sizeof(url)); /* free again */
    cv_embedded_redis_stop(e);
}

/* A socket file left behind by a dead server does not stop a start. */
static void test_stale_socket_file(void **state)
{
    struct fixture *f = *state;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct cv_embedded_redis *e;
    char url[256];
    int fd;

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/redis.sock", f->base);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd); /* the file stays, nobody listens */
    e = start(f->base, url, sizeof(url));
    cv_embedded_redis_stop(e);
}

static void test_clear_errors(void **state)
{
    struct fixture *f = *state;
    struct cv_embedded_redis *e = NULL;
    char dir[256], url[256], err[512];

    /* 'base' + 100 bytes: the socket path cannot fit in sun_path. */
    snprintf(dir, sizeof(dir), "%s/%0100d", f->base, 0);
    assert_int_equal(cv_embedded_redis_start(dir, NULL, &e, url, sizeof(url), err, sizeof(err)),
                     CV_ERR_USAGE);
    assert_null(e);
    assert_non_null(strstr(err, "shorter data directory"));

    assert_int_equal(cv_embedded_redis_start(f->data, "/nonexistent/redis-server", &e, url,
                                             sizeof(url), err, sizeof(err)),
                     CV_ERR_UNAVAILABLE);
    assert_non_null(strstr(err, "cannot run /nonexistent/redis-server"));

    assert_int_equal(cv_embedded_redis_start(f->data, NULL, &e, url, 10, err, sizeof(err)),
                     CV_ERR_USAGE);
    assert_non_null(strstr(err, "URL buffer"));

    /* A server that exits at once (an option it refuses) is reported with its log. */
    assert_int_equal(
        cv_embedded_redis_start(f->data, "/bin/false", &e, url, sizeof(url), err, sizeof(err)),
        CV_ERR_UNAVAILABLE);
    assert_non_null(strstr(err, "exited during start"));
}

/* certvet killed with SIGKILL: its server gets SIGTERM (no orphan holding the socket), and what
 * was acknowledged is there on the next start. */
static void test_no_orphan_after_kill(void **state)
{
    struct fixture *f = *state;
    struct cv_embedded_redis *e;
    struct cv_store *s;
    char url[256], *json = NULL;
    int status;
    long long t0;
    pid_t child = fork();

    assert_true(child >= 0);
    if (child == 0) { /* plays certvet; no cmocka here */
        struct cv_embedded_redis *ce = NULL;
        struct cv_store *cs = NULL;
        struct cv_store_config cfg = {url, NULL, 2000};
        struct cv_stored_cert c = {"c_acked", "{}", NULL, 20000, CV_DATE_NONE};
        char err[512];
        if (cv_embedded_redis_start(f->data, NULL, &ce, url, sizeof(url), err, sizeof(err)) ||
            cv_store_open(&cfg, &cs, err, sizeof(err)) || cv_store_put_certificates(cs, &c, 1, "t"))
            _exit(1);
        raise(SIGKILL);
        _exit(2);
    }
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    /* The orphan shuts down; then a new start succeeds and finds the record. */
    t0 = now_ms();
    e = NULL;
    while (now_ms() - t0 < 10000) {
        char err[512];
        int rc = cv_embedded_redis_start(f->data, NULL, &e, url, sizeof(url), err, sizeof(err));
        if (rc == CV_OK)
            break;
        assert_int_equal(rc, CV_ERR_CONFLICT);
        nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
    }
    assert_non_null(e);
    s = open_store(url);
    assert_int_equal(cv_store_get_certificate(s, "c_acked", &json), CV_OK);
    free(json);
    cv_store_close(s);
    cv_embedded_redis_stop(e);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fixture_up, fixture_down)
    const struct CMUnitTest tests[] = {
        T(test_start_stop_keeps_data),
        T(test_refuses_a_live_socket),
        T(test_refuses_a_locked_directory),
        T(test_stale_socket_file),
        T(test_clear_errors),
        T(test_no_orphan_after_kill),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}

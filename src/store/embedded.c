/* The embedded default (SPEC 7): a redis-server child on a unix socket under the data directory,
 * append-only file on, started and stopped by certvet. It talks to the child through the same
 * adapter (redis.c) as any other Redis. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "certvet/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "certvet/error.h"
#include "redis.h"

#define START_WAIT_MS    10000  /* for the first PONG */
#define LOADING_WAIT_MS  600000 /* while it answers LOADING (replaying a large AOF) */
#define SHUTDOWN_WAIT_MS 10000  /* after SHUTDOWN, before SIGTERM */
#define TERM_WAIT_MS     5000   /* after SIGTERM, before SIGKILL */
#define PROBE_TIMEOUT_MS 500
#define SOCKET_NAME      "redis.sock"
#define LOCK_NAME        "certvet-redis.lock"
#define LOG_NAME         "redis.log"
#define FD_CLOSE_MAX     65536 /* descriptors closed in the child before exec */

struct cv_embedded_redis {
    pid_t pid;                       /* the child; 0 once reaped */
    int lock_fd;                     /* holds the directory's lock while the child runs */
    char dir[PATH_MAX];              /* absolute data directory */
    char url[CV_REDIS_PATH_MAX + 8]; /* "unix://<socket>" */
};

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* mkdir -p with mode 0700 for what it creates. */
static int make_dirs(const char *path, char *err, size_t cap)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);

    if (len == 0 || len >= sizeof(buf)) {
        snprintf(err, cap, "data directory path is empty or too long");
        return CV_ERR_USAGE;
    }
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(buf, 0700) == -1 && errno != EEXIST) {
                snprintf(err, cap, "cannot create %s: %s", buf, strerror(errno));
                return CV_ERR_IO;
            }
            *p = saved;
            if (saved == '\0')
                break;
        }
    }
    return CV_OK;
}

/* Waits up to 'ms' for the child to exit and reaps it. Returns true when it is gone. Copes with a
 * process that set SIGCHLD to SIG_IGN (waitpid then fails with ECHILD once it is gone). */
static bool wait_exit(pid_t pid, long ms, int *status)
{
    long long deadline = now_ms() + ms;
    long pause = 2;
    for (;;) {
        pid_t w = waitpid(pid, status, WNOHANG);
        if (w == pid)
            return true;
        if (w == -1 && errno != EINTR && (errno != ECHILD || kill(pid, 0) == -1))
            return true;
        if (now_ms() >= deadline)
            return false;
        sleep_ms(pause);
        if (pause < 50)
            pause *= 2;
    }
}

enum probe { PROBE_NONE, PROBE_PONG, PROBE_LOADING };

/* Connects to the socket and PINGs: PONG, LOADING (alive, still reading its data), or nothing. */
static enum probe probe(const char *url, int timeout_ms)
{
    struct cv_redis *r = NULL;
    struct cv_reply *rep = NULL;
    const char *ping[] = {"PING"};
    char err[CV_REDIS_ERRSTR_MAX];
    enum probe p = PROBE_NONE;
    int rc;

    if (cv_redis_new(url, timeout_ms, &r, err, sizeof(err)))
        return PROBE_NONE;
    rc = cv_redis_command(r, &rep, 1, ping, NULL);
    if (rc == CV_OK && !strcmp(cv_reply_str(rep, NULL), "PONG"))
        p = PROBE_PONG;
    else if (rc == CV_ERR_UNAVAILABLE && strstr(cv_redis_errstr(r), "LOADING"))
        p = PROBE_LOADING;
    cv_reply_free(rep);
    cv_redis_free(r);
    return p;
}

/* Takes an exclusive lock on the directory (a POSIX record lock, released when the process dies):
 * two certvet processes must never run two servers over the same append-only file. */
static int lock_dir(struct cv_embedded_redis *e, char *err, size_t cap)
{
    char path[PATH_MAX + sizeof(LOCK_NAME) + 1];
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

    snprintf(path, sizeof(path), "%s/%s", e->dir, LOCK_NAME);
    e->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (e->lock_fd == -1) {
        snprintf(err, cap, "cannot open %s: %s", path, strerror(errno));
        return CV_ERR_IO;
    }
    if (fcntl(e->lock_fd, F_SETLK, &fl) == -1) {
        struct flock who = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        long pid = fcntl(e->lock_fd, F_GETLK, &who) == 0 ? (long)who.l_pid : -1;
        snprintf(err, cap, "data directory %s is in use by another certvet (pid %ld)", e->dir, pid);
        return CV_ERR_CONFLICT;
    }
    return CV_OK;
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void exec_child(const char *server, char *const argv[], int devnull, int status_fd,
                       pid_t parent, long max_fd)
{
    sigset_t none;
    int e;

    setpgid(0, 0); /* a terminal's Ctrl-C goes to certvet, which stops the server in order */
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
    if (getppid() != parent)
        _exit(126);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(devnull, 2);
    for (long fd = 3; fd < max_fd; fd++)
        if (fd != status_fd)
            close((int)fd);
    execvp(server, argv);
    e = errno;
    if (write(status_fd, &e, sizeof(e)) < 0)
        _exit(127);
    _exit(127);
}

int cv_embedded_redis_start(const char *data_dir, const char *server_path,
                            struct cv_embedded_redis **out, char *url, size_t url_cap, char *err,
                            size_t cap)
{
    const char *server = server_path && *server_path ? server_path : "redis-server";
    char sock[PATH_MAX + sizeof(SOCKET_NAME) + 1], log[PATH_MAX + sizeof(LOG_NAME) + 1];
    struct cv_embedded_redis *e = NULL;
    int devnull = -1, pipefd[2] = {-1, -1}, child_errno = 0, rc = CV_OK;
    long max_fd = sysconf(_SC_OPEN_MAX);
    ssize_t got;
    long long deadline;
    bool loading = false;
    pid_t parent = getpid();

    *out = NULL;
    if (err && cap)
        err[0] = '\0';
    if (!data_dir || !url || !err) {
        if (err && cap)
            snprintf(err, cap, "embedded redis: missing argument");
        return CV_ERR_USAGE;
    }
    e = calloc(1, sizeof(*e));
    if (!e) {
        snprintf(err, cap, "out of memory");
        return CV_ERR_NOMEM;
    }
    e->lock_fd = -1;
    rc = make_dirs(data_dir, err, cap);
    if (rc)
        goto out;
    if (!realpath(data_dir, e->dir)) {
        snprintf(err, cap, "cannot resolve %s: %s", data_dir, strerror(errno));
        rc = CV_ERR_IO;
        goto out;
    }
    snprintf(sock, sizeof(sock), "%s/%s", e->dir, SOCKET_NAME);
    snprintf(log, sizeof(log), "%s/%s", e->dir, LOG_NAME);
    if (strlen(sock) >= CV_REDIS_PATH_MAX) {
        snprintf(err, cap,
                 "embedded redis: socket path %s is %zu bytes, unix sockets allow at most %zu: "
                 "choose a shorter data directory",
                 sock, strlen(sock), CV_REDIS_PATH_MAX - 1);
        rc = CV_ERR_USAGE;
        goto out;
    }
    /* The length was checked just above; build the URL by copy so the bound is evident. */
    memcpy(e->url, "unix://", 7);
    memcpy(e->url + 7, sock, strlen(sock) + 1);
    if (strlen(e->url) >= url_cap) {
        snprintf(err, cap, "embedded redis: URL buffer too small (%zu bytes needed)",
                 strlen(e->url) + 1);
        rc = CV_ERR_USAGE;
        goto out;
    }
    rc = lock_dir(e, err, cap);
    if (rc)
        goto out;
    /* A server that answers here was not started by us: never reuse it (it would not be ours to
     * stop, and a second server would take over the socket and share the AOF). */
    if (probe(e->url, PROBE_TIMEOUT_MS) != PROBE_NONE) {
        snprintf(err, cap,
                 "embedded redis: a server already answers on %s; stop it, or connect to it "
                 "with --redis %s",
                 sock, e->url);
        rc = CV_ERR_CONFLICT;
        goto out;
    }

    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull == -1 || pipe(pipefd) == -1 || fcntl(pipefd[0], F_SETFD, FD_CLOEXEC) == -1 ||
        fcntl(pipefd[1], F_SETFD, FD_CLOEXEC) == -1) {
        snprintf(err, cap, "embedded redis: %s", strerror(errno));
        rc = CV_ERR_IO;
        goto out;
    }
    if (max_fd < 0 || max_fd > FD_CLOSE_MAX)
        max_fd = FD_CLOSE_MAX;
    char *argv[] = {(char *)server,
                    "--port",
                    "0",
                    "--unixsocket",
                    sock,
                    "--unixsocketperm",
                    "700",
                    "--dir",
                    e->dir,
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    "everysec",
                    "--save",
                    "",
                    "--daemonize",
                    "no",
                    "--logfile",
                    log,
                    "--pidfile",
                    "",
                    NULL};
    e->pid = fork();
    if (e->pid == -1) {
        e->pid = 0;
        snprintf(err, cap, "embedded redis: fork: %s", strerror(errno));
        rc = CV_ERR_UNAVAILABLE;
        goto out;
    }
    if (e->pid == 0)
        exec_child(server, argv, devnull, pipefd[1], parent, max_fd);
    close(pipefd[1]);
    pipefd[1] = -1;
    /* The pipe closes on exec (nothing read) or carries exec's errno. */
    do
        got = read(pipefd[0], &child_errno, sizeof(child_errno));
    while (got == -1 && errno == EINTR);
    if (got == (ssize_t)sizeof(child_errno)) {
        snprintf(err, cap, "embedded redis: cannot run %s: %s", server, strerror(child_errno));
        rc = CV_ERR_UNAVAILABLE;
        goto out;
    }

    deadline = now_ms() + START_WAIT_MS;
    for (;;) {
        int status = 0;
        if (waitpid(e->pid, &status, WNOHANG) == e->pid) {
            e->pid = 0;
            snprintf(err, cap, "embedded redis: %s exited during start (%s %d); see %s", server,
                     WIFEXITED(status) ? "status" : "signal",
                     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), log);
            rc = CV_ERR_UNAVAILABLE;
            goto out;
        }
        enum probe p = probe(e->url, PROBE_TIMEOUT_MS);
        if (p == PROBE_PONG)
            break;
        if (p == PROBE_LOADING && !loading) {
            loading = true;
            deadline = now_ms() + LOADING_WAIT_MS;
        }
        if (now_ms() >= deadline) {
            snprintf(err, cap, "embedded redis: no answer on %s within %d s; see %s", sock,
                     (loading ? LOADING_WAIT_MS : START_WAIT_MS) / 1000, log);
            rc = CV_ERR_UNAVAILABLE;
            goto out;
        }
        sleep_ms(20);
    }
    snprintf(url, url_cap, "%s", e->url);
out:
    if (devnull != -1)
        close(devnull);
    if (pipefd[0] != -1)
        close(pipefd[0]);
    if (pipefd[1] != -1)
        close(pipefd[1]);
    if (rc) {
        if (e->pid > 0) {
            kill(e->pid, SIGKILL);
            wait_exit(e->pid, TERM_WAIT_MS, &(int){0});
            e->pid = 0;
        }
        cv_embedded_redis_stop(e);
        return rc;
    }
    *out = e;
    return CV_OK;
}

void cv_embedded_redis_stop(struct cv_embedded_redis *e)
{
    int status = 0;

    if (!e)
        return;
    if (e->pid > 0 && !wait_exit(e->pid, 0, &status)) {
        struct cv_redis *r = NULL;
        char err[CV_REDIS_ERRSTR_MAX];
        const char *shutdown[] = {"SHUTDOWN"};

        /* SHUTDOWN flushes the append-only file and answers nothing: the connection just closes
         * (an error reply means it refused, and the signals below take over). */
        if (cv_redis_new(e->url, PROBE_TIMEOUT_MS * 4, &r, err, sizeof(err)) == CV_OK)
            cv_redis_command(r, NULL, 1, shutdown, NULL);
        cv_redis_free(r);
        if (!wait_exit(e->pid, SHUTDOWN_WAIT_MS, &status)) {
            kill(e->pid, SIGTERM);
            if (!wait_exit(e->pid, TERM_WAIT_MS, &status)) {
                kill(e->pid, SIGKILL);
                wait_exit(e->pid, TERM_WAIT_MS, &status);
            }
        }
    }
    e->pid = 0;
    if (e->lock_fd != -1)
        close(e->lock_fd);
    free(e);
}

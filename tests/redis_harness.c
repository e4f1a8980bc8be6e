/* The test redis-server: fork/exec with a private socket, readiness by a raw PING (no client
 * library, so the harness does not depend on the code under test). */
#include "redis_harness.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#define READY_WAIT_MS 10000
#define MAX_SERVERS   16

/* Servers and directories still there at exit (a test that failed half-way, its struct maybe
 * gone with its stack frame) are killed and removed then: the harness keeps its own copies. */
static struct {
    bool used;
    pid_t pid; /* 0 when the server is not running */
    char dir[sizeof(((struct cv_test_redis *)0)->dir)];
} leftovers[MAX_SERVERS];

static void clean_leftovers(void)
{
    for (int i = 0; i < MAX_SERVERS; i++) {
        if (!leftovers[i].used)
            continue;
        if (leftovers[i].pid > 0) {
            kill(leftovers[i].pid, SIGKILL);
            waitpid(leftovers[i].pid, NULL, 0);
        }
        cv_test_rmtree(leftovers[i].dir);
        leftovers[i].used = false;
    }
}

/* Records the state of 'r' (its directory and current pid), or forgets it when '!used'. */
static void track(const struct cv_test_redis *r, bool used)
{
    static bool registered;
    int slot = -1;
    if (!registered) {
        atexit(clean_leftovers);
        registered = true;
    }
    for (int i = 0; i < MAX_SERVERS; i++) {
        if (leftovers[i].used && !strcmp(leftovers[i].dir, r->dir)) {
            slot = i;
            break;
        }
        if (!leftovers[i].used && slot < 0)
            slot = i;
    }
    if (slot < 0)
        return;
    leftovers[slot].used = used;
    leftovers[slot].pid = r->pid;
    snprintf(leftovers[slot].dir, sizeof(leftovers[slot].dir), "%s", r->dir);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* True when something on the socket answers PING with any RESP reply ("-NOAUTH" counts). */
static int answers(const char *sock)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char buf[64];
    int fd = socket(AF_UNIX, SOCK_STREAM, 0), ok = 0;
    if (fd == -1)
        return 0;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && write(fd, "PING\r\n", 6) == 6 &&
        read(fd, buf, sizeof(buf)) > 0)
        ok = buf[0] == '+' || buf[0] == '-';
    close(fd);
    return ok;
}

static int spawn(struct cv_test_redis *r)
{
    char log[sizeof(r->dir) + 16];
    char *argv[24];
    int a = 0;

    snprintf(log, sizeof(log), "%s/redis.log", r->dir);
    argv[a++] = "redis-server";
    argv[a++] = "--port";
    argv[a++] = "0";
    argv[a++] = "--unixsocket";
    argv[a++] = r->sock;
    argv[a++] = "--unixsocketperm";
    argv[a++] = "700";
    argv[a++] = "--dir";
    argv[a++] = r->dir;
    argv[a++] = "--save";
    argv[a++] = "";
    argv[a++] = "--appendonly";
    argv[a++] = "no";
    argv[a++] = "--daemonize";
    argv[a++] = "no";
    argv[a++] = "--logfile";
    argv[a++] = log;
    if (r->password) {
        argv[a++] = "--requirepass";
        argv[a++] = (char *)r->password;
    }
    argv[a] = NULL;

    r->pid = fork();
    if (r->pid == -1) {
        r->pid = 0;
        perror("fork");
        return -1;
    }
    if (r->pid == 0) {
        /* No descriptor of the test's own (a pipe to a runner) may stay open in the server. */
        int devnull = open("/dev/null", O_RDWR),
            logfd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
#ifdef __linux__
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* a crashed test leaves no server behind */
#endif
        if (devnull != -1) {
            dup2(devnull, 0);
            dup2(devnull, 1);
        }
        if (logfd != -1)
            dup2(logfd, 2);
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        execvp(argv[0], argv);
        perror("exec redis-server");
        _exit(127);
    }
    track(r, true);
    for (int waited = 0; waited < READY_WAIT_MS; waited += 10) {
        int status;
        if (waitpid(r->pid, &status, WNOHANG) == r->pid) {
            fprintf(stderr, "redis-server exited during start; see %s\n", log);
            r->pid = 0;
            track(r, true);
            return -1;
        }
        if (answers(r->sock))
            return 0;
        sleep_ms(10);
    }
    fprintf(stderr, "redis-server did not answer on %s\n", r->sock);
    cv_test_redis_kill(r);
    return -1;
}

int cv_test_redis_start(struct cv_test_redis *r)
{
    r->pid = 0;
    snprintf(r->dir, sizeof(r->dir), "/tmp/cvredis-XXXXXX");
    if (!mkdtemp(r->dir)) {
        perror("mkdtemp");
        r->dir[0] = '\0';
        return -1;
    }
    track(r, true);
    snprintf(r->sock, sizeof(r->sock), "%s/redis.sock", r->dir);
    snprintf(r->url, sizeof(r->url), "unix://%s", r->sock);
    return spawn(r);
}

void cv_test_redis_kill(struct cv_test_redis *r)
{
    if (r->pid > 0) {
        kill(r->pid, SIGKILL);
        waitpid(r->pid, NULL, 0);
    }
    r->pid = 0;
    if (r->dir[0])
        track(r, true);
}

int cv_test_redis_restart(struct cv_test_redis *r)
{
    cv_test_redis_kill(r);
    return spawn(r);
}

void cv_test_redis_stop(struct cv_test_redis *r)
{
    if (r->pid > 0) {
        kill(r->pid, SIGTERM);
        for (int waited = 0; waited < 5000; waited += 10) {
            if (waitpid(r->pid, NULL, WNOHANG) == r->pid) {
                r->pid = 0;
                break;
            }
            sleep_ms(10);
        }
        cv_test_redis_kill(r);
    }
    if (r->dir[0]) {
        track(r, false);
        cv_test_rmtree(r->dir);
    }
    r->dir[0] = '\0';
}

int cv_test_rmtree(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *de;
    int rc = 0;

    if (lstat(path, &st) == -1)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(path);
    d = opendir(path);
    if (!d)
        return -1;
    while ((de = readdir(d)) != NULL) {
        char child[4096];
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        snprintf(child, sizeof(child), "%s/%s", path, de->d_name);
        if (cv_test_rmtree(child))
            rc = -1;
    }
    closedir(d);
    if (rmdir(path))
        rc = -1;
    return rc;
}

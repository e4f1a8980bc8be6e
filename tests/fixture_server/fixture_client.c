/* The fixture server's test-side helper: fork/exec, port file, and control requests over a raw
 * HTTP/1.0 socket. */
#include "fixture_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#define READY_WAIT_MS 10000
#define STOP_WAIT_MS  5000
#define REPLY_MAX     4096 /* control and stats answers are small */
#define REQUEST_MAX   4096
#define IO_TIMEOUT_S  10

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int read_port_file(const char *path)
{
    FILE *f = fopen(path, "r");
    unsigned a, b, c, d, port;
    int n;
    if (!f)
        return -1;
    n = fscanf(f, "%u.%u.%u.%u:%u", &a, &b, &c, &d, &port);
    fclose(f);
    return n == 5 && port > 0 && port < 65536 ? (int)port : -1;
}

int cv_fixture_start(struct cv_fixture_server *s, const char *binary, const char *root)
{
    char port_file[sizeof(s->dir) + 16];

    memset(s, 0, sizeof(*s));
    snprintf(s->dir, sizeof(s->dir), "/tmp/cvfixture-XXXXXX");
    if (!mkdtemp(s->dir)) {
        perror("mkdtemp");
        s->dir[0] = '\0';
        return -1;
    }
    snprintf(port_file, sizeof(port_file), "%s/port", s->dir);
    s->pid = fork();
    if (s->pid == -1) {
        s->pid = 0;
        perror("fork");
        return -1;
    }
    if (s->pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
#ifdef __linux__
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* a crashed test leaves no server behind */
#endif
        if (devnull != -1) {
            dup2(devnull, 0);
            dup2(devnull, 1);
        }
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        execl(binary, binary, "--root", root, "--port-file", port_file, (char *)NULL);
        perror("exec certvet-fixture-server");
        _exit(127);
    }
    for (int waited = 0; waited < READY_WAIT_MS; waited += 10) {
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            fprintf(stderr, "fixture server exited during start\n");
            s->pid = 0;
            return -1;
        }
        s->port = read_port_file(port_file);
        if (s->port > 0) {
            snprintf(s->origin, sizeof(s->origin), "http://127.0.0.1:%d", s->port);
            return 0;
        }
        sleep_ms(10);
    }
    fprintf(stderr, "fixture server wrote no port file\n");
    cv_fixture_stop(s);
    return -1;
}

void cv_fixture_stop(struct cv_fixture_server *s)
{
    if (s->pid > 0) {
        int done = 0;
        kill(s->pid, SIGTERM);
        for (int waited = 0; waited < STOP_WAIT_MS && !done; waited += 10) {
            done = waitpid(s->pid, NULL, WNOHANG) == s->pid;
            if (!done)
                sleep_ms(10);
        }
        if (!done) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, NULL, 0);
        }
    }
    s->pid = 0;
    if (s->dir[0]) {
        char p[sizeof(s->dir) + 16];
        snprintf(p, sizeof(p), "%s/port", s->dir);
        unlink(p);
        snprintf(p, sizeof(p), "%s/port.tmp", s->dir);
        unlink(p);
        rmdir(s->dir);
    }
    s->dir[0] = '\0';
}

char *cv_fixture_url(const struct cv_fixture_server *s, const char *path, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%s", s->origin, path);
    return buf;
}

/* Sends one request and reads the whole answer; returns the status (or -1), body in 'body'. */
static int exchange(const struct cv_fixture_server *s, const char *method, const char *target,
                    const char *payload, char *body, size_t cap)
{
    struct sockaddr_in sa;
    struct timeval tv = {IO_TIMEOUT_S, 0};
    char req[REQUEST_MAX], reply[REPLY_MAX + 1];
    size_t len = 0;
    int fd, n, status = -1;
    const char *sep;

    n = snprintf(req, sizeof(req),
                 "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\n\r\n%s",
                 method, target, payload ? strlen(payload) : 0, payload ? payload : "");
    if (n < 0 || (size_t)n >= sizeof(req))
        return -1;
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd == -1)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)s->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 || write(fd, req, (size_t)n) != n)
        goto out;
    while (len < REPLY_MAX) {
        ssize_t r = read(fd, reply + len, REPLY_MAX - len);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    reply[len] = '\0';
    if (sscanf(reply, "HTTP/%*d.%*d %d", &status) != 1)
        status = -1;
    sep = strstr(reply, "\r\n\r\n");
    if (body && cap)
        snprintf(body, cap, "%s", sep ? sep + 4 : "");
out:
    close(fd);
    return status;
}

int cv_fixture_set_mode(const struct cv_fixture_server *s, const struct cv_fixture_mode *m)
{
    char json[REQUEST_MAX / 2], extra[64];
    size_t off;

    if (!m->path || !m->mode)
        return -1;
    off = (size_t)snprintf(json, sizeof(json), "{\"path\": \"%s\", \"mode\": \"%s\"", m->path,
                           m->mode);
#define ADD_INT(name, v, unset)                                                                    \
    if ((v) != (unset)) {                                                                          \
        snprintf(extra, sizeof(extra), ", \"%s\": %d", name, v);                                   \
        off += (size_t)snprintf(json + off, off < sizeof(json) ? sizeof(json) - off : 0, "%s",     \
                                extra);                                                            \
    }
    ADD_INT("status", m->status, -1);
    if (m->times != 0 && m->times != -2)
        ADD_INT("times", m->times, -2);
    ADD_INT("delay_ms", m->delay_ms, -1);
    ADD_INT("retry_after", m->retry_after, -1);
#undef ADD_INT
    if (m->location && off < sizeof(json))
        off +=
            (size_t)snprintf(json + off, sizeof(json) - off, ", \"location\": \"%s\"", m->location);
    if (m->retry_after_date && off < sizeof(json))
        off += (size_t)snprintf(json + off, sizeof(json) - off, ", \"retry_after_date\": true");
    if (off + 2 > sizeof(json))
        return -1;
    snprintf(json + off, sizeof(json) - off, "}");
    return exchange(s, "POST", "/_control", json, NULL, 0) == 204 ? 0 : -1;
}

int cv_fixture_reset_stats(const struct cv_fixture_server *s)
{
    return exchange(s, "POST", "/_control", "{\"reset_stats\": true}", NULL, 0) == 204 ? 0 : -1;
}

long cv_fixture_requests(const struct cv_fixture_server *s, const char *path)
{
    char target[1024], body[256];
    const char *p;
    snprintf(target, sizeof(target), "/_stats?path=%s", path);
    if (exchange(s, "GET", target, NULL, body, sizeof(body)) != 200)
        return -1;
    p = strstr(body, "\"requests\":");
    return p ? strtol(p + strlen("\"requests\":"), NULL, 10) : -1;
}

/* libFuzzer target for the HTTP request path: the real service (cv_service_run: libmicrohttpd's
 * parser, routes, auth, limits, the handlers) runs in a thread of the fuzzer on a loopback port,
 * as `certvet serve` runs it. The handlers read headers and queue answers through an
 * MHD_Connection, so there is no narrower honest entry than a daemon; nothing in src/ knows it is
 * being fuzzed. Each input is sent as raw bytes on a new connection, the write side is shut, and
 * the answer is read until the service closes the connection or pauses after answering.
 *
 * Set-up: the shipped reference data, the sample listing, three API keys whose plaintexts are
 * "fuzz-read", "fuzz-write" and "fuzz-admin" (in fuzz/dict/http.dict and the seeds), a 64 KiB
 * body limit and at most 100 records a request. Built as fuzz_http, the Redis URL is one nobody
 * listens on: the store's routes answer 503 and the verify path runs without the cache. Built as
 * fuzz_http_store (FUZZ_WITH_REDIS), a private redis-server is started (and dies with the
 * fuzzer): the store's routes run for real, and what inputs store stays for later inputs (the
 * target is stateful, as a service is). Run with -close_fd_mask=2: the service logs one line per
 * request on stderr (crash reports still show). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "certvet/service.h"
#include "certvet/sha256.h"

#define READY_WAIT_S 60  /* bound for the service to come up */
#define IO_TIMEOUT_S 10  /* per-connection send/receive bound: a hang guard, not a finding */
#define QUIET_MS     20  /* an answer that started and then paused this long is complete */
#define FIRST_MS     250 /* an input with no answer after this is given up (see below) */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static char config_path[128], ready_path[128];
static struct sockaddr_in service_addr;
static struct cv_service_config config;

/* Writes the service's config file: keys, paths, limits, an unreachable store. */
static void write_config(void)
{
    static const char *const roles[] = {"read", "write", "admin"};
    json_t *keys = json_array();
    for (size_t i = 0; i < 3; i++) {
        char plain[32], hex[CV_SHA256_HEX_LEN];
        snprintf(plain, sizeof(plain), "fuzz-%s", roles[i]);
        cv_sha256_hex(plain, strlen(plain), hex);
        json_array_append_new(
            keys, json_pack("{s:s, s:s, s:s}", "name", plain, "role", roles[i], "sha256", hex));
    }
    char data_dir[128], redis_url[160];
    snprintf(data_dir, sizeof(data_dir), "%s/var", dir);
    snprintf(redis_url, sizeof(redis_url), "unix://%s/redis.sock", dir);
    json_t *cfg = json_pack("{s:{s:s, s:i, s:i}, s:{s:s, s:i}, s:{s:s, s:s, s:[s], s:s}, s:{s:o}, "
                            "s:{s:i, s:i, s:i, s:i}}",
                            "listen", "address", "127.0.0.1", "port", 0, "threads", 2, "redis",
                            "url", redis_url, "timeout_ms", 50, "paths", "data_dir", data_dir,
                            "config_dir", CERTVET_SOURCE_DIR "/config", "listings",
                            CERTVET_SOURCE_DIR "/fixtures/sample/listing.json", "ready_file",
                            ready_path, "auth", "keys", keys, "limits", "body_bytes", 65536,
                            "batch_records", 100, "connection_timeout_s", 2, "connections", 1000);
    if (!cfg || json_dump_file(cfg, config_path, JSON_INDENT(2))) {
        fprintf(stderr, "fuzz_http: cannot write %s\n", config_path);
        abort();
    }
    json_decref(cfg);
}

#ifdef FUZZ_WITH_REDIS
/* Starts redis-server on dir/redis.sock (no TCP, no persistence) and waits until it accepts. */
static void start_redis(void)
{
    char sock[128];
    snprintf(sock, sizeof(sock), "%s/redis.sock", dir);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int null_fd = open("/dev/null", O_RDWR);
        dup2(null_fd, 0);
        dup2(null_fd, 1);
        dup2(null_fd, 2);
        execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", sock,
               "--unixsocketperm", "700", "--dir", dir, "--save", "", "--appendonly", "no",
               (char *)NULL);
        _exit(127);
    }
    if (pid < 0) {
        perror("fuzz_http: fork");
        abort();
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, sock, strlen(sock) + 1);
    for (int i = 0; i < READY_WAIT_S * 10; i++) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        if (fd >= 0)
            close(fd);
        if (ok)
            return;
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "fuzz_http: redis-server did not come up on %s\n", sock);
    abort();
}
#endif

static void *run_service(void *arg)
{
    (void)arg;
    int status = cv_service_run(&config);
    fprintf(stderr, "fuzz_http: the service stopped (%d)\n", status);
    return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof(dir), "%.40s/certvet-fuzz-http-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("fuzz_http: mkdtemp");
        abort();
    }
    snprintf(config_path, sizeof(config_path), "%s/config.json", dir);
    snprintf(ready_path, sizeof(ready_path), "%s/ready", dir);
    write_config();
#ifdef FUZZ_WITH_REDIS
    start_redis();
#endif
    char err[512];
    cv_service_config_init(&config);
    if (cv_service_config_load(&config, config_path, err, sizeof(err))) {
        fprintf(stderr, "fuzz_http: %s\n", err);
        abort();
    }
    pthread_t t;
    if (pthread_create(&t, NULL, run_service, NULL)) {
        perror("fuzz_http: pthread_create");
        abort();
    }
    pthread_detach(t);
    char line[96] = "";
    for (int i = 0; i < READY_WAIT_S * 10; i++) {
        FILE *f = fopen(ready_path, "r");
        if (f) {
            bool complete = fgets(line, sizeof(line), f) && strchr(line, '\n');
            fclose(f);
            if (complete)
                break;
            line[0] = '\0';
        }
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    const char *colon = strrchr(line, ':');
    if (!colon) {
        fprintf(stderr, "fuzz_http: the service did not come up (%s)\n", ready_path);
        abort();
    }
    service_addr.sin_family = AF_INET;
    service_addr.sin_port = htons((uint16_t)atoi(colon + 1));
    inet_pton(AF_INET, "127.0.0.1", &service_addr.sin_addr);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct timeval tv = {IO_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&service_addr, sizeof(service_addr))) {
        fprintf(stderr, "fuzz_http: connect: %s\n", strerror(errno));
        abort(); /* the service is gone: it crashed or stopped, which is a finding */
    }
    size_t sent = 0;
    while (sent < size) {
        ssize_t k = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
        if (k <= 0)
            break; /* the service closed early (a refused request): read its answer */
        sent += (size_t)k;
    }
    shutdown(fd, SHUT_WR);
    /* libmicrohttpd notices neither the client's half-close in the middle of a line or a body,
     * nor after a kept-alive answer: it waits for its timeout. So an answer is taken as complete
     * once it has started and then paused QUIET_MS, and an input that gets no answer within
     * FIRST_MS is given up; the connection is then reset (SO_LINGER 0) so the service drops it
     * at once instead of holding it until limits.connection_timeout_s. */
    char buf[65536];
    bool started = false;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, started ? QUIET_MS : FIRST_MS) <= 0)
            break;
        if (recv(fd, buf, sizeof(buf), 0) <= 0)
            break;
        started = true;
    }
    struct linger reset = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    close(fd);
    return 0;
}

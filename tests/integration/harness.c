/* The integration-test harness (see harness.h): child processes (redis-server, certvet serve),
 * their temporary directories, and HTTP exchanges through libcurl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "certvet/sha256.h"

extern char **environ;

#define READY_TIMEOUT_MS 90000              /* bound for a child to come up (ASan, 2 cores) */
#define STOP_TIMEOUT_MS  90000              /* bound for a child to exit after SIGTERM */
#define BODY_MAX         (64 * 1024 * 1024) /* bytes of a response body we keep */
#define POLL_MS          25

static char tmpdir[IT_DIR_MAX / 2];
static bool curl_ready;
static const struct it_service *last_service; /* for stderr dumps on failed expectations */

static const char *const role_names[IT_N_KEYS] = {"", "read", "write", "admin", "bogus"};

void it_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *it_tmpdir(void)
{
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/certvet-it-XXXXXX");
        if (!mkdtemp(tmpdir)) {
            print_error("mkdtemp: %s\n", strerror(errno));
            tmpdir[0] = '\0';
            fail();
        }
    }
    return tmpdir;
}

static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                char child[IT_PATH_MAX * 2];
                snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
                remove_tree(child);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

void it_cleanup_all(void)
{
    if (tmpdir[0] && !getenv("CERTVET_IT_KEEP"))
        remove_tree(tmpdir);
    tmpdir[0] = '\0';
    if (curl_ready) {
        curl_global_cleanup();
        curl_ready = false;
    }
}

static void make_subdir(const char *parent, const char *prefix, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s-XXXXXX", parent, prefix);
    if (!mkdtemp(out)) {
        print_error("mkdtemp %s: %s\n", out, strerror(errno));
        fail();
    }
}

/* ---- child processes ------------------------------------------------------------------- */

/* An environment without CERTVET_* variables (the test decides those), plus 'extra'
 * ("NAME=value" strings, NULL-terminated). The array is malloc'd; the strings are borrowed. */
static char **child_environment(const char *const *extra)
{
    size_t n = 0, k = 0;
    while (environ[n])
        n++;
    while (extra && extra[k])
        k++;
    char **env = calloc(n + k + 1, sizeof(*env));
    assert_non_null(env);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "CERTVET_", 8) != 0)
            env[m++] = environ[i];
    }
    for (size_t i = 0; i < k; i++)
        env[m++] = (char *)extra[i];
    env[m] = NULL;
    return env;
}

/* fork + exec with stdout and stderr appended to files and the working directory 'cwd'. The
 * child dies with us (PR_SET_PDEATHSIG). */
static pid_t spawn(char *const argv[], char *const envp[], const char *cwd, const char *out_path,
                   const char *err_path)
{
    pid_t parent = getpid();
    int out_fd = open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int err_fd = open(err_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_true(out_fd >= 0 && err_fd >= 0 && null_fd >= 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        if (dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
            _exit(127);
        if (cwd && chdir(cwd) != 0)
            _exit(127);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execve(argv[0], argv, envp);
        dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(out_fd);
    close(err_fd);
    close(null_fd);
    return pid;
}

/* Waits up to 'ms' for 'pid'; returns true with '*status' when it exited. */
static bool wait_bounded(pid_t pid, long ms, int *status)
{
    long deadline = now_ms() + ms;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return true;
        if (r < 0 && errno != EINTR) {
            print_error("waitpid(%d): %s\n", (int)pid, strerror(errno));
            return false;
        }
        if (now_ms() > deadline)
            return false;
        it_sleep_ms(POLL_MS);
    }
}

static int exit_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

/* ---- redis-server ---------------------------------------------------------------------- */

/* Whether a PING over the unix socket gets +PONG (not -LOADING, not an error). */
static bool redis_pong(const char *socket_path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_un a;
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    size_t len = strlen(socket_path);
    if (len >= sizeof(a.sun_path)) {
        close(fd);
        return false;
    }
    memcpy(a.sun_path, socket_path, len + 1);
    bool ok = false;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && write(fd, "PING\r\n", 6) == 6) {
        char buf[64];
        ssize_t k = read(fd, buf, sizeof(buf) - 1);
        ok = k >= 5 && memcmp(buf, "+PONG", 5) == 0;
    }
    close(fd);
    return ok;
}

/* $CERTVET_IT_REDIS_SERVER, else the first redis-server on PATH. */
static void find_redis_server(char *out, size_t cap)
{
    const char *env = getenv("CERTVET_IT_REDIS_SERVER");
    if (env && *env) {
        snprintf(out, cap, "%s", env);
        return;
    }
    const char *path = getenv("PATH");
    for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
        size_t n = strcspn(p, ":");
        snprintf(out, cap, "%.*s/redis-server", (int)n, p);
        if (n && access(out, X_OK) == 0)
            return;
        p += n + (p[n] == ':');
    }
    print_error("redis-server is not on PATH (set CERTVET_IT_REDIS_SERVER)\n");
    fail();
}

static void redis_spawn(struct it_redis *r)
{
    char log_path[IT_PATH_MAX + 16], out_path[IT_PATH_MAX + 16];
    snprintf(log_path, sizeof(log_path), "%s/redis.log", r->dir);
    snprintf(out_path, sizeof(out_path), "%s/redis.out", r->dir);
    char server[IT_PATH_MAX];
    find_redis_server(server, sizeof(server));
    char *argv[] = {server,
                    "--port",
                    "0",
                    "--unixsocket",
                    r->socket,
                    "--unixsocketperm",
                    "700",
                    "--dir",
                    r->dir,
                    "--appendonly",
                    r->appendonly ? "yes" : "no",
                    "--save",
                    "",
                    "--daemonize",
                    "no",
                    "--logfile",
                    log_path,
                    NULL};
    char **env = child_environment(NULL);
    r->pid = spawn(argv, env, r->dir, out_path, out_path);
    free(env);

    long deadline = now_ms() + READY_TIMEOUT_MS;
    while (!redis_pong(r->socket)) {
        int status;
        if (waitpid(r->pid, &status, WNOHANG) == r->pid) {
            r->pid = 0;
            size_t len;
            char *log = it_read_file(out_path, &len);
            print_error("redis-server exited (%d) before answering:\n%s\n", exit_code(status), log);
            free(log);
            fail();
        }
        if (now_ms() > deadline) {
            print_error("redis-server did not answer PING on %s\n", r->socket);
            fail();
        }
        it_sleep_ms(POLL_MS);
    }
}

void it_redis_start(struct it_redis *r, const char *parent, bool appendonly)
{
    memset(r, 0, sizeof(*r));
    r->appendonly = appendonly;
    make_subdir(parent, "redis", r->dir, sizeof(r->dir));
    snprintf(r->socket, sizeof(r->socket), "%s/redis.sock", r->dir);
    assert_true(strlen(r->socket) < sizeof(((struct sockaddr_un *)0)->sun_path));
    snprintf(r->url, sizeof(r->url), "unix://%s", r->socket);
    redis_spawn(r);
}

void it_redis_stop(struct it_redis *r)
{
    if (!r->pid)
        return;
    int status;
    kill(r->pid, SIGTERM);
    if (!wait_bounded(r->pid, STOP_TIMEOUT_MS, &status)) {
        kill(r->pid, SIGKILL);
        waitpid(r->pid, &status, 0);
        r->pid = 0;
        print_error("redis-server did not stop on SIGTERM\n");
        fail();
    }
    r->pid = 0;
    unlink(r->socket); /* redis removes it; make sure a restart does not race a stale one */
}

void it_redis_restart(struct it_redis *r)
{
    assert_int_equal(r->pid, 0);
    redis_spawn(r);
}

static int redis_cli_at(const char *socket, const char *args, char *out, size_t cap)
{
    char cmd[IT_PATH_MAX * 2];
    snprintf(cmd, sizeof(cmd), "redis-cli -s '%s' %s", socket, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    out[0] = '\0';
    if (!fgets(out, (int)cap, p))
        out[0] = '\0';
    out[strcspn(out, "\n")] = '\0';
    while (fgetc(p) != EOF) /* the rest, so that redis-cli is not cut by a closed pipe */
        ;
    return pclose(p);
}

int it_redis_cli(const struct it_redis *r, const char *args, char *out, size_t cap)
{
    return redis_cli_at(r->socket, args, out, cap);
}

long it_redis_count_keys(const char *socket, const char *pattern)
{
    char args[256], out[64];
    snprintf(args, sizeof(args), "--scan --pattern '%s' | wc -l", pattern);
    assert_int_equal(redis_cli_at(socket, args, out, sizeof(out)), 0);
    return atol(out);
}

/* ---- certvet serve --------------------------------------------------------------------- */

static void random_key(char out[IT_KEY_LEN])
{
    unsigned char raw[32];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, raw, sizeof(raw)), (ssize_t)sizeof(raw));
    close(fd);
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof(raw); i++) {
        out[2 * i] = digits[raw[i] >> 4];
        out[2 * i + 1] = digits[raw[i] & 15];
    }
    out[64] = '\0';
}

/* The config file (src/service/config.c's layout): the API keys (SHA-256 of each key, with its
 * role), the data directory of the embedded mode and the limits the test asked for. */
static void write_config(struct it_service *s)
{
    json_t *cfg = json_object();
    json_t *keys = json_array();
    for (int k = IT_KEY_READ; k <= IT_KEY_ADMIN; k++) {
        char hex[CV_SHA256_HEX_LEN];
        cv_sha256_hex(s->keys[k], strlen(s->keys[k]), hex);
        json_array_append_new(keys, json_pack("{s:s, s:s, s:s}", "name", s->key_names[k], "sha256",
                                              hex, "role", role_names[k]));
    }
    if (s->opt.no_keys)
        json_array_clear(keys);
    json_object_set_new(cfg, "auth", json_pack("{s:o}", "keys", keys));
    json_t *paths = json_object();
    if (!s->opt.redis_url && s->opt.data_dir)
        json_object_set_new(paths, "data_dir", json_string(s->opt.data_dir));
    if (s->opt.registries)
        json_object_set_new(paths, "registries", json_string(s->opt.registries));
    json_object_set_new(cfg, "paths", paths);
    if (s->opt.refresh_s)
        json_object_set_new(cfg, "reference", json_pack("{s:i}", "refresh_s", s->opt.refresh_s));
    json_t *limits = json_object();
    if (s->opt.body_bytes)
        json_object_set_new(limits, "body_bytes", json_integer((json_int_t)s->opt.body_bytes));
    if (s->opt.batch_records)
        json_object_set_new(limits, "batch_records",
                            json_integer((json_int_t)s->opt.batch_records));
    json_object_set_new(cfg, "limits", limits);
    if (json_dump_file(cfg, s->config_path, JSON_INDENT(2)) != 0) {
        print_error("cannot write %s\n", s->config_path);
        fail();
    }
    json_decref(cfg);
}

static void service_spawn(struct it_service *s)
{
    char listing[IT_PATH_MAX];
    it_source_path("fixtures/sample/listing.json", listing, sizeof(listing));
    char *argv[16];
    size_t n = 0;
    argv[n++] = (char *)CERTVET_BINARY;
    argv[n++] = "serve";
    argv[n++] = "--listen";
    argv[n++] = (char *)(s->opt.listen ? s->opt.listen : "127.0.0.1:0");
    argv[n++] = "--ready-file";
    argv[n++] = s->ready_path;
    argv[n++] = "--config";
    argv[n++] = s->config_path;
    if (s->opt.redis_url) {
        argv[n++] = "--redis";
        argv[n++] = (char *)s->opt.redis_url;
    }
    if (!s->opt.no_listing) {
        argv[n++] = "--listing";
        argv[n++] = listing;
    }
    argv[n] = NULL;

    char **env = child_environment(NULL);
    unlink(s->ready_path);
    s->pid = spawn(argv, env, s->dir, s->stdout_path, s->stderr_path);
    free(env);

    long deadline = now_ms() + READY_TIMEOUT_MS;
    for (;;) {
        int status;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            print_error("certvet serve exited with %d before it was ready\n", exit_code(status));
            it_service_dump_stderr(s);
            fail();
        }
        FILE *f = fopen(s->ready_path, "r");
        if (f) {
            char line[96];
            bool complete = fgets(line, sizeof(line), f) && strchr(line, '\n');
            fclose(f);
            if (complete) {
                line[strcspn(line, "\r\n")] = '\0';
                snprintf(s->base_url, sizeof(s->base_url), "http://%s", line);
                break;
            }
        }
        if (now_ms() > deadline) {
            print_error("certvet serve wrote no ready file (%s)\n", s->ready_path);
            it_service_dump_stderr(s);
            fail();
        }
        it_sleep_ms(POLL_MS);
    }
    last_service = s;
}

void it_service_start(struct it_service *s, const struct it_service_options *o)
{
    memset(s, 0, sizeof(*s));
    if (o)
        s->opt = *o;
    make_subdir(it_tmpdir(), "svc", s->dir, sizeof(s->dir));
    snprintf(s->config_path, sizeof(s->config_path), "%s/config.json", s->dir);
    snprintf(s->ready_path, sizeof(s->ready_path), "%s/ready", s->dir);
    snprintf(s->stderr_path, sizeof(s->stderr_path), "%s/stderr.log", s->dir);
    snprintf(s->stdout_path, sizeof(s->stdout_path), "%s/stdout.log", s->dir);
    for (int k = IT_KEY_READ; k < IT_N_KEYS; k++) {
        random_key(s->keys[k]);
        snprintf(s->key_names[k], sizeof(s->key_names[k]), "it-%s", role_names[k]);
    }
    write_config(s);
    service_spawn(s);
}

void it_service_restart(struct it_service *s)
{
    assert_int_equal(s->pid, 0);
    service_spawn(s);
}

char *it_service_stderr(const struct it_service *s)
{
    size_t len;
    return it_read_file(s->stderr_path, &len);
}

void it_service_dump_stderr(const struct it_service *s)
{
    FILE *f = fopen(s->stderr_path, "rb");
    if (!f) {
        print_error("(no stderr captured at %s)\n", s->stderr_path);
        return;
    }
    fclose(f);
    char *text = it_service_stderr(s);
    size_t len = strlen(text);
    const size_t tail = 6000;
    print_error("---- certvet serve stderr (%s) ----\n%s\n---- end ----\n",
                len > tail ? "last 6000 bytes" : "all", len > tail ? text + len - tail : text);
    free(text);
}

int it_service_stop(struct it_service *s, bool signal_sent)
{
    if (!s->pid)
        return -1;
    int status;
    if (!signal_sent)
        kill(s->pid, SIGTERM);
    if (!wait_bounded(s->pid, STOP_TIMEOUT_MS, &status)) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &status, 0);
        s->pid = 0;
        print_error("certvet serve did not exit after SIGTERM\n");
        it_service_dump_stderr(s);
        fail();
    }
    s->pid = 0;
    if (last_service == s)
        last_service = NULL;
    int code = exit_code(status);
    if (code != 0) {
        print_error("certvet serve exited with %d after SIGTERM\n", code);
        it_service_dump_stderr(s);
    }
    /* SPEC 12: keys are never logged. */
    char *log = it_service_stderr(s);
    for (int k = IT_KEY_READ; k < IT_N_KEYS; k++) {
        if (strstr(log, s->keys[k])) {
            print_error("the %s key appears in the service's stderr\n", role_names[k]);
            free(log);
            fail();
        }
    }
    free(log);
    return code;
}

/* ---- HTTP ------------------------------------------------------------------------------ */

struct sink {
    char *p;
    size_t n, cap;
};

static void sink_add(struct sink *s, const char *d, size_t len)
{
    if (s->n + len + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->n + len + 1)
            cap *= 2;
        char *p = realloc(s->p, cap);
        assert_non_null(p);
        s->p = p;
        s->cap = cap;
    }
    memcpy(s->p + s->n, d, len);
    s->n += len;
    s->p[s->n] = '\0';
}

static size_t on_body(char *d, size_t size, size_t nmemb, void *user)
{
    struct sink *s = user;
    size_t len = size * nmemb;
    if (s->n + len > BODY_MAX)
        return 0;
    sink_add(s, d, len);
    return len;
}

/* Keeps the last header block: a status line starts a new one (1xx responses come first). */
static size_t on_header(char *d, size_t size, size_t nmemb, void *user)
{
    struct sink *s = user;
    size_t len = size * nmemb;
    if (len >= 5 && memcmp(d, "HTTP/", 5) == 0)
        s->n = 0;
    sink_add(s, d, len);
    return len;
}

void it_response_cleanup(struct it_response *r)
{
    free(r->headers);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

void it_do(const struct it_service *s, const struct it_request *q, struct it_response *r,
           bool allow_transport_error)
{
    if (!curl_ready) {
        assert_int_equal(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
        curl_ready = true;
    }
    memset(r, 0, sizeof(*r));
    const char *method = q->method ? q->method : "GET";
    char url[IT_PATH_MAX * 4];
    snprintf(url, sizeof(url), "%s%s", s->base_url, q->path);

    CURL *h = curl_easy_init();
    assert_non_null(h);
    struct sink body = {0}, head = {0};
    struct curl_slist *hdrs = NULL;
    char line[256];
    if (q->key != IT_KEY_NONE) {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", s->keys[q->key]);
        hdrs = curl_slist_append(hdrs, line);
    }
    bool has_expect = false;
    for (const char *const *e = q->extra_headers; e && *e; e++) {
        hdrs = curl_slist_append(hdrs, *e);
        has_expect = has_expect || strncasecmp(*e, "Expect:", 7) == 0;
    }
    if (q->body) {
        snprintf(line, sizeof(line), "Content-Type:%s%s", q->content_type ? " " : "",
                 q->content_type ? q->content_type : "");
        hdrs = curl_slist_append(hdrs, line);
        if (!has_expect)
            hdrs = curl_slist_append(hdrs, "Expect:");
    }

    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    /* a hang guard, not an assertion */
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, q->timeout_ms ? q->timeout_ms : 180000L);
    curl_easy_setopt(h, CURLOPT_EXPECT_100_TIMEOUT_MS, 60000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &head);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "GET") != 0 || q->body) {
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        if (q->body || strcmp(method, "POST") == 0) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body ? (const char *)q->body : "");
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                             (curl_off_t)(q->body ? q->body_len : 0));
        }
    }

    CURLcode rc = curl_easy_perform(h);
    r->curl_code = (int)rc;
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    if (!body.p)
        sink_add(&body, "", 0);
    if (!head.p)
        sink_add(&head, "", 0);
    r->body = body.p;
    r->len = body.n;
    r->headers = head.p;
    if (rc != CURLE_OK && !allow_transport_error) {
        print_error("%s %s: transport error: %s\n", method, q->path, curl_easy_strerror(rc));
        if (last_service)
            it_service_dump_stderr(last_service);
        fail();
    }
}

void it_get(const struct it_service *s, const char *path, enum it_key key, struct it_response *r)
{
    struct it_request q = {.method = "GET", .path = path, .key = key};
    it_do(s, &q, r, false);
}

void it_send(const struct it_service *s, const char *method, const char *path, enum it_key key,
             const char *content_type, const void *body, size_t len, struct it_response *r)
{
    struct it_request q = {.method = method,
                           .path = path,
                           .key = key,
                           .content_type = content_type,
                           .body = body,
                           .body_len = len};
    it_do(s, &q, r, false);
}

void it_send_json(const struct it_service *s, const char *method, const char *path, enum it_key key,
                  const json_t *v, struct it_response *r)
{
    char *text = json_dumps(v, JSON_COMPACT);
    assert_non_null(text);
    it_send(s, method, path, key, "application/json", text, strlen(text), r);
    free(text);
}

const char *it_header(const struct it_response *r, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *p = r->headers; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            const char *end = p + len;
            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
            while (end > v && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
                end--;
            snprintf(out, cap, "%.*s", (int)(end - v), v);
            return out;
        }
        p = eol ? eol + 1 : p + len;
    }
    return NULL;
}

json_t *it_json(const struct it_response *r)
{
    json_error_t e;
    json_t *v = json_loadb(r->body, r->len, 0, &e);
    if (!v) {
        print_error("response body is not JSON (%s at line %d): %.2000s\n", e.text, e.line,
                    r->body);
        fail();
    }
    return v;
}

static void print_exchange(const struct it_response *r)
{
    print_error("  status %ld (curl %d)\n  headers:\n%s  body: %.3000s%s\n", r->status,
                r->curl_code, r->headers ? r->headers : "", r->body ? r->body : "",
                r->len > 3000 ? " [...]" : "");
}

void it_expect_status_(const struct it_response *r, long want, const char *what, const char *file,
                       int line)
{
    if (r->status == want)
        return;
    print_error("%s:%d: %s: expected HTTP %ld, got %ld\n", file, line, what, want, r->status);
    print_exchange(r);
    _fail(file, line);
}

json_t *it_expect_problem_(const struct it_response *r, long want, const char *slug,
                           const char *what, const char *file, int line)
{
    it_expect_status_(r, want, what, file, line);
    char ct[256];
    const char *problems[8];
    size_t n = 0;
    if (!it_header(r, "Content-Type", ct, sizeof(ct)) ||
        strncasecmp(ct, "application/problem+json", 24) != 0)
        problems[n++] = "Content-Type is not application/problem+json";
    json_error_t e;
    json_t *v = json_loadb(r->body, r->len, 0, &e);
    if (!json_is_object(v)) {
        problems[n++] = "body is not a JSON object";
    } else {
        const char *type = json_string_value(json_object_get(v, "type"));
        if (!type)
            problems[n++] = "no \"type\"";
        else if (slug) {
            size_t tl = strlen(type), sl = strlen(slug);
            if (tl <= sl || type[tl - sl - 1] != '/' || strcmp(type + tl - sl, slug) != 0)
                problems[n++] = "\"type\" does not end in the expected slug";
        }
        if (!json_is_string(json_object_get(v, "title")))
            problems[n++] = "no \"title\"";
        if (json_integer_value(json_object_get(v, "status")) != want)
            problems[n++] = "\"status\" member differs from the HTTP status";
        const char *detail = json_string_value(json_object_get(v, "detail"));
        if (!detail || !*detail)
            problems[n++] = "no \"detail\"";
    }
    if (n) {
        print_error("%s:%d: %s: problem+json expected (slug %s):\n", file, line, what,
                    slug ? slug : "any");
        for (size_t i = 0; i < n; i++)
            print_error("  - %s\n", problems[i]);
        print_exchange(r);
        json_decref(v);
        _fail(file, line);
    }
    return v;
}

bool it_has_word(const char *s, const char *word)
{
    size_t wl = strlen(word);
    if (!s || !wl)
        return false;
    for (const char *p = strstr(s, word); p; p = strstr(p + 1, word)) {
        bool left = p == s || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
        bool right = !(isalnum((unsigned char)p[wl]) || p[wl] == '_');
        if (left && right)
            return true;
    }
    return false;
}

bool it_problem_names(const json_t *problem, const char *field)
{
    if (it_has_word(json_string_value(json_object_get(problem, "detail")), field))
        return true;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(problem, "errors"), i, e)
    {
        const char *f = json_string_value(json_object_get(e, "field"));
        if ((f && strcmp(f, field) == 0) ||
            it_has_word(json_string_value(json_object_get(e, "message")), field))
            return true;
    }
    return false;
}

char *it_url_escape(const char *s)
{
    static const char digits[] = "0123456789ABCDEF";
    char *out = malloc(strlen(s) * 3 + 1);
    assert_non_null(out);
    char *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = digits[*p >> 4];
            *o++ = digits[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

/* ---- files ----------------------------------------------------------------------------- */

const char *it_source_path(const char *rel, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", CERTVET_SOURCE_DIR, rel);
    return out;
}

char *it_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        print_error("cannot open %s: %s\n", path, strerror(errno));
        fail();
    }
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (;;) {
        if (n + 1 >= cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        size_t k = fread(buf + n, 1, cap - n - 1, f);
        n += k;
        if (k == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

char *it_read_fixture(const char *rel, size_t *len)
{
    char path[IT_PATH_MAX];
    return it_read_file(it_source_path(rel, path, sizeof(path)), len);
}

json_t *it_load_json_fixture(const char *rel)
{
    char path[IT_PATH_MAX];
    json_error_t e;
    json_t *v = json_load_file(it_source_path(rel, path, sizeof(path)), 0, &e);
    if (!v) {
        print_error("%s: %s (line %d)\n", rel, e.text, e.line);
        fail();
    }
    return v;
}

/* ---- metrics and polling --------------------------------------------------------------- */

double it_metric(const char *text, const char *name)
{
    size_t nl = strlen(name);
    double sum = 0;
    bool found = false;
    for (const char *p = text; p && *p;) {
        const char *eol = strchr(p, '\n');
        if (*p != '#' && strncmp(p, name, nl) == 0 && (p[nl] == '{' || p[nl] == ' ')) {
            const char *v = p + nl;
            if (*v == '{') {
                bool quoted = false;
                for (v++; *v && *v != '\n'; v++) {
                    if (quoted && *v == '\\' && v[1])
                        v++;
                    else if (*v == '"')
                        quoted = !quoted;
                    else if (!quoted && *v == '}')
                        break;
                }
                if (*v == '}')
                    v++;
            }
            char *end;
            double d = strtod(v, &end);
            if (end != v) {
                sum += d;
                found = true;
            }
        }
        p = eol ? eol + 1 : NULL;
    }
    return found ? sum : -1;
}

double it_get_metric(const struct it_service *s, const char *name)
{
    struct it_response r;
    it_get(s, "/metrics", IT_KEY_NONE, &r);
    it_expect_status(&r, 200, "GET /metrics");
    double v = it_metric(r.body, name);
    it_response_cleanup(&r);
    return v;
}

void it_wait_status(const struct it_service *s, const char *path, long status)
{
    long deadline = now_ms() + 60000;
    long last = 0;
    for (;;) {
        struct it_response r;
        struct it_request q = {.method = "GET", .path = path};
        it_do(s, &q, &r, true);
        last = r.status;
        it_response_cleanup(&r);
        if (last == status)
            return;
        if (now_ms() > deadline) {
            print_error("GET %s never answered %ld (last %ld)\n", path, status, last);
            it_service_dump_stderr(s);
            fail();
        }
        it_sleep_ms(50);
    }
}

/* ---- shared fixtures ------------------------------------------------------------------- */

void it_put_sample_suppliers(const struct it_service *s)
{
    json_t *doc = it_load_json_fixture("fixtures/sample/suppliers.json");
    size_t i;
    json_t *sup;
    json_array_foreach(json_object_get(doc, "suppliers"), i, sup)
    {
        char path[256];
        snprintf(path, sizeof(path), "/v1/suppliers/%s",
                 json_string_value(json_object_get(sup, "id")));
        struct it_response r;
        it_send_json(s, "PUT", path, IT_KEY_WRITE, sup, &r);
        it_expect_status(&r, 200, path);
        it_response_cleanup(&r);
    }
    json_decref(doc);
}

void it_put_supplier(const struct it_service *s, const char *id, const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "/v1/suppliers/%s", id);
    json_t *sup = json_pack("{s:s, s:s}", "id", id, "name", name);
    struct it_response r;
    it_send_json(s, "PUT", path, IT_KEY_WRITE, sup, &r);
    it_expect_status(&r, 200, path);
    it_response_cleanup(&r);
    json_decref(sup);
}

void it_write_fixture_registries(const char *path, const char *origin)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"connectors\": [{\"name\": \"fixture-registry\", \"type\": \"generic\", \"cbs\": "
            "[\"*\"], \"url\": \"%s/{number}.json\", \"record\": \"/result/certificate\", "
            "\"fields\": {\"status\": \"/state\", \"holder\": \"/holder/name\", \"standard\": "
            "\"/standard\", \"expiry\": \"/valid_until\"}, \"status_map\": {\"Active\": "
            "\"active\", \"Suspended\": \"suspended\"}, \"timeout_ms\": 3000, \"retries\": 0}]}",
            origin);
    assert_int_equal(fclose(f), 0);
}

int it_service_connect(const struct it_service *s)
{
    const char *hostport = s->base_url + strlen("http://");
    const char *colon = strrchr(hostport, ':');
    assert_non_null(colon);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr), 1);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

int it_listen_loopback(unsigned *port)
{
    struct sockaddr_in a = {0};
    socklen_t len = sizeof(a);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(s >= 0);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s, 16), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return s;
}

json_t *it_synth_certificates(size_t n, const char *prefix, const char *supplier_id)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        char number[64];
        snprintf(number, sizeof(number), "%s-%06zu", prefix, i + 1);
        json_t *c =
            json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s}, s:s, s:s, s:s, s:s, s:[{s:s, s:s}]}",
                      "certificate_number", number, "standard", "ISO 9001:2015", "holder", "name",
                      "Greystone Energy Services Inc.", "country", "CA", "certification_body",
                      "name", "Northwind Assurance Ltd", "accreditation_body", "UKAS", "scope",
                      "Maintenance of heating plant", "issue_date", "2026-01-12", "expiry_date",
                      "2029-01-11", "audits", "type", "initial", "date", "2025-12-15");
        assert_non_null(c);
        if (supplier_id)
            json_object_set_new(c, "supplier_id", json_string(supplier_id));
        json_array_append_new(a, c);
    }
    return a;
}

json_t *it_ingest(const struct it_service *s, const char *content_type, const char *body,
                  size_t len, size_t accepted)
{
    struct it_response r;
    it_send(s, "POST", "/v1/certificates", IT_KEY_WRITE, content_type, body, len, &r);
    it_expect_status(&r, 200, "POST /v1/certificates");
    json_t *v = it_json(&r);
    json_t *ids = json_object_get(v, "ids");
    if (json_integer_value(json_object_get(v, "accepted")) != (json_int_t)accepted ||
        json_array_size(ids) != accepted) {
        print_error("ingest (%s): expected %zu accepted and as many ids, got:\n%.3000s\n",
                    content_type, accepted, r.body);
        it_response_cleanup(&r);
        fail();
    }
    it_response_cleanup(&r);
    return v;
}

json_t *it_supplier_certificate_ids(const struct it_service *s, const char *supplier_id)
{
    char path[256];
    snprintf(path, sizeof(path), "/v1/suppliers/%s", supplier_id);
    struct it_response r;
    it_get(s, path, IT_KEY_READ, &r);
    it_expect_status(&r, 200, path);
    json_t *v = it_json(&r);
    json_t *certs = json_object_get(v, "certificates");
    if (!json_is_array(certs)) {
        print_error("GET %s: no \"certificates\" array: %.2000s\n", path, r.body);
        fail();
    }
    json_t *ids = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(certs, i, c)
    {
        json_t *id = json_object_get(c, "id");
        assert_true(json_is_string(id));
        json_array_append(ids, id);
    }
    json_decref(v);
    it_response_cleanup(&r);
    return ids;
}

/* Tests for src/net/notify.c: HMAC-SHA256 against RFC 4231, the webhook against a loopback
 * receiver in this file (signature, body, retries, delivery log in a private redis-server) and
 * SMTP against certvet-smtp-sink. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "certvet/error.h"
#include "certvet/notify.h"
#include "certvet/store.h"
#include "redis_harness.h"

/* ---- HMAC-SHA256: RFC 4231 test cases 1, 2, 3, 4, 6, 7 ----------------------------------- */

struct hmac_case {
    unsigned char key[131];
    size_t key_len;
    const char *data; /* NULL: 'fill' repeated 'data_len' times */
    unsigned char fill;
    size_t data_len;
    const char *expect;
};

static void test_hmac_rfc4231(void **state)
{
    static const char big_key_data[] =
        "This is a test using a larger than block-size key and a larger than block-size data. "
        "The key needs to be hashed before being used by the HMAC algorithm.";
    struct hmac_case cases[] = {
        {.key_len = 20,
         .data = "Hi There",
         .expect = "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {.key = "Jefe",
         .key_len = 4,
         .data = "what do ya want for nothing?",
         .expect = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {.key_len = 20,
         .fill = 0xdd,
         .data_len = 50,
         .expect = "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
        {.key_len = 25,
         .fill = 0xcd,
         .data_len = 50,
         .expect = "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
        {.key_len = 131,
         .data = "Test Using Larger Than Block-Size Key - Hash Key First",
         .expect = "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
        {.key_len = 131,
         .data = big_key_data,
         .expect = "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
    };
    (void)state;
    memset(cases[0].key, 0x0b, 20);
    memset(cases[2].key, 0xaa, 20);
    for (int i = 0; i < 25; i++)
        cases[3].key[i] = (unsigned char)(i + 1);
    memset(cases[4].key, 0xaa, 131);
    memset(cases[5].key, 0xaa, 131);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char key[132], data[64], hex[65];
        const void *d = cases[i].data;
        size_t dlen = cases[i].data ? strlen(cases[i].data) : cases[i].data_len;
        memcpy(key, cases[i].key, cases[i].key_len);
        key[cases[i].key_len] = '\0';
        if (!d) {
            memset(data, cases[i].fill, cases[i].data_len);
            d = data;
        }
        cv_hmac_sha256_hex(key, d, dlen, hex);
        assert_string_equal(hex, cases[i].expect);
    }
}

/* ---- a loopback webhook receiver ---------------------------------------------------------- */

#define RECV_BODY_MAX 65536

struct receiver {
    int ls;
    unsigned port;
    pthread_t thread;
    volatile int stop;
    pthread_mutex_t mu;
    int statuses[8]; /* answer to request i; the last one repeats */
    int n_statuses;
    int requests;
    char body[RECV_BODY_MAX];
    size_t body_len;
    char signature[128], delivery[256], content_type[128];
};

static void header_value(const char *headers, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *p = headers;
    out[0] = '\0';
    while ((p = strstr(p, "\r\n")) != NULL) {
        p += 2;
        if (!strncasecmp(p, name, nl) && p[nl] == ':') {
            const char *v = p + nl + 1, *e;
            while (*v == ' ')
                v++;
            e = strstr(v, "\r\n");
            if (e && (size_t)(e - v) < cap) {
                memcpy(out, v, (size_t)(e - v));
                out[e - v] = '\0';
            }
            return;
        }
    }
}

static void handle(struct receiver *r, int fd)
{
    static char buf[RECV_BODY_MAX + 8192];
    size_t len = 0, need;
    char *end = NULL, cl[32], reply[128];
    int status;

    while (!end) {
        ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (n <= 0)
            return;
        len += (size_t)n;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    end[2] = '\0'; /* keep the last header line's CRLF */
    header_value(buf, "Content-Length", cl, sizeof(cl));
    need = (size_t)(end + 4 - buf) + (size_t)strtoul(cl, NULL, 10);
    while (len < need && len < sizeof(buf) - 1) {
        ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (n <= 0)
            return;
        len += (size_t)n;
    }
    pthread_mutex_lock(&r->mu);
    status = r->statuses[r->requests < r->n_statuses ? r->requests : r->n_statuses - 1];
    r->requests++;
    r->body_len = need - (size_t)(end + 4 - buf);
    memcpy(r->body, end + 4, r->body_len);
    r->body[r->body_len] = '\0';
    header_value(buf, "X-Certvet-Signature", r->signature, sizeof(r->signature));
    header_value(buf, "X-Certvet-Delivery", r->delivery, sizeof(r->delivery));
    header_value(buf, "Content-Type", r->content_type, sizeof(r->content_type));
    pthread_mutex_unlock(&r->mu);
    snprintf(reply, sizeof(reply),
             "HTTP/1.1 %d X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status);
    send(fd, reply, strlen(reply), MSG_NOSIGNAL);
}

static void *receiver_main(void *arg)
{
    struct receiver *r = arg;
    while (!r->stop) {
        struct pollfd p = {.fd = r->ls, .events = POLLIN};
        int fd;
        if (poll(&p, 1, 50) <= 0)
            continue;
        fd = accept(r->ls, NULL, NULL);
        if (fd < 0)
            continue;
        handle(r, fd);
        close(fd);
    }
    return NULL;
}

static int listen_loopback(unsigned *port)
{
    struct sockaddr_in a = {0};
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void receiver_start(struct receiver *r, const int *statuses, int n)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->mu, NULL);
    memcpy(r->statuses, statuses, (size_t)n * sizeof(int));
    r->n_statuses = n;
    r->ls = listen_loopback(&r->port);
    assert_int_equal(pthread_create(&r->thread, NULL, receiver_main, r), 0);
}

static void receiver_stop(struct receiver *r)
{
    r->stop = 1;
    pthread_join(r->thread, NULL);
    close(r->ls);
    pthread_mutex_destroy(&r->mu);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char payload[] =
    "{\"text\":\"certvet: 2 certificates need attention\",\"events\":[{\"type\":\"expiring\","
    "\"certificate_id\":\"C-1\",\"days\":30},{\"type\":\"expired\",\"certificate_id\":\"C-2\"}]}";

static void test_webhook_signed_delivery(void **state)
{
    struct receiver r;
    static const int ok[] = {200};
    char url[64], err[256], sig[65], expect[80];
    struct cv_webhook_config cfg = {.url = url, .secret = "s3cret", .timeout_ms = 2000};
    (void)state;

    receiver_start(&r, ok, 1);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", r.port);
    assert_int_equal(cv_webhook_send(&cfg, NULL, "run-1", payload, err, sizeof(err)), CV_OK);
    receiver_stop(&r);
    assert_int_equal(r.requests, 1);
    assert_int_equal(r.body_len, strlen(payload));
    assert_string_equal(r.body, payload);
    assert_string_equal(r.content_type, "application/json");
    assert_string_equal(r.delivery, "run-1");
    cv_hmac_sha256_hex("s3cret", r.body, r.body_len, sig); /* what a receiver would check */
    snprintf(expect, sizeof(expect), "sha256=%s", sig);
    assert_string_equal(r.signature, expect);
}

static void test_webhook_retry_after_500(void **state)
{
    struct receiver r;
    static const int flaky[] = {500, 200};
    char url[64], err[256];
    struct cv_webhook_config cfg = {.url = url, .secret = "k", .timeout_ms = 2000};
    (void)state;

    receiver_start(&r, flaky, 2);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", r.port);
    assert_int_equal(cv_webhook_send(&cfg, NULL, "run-2", payload, err, sizeof(err)), CV_OK);
    receiver_stop(&r);
    assert_int_equal(r.requests, 2);
    assert_string_equal(r.body, payload);
    assert_string_equal(r.delivery, "run-2");
}

static const char *field(const struct cv_stream_entry *e, const char *name)
{
    for (size_t i = 0; i < e->n; i++)
        if (!strcmp(e->names[i], name))
            return e->values[i];
    return NULL;
}

static void test_webhook_failure_logged(void **state)
{
    struct receiver r;
    static const int ok[] = {200}, failing[] = {500};
    struct cv_test_redis redis = {0};
    struct cv_store *store = NULL;
    struct cv_store_config sc = {0};
    struct cv_stream_entry *e = NULL;
    size_t n = 0;
    char url[64], err[256];
    struct cv_webhook_config cfg = {
        .url = url, .secret = "k", .timeout_ms = 2000, .max_retries = 2};
    (void)state;

    assert_int_equal(cv_test_redis_start(&redis), 0);
    sc.url = redis.url;
    assert_int_equal(cv_store_open(&sc, &store, err, sizeof(err)), CV_OK);

    receiver_start(&r, ok, 1);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", r.port);
    assert_int_equal(cv_webhook_send(&cfg, store, "run-ok", payload, err, sizeof(err)), CV_OK);
    receiver_stop(&r);

    receiver_start(&r, failing, 1);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", r.port);
    assert_int_not_equal(cv_webhook_send(&cfg, store, "run-bad", payload, err, sizeof(err)), CV_OK);
    receiver_stop(&r);
    assert_int_equal(r.requests, 3); /* the first try and two retries */
    assert_non_null(strstr(err, "500"));

    assert_int_equal(cv_store_stream_read(store, "deliveries", "0", 10, &e, &n), CV_OK);
    assert_int_equal(n, 2);
    assert_string_equal(field(&e[0], "delivery_id"), "run-ok");
    assert_string_equal(field(&e[0], "outcome"), "delivered");
    assert_string_equal(field(&e[0], "status"), "200");
    assert_string_equal(field(&e[0], "attempts"), "1");
    assert_string_equal(field(&e[1], "delivery_id"), "run-bad");
    assert_string_equal(field(&e[1], "outcome"), "failed");
    assert_string_equal(field(&e[1], "status"), "500");
    assert_string_equal(field(&e[1], "attempts"), "3");
    assert_non_null(field(&e[1], "at"));
    assert_int_equal(strlen(field(&e[1], "at")), 20);
    cv_store_free_stream_entries(e, n);
    cv_store_close(store);
    cv_test_redis_stop(&redis);
}

/* A receiver that accepts but never answers, then one that is gone: errors within the budget. */
static void test_webhook_unreachable(void **state)
{
    char url[64], err[256];
    struct cv_webhook_config cfg = {.url = url, .secret = "k", .timeout_ms = 300, .max_retries = 1};
    unsigned port;
    long long t0;
    int fd;
    (void)state;

    fd = listen_loopback(&port);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", port);
    t0 = now_ms();
    assert_int_equal(cv_webhook_send(&cfg, NULL, "run-3", payload, err, sizeof(err)),
                     CV_ERR_UNAVAILABLE);
    assert_true(now_ms() - t0 < 5000);
    close(fd);
    t0 = now_ms();
    assert_int_equal(cv_webhook_send(&cfg, NULL, "run-3", payload, err, sizeof(err)),
                     CV_ERR_UNAVAILABLE);
    assert_true(now_ms() - t0 < 5000);
}

static void test_webhook_bad_arguments(void **state)
{
    char err[256];
    struct cv_webhook_config cfg = {.url = "ftp://127.0.0.1/x", .secret = "k"};
    (void)state;
    assert_int_equal(cv_webhook_send(&cfg, NULL, "id", "{}", err, sizeof(err)), CV_ERR_USAGE);
    cfg.url = "http://127.0.0.1:1/x";
    assert_int_equal(cv_webhook_send(&cfg, NULL, "id\r\nX: y", "{}", err, sizeof(err)),
                     CV_ERR_USAGE);
    assert_int_equal(cv_webhook_send(&cfg, NULL, "id", NULL, err, sizeof(err)), CV_ERR_USAGE);
}

/* ---- SMTP against certvet-smtp-sink ------------------------------------------------------- */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *s;
    long n;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    s = calloc(1, (size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    fclose(f);
    return s;
}

static void test_smtp_to_sink(void **state)
{
    char dir[] = "/tmp/certvet-smtp-XXXXXX", port_file[128], url[64], err[256], path[160];
    const char *to[] = {"buyer@example.com", "quality@example.com"};
    struct cv_smtp_config cfg = {
        .url = url, .from = "certvet@example.com", .to = to, .n_to = 2, .timeout_ms = 5000};
    static const char body[] = "2 certificates need attention.\n"
                               ".a line that starts with a dot\n"
                               ".\n"
                               "C-1 expires in 30 days\n";
    char *msg = NULL, *port_s = NULL;
    pid_t pid;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(port_file, sizeof(port_file), "%s/port", dir);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(CERTVET_SMTP_SINK, CERTVET_SMTP_SINK, port_file, dir, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500 && !port_s; i++) {
        port_s = slurp(port_file);
        if (!port_s)
            nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
    }
    assert_non_null(port_s);
    snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", atoi(port_s));
    free(port_s);

    assert_int_equal(
        cv_smtp_send(&cfg, "certvet: 2 certificates need attention", body, err, sizeof(err)),
        CV_OK);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);

    snprintf(path, sizeof(path), "%s/msg-1.eml", dir);
    msg = slurp(path);
    assert_non_null(msg);
    assert_non_null(strstr(msg, "Subject: certvet: 2 certificates need attention\r\n"));
    assert_non_null(strstr(msg, "From: <certvet@example.com>\r\n"));
    assert_non_null(strstr(msg, "To: <buyer@example.com>,\r\n <quality@example.com>\r\n"));
    assert_non_null(strstr(msg, "\r\nDate: ") || !strncmp(msg, "Date: ", 6));
    assert_non_null(strstr(msg, "Message-ID: <"));
    assert_non_null(strstr(msg, "\r\n\r\n2 certificates need attention.\r\n"
                                ".a line that starts with a dot\r\n"
                                ".\r\n"
                                "C-1 expires in 30 days\r\n"));
    free(msg);
    cv_test_rmtree(dir);
}

static void test_smtp_unreachable(void **state)
{
    char url[64], err[256];
    const char *to[] = {"buyer@example.com"};
    struct cv_smtp_config cfg = {
        .url = url, .from = "certvet@example.com", .to = to, .n_to = 1, .timeout_ms = 1000};
    unsigned port;
    long long t0;
    int fd;
    (void)state;

    fd = listen_loopback(&port); /* a port nobody listens on any more: refused */
    close(fd);
    snprintf(url, sizeof(url), "smtp://127.0.0.1:%u", port);
    t0 = now_ms();
    assert_int_equal(cv_smtp_send(&cfg, "s", "b", err, sizeof(err)), CV_ERR_UNAVAILABLE);
    assert_true(now_ms() - t0 < 3000);

    fd = listen_loopback(&port); /* accepts (backlog) but never greets: the timeout ends it */
    snprintf(url, sizeof(url), "smtp://127.0.0.1:%u", port);
    t0 = now_ms();
    assert_int_equal(cv_smtp_send(&cfg, "s", "b", err, sizeof(err)), CV_ERR_UNAVAILABLE);
    assert_true(now_ms() - t0 < 3000);
    close(fd);
}

static void test_smtp_bad_arguments(void **state)
{
    char err[256];
    const char *to[] = {"buyer@example.com"};
    struct cv_smtp_config cfg = {
        .url = "smtp://127.0.0.1:1", .from = "a@example.com", .to = to, .n_to = 1};
    (void)state;
    assert_int_equal(cv_smtp_send(&cfg, "x\r\nBcc: evil@example.com", "b", err, sizeof(err)),
                     CV_ERR_USAGE);
    cfg.url = "http://127.0.0.1:1";
    assert_int_equal(cv_smtp_send(&cfg, "s", "b", err, sizeof(err)), CV_ERR_USAGE);
    cfg.url = "smtp://127.0.0.1:1";
    cfg.n_to = 0;
    assert_int_equal(cv_smtp_send(&cfg, "s", "b", err, sizeof(err)), CV_ERR_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_webhook_signed_delivery),
        cmocka_unit_test(test_webhook_retry_after_500),
        cmocka_unit_test(test_webhook_failure_logged),
        cmocka_unit_test(test_webhook_unreachable),
        cmocka_unit_test(test_webhook_bad_arguments),
        cmocka_unit_test(test_smtp_to_sink),
        cmocka_unit_test(test_smtp_unreachable),
        cmocka_unit_test(test_smtp_bad_arguments),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

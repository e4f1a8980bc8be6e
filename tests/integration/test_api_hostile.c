/* Hostile input through real HTTP (SPEC 12): XXE and billion laughs, a 100 MB body, a 1 MB header
 * line and request line, 10,000-deep JSON, invalid UTF-8, NUL bytes, CSV with embedded newlines
 * and stray quotes, impossible dates, a certificate number over 60 characters, hostile supplier
 * bodies and ids, and slowloris clients (headers or body one byte a second). Each is answered
 * with the right status and a problem+json body naming what is wrong (or cut, for the slow
 * clients and the bodies MHD stops reading), the service answers a normal request right after
 * (and during slowloris), and nothing is stored: the Redis the service writes to is emptied
 * before each case and its dataset keys (P{cv}:*) are counted after it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#define BODY_LIMIT     (1024 * 1024)         /* limits.body_bytes of the service under test */
#define CONN_TIMEOUT_S 2                     /* limits.connection_timeout_s: slow clients are cut */
#define HUGE_BODY      (100LL * 1024 * 1024) /* the "100 MB body" of SPEC 12 */
#define HUGE_LINE      (1024 * 1024)         /* the "1 MB header line" */
#define DEEP           10000                 /* JSON nesting depth */
#define SLOW_BYTES     30                    /* a slow client's bytes, one a second: a hang guard */
#define DATASET        "certvet:{cv}:"       /* the default prefix and hash tag (docs/STORAGE.md) */

static struct it_redis redis;
static struct it_service svc;

static const char good_fields[] =
    "\"standard\": \"ISO 9001:2015\", \"holder\": {\"name\": \"Acme Ltd\"}, "
    "\"certification_body\": {\"name\": \"Northwind Assurance Ltd\"}, \"issue_date\": "
    "\"2026-01-12\", \"expiry_date\": \"2029-01-11\"";
static const char csv_header[] =
    "certificate_number,standard,holder_name,certification_body,issue_date,expiry_date\n";

/* ---- setup: the service on a private Redis, with a short connection timeout ----------------- */

/* Sets limits.connection_timeout_s in the harness's generated config (the harness knows no such
 * option): the service is restarted on the edited file. */
static void set_connection_timeout(const char *config_path, int seconds)
{
    json_error_t e;
    json_t *cfg = json_load_file(config_path, 0, &e);
    assert_non_null(cfg);
    json_t *limits = json_object_get(cfg, "limits");
    assert_non_null(limits);
    json_object_set_new(limits, "connection_timeout_s", json_integer(seconds));
    assert_int_equal(json_dump_file(cfg, config_path, JSON_INDENT(2)), 0);
    json_decref(cfg);
}

static int setup(void **state)
{
    (void)state;
    it_redis_start(&redis, it_tmpdir(), false);
    struct it_service_options o = {.redis_url = redis.url, .body_bytes = BODY_LIMIT};
    it_service_start(&svc, &o);
    assert_int_equal(it_service_stop(&svc, false), 0);
    set_connection_timeout(svc.config_path, CONN_TIMEOUT_S);
    it_service_restart(&svc);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int code = it_service_stop(&svc, false);
    it_redis_stop(&redis);
    it_cleanup_all();
    assert_int_equal(code, 0);
    return 0;
}

/* ---- the store, read directly ------------------------------------------------------------------
 */

/* Sends one command to the test's redis-server (RESP over its unix socket) and returns the
 * integer of the reply: ":N" its value, "*N" the number of elements, "+OK" 0. Fails the test on
 * an error reply. */
static long long redis_int(const char *const *argv, size_t argc)
{
    char cmd[1024];
    size_t n = (size_t)snprintf(cmd, sizeof(cmd), "*%zu\r\n", argc);
    for (size_t i = 0; i < argc; i++)
        n += (size_t)snprintf(cmd + n, sizeof(cmd) - n, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
    assert_true(n < sizeof(cmd));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    assert_true(strlen(redis.socket) < sizeof(sa.sun_path));
    memcpy(sa.sun_path, redis.socket, strlen(redis.socket) + 1);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(write(fd, cmd, n), (ssize_t)n);
    char line[256];
    size_t got = 0;
    while (got + 1 < sizeof(line) && (got == 0 || line[got - 1] != '\n')) {
        ssize_t k = read(fd, line + got, 1);
        assert_true(k == 1);
        got++;
    }
    line[got] = '\0';
    close(fd);
    if (line[0] == '-') {
        print_error("redis %s: %s", argv[0], line);
        fail();
    }
    return line[0] == '+' ? 0 : strtoll(line + 1, NULL, 10);
}

static void store_flush(void)
{
    const char *const argv[] = {"FLUSHALL"};
    redis_int(argv, 1);
}

/* Dataset keys (records, links, indexes, streams; not the verification cache). */
static long long store_keys(const char *kind)
{
    char pattern[128];
    snprintf(pattern, sizeof(pattern), DATASET "%s*", kind);
    const char *const argv[] = {"KEYS", pattern};
    return redis_int(argv, 2);
}

/* Entries in the audit trail: one per record written. */
static long long store_changes(void)
{
    const char *const argv[] = {"XLEN", DATASET "stream:changes"};
    return redis_int(argv, 2);
}

static void expect_nothing_stored(const char *what)
{
    long long keys = store_keys("");
    if (keys != 0) {
        print_error("%s: %lld dataset keys in Redis, expected none\n", what, keys);
        fail();
    }
}

/* After a body mixing good and refused records: exactly the 'n' good ones are there. */
static void expect_stored(long long n, const char *what)
{
    long long certs = store_keys("cert:"), changes = store_changes();
    if (certs != n || changes != n) {
        print_error("%s: %lld certificate records and %lld changes stored, expected %lld\n", what,
                    certs, changes, n);
        fail();
    }
}

/* ---- the service is still there ------------------------------------------------------------- */

/* GET /healthz and a normal POST /v1/verify both answer 200. */
static void expect_alive(const char *after)
{
    struct it_response r;
    it_get(&svc, "/healthz", IT_KEY_NONE, &r);
    if (r.status != 200) {
        print_error("GET /healthz after %s: %ld\n", after, r.status);
        fail();
    }
    it_response_cleanup(&r);
    char body[1024];
    snprintf(body, sizeof(body), "{\"certificate_number\": \"IT-ALIVE-1\", %s}", good_fields);
    it_send(&svc, "POST", "/v1/verify?as_of=2026-12-04", IT_KEY_READ, "application/json", body,
            strlen(body), &r);
    it_expect_status(&r, 200, "POST /v1/verify after a hostile request");
    json_t *v = it_json(&r);
    if (!json_is_string(json_object_get(v, "verdict"))) {
        print_error("POST /v1/verify after %s: no verdict: %s\n", after, r.body);
        fail();
    }
    json_decref(v);
    it_response_cleanup(&r);
}

/* ---- requests and their expected refusals -------------------------------------------------------
 */

/* Whether 'word' occurs (as a whole word) in the problem's detail, errors[].message or
 * errors[].field. */
static bool names(const json_t *problem, const char *word)
{
    return it_problem_names(problem, word);
}

/* POSTs 'body' and expects a problem with 'status' and 'slug' whose text names 'word'. */
static void expect_refused(const char *path, enum it_key key, const char *content_type,
                           const void *body, size_t len, long status, const char *slug,
                           const char *word, const char *what)
{
    struct it_response r;
    it_send(&svc, "POST", path, key, content_type, body, len, &r);
    json_t *p = it_expect_problem(&r, status, slug, what);
    if (word && !names(p, word)) {
        print_error("%s: the problem does not name '%s':\n%.3000s\n", what, word, r.body);
        fail();
    }
    if (strstr(r.body, "XXE-SECRET") || strstr(r.body, "root:x:")) {
        print_error("%s: the reply carries what an entity pointed at\n", what);
        fail();
    }
    json_decref(p);
    it_response_cleanup(&r);
}

static void expect_ingest_refused(const char *content_type, const void *body, size_t len,
                                  long status, const char *slug, const char *word, const char *what)
{
    expect_refused("/v1/certificates", IT_KEY_WRITE, content_type, body, len, status, slug, word,
                   what);
}

static void expect_verify_refused(const void *body, size_t len, long status, const char *slug,
                                  const char *word, const char *what)
{
    expect_refused("/v1/verify", IT_KEY_READ, "application/json", body, len, status, slug, word,
                   what);
}

/* POSTs a body that mixes good and refused records: 200 with 'accepted' and 'rejected' as
 * given, the first refusal naming 'word'. Returns the reply's ids (the caller decrefs). */
static json_t *expect_partial(const char *content_type, const void *body, size_t len, long accepted,
                              long rejected, const char *word, const char *what)
{
    struct it_response r;
    it_send(&svc, "POST", "/v1/certificates", IT_KEY_WRITE, content_type, body, len, &r);
    it_expect_status(&r, 200, what);
    json_t *v = it_json(&r);
    json_t *errors = json_object_get(v, "errors");
    json_t *first = json_array_get(errors, 0);
    const char *msg = json_string_value(json_object_get(first, "message"));
    const char *field = json_string_value(json_object_get(first, "field"));
    if (json_integer_value(json_object_get(v, "accepted")) != accepted ||
        json_integer_value(json_object_get(v, "rejected")) != rejected ||
        json_array_size(json_object_get(v, "ids")) != (size_t)accepted ||
        !(it_has_word(msg, word) || (field && strcmp(field, word) == 0))) {
        print_error("%s: expected %ld accepted, %ld rejected, the first refusal naming '%s':\n"
                    "%.3000s\n",
                    what, accepted, rejected, word, r.body);
        fail();
    }
    json_t *ids = json_incref(json_object_get(v, "ids"));
    json_decref(v);
    it_response_cleanup(&r);
    return ids;
}

/* One certificate object whose certificate_number is 'number' (JSON-escaped by the caller). */
static char *certificate_with_number(const char *number)
{
    size_t cap = strlen(number) + sizeof(good_fields) + 64;
    char *s = malloc(cap);
    assert_non_null(s);
    snprintf(s, cap, "{\"certificate_number\": \"%s\", %s}", number, good_fields);
    return s;
}

/* ---- XXE, billion laughs ------------------------------------------------------------------------
 */

/* SPEC 3.1: a DOCTYPE is refused before any entity is read (400 invalid-body naming the
 * DOCTYPE); /v1/verify reads JSON only (415), and the same bytes sent as JSON are 400. */
static void test_xml_entities(void **state)
{
    (void)state;
    static const char *const files[] = {
        "fixtures/hostile/xml-xxe-file.xml",         "fixtures/hostile/xml-xxe-local.xml",
        "fixtures/hostile/xml-billion-laughs.xml",   "fixtures/hostile/xml-billion-laughs-attr.xml",
        "fixtures/hostile/xml-parameter-laughs.xml", "fixtures/hostile/xml-parameter-entities.xml",
        "fixtures/hostile/xml-external-dtd.xml",     "fixtures/hostile/xml-listing-xxe.xml",
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        store_flush();
        size_t len;
        char *body = it_read_fixture(files[i], &len);
        expect_ingest_refused("application/xml", body, len, 400, "invalid-body", "DOCTYPE",
                              files[i]);
        expect_ingest_refused("text/xml", body, len, 400, "invalid-body", "DOCTYPE", files[i]);
        expect_refused("/v1/verify", IT_KEY_READ, "application/xml", body, len, 415,
                       "unsupported-media-type", "application/xml", files[i]);
        expect_verify_refused(body, len, 400, "invalid-json", NULL, files[i]);
        free(body);
        expect_nothing_stored(files[i]);
        expect_alive(files[i]);
    }
}

/* ---- a 100 MB body -----------------------------------------------------------------------------
 */

struct stream {
    long long total; /* bytes the body would have */
    long long sent;  /* bytes libcurl took from us */
};

static size_t stream_read(char *buf, size_t size, size_t nitems, void *user)
{
    struct stream *s = user;
    size_t n = size * nitems;
    if ((long long)n > s->total - s->sent)
        n = (size_t)(s->total - s->sent);
    memset(buf, ' ', n);
    if (s->sent == 0 && n)
        buf[0] = '[';
    s->sent += (long long)n;
    return n;
}

static size_t keep_body(char *d, size_t size, size_t nmemb, void *user)
{
    struct it_response *r = user;
    size_t n = size * nmemb;
    if (r->len + n > 65536)
        return 0;
    char *p = realloc(r->body, r->len + n + 1);
    assert_non_null(p);
    memcpy(p + r->len, d, n);
    r->body = p;
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

static size_t keep_header(char *d, size_t size, size_t nmemb, void *user)
{
    struct it_response *r = user;
    size_t n = size * nmemb, have = r->headers ? strlen(r->headers) : 0;
    if (n >= 5 && memcmp(d, "HTTP/", 5) == 0)
        have = 0;
    char *p = realloc(r->headers, have + n + 1);
    assert_non_null(p);
    memcpy(p + have, d, n);
    p[have + n] = '\0';
    r->headers = p;
    return n;
}

/* POSTs a body of HUGE_BODY bytes produced by a read callback (never held in memory): with its
 * Content-Length declared, or chunked; with or without "Expect: 100-continue". Fills 'r' (status
 * 0 when the connection was cut before an answer) and returns the bytes libcurl sent. */
static long long post_huge(const char *path, enum it_key key, bool chunked, bool expect100,
                           struct it_response *r)
{
    memset(r, 0, sizeof(*r));
    struct stream s = {.total = HUGE_BODY};
    char url[IT_PATH_MAX], auth[128];
    snprintf(url, sizeof(url), "%s%s", svc.base_url, path);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", svc.keys[key]);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, expect100 ? "Expect: 100-continue" : "Expect:");
    if (chunked)
        h = curl_slist_append(h, "Transfer-Encoding: chunked");
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, stream_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &s);
    if (!chunked)
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)HUGE_BODY);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, keep_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_EXPECT_100_TIMEOUT_MS, 60000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 180000L); /* a hang guard */
    r->curl_code = (int)curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    if (!r->body)
        r->body = strdup("");
    if (!r->headers)
        r->headers = strdup("");
    return s.sent;
}

/* SPEC 8, 12: a body over limits.body_bytes is answered 413 from its declared length, without
 * reading it (the connection is closed: libcurl stops well before 100 MB). A chunked body has no
 * declared length: past the limit it is dropped unread and, past twice the limit, the connection
 * is cut; either way far less than 100 MB is taken and nothing is stored. */
static void test_body_100mb(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        enum it_key key;
    } routes[] = {{"/v1/certificates", IT_KEY_WRITE}, {"/v1/verify", IT_KEY_READ}};
    for (size_t i = 0; i < 2; i++) {
        store_flush();
        struct it_response r;
        for (int expect100 = 0; expect100 < 2; expect100++) {
            long long sent = post_huge(routes[i].path, routes[i].key, false, expect100, &r);
            json_t *p = it_expect_problem(&r, 413, "body-too-large", routes[i].path);
            if (!names(p, "104857600") || !names(p, "limits.body_bytes")) {
                print_error("%s: the 413 does not name the size and the limit: %s\n",
                            routes[i].path, r.body);
                fail();
            }
            json_decref(p);
            /* the kernel's socket buffers take some bytes before the close is seen */
            if (sent >= HUGE_BODY / 4 || (expect100 && sent >= BODY_LIMIT)) {
                print_error("%s: %lld bytes of the 100 MB body were taken (Expect: %s)\n",
                            routes[i].path, sent, expect100 ? "100-continue" : "none");
                fail();
            }
            it_response_cleanup(&r);
        }
        long long sent = post_huge(routes[i].path, routes[i].key, true, false, &r);
        if (r.status != 0) {
            json_decref(it_expect_problem(&r, 413, "body-too-large", "chunked 100 MB body"));
        } else if (r.curl_code != CURLE_SEND_ERROR && r.curl_code != CURLE_RECV_ERROR &&
                   r.curl_code != CURLE_GOT_NOTHING) {
            print_error("chunked 100 MB body to %s: curl %d, expected a 413 or a cut connection\n",
                        routes[i].path, r.curl_code);
            fail();
        }
        if (sent >= HUGE_BODY / 4) {
            print_error("chunked body to %s: %lld bytes taken before the cut\n", routes[i].path,
                        sent);
            fail();
        }
        it_response_cleanup(&r);
        expect_nothing_stored(routes[i].path);
        expect_alive("a 100 MB body");
    }
}

/* ---- raw sockets: 1 MB lines, slow clients ----------------------------------------------------
 */

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sends 'len' bytes while reading whatever the server answers, until the server closes the
 * connection (or 60 s pass: a hang guard). Returns the answer (malloc'd, NUL-terminated). */
static char *raw_exchange(const char *data, size_t len)
{
    int fd = it_service_connect(&svc);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    size_t sent = 0, got = 0, cap = 65536;
    char *in = malloc(cap + 1);
    assert_non_null(in);
    long deadline = now_ms() + 60000;
    bool open = true;
    while (open && now_ms() < deadline) {
        struct pollfd p = {.fd = fd, .events = POLLIN | (sent < len ? POLLOUT : 0)};
        if (poll(&p, 1, 1000) <= 0)
            continue;
        if (p.revents & POLLOUT) {
            ssize_t k = send(fd, data + sent, len - sent, MSG_NOSIGNAL);
            if (k > 0)
                sent += (size_t)k;
            else if (k < 0 && errno != EAGAIN && errno != EINTR)
                sent = len; /* the server stopped reading: only its answer matters now */
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t k = recv(fd, in + got, cap - got, 0);
            if (k > 0)
                got += (size_t)k;
            else if (k == 0 || (errno != EAGAIN && errno != EINTR))
                open = false;
            if (got == cap)
                open = false;
        }
    }
    close(fd);
    in[got] = '\0';
    if (open) {
        print_error("the server kept a connection open for 60 s after a hostile request\n");
        fail();
    }
    return in;
}

/* SPEC 8: request header size is bounded by limits.header_bytes (libmicrohttpd's per-connection
 * memory). A 1 MB header line is answered 431 and a 1 MB request line 414, both with
 * "Connection: close" and then the close. (These answers are libmicrohttpd's own: it gives the
 * application no hook to word them, so their body is its short HTML, not problem+json; see
 * docs/RELIABILITY.md.) */
static void test_huge_header_and_request_line(void **state)
{
    (void)state;
    static const struct {
        const char *head, *tail, *status;
    } cases[] = {
        {"GET /v1/suppliers HTTP/1.1\r\nHost: it\r\nX-Filler: ", "\r\n\r\n",
         "HTTP/1.1 431 Request Header Fields Too Large\r\n"},
        {"GET /v1/suppliers?q=", " HTTP/1.1\r\nHost: it\r\n\r\n", "HTTP/1.1 414 URI Too Long\r\n"},
        {"POST /v1/certificates HTTP/1.1\r\nHost: it\r\nContent-Type: application/json\r\n"
         "Content-Length: 2\r\nX-Filler: ",
         "\r\n\r\n[]", "HTTP/1.1 431 Request Header Fields Too Large\r\n"},
    };
    store_flush();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t hl = strlen(cases[i].head), tl = strlen(cases[i].tail);
        size_t len = hl + HUGE_LINE + tl;
        char *req = malloc(len);
        assert_non_null(req);
        memcpy(req, cases[i].head, hl);
        memset(req + hl, 'a', HUGE_LINE);
        memcpy(req + hl + HUGE_LINE, cases[i].tail, tl);
        char *answer = raw_exchange(req, len);
        if (strncmp(answer, cases[i].status, strlen(cases[i].status)) != 0 ||
            !strstr(answer, "\r\nConnection: close\r\n")) {
            print_error("a 1 MB line (%.30s...): expected %.40s and Connection: close, got:\n"
                        "%.500s\n",
                        cases[i].head, cases[i].status, answer);
            fail();
        }
        free(answer);
        free(req);
        expect_alive("a 1 MB header line");
    }
    expect_nothing_stored("1 MB lines");
}

/* Sends 'prefix' at once, then one byte a second (at most SLOW_BYTES), asking the service for
 * /healthz and a verification between bytes; returns once the service has cut the connection.
 * Fails when it has not after SLOW_BYTES seconds (a hang guard; limits.connection_timeout_s is
 * CONN_TIMEOUT_S). */
static void expect_slow_client_cut(const char *prefix, const char *what)
{
    int fd = it_service_connect(&svc);
    size_t pl = strlen(prefix);
    assert_int_equal(send(fd, prefix, pl, MSG_NOSIGNAL), (ssize_t)pl);
    bool cut = false;
    int n = 0;
    for (; n < SLOW_BYTES && !cut; n++) {
        if (send(fd, "a", 1, MSG_NOSIGNAL) != 1) {
            cut = true; /* EPIPE, ECONNRESET: the server closed it */
            break;
        }
        expect_alive(what); /* the others are served while this client dawdles */
        long until = now_ms() + 1000;
        while (!cut && now_ms() < until) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            int wait = (int)(until - now_ms());
            if (poll(&p, 1, wait > 0 ? wait : 0) > 0) {
                char buf[4096];
                ssize_t k = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
                    cut = true;
                else if (k > 0) {
                    print_error("%s: the service answered a request it never fully received: "
                                "%.*s\n",
                                what, (int)k, buf);
                    fail();
                }
            }
        }
    }
    close(fd);
    if (!cut) {
        print_error("%s: still connected after %d bytes at one a second "
                    "(limits.connection_timeout_s is %d)\n",
                    what, n, CONN_TIMEOUT_S);
        it_service_dump_stderr(&svc);
        fail();
    }
}

/* SPEC 8 "per-connection timeout (slow clients are cut)": libmicrohttpd's own timeout counts
 * idleness, so one byte a second would keep a connection for ever; the service cuts a request
 * that has not fully arrived within limits.connection_timeout_s (in the headers, in the body, or
 * on a kept-alive connection), keeps serving others meanwhile, and stores nothing. */
static void test_slowloris(void **state)
{
    (void)state;
    store_flush();
    expect_slow_client_cut("GET /healthz HTTP/1.1\r\nHost: it\r\nX-Slow: ", "slow headers");

    char prefix[512];
    snprintf(prefix, sizeof(prefix),
             "POST /v1/certificates HTTP/1.1\r\nHost: it\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: text/csv\r\nContent-Length: 4096\r\n\r\n%s",
             svc.keys[IT_KEY_WRITE], csv_header);
    expect_slow_client_cut(prefix, "slow body");

    /* a kept-alive connection whose second request crawls */
    snprintf(prefix, sizeof(prefix),
             "GET /healthz HTTP/1.1\r\nHost: it\r\n\r\nGET /healthz HTTP/1.1\r\nHost: it\r\n");
    int fd = it_service_connect(&svc);
    assert_int_equal(send(fd, prefix, strlen(prefix), MSG_NOSIGNAL), (ssize_t)strlen(prefix));
    char buf[4096];
    size_t got = 0;
    long deadline = now_ms() + 60000;
    bool cut = false;
    while (!cut && now_ms() < deadline) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 1000) <= 0) {
            if (send(fd, "X", 1, MSG_NOSIGNAL) != 1)
                cut = true;
            continue;
        }
        ssize_t k = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
        if (k <= 0)
            cut = true;
        else
            got += (size_t)k;
        if (got == sizeof(buf) - 1)
            break;
    }
    close(fd);
    buf[got] = '\0';
    if (!cut || strncmp(buf, "HTTP/1.1 200", 12) != 0 || strstr(buf + 12, "HTTP/1.1")) {
        print_error("kept-alive slow request: expected one 200 and then the cut, got%s:\n%s\n",
                    cut ? "" : " no cut", buf);
        fail();
    }

    char *log = it_service_stderr(&svc);
    if (!strstr(log, "slow clients cut")) {
        print_error("the service did not log the slow clients it cut\n");
        free(log);
        fail();
    }
    free(log);
    expect_nothing_stored("slow clients");
    expect_alive("slow clients");
}

/* ---- JSON: depth, UTF-8, NUL -------------------------------------------------------------------
 */

/* Jansson stops at depth 2048: 10,000-deep JSON is refused naming the depth, as a field inside a
 * certificate and as the whole body; in a batch, the other record is stored. */
static void test_json_deep_nesting(void **state)
{
    (void)state;
    store_flush();
    size_t cap = 2 * DEEP + 1024;
    char *bare = malloc(2 * DEEP + 1), *inside = malloc(cap);
    assert_non_null(bare);
    assert_non_null(inside);
    memset(bare, '[', DEEP);
    memset(bare + DEEP, ']', DEEP);
    bare[2 * DEEP] = '\0';
    snprintf(inside, cap, "{\"certificate_number\": \"IT-DEEP-1\", \"scope\": %s, %s}", bare,
             good_fields);
    expect_verify_refused(inside, strlen(inside), 400, "invalid-json", "depth",
                          "verify, 10,000-deep scope");
    expect_verify_refused(bare, strlen(bare), 400, "invalid-json", "depth",
                          "verify, 10,000-deep body");
    expect_ingest_refused("application/json", inside, strlen(inside), 422, "records-refused",
                          "depth", "ingest, 10,000-deep scope");
    expect_ingest_refused("application/json", bare, strlen(bare), 422, "records-refused", "depth",
                          "ingest, 10,000-deep body");
    expect_ingest_refused("application/x-ndjson", inside, strlen(inside), 422, "records-refused",
                          "depth", "ingest JSON lines, 10,000-deep scope");
    free(bare);
    free(inside);
    expect_nothing_stored("10,000-deep JSON");

    size_t len;
    char *mixed = it_read_fixture("fixtures/hostile/json-deep-nesting.json", &len);
    json_decref(
        expect_partial("application/json", mixed, len, 1, 1, "depth", "json-deep-nesting.json"));
    free(mixed);
    expect_stored(1, "json-deep-nesting.json");
    expect_alive("10,000-deep JSON");
}

/* Invalid UTF-8 (a stray 0xff, an overlong 0xc0 0xaf, a lone surrogate 0xed 0xa0 0x80) in a
 * string: refused naming the byte (JSON) or the field (CSV) or the encoding (XML). */
static void test_invalid_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *bytes, *word;
    } bad[] = {{"\xff", "0xff"}, {"\xc0\xaf", "0xc0"}, {"\xed\xa0\x80", "0xed"}};
    store_flush();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char number[32], *json;
        snprintf(number, sizeof(number), "IT-UTF8-%s", bad[i].bytes);
        json = certificate_with_number(number);
        expect_verify_refused(json, strlen(json), 400, "invalid-json", bad[i].word,
                              "verify, invalid UTF-8");
        expect_ingest_refused("application/json", json, strlen(json), 422, "records-refused",
                              bad[i].word, "ingest JSON, invalid UTF-8");
        free(json);
        char csv[512];
        snprintf(csv, sizeof(csv),
                 "%sIT-UTF8-%zu,ISO 9001:2015,Acme %s Ltd,Northwind Assurance Ltd,2026-01-12,"
                 "2029-01-11\n",
                 csv_header, i, bad[i].bytes);
        expect_ingest_refused("text/csv", csv, strlen(csv), 422, "records-refused", "holder_name",
                              "ingest CSV, invalid UTF-8");
    }
    size_t len;
    char *xml = it_read_fixture("fixtures/hostile/xml-invalid-utf8.xml", &len);
    expect_ingest_refused("application/xml", xml, len, 400, "invalid-body", "UTF-8",
                          "xml-invalid-utf8.xml");
    free(xml);
    expect_nothing_stored("invalid UTF-8");

    char *mixed = it_read_fixture("fixtures/hostile/json-invalid-utf8.jsonl", &len);
    json_decref(expect_partial("application/x-ndjson", mixed, len, 1, 3, "0xff",
                               "json-invalid-utf8.jsonl"));
    free(mixed);
    expect_stored(1, "json-invalid-utf8.jsonl");
    store_flush();
    mixed = it_read_fixture("fixtures/hostile/csv-invalid-utf8.csv", &len);
    json_decref(
        expect_partial("text/csv", mixed, len, 1, 2, "holder_name", "csv-invalid-utf8.csv"));
    free(mixed);
    expect_stored(1, "csv-invalid-utf8.csv");
    expect_alive("invalid UTF-8");
}

/* NUL bytes: raw in a JSON string (a control character), escaped as \u0000, between JSON lines,
 * in a CSV field and in XML. */
static void test_nul_bytes(void **state)
{
    (void)state;
    store_flush();
    char json[1024];
    int n = snprintf(json, sizeof(json), "{\"certificate_number\": \"IT-NUL-%c1\", %s}", 'X',
                     good_fields);
    char *x = strchr(json, 'X');
    *x = '\0';
    expect_verify_refused(json, (size_t)n, 400, "invalid-json", "0x0", "verify, raw NUL");
    expect_ingest_refused("application/json", json, (size_t)n, 422, "records-refused", "0x0",
                          "ingest, raw NUL");

    char *escaped = certificate_with_number("IT-NUL-\\u0000-1");
    expect_verify_refused(escaped, strlen(escaped), 400, "invalid-json", "u0000",
                          "verify, \\u0000");
    expect_ingest_refused("application/json", escaped, strlen(escaped), 422, "records-refused",
                          "u0000", "ingest, \\u0000");
    free(escaped);

    char csv[512];
    n = snprintf(csv, sizeof(csv),
                 "%sIT-NUL-X,ISO 9001:2015,Acme Ltd,Northwind Assurance Ltd,2026-01-12,"
                 "2029-01-11\n",
                 csv_header);
    *strchr(csv + strlen(csv_header), 'X') = '\0';
    expect_ingest_refused("text/csv", csv, (size_t)n, 422, "records-refused", "certificate_number",
                          "ingest CSV, NUL");

    char xml[1024];
    n = snprintf(xml, sizeof(xml),
                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<certificates><certificate>"
                 "<certificate_number>IT-NUL-X</certificate_number><standard>ISO 9001:2015"
                 "</standard><holder><name>Acme Ltd</name></holder><certification_body><name>"
                 "Northwind Assurance Ltd</name></certification_body><issue_date>2026-01-12"
                 "</issue_date><expiry_date>2029-01-11</expiry_date></certificate>"
                 "</certificates>\n");
    *strstr(xml, "-X<") = '\0';
    expect_ingest_refused("application/xml", xml, (size_t)n, 400, "invalid-body", NULL,
                          "ingest XML, NUL");
    expect_nothing_stored("NUL bytes");

    size_t len;
    char *mixed = it_read_fixture("fixtures/hostile/json-nul-bytes.jsonl", &len);
    json_decref(
        expect_partial("application/x-ndjson", mixed, len, 2, 2, "0x0", "json-nul-bytes.jsonl"));
    free(mixed);
    expect_stored(2, "json-nul-bytes.jsonl");
    store_flush();
    mixed = it_read_fixture("fixtures/hostile/csv-nul-bytes.csv", &len);
    json_decref(
        expect_partial("text/csv", mixed, len, 1, 1, "certificate_number", "csv-nul-bytes.csv"));
    free(mixed);
    expect_stored(1, "csv-nul-bytes.csv");
    expect_alive("NUL bytes");
}

/* ---- CSV: embedded newlines, stray quotes -----------------------------------------------------
 */

static const char *stored_scope(const char *id, json_t **keep)
{
    char path[256];
    snprintf(path, sizeof(path), "/v1/certificates/%s", id);
    struct it_response r;
    it_get(&svc, path, IT_KEY_READ, &r);
    it_expect_status(&r, 200, path);
    *keep = it_json(&r);
    it_response_cleanup(&r);
    return json_string_value(json_object_get(json_object_get(*keep, "certificate"), "scope"));
}

/* RFC 4180: quoted fields keep their newlines (LF and CRLF, byte for byte) and doubled quotes; a
 * stray quote in an unquoted field, or a quote never closed, refuses the record naming the column.
 */
static void test_csv_newlines_and_quotes(void **state)
{
    (void)state;
    store_flush();
    size_t len;
    char *body = it_read_fixture("fixtures/hostile/csv-stray-quotes.csv", &len);
    struct it_response r;
    it_send(&svc, "POST", "/v1/certificates", IT_KEY_WRITE, "text/csv", body, len, &r);
    json_t *p = it_expect_problem(&r, 422, "records-refused", "csv-stray-quotes.csv");
    static const char *const fields[] = {"holder_name", "holder_name", "certificate_number"};
    json_t *errors = json_object_get(p, "errors");
    bool ok = json_array_size(errors) == 3;
    for (size_t i = 0; ok && i < 3; i++) {
        const char *f = json_string_value(json_object_get(json_array_get(errors, i), "field"));
        const char *m = json_string_value(json_object_get(json_array_get(errors, i), "message"));
        ok = f && strcmp(f, fields[i]) == 0 && m && strstr(m, "quote");
    }
    if (!ok) {
        print_error("csv-stray-quotes.csv: expected three refusals naming the quote and the "
                    "column:\n%s\n",
                    r.body);
        fail();
    }
    json_decref(p);
    it_response_cleanup(&r);
    free(body);
    expect_nothing_stored("csv-stray-quotes.csv");

    body = it_read_fixture("fixtures/hostile/csv-embedded-newlines.csv", &len);
    json_t *ids =
        expect_partial("text/csv", body, len, 3, 1, "holder_name", "csv-embedded-newlines.csv");
    free(body);
    expect_stored(3, "csv-embedded-newlines.csv");
    json_t *keep;
    const char *scope = stored_scope(json_string_value(json_array_get(ids, 0)), &keep);
    if (!scope || strcmp(scope, "Injection moulding,\nassembly and \"finishing\"") != 0) {
        print_error("QMS-1's scope was stored as '%s'\n", scope ? scope : "(none)");
        fail();
    }
    json_decref(keep);
    scope = stored_scope(json_string_value(json_array_get(ids, 1)), &keep);
    if (!scope || strcmp(scope, "multi\r\nline\r\nscope") != 0) {
        print_error("QMS-2's scope was stored as '%s'\n", scope ? scope : "(none)");
        fail();
    }
    json_decref(keep);
    json_decref(ids);
    expect_alive("CSV quotes");
}

/* ---- dates and lengths -------------------------------------------------------------------------
 */

/* SPEC 3.1: a date that is not a calendar day is refused naming the field, in JSON (object and
 * batch), CSV, XML and the as_of query; 2024-02-29 (a leap day) is a date. */
static void test_impossible_dates(void **state)
{
    (void)state;
    store_flush();
    json_t *batch = it_load_json_fixture("fixtures/hostile/json-impossible-dates.json");
    size_t i;
    json_t *c;
    json_array_foreach(batch, i, c)
    {
        char *one = json_dumps(c, JSON_COMPACT);
        const char *issue = json_string_value(json_object_get(c, "issue_date"));
        /* the record's wrong field: its issue date unless that one is a real day */
        const char *field = strcmp(issue, "2025-01-10") == 0 ? "expiry_date" : "issue_date";
        expect_verify_refused(one, strlen(one), 422, "records-refused", field,
                              json_string_value(json_object_get(c, "certificate_number")));
        free(one);
    }
    char *all = json_dumps(batch, JSON_COMPACT);
    struct it_response r;
    it_send(&svc, "POST", "/v1/certificates", IT_KEY_WRITE, "application/json", all, strlen(all),
            &r);
    json_t *p = it_expect_problem(&r, 422, "records-refused", "json-impossible-dates.json");
    if (json_array_size(json_object_get(p, "errors")) != json_array_size(batch)) {
        print_error("json-impossible-dates.json: expected one error per record:\n%s\n", r.body);
        fail();
    }
    json_decref(p);
    it_response_cleanup(&r);
    free(all);
    json_decref(batch);

    char csv[512];
    snprintf(csv, sizeof(csv),
             "%sIT-DATE-CSV,ISO 9001:2015,Acme Ltd,Northwind Assurance Ltd,2026-01-12,2029-02-30\n",
             csv_header);
    expect_ingest_refused("text/csv", csv, strlen(csv), 422, "records-refused", "expiry_date",
                          "CSV 2029-02-30");
    size_t len;
    char *xml = it_read_fixture("fixtures/sample-broken/bad-date.xml", &len);
    struct it_response x;
    it_send(&svc, "POST", "/v1/certificates", IT_KEY_WRITE, "application/xml", xml, len, &x);
    free(xml);
    it_expect_status(&x, 200, "bad-date.xml (one good, one 2025-02-30)");
    json_t *v = it_json(&x);
    if (json_integer_value(json_object_get(v, "accepted")) != 1 ||
        json_integer_value(json_object_get(v, "rejected")) != 1) {
        print_error("bad-date.xml: expected 1 accepted, 1 rejected: %s\n", x.body);
        fail();
    }
    json_decref(v);
    it_response_cleanup(&x);
    expect_stored(1, "bad-date.xml");
    store_flush();

    it_send(&svc, "POST", "/v1/verify?as_of=2025-02-30", IT_KEY_READ, "application/json", "{}", 2,
            &r);
    p = it_expect_problem(&r, 400, "bad-request", "?as_of=2025-02-30");
    if (!names(p, "as_of")) {
        print_error("?as_of=2025-02-30: the problem does not name as_of: %s\n", r.body);
        fail();
    }
    json_decref(p);
    it_response_cleanup(&r);
    expect_nothing_stored("impossible dates");

    char leap[1024];
    snprintf(leap, sizeof(leap),
             "{\"certificate_number\": \"IT-LEAP-1\", \"standard\": \"ISO 9001:2015\", "
             "\"holder\": {\"name\": \"Acme Ltd\"}, \"certification_body\": {\"name\": "
             "\"Northwind Assurance Ltd\"}, \"issue_date\": \"2024-02-29\", \"expiry_date\": "
             "\"2027-02-28\"}");
    it_send(&svc, "POST", "/v1/verify?as_of=2026-12-04", IT_KEY_READ, "application/json", leap,
            strlen(leap), &r);
    it_expect_status(&r, 200, "a certificate issued on 2024-02-29");
    it_response_cleanup(&r);
    expect_alive("impossible dates");
}

/* SPEC 3.1: certificate_number is at most 60 characters (not bytes): 61 is refused naming the
 * field in JSON, CSV and XML; 60 (also 60 two-byte characters) is accepted. */
static void test_certificate_number_limit(void **state)
{
    (void)state;
    store_flush();
    char n60[61], n61[62], wide60[121], wide61[123];
    memset(n60, 'N', 60);
    n60[60] = '\0';
    memset(n61, 'N', 61);
    n61[61] = '\0';
    for (int i = 0; i < 61; i++)
        memcpy(wide61 + 2 * i, "\xc3\x89", 2); /* U+00C9 */
    wide61[122] = '\0';
    memcpy(wide60, wide61, 120);
    wide60[120] = '\0';

    const char *const over[] = {n61, wide61};
    for (size_t i = 0; i < 2; i++) {
        char *json = certificate_with_number(over[i]);
        expect_verify_refused(json, strlen(json), 422, "records-refused", "certificate_number",
                              "verify, 61-character number");
        expect_ingest_refused("application/json", json, strlen(json), 422, "records-refused",
                              "certificate_number", "ingest JSON, 61-character number");
        free(json);
        char csv[512];
        snprintf(csv, sizeof(csv),
                 "%s%s,ISO 9001:2015,Acme Ltd,Northwind Assurance Ltd,2026-01-12,2029-01-11\n",
                 csv_header, over[i]);
        expect_ingest_refused("text/csv", csv, strlen(csv), 422, "records-refused",
                              "certificate_number", "ingest CSV, 61-character number");
    }
    size_t len;
    char *xml = it_read_fixture("fixtures/hostile/xml-long-number.xml", &len);
    struct it_response r;
    it_send(&svc, "POST", "/v1/certificates", IT_KEY_WRITE, "application/xml", xml, len, &r);
    if (r.status != 400 && r.status != 422) {
        print_error("xml-long-number.xml: %ld, expected 422 (or 400 from the XSD)\n", r.status);
        fail();
    }
    json_t *p = it_expect_problem(&r, r.status, NULL, "xml-long-number.xml");
    if (!names(p, "certificate_number")) {
        print_error("xml-long-number.xml: the problem does not name certificate_number: %s\n",
                    r.body);
        fail();
    }
    json_decref(p);
    it_response_cleanup(&r);
    free(xml);
    expect_nothing_stored("61-character certificate numbers");

    const char *const at[] = {n60, wide60};
    for (size_t i = 0; i < 2; i++) {
        char *json = certificate_with_number(at[i]);
        json_decref(it_ingest(&svc, "application/json", json, strlen(json), 1));
        free(json);
    }
    expect_stored(2, "60-character certificate numbers");
    expect_alive("certificate number limits");
}

/* The supplier route takes JSON too: a 10,000-deep body, invalid UTF-8, a NUL, a name over its
 * 256 bytes, an id in the path that is too long or not an id, and a body id that is not the
 * path's are each refused naming what is wrong; nothing is stored. */
static void test_supplier_hostile(void **state)
{
    (void)state;
    store_flush();
    size_t cap = 2 * DEEP + 128;
    char *deep = malloc(cap);
    assert_non_null(deep);
    int n = snprintf(deep, cap, "{\"id\": \"SUP-H\", \"name\": \"Acme\", \"aliases\": ");
    memset(deep + n, '[', DEEP);
    memset(deep + n + DEEP, ']', DEEP);
    snprintf(deep + n + 2 * DEEP, cap - (size_t)n - 2 * DEEP, "}");
    char *long_name = malloc(300);
    assert_non_null(long_name);
    int m = snprintf(long_name, 300, "{\"id\": \"SUP-H\", \"name\": \"");
    memset(long_name + m, 'N', 257);
    snprintf(long_name + m + 257, 300 - (size_t)m - 257, "\"}");
    char long_id[300] = "/v1/suppliers/";
    memset(long_id + strlen(long_id), 'A', 200);
    const struct {
        const char *path, *body;
        long status;
        const char *slug, *word;
    } cases[] = {
        {"/v1/suppliers/SUP-H", deep, 400, "invalid-json", "depth"},
        {"/v1/suppliers/SUP-H", "{\"id\": \"SUP-H\", \"name\": \"Acme \xff Ltd\"}", 400,
         "invalid-json", "0xff"},
        {"/v1/suppliers/SUP-H", "{\"id\": \"SUP-H\", \"name\": \"Acme \\u0000 Ltd\"}", 400,
         "invalid-json", "u0000"},
        {"/v1/suppliers/SUP-H", long_name, 400, "invalid-field", "name"},
        {"/v1/suppliers/SUP-H", "{\"id\": \"SUP-OTHER\", \"name\": \"Acme\"}", 400, "invalid-field",
         "id"},
        {long_id, "{\"name\": \"Acme\"}", 400, "bad-request", "id"},
        {"/v1/suppliers/..%2Fetc", "{\"name\": \"Acme\"}", 404, "not-found", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct it_response r;
        it_send(&svc, "PUT", cases[i].path, IT_KEY_WRITE, "application/json", cases[i].body,
                strlen(cases[i].body), &r);
        json_t *p = it_expect_problem(&r, cases[i].status, cases[i].slug, cases[i].path);
        if (cases[i].word && !names(p, cases[i].word)) {
            print_error("PUT supplier case %zu: the problem does not name '%s': %s\n", i,
                        cases[i].word, r.body);
            fail();
        }
        json_decref(p);
        it_response_cleanup(&r);
    }
    free(deep);
    free(long_name);
    expect_nothing_stored("hostile suppliers");
    expect_alive("hostile suppliers");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xml_entities),
        cmocka_unit_test(test_body_100mb),
        cmocka_unit_test(test_huge_header_and_request_line),
        cmocka_unit_test(test_slowloris),
        cmocka_unit_test(test_json_deep_nesting),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_csv_newlines_and_quotes),
        cmocka_unit_test(test_impossible_dates),
        cmocka_unit_test(test_certificate_number_limit),
        cmocka_unit_test(test_supplier_hostile),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

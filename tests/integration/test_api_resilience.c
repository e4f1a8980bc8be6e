/* Operations on the real service: health, readiness and metrics (docs/API.md); Redis stopped
 * while the service runs (503 store-unavailable for what needs the store, /v1/verify still
 * answers) and started again (recovery without a restart); SIGTERM with a request in flight (it
 * completes, exit status 0); the embedded redis-server keeps every acknowledged record across a
 * restart (SPEC 7, 12); one JSON log line per request, never a key (docs/API.md "Logs"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <curl/curl.h>

#define BULK_N 1000 /* certificates in the upload that is in flight at SIGTERM */

static struct it_redis redis; /* append-only: data survives its restart */
static struct it_service svc; /* on 'redis' */

static int setup(void **state)
{
    (void)state;
    it_redis_start(&redis, it_tmpdir(), true);
    struct it_service_options o = {.redis_url = redis.url};
    it_service_start(&svc, &o);
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

static bool str_is(const json_t *v, const char *s)
{
    return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

static void expect_json_body(const struct it_service *s, const char *path, long status,
                             const json_t *want)
{
    struct it_response r;
    it_get(s, path, IT_KEY_NONE, &r);
    it_expect_status(&r, status, path);
    json_t *v = it_json(&r);
    const char *k;
    json_t *w;
    json_object_foreach((json_t *)want, k, w)
    {
        if (!json_equal(json_object_get(v, k), w)) {
            print_error("GET %s: \"%s\" differs: %s\n", path, k, r.body);
            fail();
        }
    }
    json_decref(v);
    it_response_cleanup(&r);
}

/* docs/API.md: /healthz 200 {"status": "ok"}; /readyz 200 {"status": "ready", "store": "ok"};
 * /metrics Prometheus text (text/plain; version=0.0.4) with the documented families. */
static void test_health_ready_metrics(void **state)
{
    (void)state;
    json_t *ok = json_pack("{s:s}", "status", "ok");
    json_t *ready = json_pack("{s:s, s:s}", "status", "ready", "store", "ok");
    expect_json_body(&svc, "/healthz", 200, ok);
    expect_json_body(&svc, "/readyz", 200, ready);
    json_decref(ok);
    json_decref(ready);

    struct it_response r;
    /* something for every family to count: a verification (cache miss), twice (hit) */
    json_t *cert = it_synth_certificates(1, "IT-METRICS", NULL);
    for (int i = 0; i < 2; i++) {
        it_send_json(&svc, "POST", "/v1/verify", IT_KEY_READ, json_array_get(cert, 0), &r);
        it_expect_status(&r, 200, "POST /v1/verify");
        it_response_cleanup(&r);
    }
    json_decref(cert);

    it_get(&svc, "/metrics", IT_KEY_NONE, &r);
    it_expect_status(&r, 200, "GET /metrics");
    char ct[128];
    if (!it_header(&r, "Content-Type", ct, sizeof(ct)) || strncmp(ct, "text/plain", 10) != 0 ||
        !strstr(ct, "version=0.0.4")) {
        print_error("/metrics Content-Type is %s, expected text/plain; version=0.0.4\n", ct);
        fail();
    }
    static const char *const families[] = {
        "certvet_requests_total",
        "certvet_request_duration_seconds_bucket",
        "certvet_request_duration_seconds_sum",
        "certvet_request_duration_seconds_count",
        "certvet_cache_hits_total",
        "certvet_cache_misses_total",
        "certvet_store_errors_total",
        "certvet_store_reconnects_total",
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        if (it_metric(r.body, families[i]) < 0) {
            print_error("/metrics has no sample of %s\n", families[i]);
            bad++;
        }
    }
    /* labels: requests_total{route,method,status}; the histogram has an le="+Inf" bucket */
    const char *line = strstr(r.body, "\ncertvet_requests_total{");
    char sample[512] = "";
    if (line)
        snprintf(sample, sizeof(sample), "%.*s", (int)strcspn(line + 1, "\n"), line + 1);
    if (!strstr(sample, "route=\"") || !strstr(sample, "method=\"") ||
        !strstr(sample, "status=\"")) {
        print_error("certvet_requests_total lacks the route, method and status labels: %s\n",
                    sample);
        bad++;
    }
    if (!strstr(r.body, "le=\"+Inf\"")) {
        print_error("the duration histogram has no le=\"+Inf\" bucket\n");
        bad++;
    }
    if (it_metric(r.body, "certvet_cache_misses_total") < 1 ||
        it_metric(r.body, "certvet_cache_hits_total") < 1) {
        print_error("two identical verifications counted no miss or no hit\n");
        bad++;
    }
    if (bad)
        print_error("/metrics:\n%.4000s\n", r.body);
    it_response_cleanup(&r);
    assert_int_equal(bad, 0);
}

static void expect_store_recovers(const char *path);

/* Expects the 503 of docs/API.md: "Store unavailable (Redis down) → 503 store-unavailable on
 * routes that need it, with Retry-After: 1". */
static void expect_store_unavailable(struct it_response *r, const char *what)
{
    json_decref(it_expect_problem(r, 503, "store-unavailable", what));
    char retry[32];
    if (!it_header(r, "Retry-After", retry, sizeof(retry)) || strcmp(retry, "1") != 0) {
        print_error("%s: 503 without \"Retry-After: 1\"\n", what);
        fail();
    }
}

/* SPEC 12 "Faults": Redis stopped → 503 for what needs the store, /v1/verify keeps working,
 * /readyz 503, /healthz 200; Redis back → everything recovers by itself. */
static void test_redis_outage_and_recovery(void **state)
{
    (void)state;
    it_put_supplier(&svc, "SUP-OUTAGE", "Outage Test Ltd");
    json_t *certs = it_synth_certificates(3, "IT-OUTAGE", "SUP-OUTAGE");
    char *body = json_dumps(certs, JSON_COMPACT);
    json_t *reply = it_ingest(&svc, "application/json", body, strlen(body), 3);
    char path[256];
    snprintf(path, sizeof(path), "/v1/certificates/%s",
             json_string_value(json_array_get(json_object_get(reply, "ids"), 0)));
    json_decref(reply);

    it_redis_stop(&redis);

    struct it_response r;
    it_get(&svc, "/healthz", IT_KEY_NONE, &r);
    it_expect_status(&r, 200, "/healthz with Redis down");
    it_response_cleanup(&r);
    it_get(&svc, "/readyz", IT_KEY_NONE, &r);
    it_expect_status(&r, 503, "/readyz with Redis down");
    it_response_cleanup(&r);

    /* several of each, so that every worker thread's connection has seen the outage */
    for (int i = 0; i < 4; i++) {
        it_get(&svc, path, IT_KEY_READ, &r);
        expect_store_unavailable(&r, "GET certificate with Redis down");
        it_response_cleanup(&r);
        it_send(&svc, "POST", "/v1/certificates", IT_KEY_WRITE, "application/json", body,
                strlen(body), &r);
        expect_store_unavailable(&r, "POST /v1/certificates with Redis down");
        it_response_cleanup(&r);
        it_get(&svc, "/v1/suppliers", IT_KEY_READ, &r);
        expect_store_unavailable(&r, "GET /v1/suppliers with Redis down");
        it_response_cleanup(&r);
        it_get(&svc, "/v1/suppliers/SUP-OUTAGE", IT_KEY_READ, &r);
        expect_store_unavailable(&r, "GET /v1/suppliers/{id} with Redis down");
        it_response_cleanup(&r);
        it_send(&svc, "DELETE", path, IT_KEY_WRITE, NULL, NULL, 0, &r);
        expect_store_unavailable(&r, "DELETE certificate with Redis down");
        it_response_cleanup(&r);

        it_send_json(&svc, "POST", "/v1/verify?as_of=2026-11-22", IT_KEY_READ,
                     json_array_get(certs, 0), &r);
        it_expect_status(&r, 200, "POST /v1/verify with Redis down");
        json_t *v = it_json(&r);
        if (!str_is(json_object_get(v, "certificate_number"), "IT-OUTAGE-000001") ||
            !json_is_string(json_object_get(v, "verdict"))) {
            print_error("/v1/verify with Redis down: not a verification: %s\n", r.body);
            fail();
        }
        json_decref(v);
        it_response_cleanup(&r);
    }
    it_get(&svc, "/metrics", IT_KEY_NONE, &r);
    it_expect_status(&r, 200, "/metrics with Redis down");
    if (!(it_metric(r.body, "certvet_store_errors_total") > 0)) {
        print_error("certvet_store_errors_total did not count the outage\n");
        fail();
    }
    it_response_cleanup(&r);

    it_redis_restart(&redis);
    it_wait_status(&svc, "/readyz", 200);
    /* Every worker thread's connection comes back by itself: the store routes answer 200 again
     * (a stale connection may cost one 503 per thread here: test_redis_restart_when_idle is the
     * strict check), then 8 rounds in a row succeed and find the data (append-only file). */
    expect_store_recovers(path);
    for (int i = 0; i < 8; i++) {
        it_get(&svc, path, IT_KEY_READ, &r);
        it_expect_status(&r, 200, "GET certificate after Redis came back");
        it_response_cleanup(&r);
        it_get(&svc, "/v1/suppliers/SUP-OUTAGE", IT_KEY_READ, &r);
        it_expect_status(&r, 200, "GET supplier after Redis came back");
        json_t *v = it_json(&r);
        assert_int_equal(json_array_size(json_object_get(v, "certificates")), 3);
        json_decref(v);
        it_response_cleanup(&r);
    }
    json_decref(it_ingest(&svc, "application/json", body, strlen(body), 3));
    if (!(it_get_metric(&svc, "certvet_store_reconnects_total") > 0)) {
        print_error("certvet_store_reconnects_total did not count the reconnection\n");
        fail();
    }
    free(body);
    json_decref(certs);
}

/* Polls GET 'path' (a store route) until 8 answers in a row are 200; bounded (200 tries). */
static void expect_store_recovers(const char *path)
{
    int in_a_row = 0;
    long last = 0;
    for (int i = 0; i < 200 && in_a_row < 8; i++) {
        struct it_response r;
        it_get(&svc, path, IT_KEY_READ, &r);
        last = r.status;
        it_response_cleanup(&r);
        if (last == 200) {
            in_a_row++;
        } else {
            in_a_row = 0;
            it_sleep_ms(50);
        }
    }
    if (in_a_row < 8) {
        print_error("GET %s never recovered after Redis came back (last %ld)\n", path, last);
        it_service_dump_stderr(&svc);
        fail();
    }
}

/* Redis restarted while no request runs: once it answers again, no store request may answer
 * 503, on any worker thread (docs/API.md: 503 is for "Store unavailable (Redis down)"; SPEC 12:
 * "everything recovers by itself when Redis is back"). A connection that broke while idle has to
 * be re-established (and the command retried) rather than reported as an outage. */
static void test_redis_restart_when_idle(void **state)
{
    (void)state;
    it_put_supplier(&svc, "SUP-IDLE", "Idle Restart Ltd");
    struct it_response r;
    for (int i = 0; i < 8; i++) { /* every worker thread has a live connection */
        it_get(&svc, "/v1/suppliers/SUP-IDLE", IT_KEY_READ, &r);
        it_expect_status(&r, 200, "GET supplier before the restart");
        it_response_cleanup(&r);
    }
    it_redis_stop(&redis);
    it_redis_restart(&redis);
    int bad = 0;
    for (int i = 0; i < 8; i++) {
        it_get(&svc, "/v1/suppliers/SUP-IDLE", IT_KEY_READ, &r);
        if (r.status != 200) {
            print_error("request %d after Redis restarted (and answers PING): %ld %s\n", i + 1,
                        r.status, r.body);
            bad++;
        }
        it_response_cleanup(&r);
    }
    assert_int_equal(bad, 0);
}

/* ---- SIGTERM with a request in flight ---------------------------------------------------- */

/* An upload that sends its first part, then pauses until released: the request is in the
 * server's hands (it answered "100 Continue" and has part of the body) when SIGTERM comes. */
struct slow_upload {
    const char *data;
    size_t len, off, first; /* bytes sent before the pause */
    bool paused;            /* the read callback asked to pause after the first part */
    bool released;          /* the rest may go */
    bool seen_100;          /* the server answered 100 Continue */
    char *headers;
    size_t headers_len;
    char *body;
    size_t body_len;
};

static size_t slow_read(char *buf, size_t size, size_t nitems, void *user)
{
    struct slow_upload *u = user;
    size_t cap = size * nitems;
    size_t end = u->released ? u->len : u->first;
    if (u->off >= end) {
        u->paused = true;
        return CURL_READFUNC_PAUSE;
    }
    size_t n = end - u->off < cap ? end - u->off : cap;
    memcpy(buf, u->data + u->off, n);
    u->off += n;
    return n;
}

static size_t slow_header(char *d, size_t size, size_t nmemb, void *user)
{
    struct slow_upload *u = user;
    size_t len = size * nmemb;
    if (len >= 12 && strncmp(d, "HTTP/", 5) == 0) {
        if (strstr(d, " 100") && strstr(d, " 100") < d + 13)
            u->seen_100 = true;
        u->headers_len = 0;
    }
    char *p = realloc(u->headers, u->headers_len + len + 1);
    assert_non_null(p);
    u->headers = p;
    memcpy(p + u->headers_len, d, len);
    u->headers_len += len;
    p[u->headers_len] = '\0';
    return len;
}

static size_t slow_body(char *d, size_t size, size_t nmemb, void *user)
{
    struct slow_upload *u = user;
    size_t len = size * nmemb;
    char *p = realloc(u->body, u->body_len + len + 1);
    assert_non_null(p);
    u->body = p;
    memcpy(p + u->body_len, d, len);
    u->body_len += len;
    p[u->body_len] = '\0';
    return len;
}

/* Drives 'm' until 'done' says so or the transfer ends; bounded by 'rounds' polls of 100 ms. */
static bool drive(CURLM *m, bool (*done)(const struct slow_upload *), const struct slow_upload *u,
                  int rounds)
{
    for (int i = 0; i < rounds; i++) {
        int running = 0;
        assert_int_equal(curl_multi_perform(m, &running), CURLM_OK);
        if (done && done(u))
            return true;
        if (!running)
            return !done;
        assert_int_equal(curl_multi_poll(m, NULL, 0, 100, NULL), CURLM_OK);
    }
    return false;
}

static bool is_paused(const struct slow_upload *u)
{
    return u->paused;
}

/* SPEC 8: "Graceful shutdown on SIGTERM (in-flight requests finish)". A 1000-record ingest is
 * started with Expect: 100-continue; once the server has answered 100 and received the first
 * part, SIGTERM; then the rest is sent: the request must complete with 200 and the exit status
 * must be 0. */
static void sigterm_during_upload(struct it_service *s, json_t **ids_out)
{
    json_t *bulk = it_synth_certificates(BULK_N, "IT-BULK", "SUP-BULK");
    char *data = json_dumps(bulk, JSON_COMPACT);
    json_decref(bulk);
    struct slow_upload u = {.data = data, .len = strlen(data)};
    u.first = u.len / 3;

    CURL *h = curl_easy_init();
    assert_non_null(h);
    char url[256], auth[128];
    snprintf(url, sizeof(url), "%s/v1/certificates", s->base_url);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", s->keys[IT_KEY_WRITE]);
    struct curl_slist *hdrs = NULL;
    hdrs = curl_slist_append(hdrs, auth);
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect: 100-continue");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)u.len);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, slow_read);
    curl_easy_setopt(h, CURLOPT_READDATA, &u);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, slow_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &u);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, slow_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &u);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_EXPECT_100_TIMEOUT_MS, 120000L);
    CURLM *m = curl_multi_init();
    assert_non_null(m);
    curl_multi_add_handle(m, h);

    if (!drive(m, is_paused, &u, 1200)) {
        print_error("the upload never reached its pause (100 Continue seen: %d)\n", u.seen_100);
        it_service_dump_stderr(s);
        fail();
    }
    assert_true(u.seen_100); /* the server took the request */
    assert_int_equal(kill(s->pid, SIGTERM), 0);

    /* Let the server act on SIGTERM: once it stops accepting, new connections fail (or hang:
     * hence the short timeout). This only makes the test sharper; whatever happens, the rest of
     * the body goes after it. */
    for (int i = 0; i < 40; i++) {
        struct it_response r;
        struct it_request q = {.path = "/healthz", .timeout_ms = 500};
        it_do(s, &q, &r, true);
        bool refused = r.status == 0;
        it_response_cleanup(&r);
        if (refused)
            break;
        it_sleep_ms(50);
    }

    u.released = true;
    curl_easy_pause(h, CURLPAUSE_CONT);
    if (!drive(m, NULL, &u, 1800)) {
        print_error("the in-flight upload did not finish\n");
        fail();
    }
    int left;
    CURLMsg *msg = curl_multi_info_read(m, &left);
    assert_non_null(msg);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (msg->data.result != CURLE_OK || status != 200) {
        print_error("the request in flight at SIGTERM got %ld (%s): %s\n", status,
                    curl_easy_strerror(msg->data.result), u.body ? u.body : "");
        it_service_dump_stderr(s);
        fail();
    }
    json_error_t e;
    json_t *reply = json_loads(u.body, 0, &e);
    assert_non_null(reply);
    assert_int_equal(json_integer_value(json_object_get(reply, "accepted")), BULK_N);
    *ids_out = json_incref(json_object_get(reply, "ids"));
    assert_int_equal(json_array_size(*ids_out), BULK_N);
    json_decref(reply);

    curl_multi_remove_handle(m, h);
    curl_easy_cleanup(h);
    curl_multi_cleanup(m);
    curl_slist_free_all(hdrs);
    free(u.headers);
    free(u.body);
    free(data);

    int code = it_service_stop(s, true);
    assert_int_equal(code, 0);
}

/* Every line of the service's stderr that is JSON and says "msg": "request" has the documented
 * members; at least 'min' of them; one names the key 'key_name'. */
static void check_request_logs(const struct it_service *s, size_t min, const char *key_name)
{
    char *log = it_service_stderr(s);
    size_t n = 0;
    bool named = false;
    int bad = 0;
    static const char *const members[] = {"ts",    "level",  "msg",         "method",
                                          "route", "status", "duration_ms", "request_id"};
    for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
        json_t *v = json_loads(line, 0, NULL);
        if (!json_is_object(v) || !str_is(json_object_get(v, "msg"), "request")) {
            json_decref(v);
            continue;
        }
        n++;
        for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
            if (!json_object_get(v, members[i]) && bad < 5) {
                print_error("request log line without \"%s\": %s\n", members[i], line);
                bad++;
            }
        }
        json_t *key = json_object_get(v, "key");
        if (!key && bad < 5) {
            print_error("request log line without \"key\" (name or null): %s\n", line);
            bad++;
        }
        named = named || str_is(key, key_name);
        json_decref(v);
    }
    free(log);
    if (n < min) {
        print_error("%zu request log lines on stderr, expected at least %zu\n", n, min);
        bad++;
    }
    if (!named) {
        print_error("no request log line names the key %s\n", key_name);
        bad++;
    }
    assert_int_equal(bad, 0);
}

/* SPEC 7 "Embedded default" and SPEC 12 "every acknowledged record is there after restart":
 * certvet serve without --redis starts its own redis-server under the data directory; records
 * acknowledged before a SIGTERM (including the request in flight) are there after a restart. */
static void test_embedded_restart_and_graceful_sigterm(void **state)
{
    (void)state;
    char data_dir[IT_PATH_MAX + 8];
    snprintf(data_dir, sizeof(data_dir), "%s/embedded-data", it_tmpdir());
    struct it_service emb;
    struct it_service_options o = {.data_dir = data_dir};
    it_service_start(&emb, &o);
    struct stat st;
    assert_int_equal(stat(data_dir, &st), 0); /* the embedded store lives there */

    it_put_sample_suppliers(&emb);
    it_put_supplier(&emb, "SUP-BULK", "Bulk Test Ltd");
    size_t len;
    char *body = it_read_fixture("fixtures/sample/portfolio.json", &len);
    json_t *reply = it_ingest(&emb, "application/json", body, len, 43);
    json_t *ids = json_incref(json_object_get(reply, "ids"));
    json_decref(reply);
    free(body);

    json_t *bulk_ids = NULL;
    sigterm_during_upload(&emb, &bulk_ids);
    check_request_logs(&emb, 10, "it-write");

    it_service_restart(&emb);
    int bad = 0;
    for (size_t i = 0; i < json_array_size(ids); i++) {
        char path[256];
        snprintf(path, sizeof(path), "/v1/certificates/%s",
                 json_string_value(json_array_get(ids, i)));
        struct it_response r;
        it_get(&emb, path, IT_KEY_READ, &r);
        if (r.status != 200) {
            print_error("after restart, GET %s: %ld\n", path, r.status);
            bad++;
        }
        it_response_cleanup(&r);
    }
    json_t *got = it_supplier_certificate_ids(&emb, "SUP-BULK");
    if (json_array_size(got) != BULK_N) {
        print_error("after restart SUP-BULK has %zu certificates, expected %d\n",
                    json_array_size(got), BULK_N);
        bad++;
    }
    for (size_t i = 0; i < json_array_size(bulk_ids) && !bad; i++) {
        bool found = false;
        for (size_t j = 0; j < json_array_size(got) && !found; j++)
            found = json_equal(json_array_get(bulk_ids, i), json_array_get(got, j));
        if (!found) {
            print_error("acknowledged certificate %s is missing after restart\n",
                        json_string_value(json_array_get(bulk_ids, i)));
            bad++;
        }
    }
    json_decref(got);
    json_decref(bulk_ids);
    json_decref(ids);
    int code = it_service_stop(&emb, false);
    assert_int_equal(code, 0);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_ready_metrics),
        cmocka_unit_test(test_redis_outage_and_recovery),
        cmocka_unit_test(test_redis_restart_when_idle),
        cmocka_unit_test(test_embedded_restart_and_graceful_sigterm),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* Unit tests of src/net/http_client.c against a real certvet-fixture-server on loopback (no
 * mocks): bodies and headers, the size limit, conditional GET, retries with backoff and
 * Retry-After, hangs, resets, garbage, truncation, the allow-list and redirects. Timings are never
 * asserted, only outcomes and attempt counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "certvet/error.h"
#include "certvet/http_client.h"
#include "fixture_client.h"

#define BIG_BYTES 8192

static struct cv_fixture_server server;
static char root[64];

static const char ok_body[] = "{\"certificates\": [{\"number\": \"Q-1\"}]}\n";

/* The files the server serves; every test uses its own path so request counts stay apart. */
static const char *const small_files[] = {
    "/ok.json",    "/cond.json",    "/flaky.json", "/limited.json", "/always.json",  "/hang.json",
    "/reset.json", "/garbage.json", "/trunc.json", "/post.json",    "/hostile.json", "/r-ok.json",
    "/r-bad.json", "/r-loop.json",  "/list.xml",   "/page.html",
};

static int write_file(const char *name, const char *data, size_t len)
{
    char path[256];
    FILE *f;
    snprintf(path, sizeof(path), "%s%s", root, name);
    f = fopen(path, "wb");
    if (!f)
        return -1;
    if (fwrite(data, 1, len, f) != len) {
        fclose(f);
        return -1;
    }
    return fclose(f);
}

static void remove_root(void)
{
    char path[256];
    for (size_t i = 0; i < N_ELEMS(small_files); i++) {
        snprintf(path, sizeof(path), "%s%s", root, small_files[i]);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/big.json", root);
    unlink(path);
    rmdir(root);
}

static int server_up(void **state)
{
    char *big;
    (void)state;
    snprintf(root, sizeof(root), "/tmp/cvhttp-XXXXXX");
    if (!mkdtemp(root))
        return -1;
    for (size_t i = 0; i < N_ELEMS(small_files); i++)
        if (write_file(small_files[i], ok_body, strlen(ok_body)))
            return -1;
    big = malloc(BIG_BYTES);
    if (!big)
        return -1;
    memset(big, 'x', BIG_BYTES);
    if (write_file("/big.json", big, BIG_BYTES)) {
        free(big);
        return -1;
    }
    free(big);
    return cv_fixture_start(&server, CERTVET_FIXTURE_SERVER, root);
}

static int server_down(void **state)
{
    (void)state;
    cv_fixture_stop(&server);
    remove_root();
    return 0;
}

/* ---- helpers ----------------------------------------------------------------------------- */

/* A client allowed to reach the fixture server only, with fast backoff. */
static struct cv_http_client *client_with(int total_timeout_ms, size_t max_bytes, int retries)
{
    const char *origins[] = {server.origin};
    struct cv_http_client_config cfg = {
        .connect_timeout_ms = 1000,
        .total_timeout_ms = total_timeout_ms,
        .max_response_bytes = max_bytes,
        .max_retries = retries,
        .backoff_base_ms = 20,
        .allowed_origins = origins,
        .n_allowed_origins = 1,
    };
    struct cv_http_client *c = NULL;
    char err[256];
    assert_int_equal(cv_http_client_new(&cfg, &c, err, sizeof(err)), CV_OK);
    assert_non_null(c);
    return c;
}

static struct cv_http_client *client(void)
{
    return client_with(10000, 0, 0);
}

static int get(struct cv_http_client *c, const char *path, struct cv_http_response *resp)
{
    char url[256];
    struct cv_http_request req = {.url = cv_fixture_url(&server, path, url, sizeof(url))};
    return cv_http_do(c, &req, resp);
}

static void set_mode(const char *path, const char *mode, int status, int times, int delay_ms,
                     int retry_after, const char *location)
{
    struct cv_fixture_mode m = {path, mode, status, times, delay_ms, retry_after, location};
    assert_int_equal(cv_fixture_set_mode(&server, &m), 0);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_ok_with_body(void **state)
{
    struct cv_http_client *c = client();
    struct cv_http_response resp;
    (void)state;

    assert_int_equal(get(c, "/ok.json", &resp), CV_OK);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.attempts, 1);
    assert_int_equal(resp.body_len, strlen(ok_body));
    assert_string_equal(resp.body, ok_body);
    assert_non_null(resp.content_type);
    assert_string_equal(resp.content_type, "application/json");
    assert_non_null(resp.etag);
    assert_non_null(resp.last_modified);
    cv_http_response_cleanup(&resp);

    /* Content types by extension, and the reused handle keeps working. */
    assert_int_equal(get(c, "/list.xml", &resp), CV_OK);
    assert_string_equal(resp.content_type, "application/xml");
    cv_http_response_cleanup(&resp);
    assert_int_equal(get(c, "/page.html", &resp), CV_OK);
    assert_string_equal(resp.content_type, "text/html");
    cv_http_response_cleanup(&resp);
    assert_int_equal(get(c, "/missing.json", &resp), CV_OK);
    assert_int_equal(resp.status, 404);
    assert_int_equal(resp.attempts, 1); /* 4xx is not retried */
    cv_http_response_cleanup(&resp);
    cv_http_client_free(c);
}

static void test_size_limit(void **state)
{
    struct cv_http_client *c = client_with(10000, 1024, 0);
    struct cv_http_response resp;
    (void)state;

    assert_int_equal(get(c, "/big.json", &resp), CV_ERR_TOO_LARGE);
    assert_null(resp.body);
    assert_int_equal(resp.attempts, 1); /* not retried */
    assert_true(resp.error[0] != '\0');
    cv_http_response_cleanup(&resp);

    /* Without Content-Length the limit is enforced while the body arrives. */
    assert_int_equal(get(c, "/big.json?chunked=1", &resp), CV_ERR_TOO_LARGE);
    assert_null(resp.body);
    cv_http_response_cleanup(&resp);
    assert_int_equal(get(c, "/ok.json?chunked=1", &resp), CV_OK);
    assert_string_equal(resp.body, ok_body);
    cv_http_response_cleanup(&resp);

    /* Exactly at the limit is fine. */
    cv_http_client_free(c);
    c = client_with(10000, BIG_BYTES, 0);
    assert_int_equal(get(c, "/big.json", &resp), CV_OK);
    assert_int_equal(resp.body_len, BIG_BYTES);
    cv_http_response_cleanup(&resp);
    assert_int_equal(get(c, "/big.json?chunked=1", &resp), CV_OK);
    assert_int_equal(resp.body_len, BIG_BYTES);
    cv_http_response_cleanup(&resp);
    cv_http_client_free(c);
}

static void test_conditional_get(void **state)
{
    struct cv_http_client *c = client();
    struct cv_http_response first, resp;
    char url[256];
    struct cv_http_request req = {.url = cv_fixture_url(&server, "/cond.json", url, sizeof(url))};
    (void)state;

    assert_int_equal(cv_http_do(c, &req, &first), CV_OK);
    assert_int_equal(first.status, 200);
    assert_non_null(first.etag);
    assert_non_null(first.last_modified);

    req.if_none_match = first.etag;
    assert_int_equal(cv_http_do(c, &req, &resp), CV_OK);
    assert_int_equal(resp.status, 304);
    assert_null(resp.body);
    assert_int_equal(resp.body_len, 0);
    cv_http_response_cleanup(&resp);
    assert_int_equal(cv_fixture_requests(&server, "/cond.json"), 2);

    req.if_none_match = NULL;
    req.if_modified_since = first.last_modified;
    assert_int_equal(cv_http_do(c, &req, &resp), CV_OK);
    assert_int_equal(resp.status, 304);
    cv_http_response_cleanup(&resp);

    req.if_none_match = "\"stale\"";
    req.if_modified_since = NULL;
    assert_int_equal(cv_http_do(c, &req, &resp), CV_OK);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, ok_body);
    cv_http_response_cleanup(&resp);
    assert_int_equal(cv_fixture_requests(&server, "/cond.json"), 4);

    cv_http_response_cleanup(&first);
    cv_http_client_free(c);
}

static void test_500_twice_then_ok(void **state)
{
    struct cv_http_client *c = client_with(10000, 0, 2);
    struct cv_http_response resp;
    (void)state;

    set_mode("/flaky.json", "status", 500, 2, -1, -1, NULL);
    assert_int_equal(get(c, "/flaky.json", &resp), CV_OK);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.attempts, 3);
    assert_string_equal(resp.body, ok_body);
    cv_http_response_cleanup(&resp);
    assert_int_equal(cv_fixture_requests(&server, "/flaky.json"), 3);
    cv_http_client_free(c);
}

static void test_429_retry_after(void **state)
{
    struct cv_http_client *c = client_with(10000, 0, 2);
    struct cv_http_response resp;
    (void)state;

    set_mode("/limited.json", "status", 429, 1, -1, 1, NULL);
    assert_int_equal(get(c, "/limited.json", &resp), CV_OK);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.attempts, 2);
    cv_http_response_cleanup(&resp);

    /* Retry-After as an HTTP date. */
    {
        struct cv_fixture_mode m = {"/limited.json", "status", 429, 1, -1, 1, NULL, 1};
        assert_int_equal(cv_fixture_set_mode(&server, &m), 0);
    }
    assert_int_equal(get(c, "/limited.json", &resp), CV_OK);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.attempts, 2);
    cv_http_response_cleanup(&resp);

    /* A Retry-After past the call's budget is not waited for: the 429 is the answer. */
    cv_http_client_free(c);
    c = client_with(2000, 0, 2);
    set_mode("/limited.json", "status", 429, 1, -1, 30, NULL);
    assert_int_equal(get(c, "/limited.json", &resp), CV_OK);
    assert_int_equal(resp.status, 429);
    assert_int_equal(resp.attempts, 1);
    cv_http_response_cleanup(&resp);
    cv_http_client_free(c);
}

static void test_always_500(void **state)
{
    struct cv_http_client *c = client_with(10000, 0, 2);
    struct cv_http_response resp;
    (void)state;

    set_mode("/always.json", "status", 503, -1, -1, -1, NULL);
    assert_int_equal(get(c, "/always.json", &resp), CV_OK);
    assert_int_equal(resp.status, 503);
    assert_int_equal(resp.attempts, 3); /* max_retries + 1 */
    assert_non_null(resp.body);         /* the last answer, for the caller to judge */
    cv_http_response_cleanup(&resp);
    assert_int_equal(cv_fixture_requests(&server, "/always.json"), 3);

    cv_http_client_free(c);
    c = client_with(10000, 0, -1); /* negative: no retries */
    assert_int_equal(get(c, "/always.json", &resp), CV_OK);
    assert_int_equal(resp.status, 503);
    assert_int_equal(resp.attempts, 1);
    cv_http_response_cleanup(&resp);
    set_mode("/always.json", "ok", -1, 0, -1, -1, NULL);
    cv_http_client_free(c);
}

static void test_hang(void **state)
{
    struct cv_http_client *c = client_with(1500, 0, 2);
    struct cv_http_response resp;
    (void)state;

    set_mode("/hang.json", "hang", -1, -1, 20000, -1, NULL);
    assert_int_equal(get(c, "/hang.json", &resp), CV_ERR_UNAVAILABLE);
    assert_true(resp.attempts >= 1);
    assert_true(resp.error[0] != '\0');
    assert_null(resp.body);
    assert_int_equal(resp.status, 0);
    cv_http_response_cleanup(&resp);
    set_mode("/hang.json", "ok", -1, 0, -1, -1, NULL);
    cv_http_client_free(c);
}

static void test_reset(void **state)
{
    struct cv_http_client *c = client_with(10000, 0, 2);
    struct cv_http_response resp;
    (void)state;

    set_mode("/reset.json", "reset", -1, -1, -1, -1, NULL);
    assert_int_equal(get(c, "/reset.json", &resp), CV_ERR_UNAVAILABLE);
    assert_int_equal(resp.attempts, 3);
    assert_true(resp.error[0] != '\0');
    cv_http_response_cleanup(&resp);
    assert_int_equal(cv_fixture_requests(&server, "/reset.json"), 3);

    /* One reset, then the answer: the retry hides it. */
    set_mode("/reset.json", "reset", -1, 1, -1, -1, NULL);
    assert_int_equal(get(c, "/reset.json", &resp), CV_OK);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.attempts, 2);
    cv_http_response_cleanup(&resp);
    cv_http_client_free(c);
}

static void test_garbage_and_truncation(void **state)
{
    struct cv_http_client *c = client_with(10000, 0, 1);
    struct cv_http_response resp;
    (void)state;

    /* Garbage with 200 is an HTTP answer: the caller's parser judges it. */
    set_mode("/garbage.json", "garbage", -1, 1, -1, -1, NULL);
    assert_int_equal(get(c, "/garbage.json", &resp), CV_OK);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.body_len, 512);
    cv_http_response_cleanup(&resp);

    set_mode("/trunc.json", "truncate", -1, -1, -1, -1, NULL);
    assert_int_equal(get(c, "/trunc.json", &resp), CV_ERR_UNAVAILABLE);
    assert_int_equal(resp.attempts, 2);
    assert_null(resp.body);
    cv_http_response_cleanup(&resp);
    set_mode("/trunc.json", "ok", -1, 0, -1, -1, NULL);
    cv_http_client_free(c);
}

static void test_post(void **state)
{
    struct cv_http_client *c = client();
    struct cv_http_response resp;
    char url[256];
    struct cv_http_request req = {
        .method = "POST",
        .url = cv_fixture_url(&server, "/post.json", url, sizeof(url)),
        .headers = {"Content-Type: application/json", "x-http-authorization: k"},
        .body = "{\"q\": 1}",
        .body_len = 8,
    };
    (void)state;

    assert_int_equal(cv_http_do(c, &req, &resp), CV_OK);
    assert_int_equal(resp.status, 200);
    cv_http_response_cleanup(&resp);

    /* A header that would split the request is refused before anything is sent. */
    req.headers[1] = "X-A: 1\r\nX-B: 2";
    assert_int_equal(cv_http_do(c, &req, &resp), CV_ERR_USAGE);
    assert_int_equal(resp.attempts, 0);
    cv_http_response_cleanup(&resp);
    req.method = "DELETE";
    req.headers[1] = NULL;
    assert_int_equal(cv_http_do(c, &req, &resp), CV_ERR_USAGE);
    cv_http_response_cleanup(&resp);
    assert_int_equal(cv_fixture_requests(&server, "/post.json"), 1);
    cv_http_client_free(c);
}

static void test_allow_list(void **state)
{
    struct cv_http_client *c = client();
    struct cv_http_response resp;
    char url[256];
    /* Each URL is prefix + the server's port + suffix. */
    const struct {
        const char *prefix, *suffix;
    } refused[] = {
        {"http://127.0.0.2:", "/hostile.json"},  /* another host */
        {"http://127.0.0.1:", "0/hostile.json"}, /* another port */
        {"https://127.0.0.1:", "/hostile.json"}, /* another scheme */
        {"http://localhost:", "/hostile.json"},  /* a name is not its address */
        {"file:///etc/passwd?", ""},             /* not http(s) */
        {"ftp://127.0.0.1:", "/hostile.json"},
        {"gopher://127.0.0.1:", "/hostile.json"},
        {"127.0.0.1:", "/hostile.json"}, /* no scheme */
        {"http://127.0.0.1:", "@evil.example/hostile.json"},
        {"", ""},
    };
    int fails = 0;
    (void)state;

    for (size_t i = 0; i < N_ELEMS(refused); i++) {
        struct cv_http_request req = {.url = url};
        int rc;
        if (refused[i].prefix[0])
            snprintf(url, sizeof(url), "%s%d%s", refused[i].prefix, server.port, refused[i].suffix);
        else
            url[0] = '\0';
        rc = cv_http_do(c, &req, &resp);
        EXPECT(fails, rc == CV_ERR_HOSTILE, "%s: rc %d\n", url, rc);
        EXPECT(fails, resp.attempts == 0, "%s: %d attempts\n", url, resp.attempts);
        cv_http_response_cleanup(&resp);
    }
    assert_int_equal(fails, 0);
    assert_int_equal(cv_fixture_requests(&server, "/hostile.json"), 0);

    /* Scheme and host compare case-insensitively. */
    snprintf(url, sizeof(url), "HTTP://127.0.0.1:%d/hostile.json", server.port);
    {
        struct cv_http_request req = {.url = url};
        assert_int_equal(cv_http_do(c, &req, &resp), CV_OK);
        assert_int_equal(resp.status, 200);
        cv_http_response_cleanup(&resp);
    }
    cv_http_client_free(c);
}

static void test_allow_list_default_port(void **state)
{
    const char *origins[] = {"http://127.0.0.1:80", "https://Certs.Example.COM"};
    struct cv_http_client_config cfg = {
        .total_timeout_ms = 2000,
        .max_retries = -1,
        .allowed_origins = origins,
        .n_allowed_origins = 2,
    };
    struct cv_http_client *c = NULL;
    struct cv_http_response resp;
    struct cv_http_request req = {.url = "http://127.0.0.1/x.json"};
    char err[256];
    (void)state;

    assert_int_equal(cv_http_client_new(&cfg, &c, err, sizeof(err)), CV_OK);
    /* Allowed (port 80 is the default), so it is attempted: whatever the outcome, not refused. */
    assert_int_not_equal(cv_http_do(c, &req, &resp), CV_ERR_HOSTILE);
    assert_int_equal(resp.attempts, 1);
    cv_http_response_cleanup(&resp);
    req.url = "http://127.0.0.1:81/x.json";
    assert_int_equal(cv_http_do(c, &req, &resp), CV_ERR_HOSTILE);
    cv_http_response_cleanup(&resp);
    req.url = "http://certs.example.com/x.json"; /* https only */
    assert_int_equal(cv_http_do(c, &req, &resp), CV_ERR_HOSTILE);
    cv_http_response_cleanup(&resp);
    cv_http_client_free(c);

    /* A bad origin in the configuration is refused up front. */
    origins[1] = "ftp://example.com";
    assert_int_not_equal(cv_http_client_new(&cfg, &c, err, sizeof(err)), CV_OK);
    assert_null(c);
    assert_true(err[0] != '\0');
}

static void test_redirects(void **state)
{
    struct cv_http_client *c = client();
    struct cv_http_response resp;
    char target[256];
    long hostile_before = cv_fixture_requests(&server, "/hostile.json");
    (void)state;

    /* Relative and absolute redirects on the allowed origin are followed. */
    set_mode("/r-ok.json", "redirect", 302, 1, -1, -1, "/ok.json");
    assert_int_equal(get(c, "/r-ok.json", &resp), CV_OK);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, ok_body);
    assert_int_equal(resp.attempts, 2);
    cv_http_response_cleanup(&resp);
    set_mode("/r-ok.json", "redirect", 301, 1, -1, -1,
             cv_fixture_url(&server, "/list.xml", target, sizeof(target)));
    assert_int_equal(get(c, "/r-ok.json", &resp), CV_OK);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.content_type, "application/xml");
    cv_http_response_cleanup(&resp);

    /* Off the allow-list: refused, and the target is never asked. */
    snprintf(target, sizeof(target), "http://127.0.0.2:%d/hostile.json", server.port);
    set_mode("/r-bad.json", "redirect", 302, -1, -1, -1, target);
    assert_int_equal(get(c, "/r-bad.json", &resp), CV_ERR_HOSTILE);
    assert_null(resp.body);
    cv_http_response_cleanup(&resp);
    set_mode("/r-bad.json", "redirect", 307, -1, -1, -1, "file:///etc/passwd");
    assert_int_equal(get(c, "/r-bad.json", &resp), CV_ERR_HOSTILE);
    cv_http_response_cleanup(&resp);
    assert_int_equal(cv_fixture_requests(&server, "/hostile.json"), hostile_before);

    /* A loop stops after max_redirects (3): 4 requests. */
    set_mode("/r-loop.json", "redirect", 302, -1, -1, -1, "/r-loop.json");
    assert_int_equal(get(c, "/r-loop.json", &resp), CV_ERR_UNAVAILABLE);
    assert_int_equal(resp.attempts, 4);
    cv_http_response_cleanup(&resp);
    set_mode("/r-loop.json", "ok", -1, 0, -1, -1, NULL);
    cv_http_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok_with_body),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_conditional_get),
        cmocka_unit_test(test_500_twice_then_ok),
        cmocka_unit_test(test_429_retry_after),
        cmocka_unit_test(test_always_500),
        cmocka_unit_test(test_hang),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_garbage_and_truncation),
        cmocka_unit_test(test_post),
        cmocka_unit_test(test_allow_list),
        cmocka_unit_test(test_allow_list_default_port),
        cmocka_unit_test(test_redirects),
    };
    return cmocka_run_group_tests_name("http_client", tests, server_up, server_down);
}

/* Security review of what crosses the service's boundary (SPEC 12): no outbound request ever goes
 * to an address taken from a request (a trap listener on loopback, named in every field, query
 * and header a client controls, is never contacted, while the configured registry is), and
 * error bodies name what is wrong without leaking paths, sockets or internals. */
#define _GNU_SOURCE /* strcasestr */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture_client.h"
#include "harness.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static struct it_redis redis;
static struct it_service svc;
static struct cv_fixture_server registry;
static pid_t trap_pid;
static unsigned trap_port;
static char trap_log[IT_PATH_MAX];

/* A listener that writes one line per connection it accepts into 'trap_log'. */
static void trap_start(void)
{
    int ls = it_listen_loopback(&trap_port);
    snprintf(trap_log, sizeof(trap_log), "%s/trap.log", it_tmpdir());
    trap_pid = fork();
    assert_true(trap_pid >= 0);
    if (trap_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        for (;;) {
            int c = accept(ls, NULL, NULL);
            if (c < 0)
                continue;
            int fd = open(trap_log, O_WRONLY | O_CREAT | O_APPEND, 0600);
            if (fd >= 0) {
                if (write(fd, "connection\n", 11) < 0)
                    _exit(1);
                close(fd);
            }
            close(c);
        }
    }
    close(ls);
}

static int setup(void **state)
{
    (void)state;
    char root[IT_PATH_MAX], path[IT_PATH_MAX];
    trap_start();
    it_source_path("fixtures/registry/generic", root, sizeof(root));
    assert_int_equal(cv_fixture_start(&registry, CERTVET_FIXTURE_SERVER, root), 0);
    snprintf(path, sizeof(path), "%s/registries.json", it_tmpdir());
    it_write_fixture_registries(path, registry.origin);
    it_redis_start(&redis, it_tmpdir(), false);
    struct it_service_options o = {.redis_url = redis.url, .registries = path};
    it_service_start(&svc, &o);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(it_service_stop(&svc, false), 0);
    it_redis_stop(&redis);
    cv_fixture_stop(&registry);
    if (trap_pid > 0) {
        kill(trap_pid, SIGKILL);
        waitpid(trap_pid, NULL, 0);
    }
    it_cleanup_all();
    return 0;
}

/* A certificate whose every free-text field names the trap, as a URL or a host:port. */
static void hostile_certificate(char *out, size_t cap, const char *number)
{
    snprintf(out, cap,
             "{\"certificate_number\":\"%s\",\"standard\":\"ISO 9001:2015\","
             "\"holder\":{\"name\":\"http://127.0.0.1:%u/holder\",\"country\":\"GB\"},"
             "\"certification_body\":{\"name\":\"Northwind Assurance Ltd\","
             "\"id\":\"http://127.0.0.1:%u/cb\",\"accreditation_number\":\"127.0.0.1:%u\"},"
             "\"accreditation_body\":\"http://127.0.0.1:%u/ab\",\"scope\":\"see "
             "http://127.0.0.1:%u/scope\",\"sites\":[{\"name\":\"x\",\"address\":"
             "\"http://127.0.0.1:%u/site\",\"country\":\"GB\"}],\"issue_date\":\"2025-01-10\","
             "\"expiry_date\":\"2028-01-09\"}",
             number, trap_port, trap_port, trap_port, trap_port, trap_port, trap_port);
}

static void test_no_outbound_to_request_addresses(void **state)
{
    (void)state;
    char body[4096], number[64], header[128], path[256];
    const char *numbers[] = {"ACT-1", number};
    snprintf(number, sizeof(number), "http://127.0.0.1:%u/n", trap_port);
    snprintf(header, sizeof(header), "X-Forwarded-Host: 127.0.0.1:%u", trap_port);
    const char *extra[] = {header, "Referer: http://127.0.0.1/", NULL};
    assert_int_equal(cv_fixture_reset_stats(&registry), 0);

    for (size_t i = 0; i < 2; i++) {
        hostile_certificate(body, sizeof(body), numbers[i]);
        struct it_response r;
        snprintf(path, sizeof(path),
                 "/v1/verify?registry=http://127.0.0.1:%u/q&callback=http://"
                 "127.0.0.1:%u/c",
                 trap_port, trap_port);
        struct it_request q = {.method = "POST",
                               .path = path,
                               .key = IT_KEY_READ,
                               .content_type = "application/json",
                               .body = body,
                               .body_len = strlen(body),
                               .extra_headers = extra};
        it_do(&svc, &q, &r, false);
        if (r.status != 200 && r.status != 400)
            fail_msg("verify %s: %ld %s", numbers[i], r.status, r.body);
        it_response_cleanup(&r);
        struct it_request ingest = {.method = "POST",
                                    .path = "/v1/certificates",
                                    .key = IT_KEY_WRITE,
                                    .content_type = "application/json",
                                    .body = body,
                                    .body_len = strlen(body),
                                    .extra_headers = extra};
        it_do(&svc, &ingest, &r, false);
        it_response_cleanup(&r);
    }
    struct it_response r;
    it_send(&svc, "POST", "/v1/reference/refresh", IT_KEY_ADMIN, "application/json", body,
            strlen(body), &r);
    it_response_cleanup(&r);
    it_get(&svc, "/v1/suppliers?profile=general", IT_KEY_READ, &r);
    it_response_cleanup(&r);

    /* The registry was asked (so outbound requests did happen), the trap never. */
    assert_true(cv_fixture_requests(&registry, "/ACT-1.json") >= 1);
    it_sleep_ms(100);
    if (access(trap_log, F_OK) == 0)
        fail_msg("the service connected to an address taken from a request (%s)", trap_log);
}

/* Each error body is problem+json that names the problem, and holds none of: the source or
 * temporary directories, the Redis socket or URL, a C file name, a library's name, the content of
 * a file an entity named (the request's own path may be echoed: it is the client's). */
static void test_error_bodies_leak_nothing(void **state)
{
    (void)state;
    static const struct {
        const char *method, *path, *type, *body;
        enum it_key key;
        long status;
    } cases[] = {
        {"GET", "/v1/nothing-here", NULL, NULL, IT_KEY_READ, 404},
        {"GET", "/v1/certificates/c_0000", NULL, NULL, IT_KEY_READ, 404},
        {"GET", "/v1/certificates/..%2F..%2Fetc%2Fpasswd", NULL, NULL, IT_KEY_READ, 404},
        {"PATCH", "/v1/certificates", NULL, NULL, IT_KEY_WRITE, 405},
        {"POST", "/v1/verify", "application/json", "{\"certificate_number\":", IT_KEY_READ, 400},
        {"POST", "/v1/verify", "application/json", "[1,2,3]", IT_KEY_READ, 422},
        {"POST", "/v1/verify", "text/plain", "hello", IT_KEY_READ, 415},
        {"POST", "/v1/certificates", "application/xml",
         "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM "
         "\"file:///etc/passwd\">]><x>&e;</x>",
         IT_KEY_WRITE, 400},
        {"POST", "/v1/certificates", "text/csv", "certificate_number\n\"unterminated", IT_KEY_WRITE,
         400},
        {"GET", "/v1/alerts?as_of=2025-02-30", NULL, NULL, IT_KEY_READ, 400},
        {"GET", "/v1/suppliers/SUP-1/score?profile=../../etc/passwd", NULL, NULL, IT_KEY_READ, 0},
        {"GET", "/v1/events?after=not-an-id", NULL, NULL, IT_KEY_READ, 400},
        {"GET", "/v1/certificates/c_1", NULL, NULL, IT_KEY_BOGUS, 401},
        {"DELETE", "/v1/certificates/c_1", NULL, NULL, IT_KEY_READ, 403},
    };
    const char *forbidden[] = {CERTVET_SOURCE_DIR, it_tmpdir(),  redis.socket, "unix://",
                               "redis.sock",       ".c:",        "jansson",    "libxml",
                               "hiredis",          "microhttpd", "root:x:0"};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct it_response r;
        struct it_request q = {.method = cases[i].method,
                               .path = cases[i].path,
                               .key = cases[i].key,
                               .content_type = cases[i].type,
                               .body = cases[i].body,
                               .body_len = cases[i].body ? strlen(cases[i].body) : 0};
        it_do(&svc, &q, &r, false);
        if (cases[i].status && r.status != cases[i].status)
            fail_msg("%s %s: %ld, want %ld: %s", cases[i].method, cases[i].path, r.status,
                     cases[i].status, r.body);
        if (r.status < 400)
            fail_msg("%s %s: not an error (%ld)", cases[i].method, cases[i].path, r.status);
        char ct[128];
        if (!it_header(&r, "Content-Type", ct, sizeof(ct)) ||
            !strstr(ct, "application/problem+json"))
            fail_msg("%s %s: Content-Type %s", cases[i].method, cases[i].path, ct);
        json_t *doc = it_json(&r);
        if (!json_is_string(json_object_get(doc, "title")) ||
            !json_is_string(json_object_get(doc, "detail")))
            fail_msg("%s %s: no title or detail: %s", cases[i].method, cases[i].path, r.body);
        json_decref(doc);
        for (size_t k = 0; k < sizeof(forbidden) / sizeof(forbidden[0]); k++)
            if (strcasestr(r.body, forbidden[k]))
                fail_msg("%s %s: the error body shows '%s': %s", cases[i].method, cases[i].path,
                         forbidden[k], r.body);
        it_response_cleanup(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_outbound_to_request_addresses),
        cmocka_unit_test(test_error_bodies_leak_nothing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* POST /v1/reference/refresh on the real service: the shipped config/sources.json (two file
 * sources, one an HTML directory page) is fetched, the reference data is swapped with a new
 * version, verdicts computed before are not reused, and GET /v1/reference/... report each source.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct it_redis redis;
static struct it_service svc;

static int setup(void **state)
{
    (void)state;
    it_redis_start(&redis, it_tmpdir(), false);
    /* No --listing: the sample CBs arrive only through the sources. */
    struct it_service_options o = {.redis_url = redis.url, .no_listing = true};
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

static json_t *get_json(const char *path)
{
    struct it_response r;
    it_get(&svc, path, IT_KEY_READ, &r);
    it_expect_status(&r, 200, path);
    json_t *v = it_json(&r);
    it_response_cleanup(&r);
    return v;
}

/* A certificate of a CB that only the sources list (fixtures/listings/ab-directory.html). */
static const char cert[] =
    "{\"certificate_number\": \"LC-1\", \"standard\": \"ISO 9001:2015\", \"holder\": {\"name\": "
    "\"Example Holder Oy\", \"country\": \"FI\"}, \"certification_body\": {\"name\": \"Lumen "
    "Certification Oy\"}, \"accreditation_body\": \"NVAS\", \"issue_date\": \"2025-03-01\", "
    "\"expiry_date\": \"2028-02-28\"}";

static bool has_finding(const json_t *v, const char *code)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(v, "findings"), i, f)
    {
        const char *c = json_string_value(json_object_get(f, "code"));
        if (c && strcmp(c, code) == 0)
            return true;
    }
    return false;
}

static json_t *verify_once(void)
{
    struct it_response r;
    it_send(&svc, "POST", "/v1/verify?as_of=2026-06-01", IT_KEY_READ, "application/json", cert,
            strlen(cert), &r);
    it_expect_status(&r, 200, "verify");
    json_t *v = it_json(&r);
    it_response_cleanup(&r);
    return v;
}

static void test_refresh_swaps_reference(void **state)
{
    struct it_response r;
    (void)state;

    json_t *before = get_json("/v1/reference/certification-bodies?q=lumen");
    assert_int_equal(json_array_size(json_object_get(before, "certification_bodies")), 0);
    assert_int_equal(json_array_size(json_object_get(before, "sources")), 0);
    const char *v0 = json_string_value(json_object_get(before, "version"));
    assert_non_null(v0);
    json_t *verdict0 = verify_once();
    assert_true(has_finding(verdict0, "CB_UNKNOWN"));

    /* Roles: admin only. */
    it_send(&svc, "POST", "/v1/reference/refresh", IT_KEY_WRITE, NULL, NULL, 0, &r);
    it_expect_status(&r, 403, "refresh with the write key");
    it_response_cleanup(&r);

    it_send(&svc, "POST", "/v1/reference/refresh", IT_KEY_ADMIN, NULL, NULL, 0, &r);
    it_expect_status(&r, 200, "refresh");
    json_t *rep = it_json(&r);
    it_response_cleanup(&r);
    assert_int_equal(json_integer_value(json_object_get(rep, "unusable")), 0);
    assert_int_equal(json_array_size(json_object_get(rep, "sources")), 2);
    const char *v1 = json_string_value(json_object_get(rep, "version"));
    assert_non_null(v1);
    assert_string_not_equal(v0, v1);

    json_t *after = get_json("/v1/reference/certification-bodies?q=lumen");
    assert_int_equal(json_array_size(json_object_get(after, "certification_bodies")), 1);
    assert_string_equal(json_string_value(json_object_get(after, "version")), v1);
    json_t *sources = json_object_get(after, "sources");
    assert_int_equal(json_array_size(sources), 2);
    for (size_t i = 0; i < json_array_size(sources); i++) {
        json_t *s = json_array_get(sources, i);
        assert_string_equal(json_string_value(json_object_get(s, "status")), "ok");
        assert_true(json_is_string(json_object_get(s, "fetched_at")));
        assert_true(json_is_string(json_object_get(s, "name")));
    }
    json_t *abs = get_json("/v1/reference/accreditation-bodies");
    assert_int_equal(json_array_size(json_object_get(abs, "sources")), 2);

    /* The verdict cached under the old version is not reused: the CB is now known. */
    json_t *verdict1 = verify_once();
    assert_false(has_finding(verdict1, "CB_UNKNOWN"));

    /* A second refresh: unchanged files, same version, not modified. */
    it_send(&svc, "POST", "/v1/reference/refresh", IT_KEY_ADMIN, NULL, NULL, 0, &r);
    it_expect_status(&r, 200, "second refresh");
    json_t *rep2 = it_json(&r);
    it_response_cleanup(&r);
    assert_string_equal(json_string_value(json_object_get(rep2, "version")), v1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(rep2, "sources"), 0), "status")),
                        "not modified");

    json_decref(before);
    json_decref(after);
    json_decref(abs);
    json_decref(rep);
    json_decref(rep2);
    json_decref(verdict0);
    json_decref(verdict1);
}

/* reference.refresh_s > 0: the service refreshes its sources by itself (no POST). Polled with a
 * bounded number of tries: the outcome is checked, never the timing. */
static void test_periodic_refresh(void **state)
{
    (void)state;
    struct it_service periodic;
    struct it_service_options o = {.redis_url = redis.url, .no_listing = true, .refresh_s = 1};
    it_service_start(&periodic, &o);
    json_t *doc = NULL;
    size_t found = 0;
    for (int tries = 0; tries < 200 && !found; tries++) {
        struct it_response r;
        it_get(&periodic, "/v1/reference/certification-bodies?q=lumen", IT_KEY_READ, &r);
        it_expect_status(&r, 200, "certification bodies");
        json_decref(doc);
        doc = it_json(&r);
        it_response_cleanup(&r);
        found = json_array_size(json_object_get(doc, "certification_bodies"));
        if (!found)
            it_sleep_ms(50);
    }
    assert_int_equal(found, 1); /* Lumen Certification Oy, listed only by a source */
    json_t *sources = json_object_get(doc, "sources");
    assert_int_equal(json_array_size(sources), 2);
    json_decref(doc);
    assert_int_equal(it_service_stop(&periodic, false), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refresh_swaps_reference),
        cmocka_unit_test(test_periodic_refresh),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* The service consults a configured registry (SPEC 6): a generic connector pointed at the
 * fixture server (fixtures/registry/generic). Each registry answer becomes its finding in
 * POST /v1/verify, and a repeated lookup is served from the registry cache in Redis. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture_client.h"

static struct it_redis redis;
static struct it_service svc;
static struct cv_fixture_server registry;

static int setup(void **state)
{
    (void)state;
    char root[IT_PATH_MAX], path[IT_PATH_MAX];
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
    it_cleanup_all();
    return 0;
}

/* Verifies a certificate numbered 'number' (holder, standard and expiry as the fixtures have
 * them) as of 2026-11-22; returns the verification. */
static json_t *verify(const char *number)
{
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"certificate_number\": \"%s\", \"standard\": \"ISO 9001:2015\", \"holder\": "
             "{\"name\": \"Acme Widgets Ltd\"}, \"certification_body\": {\"name\": \"Northwind "
             "Assurance Ltd\"}, \"issue_date\": \"2024-06-01\", \"expiry_date\": \"2027-05-31\", "
             "\"audits\": [{\"type\": \"surveillance\", \"date\": \"2025-05-20\"}, {\"type\": "
             "\"surveillance\", \"date\": \"2026-05-18\"}]}",
             number);
    struct it_response r;
    it_send(&svc, "POST", "/v1/verify?as_of=2026-11-22", IT_KEY_READ, "application/json", body,
            strlen(body), &r);
    it_expect_status_(&r, 200, "POST /v1/verify", __FILE__, __LINE__);
    json_t *v = it_json(&r);
    it_response_cleanup(&r);
    return v;
}

static bool has_finding(const json_t *v, const char *code)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(v, "findings"), i, f)
    {
        if (strcmp(json_string_value(json_object_get(f, "code")), code) == 0)
            return true;
    }
    return false;
}

static const char *check(const json_t *v, const char *name)
{
    return json_string_value(json_object_get(json_object_get(v, "checks"), name));
}

static void test_each_answer_is_a_finding(void **state)
{
    (void)state;
    static const struct {
        const char *number, *code, *verdict, *registry_check;
    } rows[] = {
        {"ACT-1", "REGISTRY_CONFIRMED", "valid", "pass"},
        {"SUS-1", "REGISTRY_SUSPENDED", "invalid", "fail"},
        {"NOPE-1", "REGISTRY_NOT_FOUND", "unverified", "inconclusive"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        json_t *v = verify(rows[i].number);
        if (!has_finding(v, rows[i].code))
            fail_msg("%s: no %s in %s", rows[i].number, rows[i].code, json_dumps(v, 0));
        assert_string_equal(json_string_value(json_object_get(v, "verdict")), rows[i].verdict);
        assert_string_equal(check(v, "registry"), rows[i].registry_check);
        json_decref(v);
    }
}

static void test_lookups_are_cached(void **state)
{
    (void)state;
    json_decref(verify("ACT-1"));
    long before = cv_fixture_requests(&registry, "/ACT-1.json");
    json_t *v = verify("ACT-1");
    assert_true(has_finding(v, "REGISTRY_CONFIRMED"));
    json_decref(v);
    assert_true(before >= 1);
    assert_int_equal(cv_fixture_requests(&registry, "/ACT-1.json"), before);
}

/* Scoring as of today counts a certificate the registry confirmed as covered although its CB is
 * in no listing; a past as_of replays from stored data alone (no registry), so it is not.
 * General profile: ISO 9001 recommended (weight 5); the certificate is unverified (CB_UNKNOWN):
 * 4 points, score round(100 * 5 * 4 / (10 * 5)) = 40 on both dates. */
static void test_score_coverage_from_registry(void **state)
{
    (void)state;
    it_put_supplier(&svc, "SUP-REG", "Acme Widgets Ltd");
    const char cert[] =
        "{\"certificate_number\": \"ACT-1\", \"standard\": \"ISO 9001:2015\", \"holder\": "
        "{\"name\": \"Acme Widgets Ltd\"}, \"supplier_id\": \"SUP-REG\", "
        "\"certification_body\": {\"name\": \"Unlisted Certification Ltd\"}, \"issue_date\": "
        "\"2024-06-01\", \"expiry_date\": \"2027-05-31\", \"audits\": [{\"type\": "
        "\"surveillance\", \"date\": \"2025-05-20\"}, {\"type\": \"surveillance\", "
        "\"date\": \"2026-05-18\"}]}";
    json_decref(it_ingest(&svc, "application/json", cert, strlen(cert), 1));
    static const struct {
        const char *path;
        double coverage;
    } rows[] = {
        {"/v1/suppliers/SUP-REG/score?profile=general", 1.0},
        {"/v1/suppliers/SUP-REG/score?profile=general&as_of=2026-01-10", 0.0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct it_response r;
        it_get(&svc, rows[i].path, IT_KEY_READ, &r);
        it_expect_status_(&r, 200, rows[i].path, __FILE__, __LINE__);
        json_t *doc = it_json(&r);
        it_response_cleanup(&r);
        assert_int_equal(json_integer_value(json_object_get(doc, "score")), 40);
        if (json_number_value(json_object_get(doc, "coverage")) != rows[i].coverage)
            fail_msg("%s: coverage %s", rows[i].path, json_dumps(doc, 0));
        json_decref(doc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_answer_is_a_finding),
        cmocka_unit_test(test_lookups_are_cached),
        cmocka_unit_test(test_score_coverage_from_registry),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* POST /v1/verify on the real service (docs/API.md): one certificate → one verification; a
 * {"certificates": [...]} batch → the SPEC 9 shape, compared with the hand-written golden results
 * of fixtures/README.md; as_of and within; malformed input; and the verification cache seen
 * through /metrics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define AS_OF       "2026-11-22" /* the golden run's date (fixtures/README.md) */
#define PORTFOLIO_N 43

static struct it_redis redis;
static struct it_service svc;
static json_t *portfolio; /* fixtures/sample/portfolio.json */
static json_t *expected;  /* tests/cli/expected/portfolio.expected.json */

static int setup(void **state)
{
    (void)state;
    portfolio = it_load_json_fixture("fixtures/sample/portfolio.json");
    expected = it_load_json_fixture("tests/cli/expected/portfolio.expected.json");
    assert_int_equal(json_array_size(portfolio), PORTFOLIO_N);
    assert_int_equal(json_array_size(json_object_get(expected, "results")), PORTFOLIO_N);
    it_redis_start(&redis, it_tmpdir(), false);
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
    json_decref(portfolio);
    json_decref(expected);
    assert_int_equal(code, 0);
    return 0;
}

static bool str_is(const json_t *v, const char *s)
{
    return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

static json_t *portfolio_cert(const char *number)
{
    for (size_t i = 0; i < json_array_size(portfolio); i++) {
        json_t *c = json_array_get(portfolio, i);
        if (str_is(json_object_get(c, "certificate_number"), number))
            return c;
    }
    print_error("no certificate %s in the portfolio\n", number);
    fail();
    return NULL;
}

/* POSTs 'body' to 'path' with the read key and expects 200 application/json. */
static json_t *verify(const char *path, const json_t *body)
{
    struct it_response r;
    it_send_json(&svc, "POST", path, IT_KEY_READ, body, &r);
    it_expect_status(&r, 200, path);
    char ct[128];
    if (!it_header(&r, "Content-Type", ct, sizeof(ct)) ||
        strncmp(ct, "application/json", 16) != 0) {
        print_error("POST %s: Content-Type %s, expected application/json\n", path, ct);
        fail();
    }
    json_t *v = it_json(&r);
    it_response_cleanup(&r);
    return v;
}

static bool has_finding(const json_t *verification, const char *code)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(verification, "findings"), i, f)
    {
        if (str_is(json_object_get(f, "code"), code))
            return true;
    }
    return false;
}

/* SPEC 4: a verification carries certificate_number, standard, family, as_of, verdict,
 * effective_expiry, days_to_expiry, surveillance_due, findings [{code, severity, message,
 * detail}] and checks. KC-25-0412 as of 2026-11-22: SURVEILLANCE_DUE (fixtures/README.md #3). */
static void test_verify_one_as_of(void **state)
{
    (void)state;
    json_t *v = verify("/v1/verify?as_of=" AS_OF, portfolio_cert("KC-25-0412"));
    json_t *want = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s}", "certificate_number",
                             "KC-25-0412", "standard", "ISO 9001:2015", "family", "ISO 9001",
                             "as_of", AS_OF, "verdict", "valid", "effective_expiry", "2027-12-04",
                             "days_to_expiry", 377, "surveillance_due", "2026-12-10");
    const char *k;
    json_t *w;
    int bad = 0;
    json_object_foreach(want, k, w)
    {
        if (!json_equal(json_object_get(v, k), w)) {
            print_error("KC-25-0412: \"%s\" differs from the expected value\n", k);
            bad++;
        }
    }
    json_t *findings = json_object_get(v, "findings");
    json_t *f = json_array_get(findings, 0);
    if (json_array_size(findings) != 1 || !str_is(json_object_get(f, "code"), "SURVEILLANCE_DUE") ||
        !str_is(json_object_get(f, "severity"), "info") ||
        !json_is_string(json_object_get(f, "message")) || !json_object_get(f, "detail")) {
        print_error("KC-25-0412: findings should be one SURVEILLANCE_DUE (info) with message "
                    "and detail\n");
        bad++;
    }
    static const char *const checks[] = {"validity",      "edition", "surveillance",
                                         "accreditation", "holder",  "registry"};
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        if (!json_is_string(json_object_get(json_object_get(v, "checks"), checks[i]))) {
            print_error("KC-25-0412: no checks.%s\n", checks[i]);
            bad++;
        }
    }
    if (bad) {
        char *text = json_dumps(v, JSON_INDENT(2));
        print_error("got %s\n", text);
        free(text);
    }
    json_decref(want);
    json_decref(v);
    assert_int_equal(bad, 0);
}

/* docs/API.md: "as_of defaults to today (UTC)". */
static void test_verify_default_as_of(void **state)
{
    (void)state;
    char before[16], after[16];
    time_t t = time(NULL);
    struct tm tm;
    strftime(before, sizeof(before), "%Y-%m-%d", gmtime_r(&t, &tm));
    json_t *v = verify("/v1/verify", portfolio_cert("NW-Q-24001"));
    t = time(NULL);
    strftime(after, sizeof(after), "%Y-%m-%d", gmtime_r(&t, &tm));
    const char *as_of = json_string_value(json_object_get(v, "as_of"));
    if (!as_of || (strcmp(as_of, before) != 0 && strcmp(as_of, after) != 0)) {
        print_error("as_of is %s, expected today (%s)\n", as_of ? as_of : "(absent)", before);
        fail();
    }
    json_decref(v);
}

static int severity_rank(const char *s)
{
    static const char *const order[] = {"info", "warning", "inconclusive", "critical"};
    for (int i = 0; i < 4; i++) {
        if (s && strcmp(s, order[i]) == 0)
            return i;
    }
    return -1;
}

/* Findings that depend on what the CLI golden run had and /v1/verify has not: the suppliers file
 * (HOLDER_MISMATCH) and --max-report-age (REPORT_TOO_OLD, "scoring only" in SPEC 4). */
static bool offline_only(const char *code)
{
    return strcmp(code, "HOLDER_MISMATCH") == 0 || strcmp(code, "REPORT_TOO_OLD") == 0;
}

/* Compares one result with the golden one; returns the number of differences. */
static int compare_result(const json_t *got, const json_t *want)
{
    static const char *const members[] = {"certificate_number", "standard", "effective_expiry",
                                          "days_to_expiry", "surveillance_due"};
    static const char *const checks[] = {"validity", "edition", "surveillance", "accreditation",
                                         "registry"};
    static const char *const verdicts[] = {"valid", "warning", "unverified", "invalid"};
    const char *num = json_string_value(json_object_get(want, "certificate_number"));
    int bad = 0;
    for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
        if (!json_equal(json_object_get(got, members[i]), json_object_get(want, members[i]))) {
            char *g = json_dumps(json_object_get(got, members[i]), JSON_ENCODE_ANY);
            char *w = json_dumps(json_object_get(want, members[i]), JSON_ENCODE_ANY);
            print_error("%s: %s is %s, expected %s\n", num, members[i], g ? g : "(absent)", w);
            free(g);
            free(w);
            bad++;
        }
    }
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        json_t *g = json_object_get(json_object_get(got, "checks"), checks[i]);
        json_t *w = json_object_get(json_object_get(want, "checks"), checks[i]);
        if (!json_equal(g, w)) {
            print_error("%s: checks.%s is %s, expected %s\n", num, checks[i],
                        g ? json_string_value(g) : "(absent)", json_string_value(w));
            bad++;
        }
    }
    /* findings in order, without the offline-only ones */
    json_t *gf = json_array(), *wf = json_array();
    size_t i;
    json_t *f;
    int worst = -1;
    json_array_foreach(json_object_get(want, "findings"), i, f)
    {
        const char *code = json_string_value(json_array_get(f, 0));
        const char *sev = json_string_value(json_array_get(f, 1));
        if (offline_only(code))
            continue;
        json_array_append_new(wf, json_pack("[s, s]", code, sev));
        if (severity_rank(sev) > worst)
            worst = severity_rank(sev);
    }
    json_array_foreach(json_object_get(got, "findings"), i, f)
    {
        const char *code = json_string_value(json_object_get(f, "code"));
        const char *sev = json_string_value(json_object_get(f, "severity"));
        if (!code || offline_only(code))
            continue;
        json_array_append_new(gf, json_pack("[s, s?]", code, sev));
    }
    if (!json_equal(gf, wf)) {
        char *g = json_dumps(gf, 0), *w = json_dumps(wf, 0);
        print_error("%s: findings %s, expected %s\n", num, g, w);
        free(g);
        free(w);
        bad++;
    }
    json_decref(gf);
    json_decref(wf);
    const char *verdict = verdicts[worst < 1 ? 0 : worst == 1 ? 1 : worst == 2 ? 2 : 3];
    if (!str_is(json_object_get(got, "verdict"), verdict)) {
        print_error("%s: verdict %s, expected %s\n", num,
                    json_string_value(json_object_get(got, "verdict")), verdict);
        bad++;
    }
    return bad;
}

/* docs/API.md: {"certificates": [...]} → {"as_of", "results", "summary", "errors"} (SPEC 9);
 * the results are the golden ones (fixtures/README.md) but for what needs the suppliers file or
 * a report-age limit. */
static void test_verify_batch_matches_golden(void **state)
{
    (void)state;
    json_t *body = json_pack("{s:O}", "certificates", portfolio);
    json_t *v = verify("/v1/verify?as_of=" AS_OF, body);
    json_decref(body);
    json_t *results = json_object_get(v, "results");
    json_t *summary = json_object_get(v, "summary");
    int bad = 0;
    if (!str_is(json_object_get(v, "as_of"), AS_OF) || !json_is_object(summary) ||
        !json_is_array(json_object_get(v, "errors")) ||
        json_array_size(json_object_get(v, "errors")) != 0) {
        print_error("the batch reply lacks as_of " AS_OF ", summary{} or an empty errors[]\n");
        bad++;
    }
    if (json_array_size(results) != PORTFOLIO_N) {
        print_error("%zu results, expected %d\n", json_array_size(results), PORTFOLIO_N);
        fail();
    }
    json_t *want = json_object_get(expected, "results");
    for (size_t i = 0; i < PORTFOLIO_N; i++)
        bad += compare_result(json_array_get(results, i), json_array_get(want, i));
    static const char *const verdicts[] = {"valid", "warning", "unverified", "invalid"};
    for (size_t k = 0; k < 4; k++) {
        json_int_t n = 0;
        for (size_t i = 0; i < PORTFOLIO_N; i++)
            n += str_is(json_object_get(json_array_get(results, i), "verdict"), verdicts[k]);
        if (json_integer_value(json_object_get(summary, verdicts[k])) != n) {
            print_error("summary.%s is %lld; the results have %lld\n", verdicts[k],
                        (long long)json_integer_value(json_object_get(summary, verdicts[k])),
                        (long long)n);
            bad++;
        }
    }
    if (!json_is_integer(json_object_get(summary, "errors")) ||
        json_integer_value(json_object_get(summary, "errors")) != 0) {
        print_error("summary.errors should be 0\n");
        bad++;
    }
    json_decref(v);
    assert_int_equal(bad, 0);
}

/* ?within= narrows CERT_EXPIRING_SOON: HQ-OH-24015 expires in 70 days (fixtures/README.md #18). */
static void test_verify_within(void **state)
{
    (void)state;
    json_t *cert = portfolio_cert("HQ-OH-24015");
    json_t *v = verify("/v1/verify?as_of=" AS_OF, cert);
    assert_true(has_finding(v, "CERT_EXPIRING_SOON"));
    assert_true(str_is(json_object_get(v, "verdict"), "warning"));
    json_decref(v);
    v = verify("/v1/verify?as_of=" AS_OF "&within=30", cert);
    if (has_finding(v, "CERT_EXPIRING_SOON") || !str_is(json_object_get(v, "verdict"), "valid")) {
        print_error("within=30: HQ-OH-24015 (70 days left) should be valid without "
                    "CERT_EXPIRING_SOON\n");
        fail();
    }
    json_decref(v);
}

/* A batch with a refused record: the others are verified, the refused one is in errors[] and
 * counted in summary.errors (SPEC 9). */
static void test_verify_batch_with_refused_record(void **state)
{
    (void)state;
    json_t *broken = it_load_json_fixture("fixtures/sample-broken/bad-records.json");
    json_t *body = json_pack("{s:[O, O]}", "certificates", json_array_get(broken, 0),
                             json_array_get(broken, 1));
    json_t *v = verify("/v1/verify?as_of=" AS_OF, body);
    json_t *errors = json_object_get(v, "errors");
    int bad = 0;
    if (json_array_size(json_object_get(v, "results")) != 1 || json_array_size(errors) != 1 ||
        json_integer_value(json_object_get(json_object_get(v, "summary"), "errors")) != 1) {
        print_error("expected 1 result, 1 error, summary.errors 1\n");
        bad++;
    } else {
        char *text = json_dumps(json_array_get(errors, 0), 0);
        if (!strstr(text, "issue_date")) {
            print_error("the error does not name issue_date: %s\n", text);
            bad++;
        }
        free(text);
    }
    json_decref(v);
    json_decref(body);
    json_decref(broken);
    assert_int_equal(bad, 0);
}

/* docs/API.md: "Malformed JSON → 400" with a problem body naming what is wrong; "422 when
 * well-formed but every record was refused". */
static void test_verify_malformed_400(void **state)
{
    (void)state;
    static const char *const bodies[] = {"{\"certificate_number\": ", "not json", "[1, 2",
                                         "{\"certificates\": [}"};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct it_response r;
        it_send(&svc, "POST", "/v1/verify", IT_KEY_READ, "application/json", bodies[i],
                strlen(bodies[i]), &r);
        json_decref(it_expect_problem(&r, 400, NULL, bodies[i]));
        it_response_cleanup(&r);
    }
    json_t *cert = json_deep_copy(portfolio_cert("NW-Q-24001"));
    json_object_del(cert, "standard");
    struct it_response r;
    it_send_json(&svc, "POST", "/v1/verify", IT_KEY_READ, cert, &r);
    json_t *p = it_expect_problem(&r, 422, NULL, "a certificate without its standard");
    if (!it_problem_names(p, "standard")) {
        print_error("the 422 does not name the field standard: %s\n", r.body);
        fail();
    }
    json_decref(p);
    it_response_cleanup(&r);
    json_decref(cert);

    /* a text body is not JSON */
    it_send(&svc, "POST", "/v1/verify", IT_KEY_READ, "text/plain", "hello", 5, &r);
    json_decref(it_expect_problem(&r, 415, NULL, "POST /v1/verify text/plain"));
    it_response_cleanup(&r);
}

/* Bad query parameters → 400 naming the parameter. */
static void test_verify_bad_parameters_400(void **state)
{
    (void)state;
    static const struct {
        const char *path, *name;
    } cases[] = {
        {"/v1/verify?as_of=2025-02-30", "as_of"},
        {"/v1/verify?as_of=03/04/2025", "as_of"},
        {"/v1/verify?within=soon", "within"},
        {"/v1/verify?within=-5", "within"},
    };
    char *cert = json_dumps(portfolio_cert("NW-Q-24001"), JSON_COMPACT);
    int bad = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct it_response r;
        it_send(&svc, "POST", cases[i].path, IT_KEY_READ, "application/json", cert, strlen(cert),
                &r);
        json_t *p = it_expect_problem(&r, 400, NULL, cases[i].path);
        if (!it_problem_names(p, cases[i].name)) {
            print_error("%s: the 400 does not name %s: %s\n", cases[i].path, cases[i].name, r.body);
            bad++;
        }
        json_decref(p);
        it_response_cleanup(&r);
    }
    free(cert);
    assert_int_equal(bad, 0);
}

/* docs/API.md "Verification cache": hits and misses are counted in /metrics. The first request
 * of a certificate on a date no other test uses is a miss; the same request again is a hit with
 * the same answer. */
static void test_verify_cache_hit(void **state)
{
    (void)state;
    double hits0 = it_get_metric(&svc, "certvet_cache_hits_total");
    double misses0 = it_get_metric(&svc, "certvet_cache_misses_total");
    if (hits0 < 0 || misses0 < 0) {
        print_error("/metrics lacks certvet_cache_hits_total or certvet_cache_misses_total\n");
        fail();
    }
    const char *path = "/v1/verify?as_of=2026-05-05";
    json_t *cert = portfolio_cert("NW-E-25077");
    json_t *first = verify(path, cert);
    double hits1 = it_get_metric(&svc, "certvet_cache_hits_total");
    double misses1 = it_get_metric(&svc, "certvet_cache_misses_total");
    json_t *second = verify(path, cert);
    double hits2 = it_get_metric(&svc, "certvet_cache_hits_total");
    if (!(misses1 >= misses0 + 1) || !(hits2 >= hits1 + 1)) {
        print_error("cache counters: misses %g -> %g after a first request, hits %g -> %g "
                    "after the same request again\n",
                    misses0, misses1, hits1, hits2);
        fail();
    }
    if (!json_equal(first, second)) {
        print_error("the cached verification differs from the computed one\n");
        fail();
    }
    json_decref(first);
    json_decref(second);
}

/* When the cache entry of a miss is written (docs/API.md "Verification cache"): a request served
 * alone writes it before it answers, so it is in Redis when the client has the answer; one served
 * while another request is in progress leaves it for the worker's next Redis command, and when that
 * worker then goes idle the service writes it within 100 ms all the same (here: within 2 s, with
 * the other request still waiting for its body and nothing else sent). */
static void test_verify_cache_entry_written(void **state)
{
    (void)state;
    json_t *cert = portfolio_cert("KC-25-0412");
    long before = it_redis_count_keys(redis.socket, "certvet:cache:*");
    json_decref(verify("/v1/verify?as_of=2026-05-06", cert));
    assert_int_equal(it_redis_count_keys(redis.socket, "certvet:cache:*"), before + 1);

    /* A request in progress: its headers are in, its body never comes. */
    int fd = it_service_connect(&svc);
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "POST /v1/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
                     svc.keys[IT_KEY_READ]);
    assert_true(n > 0 && (size_t)n < sizeof(head));
    assert_int_equal(write(fd, head, (size_t)n), n);
    it_sleep_ms(200); /* received and started (a request in progress) */
    json_decref(verify("/v1/verify?as_of=2026-05-07", cert));
    long got = before + 1;
    for (int waited = 0; waited < 2000 && got == before + 1; waited += 20) {
        it_sleep_ms(20);
        got = it_redis_count_keys(redis.socket, "certvet:cache:*");
    }
    close(fd);
    if (got != before + 2) {
        print_error("cache entries: %ld before, %ld two seconds after a miss served while another "
                    "request was in progress (expected %ld)\n",
                    before, got, before + 2);
        fail();
    }
}

static bool has_code(json_t *v, const char *code)
{
    size_t i;
    json_t *f;
    json_array_foreach(
        json_object_get(v, "findings"), i,
        f) if (!strcmp(json_string_value(json_object_get(f, "code")), code)) return true;
    return false;
}

/* The cache is keyed without the linked supplier (it is read in the same round trip as the
 * entry) and the entry carries a tag of the supplier's names: renaming the supplier makes the
 * next verification a miss with the new holder check, never the stale cached verdict; the same
 * request after that is a hit again. */
static void test_verify_cache_follows_supplier(void **state)
{
    (void)state;
    const char *path = "/v1/verify?as_of=2026-05-06";
    json_t *cert = portfolio_cert("NW-E-25077");
    json_object_set_new(cert, "supplier_id", json_string("SUP-CACHE"));
    json_object_set_new(json_object_get(cert, "holder"), "name",
                        json_string("Alderbank Moulding Ltd"));
    it_put_supplier(&svc, "SUP-CACHE", "Alderbank Moulding Ltd");
    json_t *a = verify(path, cert);
    assert_false(has_code(a, "HOLDER_MISMATCH"));
    double hits0 = it_get_metric(&svc, "certvet_cache_hits_total");
    json_t *b = verify(path, cert); /* same supplier: a hit */
    assert_true(it_get_metric(&svc, "certvet_cache_hits_total") >= hits0 + 1);
    assert_true(json_equal(a, b));

    it_put_supplier(&svc, "SUP-CACHE", "Quillon Foods Ltd"); /* renamed */
    double misses0 = it_get_metric(&svc, "certvet_cache_misses_total");
    json_t *c = verify(path, cert);
    assert_true(it_get_metric(&svc, "certvet_cache_misses_total") >= misses0 + 1);
    assert_true(has_code(c, "HOLDER_MISMATCH"));
    hits0 = it_get_metric(&svc, "certvet_cache_hits_total");
    json_t *d = verify(path, cert);
    assert_true(it_get_metric(&svc, "certvet_cache_hits_total") >= hits0 + 1);
    assert_true(json_equal(c, d));
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(d);
    json_decref(cert);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verify_one_as_of),
        cmocka_unit_test(test_verify_default_as_of),
        cmocka_unit_test(test_verify_batch_matches_golden),
        cmocka_unit_test(test_verify_within),
        cmocka_unit_test(test_verify_batch_with_refused_record),
        cmocka_unit_test(test_verify_malformed_400),
        cmocka_unit_test(test_verify_bad_parameters_400),
        cmocka_unit_test(test_verify_cache_hit),
        cmocka_unit_test(test_verify_cache_follows_supplier),
        cmocka_unit_test(test_verify_cache_entry_written),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

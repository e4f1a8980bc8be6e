/* Supplier scoring on the real service (SPEC 5): GET /v1/profiles and
 * GET /v1/suppliers/{id}/score?profile=&as_of= over the sample suppliers and portfolio. The
 * expected scores are the hand computations of tests/cli/test_cli_score.c and docs/SCORING.md
 * (verdicts from fixtures/README.md), so the service and `certvet score` agree. */
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
#include <sys/wait.h>
#include <unistd.h>

#define PORTFOLIO_N 43

static struct it_redis redis;
static struct it_service svc;

static int setup(void **state)
{
    (void)state;
    it_redis_start(&redis, it_tmpdir(), false);
    struct it_service_options o = {.redis_url = redis.url};
    it_service_start(&svc, &o);
    it_put_sample_suppliers(&svc);
    size_t len;
    char *body = it_read_fixture("fixtures/sample/portfolio.json", &len);
    json_decref(it_ingest(&svc, "application/json", body, len, PORTFOLIO_N));
    free(body);
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

static json_t *get_json(const char *path, long want)
{
    struct it_response r;
    it_get(&svc, path, IT_KEY_READ, &r);
    it_expect_status(&r, want, path);
    json_t *j = it_json(&r);
    it_response_cleanup(&r);
    return j;
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "(none)";
}

static void test_profiles(void **state)
{
    (void)state;
    json_t *j = get_json("/v1/profiles", 200);
    json_t *list = json_object_get(j, "profiles");
    assert_int_equal(json_array_size(list), 10);
    assert_string_equal(str(json_array_get(list, 1), "name"), "government");
    json_t *toys = json_array_get(list, 4);
    assert_string_equal(str(toys, "name"), "toys-au-nz");
    assert_int_equal(json_integer_value(json_object_get(toys, "max_report_age_days")), 365);
    json_decref(j);
}

/* SUP-001 / government: 9001 HQ-Q-25118 valid 10, 14001 HQ-E-23071 expired 2026-08-31 0,
 * 45001 HQ-OH-24015 expiring soon 7: round(100 * 170 / 300) = 57, rejected. */
static void test_score_one(void **state)
{
    (void)state;
    json_t *j = get_json("/v1/suppliers/SUP-001/score?profile=government&as_of=2026-11-22", 200);
    assert_string_equal(str(j, "scoring"), "certvet-score/1");
    assert_int_equal(json_integer_value(json_object_get(j, "score")), 57);
    assert_string_equal(str(j, "decision"), "rejected");
    json_t *reqs = json_object_get(j, "requirements");
    assert_int_equal(json_array_size(reqs), 3);
    static const char *const numbers[] = {"HQ-Q-25118", "HQ-E-23071", "HQ-OH-24015"};
    static const char *const verdicts[] = {"valid", "invalid", "warning"};
    for (size_t i = 0; i < 3; i++) {
        json_t *r = json_array_get(reqs, i);
        assert_string_equal(str(json_object_get(r, "certificate"), "number"), numbers[i]);
        assert_string_equal(str(r, "verdict"), verdicts[i]);
    }
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "reasons"), 1)),
                        "ISO 14001 is required by the government profile; the supplier's "
                        "certificate HQ-E-23071 expired on 2026-08-31");
    json_decref(j);
}

/* Replay: SUP-008's only certificate SPC-21469-0087 (ISO 21469:2006, product, Sentinel listed,
 * DAkkS recognized for 17065; no surveillance for products) expires 2028-01-14. For an order of
 * 2026-11-22 it is valid -> 100, approved; for 2028-01-20 it is expired (critical) -> invalid,
 * the one required family only invalid -> 0, rejected. */
static void test_replay(void **state)
{
    (void)state;
    json_t *j = get_json(
        "/v1/suppliers/SUP-008/score?profile=food-contact-lubricants&as_of=2026-11-22", 200);
    assert_int_equal(json_integer_value(json_object_get(j, "score")), 100);
    assert_string_equal(str(j, "decision"), "approved");
    json_decref(j);
    j = get_json("/v1/suppliers/SUP-008/score?profile=food-contact-lubricants&as_of=2028-01-20",
                 200);
    assert_int_equal(json_integer_value(json_object_get(j, "score")), 0);
    assert_string_equal(str(j, "decision"), "rejected");
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "reasons"), 1)),
                        "ISO 21469 is required by the food-contact-lubricants profile; the "
                        "supplier's certificate SPC-21469-0087 expired on 2028-01-14");
    json_decref(j);
}

/* The portfolio view: GET /v1/suppliers?profile=general adds {profile, score, decision,
 * coverage} to each supplier; values as in docs/SCORING.md's table (general profile). */
static void test_portfolio(void **state)
{
    (void)state;
    static const struct {
        const char *id, *decision;
        int score;
        double coverage;
    } want[] = {
        {"SUP-001", "approved", 100, 1.0},   {"SUP-003", "approved", 100, 1.0},
        {"SUP-005", "conditional", 70, 1.0}, {"SUP-002", "conditional", 0, 1.0},
        {"SUP-008", "conditional", 0, 0.0},
    };
    json_t *j = get_json("/v1/suppliers?profile=general&as_of=2026-11-22&limit=1000", 200);
    json_t *list = json_object_get(j, "suppliers");
    assert_int_equal(json_array_size(list), 11);
    size_t found = 0, i;
    json_t *sup;
    json_array_foreach(list, i, sup)
    {
        json_t *sc = json_object_get(sup, "score");
        assert_string_equal(str(sc, "profile"), "general");
        for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
            if (strcmp(str(sup, "id"), want[k].id) != 0)
                continue;
            found++;
            assert_string_equal(str(sc, "decision"), want[k].decision);
            assert_int_equal(json_integer_value(json_object_get(sc, "score")), want[k].score);
            assert_true(json_number_value(json_object_get(sc, "coverage")) == want[k].coverage);
        }
    }
    assert_int_equal(found, sizeof(want) / sizeof(want[0]));
    json_decref(j);
    /* Without a profile the list is as before: no scores. */
    j = get_json("/v1/suppliers?limit=1", 200);
    assert_null(json_object_get(json_array_get(json_object_get(j, "suppliers"), 0), "score"));
    json_decref(j);
    struct it_response r;
    it_get(&svc, "/v1/suppliers?profile=nope", IT_KEY_READ, &r);
    json_decref(it_expect_problem(&r, 400, NULL, "unknown profile"));
    it_response_cleanup(&r);
}

/* ?sort=decision orders the page approved, conditional, rejected, then by score (highest
 * first); Accept: text/csv gives the same page as CSV. Expected rows from the table above. */
static void test_portfolio_sorted_csv(void **state)
{
    (void)state;
    json_t *j =
        get_json("/v1/suppliers?profile=general&as_of=2026-11-22&limit=1000&sort=decision", 200);
    json_t *list = json_object_get(j, "suppliers");
    static const char *const ranks[] = {"approved", "conditional", "rejected"};
    int last_rank = 0, last_score = 1000;
    size_t i;
    json_t *sup;
    long pos001 = -1, pos005 = -1, pos002 = -1;
    json_array_foreach(list, i, sup)
    {
        json_t *sc = json_object_get(sup, "score");
        int rank = 0;
        while (rank < 3 && strcmp(ranks[rank], str(sc, "decision")) != 0)
            rank++;
        int score = json_is_integer(json_object_get(sc, "score"))
                        ? (int)json_integer_value(json_object_get(sc, "score"))
                        : -1;
        assert_true(rank >= last_rank);
        if (rank == last_rank)
            assert_true(score <= last_score);
        last_rank = rank;
        last_score = score;
        if (!strcmp(str(sup, "id"), "SUP-001"))
            pos001 = (long)i;
        if (!strcmp(str(sup, "id"), "SUP-005"))
            pos005 = (long)i;
        if (!strcmp(str(sup, "id"), "SUP-002"))
            pos002 = (long)i;
    }
    assert_true(pos001 >= 0 && pos001 < pos005 && pos005 < pos002);
    json_decref(j);

    struct it_response r;
    const char *const accept_csv[] = {"Accept: text/csv", NULL};
    struct it_request q = {.path = "/v1/suppliers?profile=general&as_of=2026-11-22&limit=1000",
                           .key = IT_KEY_READ,
                           .extra_headers = accept_csv};
    it_do(&svc, &q, &r, false);
    it_expect_status(&r, 200, "portfolio CSV");
    assert_non_null(strstr(r.body, "id,name,country,profile,score,decision,coverage\r\n"));
    assert_non_null(strstr(r.body, "SUP-005,"));
    assert_non_null(strstr(r.body, ",general,70,conditional,1.00\r\n"));
    size_t rows = 0;
    for (const char *p = r.body; (p = strstr(p, "\r\n")); p += 2)
        rows++;
    assert_int_equal(rows, 12); /* the header and 11 suppliers */
    it_response_cleanup(&r);

    it_get(&svc, "/v1/suppliers?profile=general&sort=colour", IT_KEY_READ, &r);
    json_decref(it_expect_problem(&r, 400, NULL, "sort"));
    it_response_cleanup(&r);
}

/* Issue 5: a malformed profile is refused at start-up with a message naming the profile and the
 * field; the service does not start (exit status 2). */
static void test_bad_profiles_refuse_start(void **state)
{
    (void)state;
    char profiles[IT_PATH_MAX], config[IT_PATH_MAX], errlog[IT_PATH_MAX];
    snprintf(profiles, sizeof(profiles), "%s/bad-profiles.json", it_tmpdir());
    snprintf(config, sizeof(config), "%s/bad-profiles-config.json", it_tmpdir());
    snprintf(errlog, sizeof(errlog), "%s/bad-profiles.err", it_tmpdir());
    FILE *f = fopen(profiles, "w");
    assert_non_null(f);
    fputs("{\"profiles\": [{\"name\": \"food\", \"requirements\": [{\"family\": "
          "\"ISO 22000\", \"level\": \"mandatory\"}]}]}",
          f);
    fclose(f);
    f = fopen(config, "w");
    assert_non_null(f);
    fprintf(f, "{\"redis\": {\"url\": \"%s\"}, \"paths\": {\"profiles\": \"%s\"}}", redis.url,
            profiles);
    fclose(f);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (!freopen(errlog, "w", stderr) || !freopen("/dev/null", "w", stdout))
            _exit(127);
        execl(CERTVET_BINARY, CERTVET_BINARY, "serve", "--config", config, "--listen",
              "127.0.0.1:0", (char *)NULL);
        _exit(127);
    }
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), 2);
    char *err = it_read_file(errlog, NULL);
    if (!strstr(err, "food") || !strstr(err, "level"))
        fail_msg("the start-up error does not name the profile and field: %s", err);
    free(err);
}

static void test_errors(void **state)
{
    (void)state;
    struct it_response r;
    it_get(&svc, "/v1/suppliers/SUP-001/score", IT_KEY_READ, &r);
    json_decref(it_expect_problem(&r, 400, NULL, "no profile"));
    it_response_cleanup(&r);
    it_get(&svc, "/v1/suppliers/SUP-001/score?profile=nope", IT_KEY_READ, &r);
    json_t *p = it_expect_problem(&r, 400, NULL, "unknown profile");
    assert_true(it_problem_names(p, "profile"));
    json_decref(p);
    it_response_cleanup(&r);
    it_get(&svc, "/v1/suppliers/SUP-001/score?profile=general&as_of=03/04/2025", IT_KEY_READ, &r);
    json_decref(it_expect_problem(&r, 400, NULL, "bad as_of"));
    it_response_cleanup(&r);
    it_get(&svc, "/v1/suppliers/SUP-404/score?profile=general", IT_KEY_READ, &r);
    json_decref(it_expect_problem(&r, 404, NULL, "unknown supplier"));
    it_response_cleanup(&r);
    it_get(&svc, "/v1/profiles", IT_KEY_NONE, &r);
    assert_int_equal(r.status, 401);
    it_response_cleanup(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profiles),
        cmocka_unit_test(test_score_one),
        cmocka_unit_test(test_replay),
        cmocka_unit_test(test_portfolio),
        cmocka_unit_test(test_portfolio_sorted_csv),
        cmocka_unit_test(test_bad_profiles_refuse_start),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

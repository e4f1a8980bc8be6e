/* `certvet import` against a real redis-server: certificates (CSV here; the readers are tested
 * elsewhere) and suppliers land in the store, refused records are named by file, line and field
 * while the good ones are imported, importing again changes nothing, the service reads what was
 * imported, and an unreachable Redis is a clear error (exit 2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static struct it_redis redis;

struct run {
    int status; /* exit status, or 128 + signal */
    char *out;  /* captured stdout, malloc'd */
    char *err;  /* captured stderr, malloc'd */
};

/* Runs `certvet import ARGS...` with cwd = the source tree; captures both streams. */
static void run_import(struct run *r, const char *const *args)
{
    char out_path[IT_PATH_MAX], err_path[IT_PATH_MAX];
    const char *argv[32] = {CERTVET_BINARY, "import"};
    int n = 2;
    for (; args[n - 2] && n < 31; n++)
        argv[n] = args[n - 2];
    argv[n] = NULL;
    snprintf(out_path, sizeof(out_path), "%s/import.out", it_tmpdir());
    snprintf(err_path, sizeof(err_path), "%s/import.err", it_tmpdir());
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0 || chdir(CERTVET_SOURCE_DIR))
            _exit(127);
        execv(CERTVET_BINARY, (char *const *)argv);
        _exit(127);
    }
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    r->out = it_read_file(out_path, NULL);
    r->err = it_read_file(err_path, NULL);
}

static void run_cleanup(struct run *r)
{
    free(r->out);
    free(r->err);
}

static int setup(void **state)
{
    (void)state;
    it_redis_start(&redis, it_tmpdir(), false);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    it_redis_stop(&redis);
    it_cleanup_all();
    return 0;
}

static void test_import_then_serve(void **state)
{
    (void)state;
    struct run r;
    const char *args[] = {"--redis",
                          redis.url,
                          "--listing",
                          "fixtures/sample/listing.json",
                          "--suppliers",
                          "fixtures/sample/suppliers.json",
                          "fixtures/sample/portfolio.csv",
                          NULL};
    run_import(&r, args);
    if (r.status != 0)
        fail_msg("exit %d; stderr: %s", r.status, r.err);
    assert_non_null(strstr(r.out, "imported 11 suppliers"));
    assert_non_null(strstr(r.out, "imported 43 certificates, refused 0"));
    run_cleanup(&r);

    /* Again: the same ids are updated, nothing is duplicated. */
    run_import(&r, args);
    assert_int_equal(r.status, 0);
    run_cleanup(&r);

    struct it_service svc;
    struct it_service_options o = {.redis_url = redis.url};
    it_service_start(&svc, &o);
    json_t *ids = it_supplier_certificate_ids(&svc, "SUP-002");
    /* fixtures/README.md: Brightwater Foods holds four certificates in the portfolio. */
    assert_int_equal(json_array_size(ids), 4);
    json_decref(ids);
    struct it_response resp;
    it_get(&svc, "/v1/suppliers/SUP-002", IT_KEY_READ, &resp);
    it_expect_status_(&resp, 200, "GET imported supplier", __FILE__, __LINE__);
    json_t *doc = it_json(&resp);
    assert_string_equal(json_string_value(json_object_get(doc, "name")), "Brightwater Foods Ltd");
    json_decref(doc);
    it_response_cleanup(&resp);
    assert_int_equal(it_service_stop(&svc, false), 0);
}

static void test_refused_records_are_named(void **state)
{
    (void)state;
    struct run r;
    const char *args[] = {"--redis", redis.url, "fixtures/sample-broken/missing-field.csv", NULL};
    run_import(&r, args);
    assert_int_equal(r.status, 2); /* a record was refused */
    /* The record on line 3 has no standard; the others are imported. */
    if (!strstr(r.err, "missing-field.csv:3: refused: standard"))
        fail_msg("stderr does not name line 3 and the field: %s", r.err);
    assert_non_null(strstr(r.out, "refused 1"));
    assert_null(strstr(r.out, "imported 0 certificates"));
    run_cleanup(&r);
}

/* A malformed suppliers file is refused naming the entry and field, and nothing of it is stored
 * (every entry is validated before any is written). */
static void test_bad_suppliers_refused(void **state)
{
    (void)state;
    char path[IT_PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/bad-suppliers.json", it_tmpdir());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"suppliers\": [{\"id\": \"SUP-OK\", \"name\": \"Fine Ltd\"}, {\"id\": \"SUP-BAD\", "
          "\"aliases\": \"not a list\", \"name\": \"Bad Ltd\"}]}",
          f);
    fclose(f);
    struct run r;
    const char *args[] = {"--redis", redis.url, "--suppliers", path, NULL};
    run_import(&r, args);
    assert_int_equal(r.status, 2);
    if (!strstr(r.err, "suppliers[1].aliases"))
        fail_msg("stderr does not name the entry and field: %s", r.err);
    run_cleanup(&r);

    struct it_service svc;
    struct it_service_options o = {.redis_url = redis.url};
    it_service_start(&svc, &o);
    struct it_response resp;
    it_get(&svc, "/v1/suppliers/SUP-OK", IT_KEY_READ, &resp);
    it_expect_status_(&resp, 404, "the valid entry of a refused file", __FILE__, __LINE__);
    it_response_cleanup(&resp);
    assert_int_equal(it_service_stop(&svc, false), 0);
}

static void test_unreachable_redis(void **state)
{
    (void)state;
    struct run r;
    char url[IT_PATH_MAX + 32];
    snprintf(url, sizeof(url), "unix://%s/no-such.sock", it_tmpdir());
    const char *args[] = {"--redis", url, "fixtures/sample/portfolio.csv", NULL};
    run_import(&r, args);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "cannot reach Redis"));
    run_cleanup(&r);

    const char *bad[] = {"--batch", "0", "fixtures/sample/portfolio.csv", NULL};
    run_import(&r, bad);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--batch"));
    run_cleanup(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_import_then_serve),
        cmocka_unit_test(test_refused_records_are_named),
        cmocka_unit_test(test_bad_suppliers_refused),
        cmocka_unit_test(test_unreachable_redis),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

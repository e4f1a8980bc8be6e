/* `certvet refresh` on the real binary against a private redis-server: per-source report, last
 * good copies kept in Redis and used when a source fails, exit status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "redis_harness.h"

static struct cv_test_redis redis;
static char dir[64];

static int up(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/cvrefresh-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    return cv_test_redis_start(&redis);
}

static int down(void **state)
{
    (void)state;
    cv_test_redis_stop(&redis);
    cv_test_rmtree(dir);
    return 0;
}

static void write_file(const char *name, const char *text)
{
    char path[160];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Runs certvet refresh with the sources file of 'dir'; stdout and stderr into 'out'. */
static int run(char *out, size_t cap)
{
    char cmd[1024];
    size_t n;
    FILE *p;
    snprintf(cmd, sizeof(cmd),
             "'%s' refresh --config-dir '%s/config' --sources '%s/sources.json' --redis '%s' "
             "2>&1",
             CERTVET_BINARY, CERTVET_SOURCE_DIR, dir, redis.url);
    p = popen(cmd, "r");
    assert_non_null(p);
    n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char good[] =
    "{\"certification_bodies\": [{\"id\": \"c1\", \"name\": \"C One\", \"accreditations\": "
    "[{\"accreditation_body\": \"UKAS\", \"standards\": [\"ISO 9001\"]}]}]}";

static void refresh_reports_and_falls_back(void **state)
{
    char out[8192], sources[512];

    (void)state;
    write_file("l.json", good);
    snprintf(sources, sizeof(sources),
             "{\"sources\": [{\"name\": \"local\", \"kind\": \"file\", \"path\": \"l.json\", "
             "\"format\": \"json\"}, {\"name\": \"page\", \"kind\": \"file\", \"path\": \"%s/"
             "fixtures/listings/ab-directory.html\", \"format\": \"html\", \"html\": "
             "{\"row_xpath\": \"//tbody/tr\", \"id\": \"@data-cb\", \"name\": \"td[2]/a\", "
             "\"accreditation_body\": \"'NVAS'\", \"standards\": \"td[4]//li\"}}]}",
             CERTVET_SOURCE_DIR);
    write_file("sources.json", sources);
    assert_int_equal(run(out, sizeof(out)), 0);
    assert_non_null(strstr(out, "source local: ok (fetched at "));
    assert_non_null(strstr(out, "source page: ok"));
    assert_non_null(strstr(out, "reference version "));

    /* The file turns bad: the copy kept in Redis is used, and its age is said. */
    write_file("l.json", "{\"certification_bodies\": [{\"id\": \"c1\"}]}");
    assert_int_equal(run(out, sizeof(out)), 0);
    assert_non_null(strstr(out, "source local failed ("));
    assert_non_null(strstr(out, "); using the copy fetched at "));

    /* A source with no copy anywhere: exit 2. */
    write_file("sources.json", "{\"sources\": [{\"name\": \"never\", \"kind\": \"file\", "
                               "\"path\": \"missing.json\", \"format\": \"json\"}]}");
    assert_int_equal(run(out, sizeof(out)), 2);
    assert_non_null(strstr(out, "source never failed (cannot open"));
    assert_non_null(strstr(out, "no good copy"));

    /* A broken sources.json is a usage error. */
    write_file("sources.json", "{\"sources\": [{\"name\": \"x\"}]}");
    assert_int_equal(run(out, sizeof(out)), 2);
    assert_non_null(strstr(out, "sources[0] (x).kind"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refresh_reports_and_falls_back),
    };
    return cmocka_run_group_tests(tests, up, down);
}

/* Unit tests of src/net/sources.c: sources.json, file and URL sources (against a real
 * certvet-fixture-server serving fixtures/), conditional GET without re-parsing, and the last
 * good copy when a source fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "certvet/error.h"
#include "certvet/http_client.h"
#include "certvet/sources.h"

#include "fixture_client.h"
#include "test_util.h"

#define CONFIG   CERTVET_SOURCE_DIR "/config"
#define FIXTURES CERTVET_SOURCE_DIR "/fixtures"
#define HTML     "/listings/ab-directory.html"
#define JSON     "/sample/listing.json"

static struct cv_fixture_server server;
static char tmp[64];

/* The HTML mapping of config/sources.json, as JSON. */
static const char html_mapping[] =
    "{\"row_xpath\": \"//table[@id='cb-directory']/tbody/tr\", \"id\": \"@data-cb\", "
    "\"name\": \"td[@class='name']/a\", \"country\": \"td[@class='country']\", "
    "\"accreditation_body\": \"'NVAS'\", \"number\": \"td[@class='number']\", "
    "\"standards\": \"td[@class='scope']//li\", \"status\": \"td[@class='status']\", "
    "\"valid_from\": \"td[@class='from']\", \"valid_until\": \"td[@class='until']\"}";

/* An in-memory keeper standing in for the Redis store. */
struct mem_keeper {
    char name[CV_SOURCE_NAME_MAX];
    struct cv_source_copy copy;
    bool have;
    int puts;
};

static int mem_get(void *ctx, const char *name, struct cv_source_copy *out)
{
    struct mem_keeper *k = ctx;
    memset(out, 0, sizeof(*out));
    if (!k->have || strcmp(k->name, name))
        return CV_ERR_NOT_FOUND;
    out->body = malloc(k->copy.body_len + 1);
    assert_non_null(out->body);
    memcpy(out->body, k->copy.body, k->copy.body_len + 1);
    out->body_len = k->copy.body_len;
    out->etag = k->copy.etag ? strdup(k->copy.etag) : NULL;
    out->last_modified = k->copy.last_modified ? strdup(k->copy.last_modified) : NULL;
    out->fetched_at = k->copy.fetched_at;
    return CV_OK;
}

static int mem_put(void *ctx, const char *name, const struct cv_source_copy *c)
{
    struct mem_keeper *k = ctx;
    cv_source_copy_cleanup(&k->copy);
    snprintf(k->name, sizeof(k->name), "%s", name);
    k->copy.body = malloc(c->body_len + 1);
    assert_non_null(k->copy.body);
    memcpy(k->copy.body, c->body, c->body_len);
    k->copy.body[c->body_len] = '\0';
    k->copy.body_len = c->body_len;
    k->copy.etag = c->etag ? strdup(c->etag) : NULL;
    k->copy.last_modified = c->last_modified ? strdup(c->last_modified) : NULL;
    k->copy.fetched_at = c->fetched_at;
    k->have = true;
    k->puts++;
    return CV_OK;
}

static int up(void **state)
{
    (void)state;
    snprintf(tmp, sizeof(tmp), "/tmp/cvsrc-XXXXXX");
    if (!mkdtemp(tmp))
        return -1;
    return cv_fixture_start(&server, CERTVET_FIXTURE_SERVER, FIXTURES);
}

static int down(void **state)
{
    char path[128];
    (void)state;
    cv_fixture_stop(&server);
    snprintf(path, sizeof(path), "%s/sources.json", tmp);
    unlink(path);
    rmdir(tmp);
    return 0;
}

/* Writes a sources.json with 'body' as the sources array and loads it. */
static void load(struct cv_sources *s, const char *sources_array)
{
    char path[128], err[512] = "";
    FILE *f;
    snprintf(path, sizeof(path), "%s/sources.json", tmp);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"sources\": %s}", sources_array);
    fclose(f);
    int rc = cv_sources_load(s, path, err, sizeof(err));
    if (rc)
        print_error("%s\n", err);
    assert_int_equal(rc, CV_OK);
}

static struct cv_http_client *client(void)
{
    const char *origins[] = {server.origin};
    struct cv_http_client_config cfg = {.total_timeout_ms = 3000,
                                        .max_retries = -1,
                                        .allowed_origins = origins,
                                        .n_allowed_origins = 1};
    struct cv_http_client *c = NULL;
    char err[256];
    assert_int_equal(cv_http_client_new(&cfg, &c, err, sizeof(err)), CV_OK);
    return c;
}

static void refresh(struct cv_sources *s, const struct cv_refresh_env *env, struct cv_reference *r,
                    size_t *unusable)
{
    char err[512] = "";
    int rc = cv_sources_refresh(s, env, r, unusable, err, sizeof(err));
    if (rc)
        print_error("%s\n", err);
    assert_int_equal(rc, CV_OK);
}

/* The shipped config/sources.json: both file sources load, map and layer over the shipped ABs;
 * a second refresh finds the files unchanged and parses nothing. */
static void shipped_sources_load_and_layer(void **state)
{
    struct cv_sources s;
    struct cv_reference r1, r2, base;
    struct cv_refresh_env env = {.config_dir = CONFIG, .now = 1775037600};
    char err[512] = "";
    size_t unusable = 9;

    (void)state;
    assert_int_equal(cv_sources_load(&s, CONFIG "/sources.json", err, sizeof(err)), CV_OK);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.items[1].format, CV_SOURCE_HTML);
    assert_string_equal(s.items[1].html.accreditation_body, "'NVAS'");
    refresh(&s, &env, &r1, &unusable);
    assert_int_equal(unusable, 0);
    for (size_t i = 0; i < s.n; i++) {
        assert_int_equal(s.items[i].status, CV_SOURCE_OK);
        assert_int_equal(s.items[i].parses, 1);
        assert_int_equal(s.items[i].fetched_at, 1775037600);
    }
    assert_non_null(cv_bodies_find_cb(&r1.bodies, "lumen-cert", NULL));
    assert_non_null(cv_bodies_find_cb(&r1.bodies, "northwind-assurance", NULL));
    assert_non_null(cv_bodies_find_ab(&r1.bodies, "UKAS")); /* the shipped ABs stay */
    assert_int_equal(cv_reference_load(&base, CONFIG, NULL, 0, err, sizeof(err)), CV_OK);
    assert_string_not_equal(base.version, r1.version);
    env.now += 3600;
    refresh(&s, &env, &r2, &unusable);
    for (size_t i = 0; i < s.n; i++) {
        assert_int_equal(s.items[i].status, CV_SOURCE_NOT_MODIFIED);
        assert_int_equal(s.items[i].parses, 1);
        assert_int_equal(s.items[i].fetched_at, 1775037600);
    }
    assert_string_equal(r1.version, r2.version);
    assert_int_equal(r2.bodies.n_cbs, r1.bodies.n_cbs);
    cv_reference_cleanup(&base);
    cv_reference_cleanup(&r1);
    cv_reference_cleanup(&r2);
    cv_sources_cleanup(&s);
}

/* An HTML directory over HTTP is mapped; the next refresh sends the validators, gets 304 and does
 * not parse again. */
static void conditional_get_does_not_reparse(void **state)
{
    struct cv_sources s;
    struct cv_reference r1, r2;
    struct mem_keeper k = {0};
    struct cv_source_keeper keeper = {&k, mem_get, mem_put};
    struct cv_http_client *http = client();
    struct cv_refresh_env env = {
        .config_dir = CONFIG, .http = http, .keeper = &keeper, .now = 1775037600};
    char list[2048], url[256];
    size_t unusable;

    (void)state;
    assert_int_equal(cv_fixture_reset_stats(&server), 0);
    snprintf(list, sizeof(list),
             "[{\"name\": \"nvas\", \"kind\": \"url\", \"url\": \"%s\", \"format\": \"html\", "
             "\"html\": %s}]",
             cv_fixture_url(&server, HTML, url, sizeof(url)), html_mapping);
    load(&s, list);
    refresh(&s, &env, &r1, &unusable);
    assert_int_equal(s.items[0].status, CV_SOURCE_OK);
    assert_int_equal(s.items[0].parses, 1);
    assert_int_equal(k.puts, 1);
    assert_non_null(k.copy.etag);
    const struct cv_cb *cb = cv_bodies_find_cb(&r1.bodies, "fjord-audit", NULL);
    assert_non_null(cb);
    assert_int_equal(cb->accreditations[0].status, CV_LS_SUSPENDED);

    env.now += 60;
    refresh(&s, &env, &r2, &unusable);
    assert_int_equal(s.items[0].status, CV_SOURCE_NOT_MODIFIED);
    assert_int_equal(s.items[0].parses, 1);
    assert_int_equal(s.items[0].fetched_at, 1775037600);
    assert_int_equal(cv_fixture_requests(&server, HTML), 2);
    assert_string_equal(r1.version, r2.version);
    assert_non_null(cv_bodies_find_cb(&r2.bodies, "fjord-audit", NULL));
    cv_reference_cleanup(&r1);
    cv_reference_cleanup(&r2);
    cv_sources_cleanup(&s);

    /* A new process (no memory): the kept copy's ETag is sent, 304 parses the kept copy once. */
    load(&s, list);
    refresh(&s, &env, &r1, &unusable);
    assert_int_equal(s.items[0].status, CV_SOURCE_NOT_MODIFIED);
    assert_int_equal(s.items[0].parses, 1);
    assert_int_equal(k.puts, 1);
    assert_non_null(cv_bodies_find_cb(&r1.bodies, "lumen-cert", NULL));
    cv_reference_cleanup(&r1);
    cv_sources_cleanup(&s);
    cv_source_copy_cleanup(&k.copy);
    cv_http_client_free(http);
}

/* A source that fails uses the last good copy (from memory, or from the keeper in a new
 * process) and says how old it is; with no copy at all it contributes nothing. */
static void failing_source_uses_last_good_copy(void **state)
{
    struct cv_sources s;
    struct cv_reference r;
    struct mem_keeper k = {0};
    struct cv_source_keeper keeper = {&k, mem_get, mem_put};
    struct cv_http_client *http = client();
    struct cv_refresh_env env = {
        .config_dir = CONFIG, .http = http, .keeper = &keeper, .now = 1775037600};
    struct cv_fixture_mode down = CV_FIXTURE_MODE_INIT, ok = CV_FIXTURE_MODE_INIT;
    char list[1024], url[256];
    size_t unusable;

    (void)state;
    snprintf(list, sizeof(list),
             "[{\"name\": \"sample\", \"kind\": \"url\", \"url\": \"%s\", \"format\": "
             "\"json\"}]",
             cv_fixture_url(&server, JSON, url, sizeof(url)));
    load(&s, list);
    refresh(&s, &env, &r, &unusable);
    assert_int_equal(s.items[0].status, CV_SOURCE_OK);
    cv_reference_cleanup(&r);

    down.path = ok.path = JSON;
    down.mode = "status";
    down.status = 503;
    down.times = -1;
    assert_int_equal(cv_fixture_set_mode(&server, &down), 0);
    env.now += 7200;
    refresh(&s, &env, &r, &unusable);
    assert_int_equal(unusable, 0);
    assert_int_equal(s.items[0].status, CV_SOURCE_STALE);
    assert_int_equal(s.items[0].fetched_at, 1775037600);
    assert_non_null(strstr(s.items[0].error, "503"));
    char line[1024];
    cv_source_describe(&s.items[0], env.now, line, sizeof(line));
    assert_string_equal(line, "source sample failed (HTTP status 503); using the copy fetched at "
                              "2026-04-01T10:00:00Z (2 h ago)");
    assert_non_null(cv_bodies_find_cb(&r.bodies, "northwind-assurance", NULL));
    cv_reference_cleanup(&r);

    /* A source that hangs: bounded by the client's timeout, then the same copy. */
    down.mode = "hang";
    down.delay_ms = 10000;
    assert_int_equal(cv_fixture_set_mode(&server, &down), 0);
    refresh(&s, &env, &r, &unusable);
    assert_int_equal(s.items[0].status, CV_SOURCE_STALE);
    assert_int_equal(s.items[0].fetched_at, 1775037600);
    assert_true(s.items[0].error[0] != '\0');
    cv_reference_cleanup(&r);
    cv_sources_cleanup(&s);

    /* New process, source still down: the keeper's copy, parsed once. */
    load(&s, list);
    refresh(&s, &env, &r, &unusable);
    assert_int_equal(s.items[0].status, CV_SOURCE_STALE);
    assert_int_equal(s.items[0].fetched_at, 1775037600);
    assert_int_equal(s.items[0].parses, 1);
    assert_non_null(cv_bodies_find_cb(&r.bodies, "northwind-assurance", NULL));
    cv_reference_cleanup(&r);
    cv_sources_cleanup(&s);

    /* No copy anywhere: failed, nothing merged, counted as unusable. */
    cv_source_copy_cleanup(&k.copy);
    k.have = false;
    load(&s, list);
    refresh(&s, &env, &r, &unusable);
    assert_int_equal(unusable, 1);
    assert_int_equal(s.items[0].status, CV_SOURCE_FAILED);
    assert_null(cv_bodies_find_cb(&r.bodies, "northwind-assurance", NULL));
    cv_reference_cleanup(&r);
    cv_sources_cleanup(&s);
    assert_int_equal(cv_fixture_set_mode(&server, &ok), 0);
    cv_http_client_free(http);
}

/* A file source that turns bad keeps serving its last good copy. */
static void bad_file_keeps_last_good_copy(void **state)
{
    struct cv_sources s;
    struct cv_reference r;
    struct cv_refresh_env env = {.config_dir = CONFIG, .now = 1775037600};
    char list[512], path[128];
    size_t unusable;
    FILE *f;

    (void)state;
    snprintf(path, sizeof(path), "%s/l.json", tmp);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"certification_bodies\": [{\"id\": \"c1\", \"name\": \"C One\", \"accreditations\": "
          "[{\"accreditation_body\": \"UKAS\", \"standards\": [\"ISO 9001\"]}]}]}",
          f);
    fclose(f);
    snprintf(list, sizeof(list),
             "[{\"name\": \"local\", \"kind\": \"file\", \"path\": \"l.json\", \"format\": "
             "\"json\"}]");
    load(&s, list);
    refresh(&s, &env, &r, &unusable);
    assert_int_equal(s.items[0].status, CV_SOURCE_OK);
    cv_reference_cleanup(&r);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"certification_bodies\": [{\"id\": \"c1\"}]}", f);
    fclose(f);
    refresh(&s, &env, &r, &unusable);
    assert_int_equal(s.items[0].status, CV_SOURCE_STALE);
    assert_non_null(strstr(s.items[0].error, "name"));
    assert_non_null(cv_bodies_find_cb(&r.bodies, "c1", NULL));
    cv_reference_cleanup(&r);
    cv_sources_cleanup(&s);
    unlink(path);
}

static const struct {
    const char *list;
    const char *in_message;
} bad_configs[] = {
    {"[{\"kind\": \"file\", \"path\": \"x\", \"format\": \"json\"}]", "sources[0].name"},
    {"[{\"name\": \"a b\", \"kind\": \"file\", \"path\": \"x\", \"format\": \"json\"}]",
     "may only hold"},
    {"[{\"name\": \"a\", \"kind\": \"ftp\", \"path\": \"x\", \"format\": \"json\"}]", "kind"},
    {"[{\"name\": \"a\", \"kind\": \"url\", \"path\": \"x\", \"format\": \"json\"}]", "(a).url"},
    {"[{\"name\": \"a\", \"kind\": \"file\", \"path\": \"x\", \"format\": \"csv\"}]", "format"},
    {"[{\"name\": \"a\", \"kind\": \"file\", \"path\": \"x\", \"format\": \"html\"}]",
     "needs a mapping"},
    {"[{\"name\": \"a\", \"kind\": \"file\", \"path\": \"x\", \"format\": \"html\", \"html\": "
     "{\"rows\": \"//tr\"}}]",
     "html.rows: not a mapping field"},
    {"[{\"name\": \"a\", \"kind\": \"file\", \"path\": \"x\", \"format\": \"json\", "
     "\"refresh_s\": -1}]",
     "refresh_s"},
    {"[{\"name\": \"a\", \"kind\": \"file\", \"path\": \"x\", \"format\": \"json\"}, "
     "{\"name\": \"a\", \"kind\": \"file\", \"path\": \"y\", \"format\": \"json\"}]",
     "used twice"},
};

static void bad_configs_are_refused(void **state)
{
    char path[128];
    int fails = 0;

    (void)state;
    snprintf(path, sizeof(path), "%s/sources.json", tmp);
    for (size_t i = 0; i < N_ELEMS(bad_configs); i++) {
        struct cv_sources s;
        char err[512] = "";
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f, "{\"sources\": %s}", bad_configs[i].list);
        fclose(f);
        int rc = cv_sources_load(&s, path, err, sizeof(err));
        EXPECT(fails, rc == CV_ERR_INVALID, "case %zu: rc %d (%s)\n", i, rc, err);
        EXPECT(fails, strstr(err, bad_configs[i].in_message) != NULL, "case %zu: '%s' lacks '%s'\n",
               i, err, bad_configs[i].in_message);
        EXPECT(fails, s.n == 0 && s.items == NULL, "case %zu: not empty\n", i);
        cv_sources_cleanup(&s);
    }
    assert_int_equal(fails, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shipped_sources_load_and_layer),
        cmocka_unit_test(conditional_get_does_not_reparse),
        cmocka_unit_test(failing_source_uses_last_good_copy),
        cmocka_unit_test(bad_file_keeps_last_good_copy),
        cmocka_unit_test(bad_configs_are_refused),
    };
    return cmocka_run_group_tests(tests, up, down);
}

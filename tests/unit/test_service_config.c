/* Unit tests of src/service/config.c: defaults, every key, the sample file, environment
 * overrides, --listen parsing, and errors that name the key. */
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
#include "certvet/service.h"

static const char *const env_names[] = {"CERTVET_LISTEN", "CERTVET_REDIS_URL", "CERTVET_DATA_DIR",
                                        "CERTVET_CONFIG_DIR"};

static int clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(env_names); i++)
        unsetenv(env_names[i]);
    return 0;
}

/* Writes 'text' to a new temporary file; its name goes into 'path' (caller unlinks). */
static void write_temp(const char *text, char path[64])
{
    strcpy(path, "/tmp/certvet-config-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* Loads 'text' over the defaults; returns the error code and leaves the message in 'err'. */
static int load_text(struct cv_service_config *c, const char *text, char *err, size_t cap)
{
    char path[64];
    write_temp(text, path);
    int rc = cv_service_config_load(c, path, err, cap);
    unlink(path);
    return rc;
}

static void defaults(void **state)
{
    (void)state;
    struct cv_service_config c;
    char err[256];
    cv_service_config_init(&c);
    assert_int_equal(cv_service_config_load(&c, NULL, err, sizeof(err)), CV_OK);
    assert_string_equal(c.listen_address, "127.0.0.1");
    assert_int_equal(c.port, 8080);
    assert_int_equal(c.threads, 2);
    assert_null(c.redis_url);
    assert_string_equal(c.redis_prefix, "certvet:");
    assert_int_equal(c.redis_timeout_ms, 2000);
    assert_string_equal(c.data_dir, "./var");
    assert_string_equal(c.redis_server, "redis-server");
    assert_string_equal(c.config_dir, CERTVET_DEFAULT_CONFIG_DIR);
    assert_int_equal(c.n_listings, 0);
    assert_int_equal(c.n_keys, 0);
    assert_int_equal(c.body_bytes, 16 * 1024 * 1024);
    assert_int_equal(c.batch_records, 10000);
    assert_int_equal(c.header_bytes, 16 * 1024);
    assert_int_equal(c.connection_timeout_s, 10);
    assert_int_equal(c.connections, 1000);
    assert_int_equal(c.cache_ttl_s, 3600);
    assert_int_equal(c.expiring_within, 90);
    assert_int_equal(c.surveillance_grace, 90);
    assert_null(c.ready_file);
    cv_service_config_cleanup(&c);
    cv_service_config_cleanup(&c); /* idempotent */
    cv_service_config_cleanup(NULL);
}

static const char every_key[] =
    "{\"_doc\": \"ignored\",\n"
    " \"listen\": {\"_doc\": \"x\", \"address\": \"::1\", \"port\": 0, \"threads\": 4},\n"
    " \"redis\": {\"url\": \"unix:///tmp/r.sock\", \"prefix\": \"cv2:\", \"timeout_ms\": 500,\n"
    "           \"server\": \"/usr/bin/redis-server\"},\n"
    " \"paths\": {\"data_dir\": \"/tmp/d\", \"config_dir\": \"/tmp/c\",\n"
    "           \"listings\": [\"a.json\", \"b.xml\"], \"ready_file\": \"/tmp/ready\"},\n"
    " \"auth\": {\"keys\": [\n"
    "   {\"name\": \"ci\", \"role\": \"read\", \"sha256\": "
    "\"ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789\"},\n"
    "   {\"name\": \"ops\", \"role\": \"admin\", \"sha256\": "
    "\"1111111111111111111111111111111111111111111111111111111111111111\", \"_doc\": \"x\"}]},\n"
    " \"limits\": {\"body_bytes\": 2048, \"batch_records\": 5, \"header_bytes\": 8192,\n"
    "            \"connection_timeout_s\": 3, \"connections\": 7},\n"
    " \"cache\": {\"ttl_s\": 60},\n"
    " \"verify\": {\"expiring_within\": 30, \"surveillance_grace\": 45},\n"
    " \"reference\": {\"refresh_s\": 600}}\n";

static void every_key_is_read(void **state)
{
    (void)state;
    struct cv_service_config c;
    char err[256] = "";
    cv_service_config_init(&c);
    assert_int_equal(load_text(&c, every_key, err, sizeof(err)), CV_OK);
    assert_string_equal(err, "");
    assert_string_equal(c.listen_address, "::1");
    assert_int_equal(c.port, 0);
    assert_int_equal(c.threads, 4);
    assert_string_equal(c.redis_url, "unix:///tmp/r.sock");
    assert_string_equal(c.redis_prefix, "cv2:");
    assert_int_equal(c.redis_timeout_ms, 500);
    assert_string_equal(c.redis_server, "/usr/bin/redis-server");
    assert_string_equal(c.data_dir, "/tmp/d");
    assert_string_equal(c.config_dir, "/tmp/c");
    assert_int_equal(c.n_listings, 2);
    assert_string_equal(c.listings[0], "a.json");
    assert_string_equal(c.listings[1], "b.xml");
    assert_string_equal(c.ready_file, "/tmp/ready");
    assert_int_equal(c.n_keys, 2);
    assert_string_equal(c.keys[0].name, "ci");
    assert_int_equal(c.keys[0].role, CV_ROLE_READ);
    /* hashes are kept in lower case, as cv_sha256_hex writes them */
    assert_string_equal(c.keys[0].sha256,
                        "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
    assert_string_equal(c.keys[1].name, "ops");
    assert_int_equal(c.keys[1].role, CV_ROLE_ADMIN);
    assert_int_equal(c.body_bytes, 2048);
    assert_int_equal(c.batch_records, 5);
    assert_int_equal(c.header_bytes, 8192);
    assert_int_equal(c.connection_timeout_s, 3);
    assert_int_equal(c.connections, 7);
    assert_int_equal(c.cache_ttl_s, 60);
    assert_int_equal(c.expiring_within, 30);
    assert_int_equal(c.surveillance_grace, 45);
    assert_int_equal(c.reference_refresh_s, 600);

    /* a second file replaces lists and can set a string back to null */
    assert_int_equal(load_text(&c,
                               "{\"paths\": {\"listings\": [\"c.json\"]}, \"redis\": {\"url\": "
                               "null}, \"auth\": {\"keys\": []}}",
                               err, sizeof(err)),
                     CV_OK);
    assert_int_equal(c.n_listings, 1);
    assert_string_equal(c.listings[0], "c.json");
    assert_null(c.redis_url);
    assert_int_equal(c.n_keys, 0);
    cv_service_config_cleanup(&c);
}

static void sample_file_loads(void **state)
{
    (void)state;
    struct cv_service_config c;
    char err[512] = "";
    cv_service_config_init(&c);
    int rc = cv_service_config_load(&c, CERTVET_SOURCE_DIR "/config/certvet.sample.json", err,
                                    sizeof(err));
    if (rc)
        print_error("%s\n", err);
    assert_int_equal(rc, CV_OK);
    /* the sample shows the defaults */
    assert_int_equal(c.port, 8080);
    assert_int_equal(c.body_bytes, 16 * 1024 * 1024);
    assert_int_equal(c.n_keys, 1);
    cv_service_config_cleanup(&c);
}

/* Refused files: the message must name the key (or the file position). */
static const struct {
    const char *json;
    const char *expect; /* substring of the error */
} refused[] = {
    {"[1]", "expected a JSON object"},
    {"{\"listen\": {\"port\": 8080,}}", ":1:"},
    {"{\"lisen\": {}}", "unknown key 'lisen'"},
    {"{\"limits\": {\"body_byte\": 1}}", "unknown key 'limits.body_byte'"},
    {"{\"limits\": 5}", "limits: expected an object"},
    {"{\"listen\": {\"port\": \"80\"}}", "listen.port: expected an integer from 0 to 65535"},
    {"{\"listen\": {\"port\": 70000}}", "listen.port: expected an integer"},
    {"{\"listen\": {\"threads\": 0}}", "listen.threads"},
    {"{\"listen\": {\"address\": \"\"}}", "listen.address: expected a non-empty string"},
    {"{\"redis\": {\"url\": 5}}", "redis.url: expected a string or null"},
    {"{\"limits\": {\"body_bytes\": 10}}", "limits.body_bytes: expected an integer from 1024"},
    {"{\"limits\": {\"batch_records\": 0}}", "limits.batch_records"},
    {"{\"limits\": {\"header_bytes\": 100}}", "limits.header_bytes"},
    {"{\"limits\": {\"connection_timeout_s\": 1.5}}", "limits.connection_timeout_s"},
    {"{\"limits\": {\"connections\": -1}}", "limits.connections"},
    {"{\"cache\": {\"ttl_s\": 0}}", "cache.ttl_s"},
    {"{\"verify\": {\"expiring_within\": true}}", "verify.expiring_within"},
    {"{\"verify\": {\"surveillance_grace\": -1}}", "verify.surveillance_grace"},
    {"{\"reference\": {\"refresh_s\": -5}}", "reference.refresh_s"},
    {"{\"paths\": {\"listings\": \"a.json\"}}", "paths.listings: expected an array"},
    {"{\"paths\": {\"listings\": [\"a\", 3]}}", "paths.listings[1]"},
    {"{\"auth\": {\"keys\": {}}}", "auth.keys: expected an array"},
    {"{\"auth\": {\"keys\": [5]}}", "auth.keys[0]: expected an object"},
    {"{\"auth\": {\"keys\": [{\"name\": \"a\", \"role\": \"root\", \"sha256\": "
     "\"0000000000000000000000000000000000000000000000000000000000000000\"}]}}",
     "auth.keys[0].role"},
    {"{\"auth\": {\"keys\": [{\"name\": \"a\", \"role\": \"none\", \"sha256\": "
     "\"0000000000000000000000000000000000000000000000000000000000000000\"}]}}",
     "auth.keys[0].role"},
    {"{\"auth\": {\"keys\": [{\"name\": \"a\", \"role\": \"read\", \"sha256\": \"abc\"}]}}",
     "auth.keys[0].sha256"},
    {"{\"auth\": {\"keys\": [{\"name\": \"a\", \"role\": \"read\", \"sha256\": "
     "\"000000000000000000000000000000000000000000000000000000000000000g\"}]}}",
     "auth.keys[0].sha256"},
    {"{\"auth\": {\"keys\": [{\"role\": \"read\", \"sha256\": "
     "\"0000000000000000000000000000000000000000000000000000000000000000\"}]}}",
     "auth.keys[0].name"},
    {"{\"auth\": {\"keys\": [{\"name\": \"a\", \"role\": \"read\", \"key\": \"x\", \"sha256\": "
     "\"0000000000000000000000000000000000000000000000000000000000000000\"}]}}",
     "auth.keys[0].key: unknown key"},
    {"{\"auth\": {\"keys\": [{\"name\": \"a\", \"role\": \"read\", \"sha256\": "
     "\"0000000000000000000000000000000000000000000000000000000000000000\"}, {\"name\": \"b\", "
     "\"role\": \"admin\", \"sha256\": "
     "\"0000000000000000000000000000000000000000000000000000000000000000\"}]}}",
     "auth.keys[1].sha256: the same key as auth.keys[0]"},
    {"{\"auth\": {\"keys\": [{\"name\": \"a\", \"role\": \"read\", \"sha256\": "
     "\"0000000000000000000000000000000000000000000000000000000000000000\"}, {\"name\": \"a\", "
     "\"role\": \"admin\", \"sha256\": "
     "\"1111111111111111111111111111111111111111111111111111111111111111\"}]}}",
     "auth.keys[1].name"},
    {"{\"listen\": {\"port\": 1, \"port\": 2}}", "duplicate"},
};

static void errors_name_the_key(void **state)
{
    (void)state;
    int fails = 0;
    for (size_t i = 0; i < N_ELEMS(refused); i++) {
        struct cv_service_config c;
        char err[512] = "";
        cv_service_config_init(&c);
        int rc = load_text(&c, refused[i].json, err, sizeof(err));
        EXPECT(fails, rc != CV_OK, "case %zu: accepted %s\n", i, refused[i].json);
        EXPECT(fails, strstr(err, refused[i].expect) != NULL, "case %zu: '%s' lacks '%s'\n", i, err,
               refused[i].expect);
        cv_service_config_cleanup(&c);
    }
    assert_int_equal(fails, 0);
}

static void missing_file(void **state)
{
    (void)state;
    struct cv_service_config c;
    char err[512] = "";
    cv_service_config_init(&c);
    assert_int_equal(cv_service_config_load(&c, "/nonexistent/certvet.json", err, sizeof(err)),
                     CV_ERR_IO);
    assert_non_null(strstr(err, "/nonexistent/certvet.json"));
    cv_service_config_cleanup(&c);
}

/* HOST:PORT as --listen and CERTVET_LISTEN give it. */
static const struct {
    const char *in;
    int rc;
    const char *address; /* expected, when rc == CV_OK */
    int port;
} listens[] = {
    {"127.0.0.1:9000", CV_OK, "127.0.0.1", 9000},
    {"0.0.0.0:0", CV_OK, "0.0.0.0", 0},
    {"localhost:65535", CV_OK, "localhost", 65535},
    {"[::1]:8081", CV_OK, "::1", 8081},
    {":7000", CV_OK, "127.0.0.1", 7000}, /* keeps the address */
    {"127.0.0.1", CV_ERR_USAGE, NULL, 0},
    {"127.0.0.1:", CV_ERR_USAGE, NULL, 0},
    {"127.0.0.1:65536", CV_ERR_USAGE, NULL, 0},
    {"127.0.0.1:-1", CV_ERR_USAGE, NULL, 0},
    {"127.0.0.1:80x", CV_ERR_USAGE, NULL, 0},
    {"::1:80", CV_ERR_USAGE, NULL, 0},
    {"[::1]80", CV_ERR_USAGE, NULL, 0},
    {"[::1", CV_ERR_USAGE, NULL, 0},
};

static void listen_parsing(void **state)
{
    (void)state;
    int fails = 0;
    for (size_t i = 0; i < N_ELEMS(listens); i++) {
        struct cv_service_config c;
        char err[256] = "";
        cv_service_config_init(&c);
        int rc = cv_service_config_set_listen(&c, listens[i].in, err, sizeof(err));
        EXPECT(fails, rc == listens[i].rc, "case %zu (%s): rc %d\n", i, listens[i].in, rc);
        if (rc == CV_OK && listens[i].rc == CV_OK) {
            EXPECT(fails, strcmp(c.listen_address, listens[i].address) == 0,
                   "case %zu: address %s\n", i, c.listen_address);
            EXPECT(fails, c.port == listens[i].port, "case %zu: port %d\n", i, c.port);
        }
        if (rc != CV_OK)
            EXPECT(fails, strstr(err, listens[i].in) != NULL, "case %zu: '%s'\n", i, err);
        cv_service_config_cleanup(&c);
    }
    assert_int_equal(fails, 0);
}

/* Environment overrides win over the file. */
static const struct {
    const char *name, *value;
    int rc;
    const char *expect; /* the field's value, or a substring of the error */
} envs[] = {
    {"CERTVET_LISTEN", "0.0.0.0:9999", CV_OK, "0.0.0.0"},
    {"CERTVET_LISTEN", "nonsense", CV_ERR_USAGE, "CERTVET_LISTEN"},
    {"CERTVET_REDIS_URL", "redis://127.0.0.1:6390/2", CV_OK, "redis://127.0.0.1:6390/2"},
    {"CERTVET_DATA_DIR", "/srv/certvet", CV_OK, "/srv/certvet"},
    {"CERTVET_DATA_DIR", "", CV_OK, "/from-file"}, /* empty: not set */
};

static void environment_overrides(void **state)
{
    (void)state;
    int fails = 0;
    for (size_t i = 0; i < N_ELEMS(envs); i++) {
        struct cv_service_config c;
        char err[256] = "";
        clear_env(NULL);
        setenv(envs[i].name, envs[i].value, 1);
        cv_service_config_init(&c);
        int rc = load_text(&c,
                           "{\"listen\": {\"address\": \"10.0.0.1\", \"port\": 1}, \"redis\": "
                           "{\"url\": \"redis://file\"}, \"paths\": {\"data_dir\": "
                           "\"/from-file\"}}",
                           err, sizeof(err));
        EXPECT(fails, rc == envs[i].rc, "case %zu: rc %d (%s)\n", i, rc, err);
        const char *got = rc                                               ? err
                          : strcmp(envs[i].name, "CERTVET_LISTEN") == 0    ? c.listen_address
                          : strcmp(envs[i].name, "CERTVET_REDIS_URL") == 0 ? c.redis_url
                                                                           : c.data_dir;
        EXPECT(fails, got && strstr(got, envs[i].expect) != NULL, "case %zu: got '%s'\n", i,
               got ? got : "(null)");
        if (rc == CV_OK && strcmp(envs[i].name, "CERTVET_LISTEN") == 0)
            EXPECT(fails, c.port == 9999, "case %zu: port %d\n", i, c.port);
        cv_service_config_cleanup(&c);
    }
    clear_env(NULL);
    /* CERTVET_CONFIG_DIR is the default of paths.config_dir (as for the other commands) */
    setenv("CERTVET_CONFIG_DIR", "/etc/certvet", 1);
    struct cv_service_config c;
    cv_service_config_init(&c);
    assert_string_equal(c.config_dir, "/etc/certvet");
    cv_service_config_cleanup(&c);
    clear_env(NULL);
    assert_int_equal(fails, 0);
}

static void listings_are_added(void **state)
{
    (void)state;
    struct cv_service_config c;
    cv_service_config_init(&c);
    assert_int_equal(cv_service_config_add_listing(&c, "one.json"), CV_OK);
    assert_int_equal(cv_service_config_add_listing(&c, "two.xml"), CV_OK);
    assert_int_equal(c.n_listings, 2);
    assert_string_equal(c.listings[1], "two.xml");
    cv_service_config_cleanup(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(defaults, clear_env),
        cmocka_unit_test_setup(every_key_is_read, clear_env),
        cmocka_unit_test_setup(sample_file_loads, clear_env),
        cmocka_unit_test_setup(errors_name_the_key, clear_env),
        cmocka_unit_test_setup(missing_file, clear_env),
        cmocka_unit_test_setup(listen_parsing, clear_env),
        cmocka_unit_test_setup(environment_overrides, clear_env),
        cmocka_unit_test_setup(listings_are_added, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for src/store/store.c and src/store/redis.c against real redis-servers started by
 * tests/redis_harness.c (no mocks): URL parsing, records, supplier sets, indexes, cursors, cache,
 * streams, stats, transactions under concurrent writers, limits, AUTH/SELECT, and recovery from a
 * killed or hung server. Key names checked here are the layout documented in docs/STORAGE.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "test_util.h"
#include "redis_harness.h"

#include "certvet/date.h"
#include "certvet/error.h"
#include "certvet/store.h"
#include "redis.h" /* the adapter, for URL parsing and raw checks on the server */

#define P "certvet:{cv}:" /* the default prefix with the dataset's hash tag */

static struct cv_test_redis server;

struct fixture {
    struct cv_store *s;
    struct cv_redis *raw; /* a second connection for checking the keys themselves */
};

/* ---- helpers ----------------------------------------------------------------------------- */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Runs a NULL-terminated command on the raw connection; returns the reply (caller frees). */
static struct cv_reply *raw(struct cv_redis *r, const char *a0, ...)
{
    const char *argv[16] = {a0};
    struct cv_reply *rep = NULL;
    va_list ap;
    int argc = 1;
    va_start(ap, a0);
    while (argc < 16 && (argv[argc] = va_arg(ap, const char *)) != NULL)
        argc++;
    va_end(ap);
    assert_int_equal(cv_redis_command(r, &rep, argc, argv, NULL), CV_OK);
    return rep;
}

/* The integer reply of a NULL-terminated command (ZCARD, SCARD, EXISTS, TTL...). */
static long long raw_int(struct cv_redis *r, const char *a0, ...)
{
    const char *argv[16] = {a0};
    struct cv_reply *rep = NULL;
    long long v;
    va_list ap;
    int argc = 1;
    va_start(ap, a0);
    while (argc < 16 && (argv[argc] = va_arg(ap, const char *)) != NULL)
        argc++;
    va_end(ap);
    assert_int_equal(cv_redis_command(r, &rep, argc, argv, NULL), CV_OK);
    assert_int_equal(cv_reply_type(rep), CV_REPLY_INTEGER);
    v = cv_reply_integer(rep);
    cv_reply_free(rep);
    return v;
}
#define RAW_INT(r, ...) raw_int(r, __VA_ARGS__, (const char *)NULL)

/* The string reply of a command, malloc'd, or NULL for nil. */
static char *raw_str(struct cv_redis *r, const char *a0, const char *a1, const char *a2)
{
    struct cv_reply *rep = raw(r, a0, a1, a2, NULL);
    char *s = cv_reply_strdup(rep);
    cv_reply_free(rep);
    return s;
}

static bool raw_nil(struct cv_redis *r, const char *a0, const char *a1, const char *a2)
{
    struct cv_reply *rep = raw(r, a0, a1, a2, NULL);
    bool nil = cv_reply_type(rep) == CV_REPLY_NIL;
    cv_reply_free(rep);
    return nil;
}

static struct cv_store *open_store(const char *url, int timeout_ms)
{
    struct cv_store_config cfg = {url, NULL, timeout_ms};
    struct cv_store *s = NULL;
    char err[256];
    int rc = cv_store_open(&cfg, &s, err, sizeof(err));
    if (rc)
        print_error("cv_store_open(%s): %s\n", url, err);
    assert_int_equal(rc, CV_OK);
    return s;
}

static struct cv_redis *open_raw(const char *url)
{
    struct cv_redis *r = NULL;
    char err[256];
    int rc = cv_redis_new(url, 5000, &r, err, sizeof(err));
    if (rc)
        print_error("cv_redis_new(%s): %s\n", url, err);
    assert_int_equal(rc, CV_OK);
    return r;
}

static struct cv_stored_cert cert(const char *id, const char *json, const char *supplier,
                                  cv_date expiry, cv_date surveillance)
{
    struct cv_stored_cert c = {id, json, supplier, expiry, surveillance};
    return c;
}

static void put1(struct cv_store *s, struct cv_stored_cert c)
{
    int rc = cv_store_put_certificates(s, &c, 1, "tester");
    if (rc)
        print_error("put %s: %s\n", c.id, cv_store_errstr(s));
    assert_int_equal(rc, CV_OK);
}

static void assert_ids(char **ids, size_t n, const char *const *want, size_t want_n)
{
    assert_int_equal(n, want_n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(ids[i], want[i]);
}

static int server_up(void **state)
{
    (void)state;
    return cv_test_redis_start(&server);
}

static int server_down(void **state)
{
    (void)state;
    cv_test_redis_stop(&server);
    return 0;
}

static int fixture_up(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->raw = open_raw(server.url);
    cv_reply_free(raw(f->raw, "FLUSHALL", NULL));
    f->s = open_store(server.url, 2000);
    *state = f;
    return 0;
}

static int fixture_down(void **state)
{
    struct fixture *f = *state;
    cv_store_close(f->s);
    cv_redis_free(f->raw);
    free(f);
    return 0;
}

/* ---- URLs -------------------------------------------------------------------------------- */

struct url_case {
    const char *url;
    int rc;
    bool unix_socket;
    const char *host_or_path;
    int port, db;
    const char *user, *password;
};

static const struct url_case url_cases[] = {
    {"redis://localhost", CV_OK, false, "localhost", 6379, 0, "", ""},
    {"redis://127.0.0.1:6380/2", CV_OK, false, "127.0.0.1", 6380, 2, "", ""},
    {"redis://:s3cret@cache.example.com:7000/15", CV_OK, false, "cache.example.com", 7000, 15, "",
     "s3cret"},
    {"redis://alice:p%40ss%2Fw@host/", CV_OK, false, "host", 6379, 0, "alice", "p@ss/w"},
    {"redis://secret@host", CV_OK, false, "host", 6379, 0, "", "secret"}, /* as redis-cli */
    {"redis://u:p@w@host", CV_OK, false, "host", 6379, 0, "u", "p@w"},    /* last '@' */
    {"redis://[::1]:6390/1", CV_OK, false, "::1", 6390, 1, "", ""},
    {"REDIS://My-Host_1.local", CV_OK, false, "My-Host_1.local", 6379, 0, "", ""},
    {"unix:///var/run/redis.sock", CV_OK, true, "/var/run/redis.sock", 6379, 0, "", ""},
    {"unix:///tmp/r.sock?db=3&password=pw%26x", CV_OK, true, "/tmp/r.sock", 6379, 3, "", "pw&x"},
    {"unix:///tmp/r.sock?user=bob&password=pw", CV_OK, true, "/tmp/r.sock", 6379, 0, "bob", "pw"},
    {"unix:///tmp/r.sock?", CV_OK, true, "/tmp/r.sock", 6379, 0, "", ""},
    {"", CV_ERR_USAGE},
    {"http://host", CV_ERR_USAGE},
    {"redis:/host", CV_ERR_USAGE},
    {"redis://", CV_ERR_USAGE},
    {"redis://:pw@", CV_ERR_USAGE},
    {"redis://host:0", CV_ERR_USAGE},
    {"redis://host:65536", CV_ERR_USAGE},
    {"redis://host:", CV_ERR_USAGE},
    {"redis://host:12ab", CV_ERR_USAGE},
    {"redis://host/abc", CV_ERR_USAGE},
    {"redis://host/-1", CV_ERR_USAGE},
    {"redis://host/99999999", CV_ERR_USAGE},
    {"redis://host?db=1", CV_ERR_USAGE},
    {"redis://ho st", CV_ERR_USAGE},
    {"redis://[::1", CV_ERR_USAGE},
    {"redis://[::1]x", CV_ERR_USAGE},
    {"redis://:%zz@host", CV_ERR_USAGE},
    {"redis://:a%00b@host", CV_ERR_USAGE},
    {"redis://:a%4@host", CV_ERR_USAGE},
    {"unix://relative.sock", CV_ERR_USAGE},
    {"unix:///tmp/x.sock?foo=1", CV_ERR_USAGE},
    {"unix:///tmp/x.sock?db=x", CV_ERR_USAGE},
    {"unix:///tmp/x.sock?db", CV_ERR_USAGE},
    {"unix:///tmp/x.sock#frag", CV_ERR_USAGE},
    {"unix:///tmp/"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaa.sock",
     CV_ERR_USAGE},
    {"rediss://host", CV_ERR_UNSUPPORTED},
};

static void test_url_table(void **state)
{
    (void)state;
    int fails = 0;
    for (size_t i = 0; i < N_ELEMS(url_cases); i++) {
        const struct url_case *t = &url_cases[i];
        struct cv_redis_url u;
        char err[256];
        int rc = cv_redis_parse_url(t->url, &u, err, sizeof(err));
        EXPECT(fails, rc == t->rc, "%s: rc %d, want %d (%s)\n", t->url, rc, t->rc, err);
        if (rc != CV_OK || t->rc != CV_OK) {
            EXPECT(fails, rc == CV_OK || err[0] != '\0', "%s: no message\n", t->url);
            continue;
        }
        EXPECT(fails, u.unix_socket == t->unix_socket, "%s: unix %d\n", t->url, u.unix_socket);
        EXPECT(fails, !strcmp(t->unix_socket ? u.path : u.host, t->host_or_path),
               "%s: host/path '%s'\n", t->url, t->unix_socket ? u.path : u.host);
        EXPECT(fails, t->unix_socket || u.port == t->port, "%s: port %d\n", t->url, u.port);
        EXPECT(fails, u.db == t->db, "%s: db %d\n", t->url, u.db);
        EXPECT(fails, !strcmp(u.user, t->user), "%s: user '%s'\n", t->url, u.user);
        EXPECT(fails, !strcmp(u.password, t->password), "%s: password '%s'\n", t->url, u.password);
    }
    assert_int_equal(fails, 0);
}

/* Error messages name what is wrong, never the password. */
static void test_url_errors_hide_password(void **state)
{
    (void)state;
    struct cv_redis_url u;
    char err[256];
    assert_int_equal(cv_redis_parse_url("redis://:hunter2@ho st:1", &u, err, sizeof(err)),
                     CV_ERR_USAGE);
    assert_null(strstr(err, "hunter2"));
    assert_non_null(strstr(err, "host"));
}

/* redis-sentinel:// URLs: the Sentinels (default port 26379), the master name (default
 * "mymaster"), the primary's credentials and database, ?wait=N. */
static void test_url_sentinel(void **state)
{
    (void)state;
    static const struct {
        const char *url;
        int rc, n, port1, db, wait;
        const char *host0, *master, *password;
    } cases[] = {
        {"redis-sentinel://s1", CV_OK, 1, 0, 0, 0, "s1", "mymaster", ""},
        {"redis-sentinel://:pw@s1:5000,s2/cv-main/3?wait=1", CV_OK, 2, 26379, 3, 1, "s1", "cv-main",
         "pw"},
        {"redis-sentinel://[::1]:26380/m", CV_OK, 1, 0, 0, 0, "::1", "m", ""},
        {"redis-sentinel://", CV_ERR_USAGE, 0, 0, 0, 0, NULL, NULL, NULL},
        {"redis-sentinel://s1,,s2", CV_ERR_USAGE, 0, 0, 0, 0, NULL, NULL, NULL},
        {"redis-sentinel://s1/m?wait=17", CV_ERR_USAGE, 0, 0, 0, 0, NULL, NULL, NULL},
        {"redis-sentinel://s1/m?db=2", CV_ERR_USAGE, 0, 0, 0, 0, NULL, NULL, NULL},
        {"redis-sentinel://s1/m/x", CV_ERR_USAGE, 0, 0, 0, 0, NULL, NULL, NULL},
        {"redis-sentinel://a,b,c,d,e,f,g,h,i", CV_ERR_USAGE, 0, 0, 0, 0, NULL, NULL, NULL},
    };
    int fails = 0;
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        struct cv_redis_url u;
        char err[256];
        int rc = cv_redis_parse_url(cases[i].url, &u, err, sizeof(err));
        EXPECT(fails, rc == cases[i].rc, "%s: rc %d (%s)\n", cases[i].url, rc, err);
        if (rc || cases[i].rc)
            continue;
        EXPECT(fails, u.sentinel && u.n_sentinels == cases[i].n, "%s: %d sentinels\n", cases[i].url,
               u.n_sentinels);
        EXPECT(fails, !strcmp(u.sentinel_host[0], cases[i].host0), "%s: host '%s'\n", cases[i].url,
               u.sentinel_host[0]);
        EXPECT(fails, cases[i].n < 2 || u.sentinel_port[1] == cases[i].port1, "%s: port %d\n",
               cases[i].url, u.sentinel_port[1]);
        EXPECT(fails, !strcmp(u.master, cases[i].master), "%s: master '%s'\n", cases[i].url,
               u.master);
        EXPECT(fails, !strcmp(u.password, cases[i].password), "%s: password\n", cases[i].url);
        EXPECT(fails, u.db == cases[i].db && u.wait_replicas == cases[i].wait,
               "%s: db %d wait %d\n", cases[i].url, u.db, u.wait_replicas);
    }
    struct cv_redis_url u;
    char err[256];
    assert_int_equal(cv_redis_parse_url("redis-sentinel://s1:26379/m", &u, err, sizeof(err)),
                     CV_OK);
    assert_int_equal(u.sentinel_port[0], 26379);
    assert_int_equal(fails, 0);
}

/* A TCP address where nothing listens fails at once with CV_ERR_UNAVAILABLE. */
static void test_open_refused(void **state)
{
    (void)state;
    struct cv_store_config cfg = {"redis://127.0.0.1:1", NULL, 1000};
    struct cv_store *s = (struct cv_store *)&cfg;
    char err[256];
    long long t0 = now_ms();
    assert_int_equal(cv_store_open(&cfg, &s, err, sizeof(err)), CV_ERR_UNAVAILABLE);
    assert_null(s);
    assert_true(now_ms() - t0 < 10000); /* bounded (generous: loaded CI machines) */
    assert_non_null(strstr(err, "127.0.0.1:1"));
    cfg.url = "redis://host:99999";
    assert_int_equal(cv_store_open(&cfg, &s, err, sizeof(err)), CV_ERR_USAGE);
}

/* ---- certificates ------------------------------------------------------------------------ */

static void test_put_batch_and_read_back(void **state)
{
    struct fixture *f = *state;
    struct cv_stored_cert batch[] = {
        cert("c_1", "{\"n\":1}", "S1", 20000, 19800),
        cert("c_2", "{\"n\":2}", "S1", 20100, CV_DATE_NONE),
        cert("c_3", "{\"n\":\"three \\\"quoted\\\"\"}", NULL, CV_DATE_NONE, CV_DATE_NONE),
    };
    const char *ids[] = {"c_1", "missing", "c_3"};
    const char *s1[] = {"c_1", "c_2"};
    char *json = NULL, **jsons = NULL, **members = NULL;
    struct cv_stream_entry *e = NULL;
    size_t n = 0;

    assert_int_equal(cv_store_put_certificates(f->s, batch, 3, "alice"), CV_OK);
    assert_string_equal(cv_store_errstr(f->s), "");
    assert_int_equal(cv_store_get_certificate(f->s, "c_2", &json), CV_OK);
    assert_string_equal(json, "{\"n\":2}");
    free(json);
    assert_int_equal(cv_store_get_certificate(f->s, "nope", &json), CV_ERR_NOT_FOUND);
    assert_null(json);

    assert_int_equal(cv_store_get_certificates(f->s, ids, 3, &jsons), CV_OK);
    assert_string_equal(jsons[0], "{\"n\":1}");
    assert_null(jsons[1]);
    assert_string_equal(jsons[2], batch[2].json);
    cv_store_free_strings(jsons, 3);
    assert_int_equal(cv_store_get_certificates(f->s, ids, 0, &jsons), CV_OK);
    assert_null(jsons);

    assert_int_equal(cv_store_supplier_certificates(f->s, "S1", &members, &n), CV_OK);
    assert_ids(members, n, s1, 2);
    cv_store_free_strings(members, n);
    assert_int_equal(cv_store_supplier_certificates(f->s, "nobody", &members, &n), CV_OK);
    assert_int_equal(n, 0);
    assert_null(members);

    /* The key layout of docs/STORAGE.md. */
    assert_int_equal(RAW_INT(f->raw, "EXISTS", P "cert:c_1"), 1);
    assert_int_equal(RAW_INT(f->raw, "ZCARD", P "index:expiry"), 2);
    assert_int_equal(RAW_INT(f->raw, "ZCARD", P "index:surveillance"), 1);
    assert_int_equal(RAW_INT(f->raw, "SCARD", P "supplier-certs:S1"), 2);
    assert_int_equal(RAW_INT(f->raw, "HLEN", P "cert-supplier"), 2);
    char *score = raw_str(f->raw, "ZSCORE", P "index:expiry", "c_2");
    assert_string_equal(score, "20100");
    free(score);

    /* One change entry per record, with who, what and when. */
    assert_int_equal(cv_store_stream_read(f->s, "changes", NULL, 10, &e, &n), CV_OK);
    assert_int_equal(n, 3);
    const char *names[] = {"at", "actor", "action", "kind", "id"};
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(e[2].names[i], names[i]);
    assert_int_equal(strlen(e[2].values[0]), strlen("2025-03-01T12:00:00.000Z"));
    assert_int_equal(e[2].values[0][10], 'T');
    assert_string_equal(e[2].values[1], "alice");
    assert_string_equal(e[2].values[2], "upsert");
    assert_string_equal(e[2].values[3], "certificate");
    assert_string_equal(e[2].values[4], "c_3");
    cv_store_free_stream_entries(e, n);
}

static void test_upsert_is_idempotent(void **state)
{
    struct fixture *f = *state;
    char *json = NULL;

    put1(f->s, cert("c_1", "{\"v\":1}", "S1", 20000, 20010));
    long long keys = RAW_INT(f->raw, "DBSIZE");
    put1(f->s, cert("c_1", "{\"v\":2}", "S1", 20000, 20010));
    put1(f->s, cert("c_1", "{\"v\":3}", "S1", 20000, 20010));
    assert_int_equal(cv_store_get_certificate(f->s, "c_1", &json), CV_OK);
    assert_string_equal(json, "{\"v\":3}");
    free(json);
    assert_int_equal(RAW_INT(f->raw, "DBSIZE"), keys);
    assert_int_equal(RAW_INT(f->raw, "ZCARD", P "index:expiry"), 1);
    assert_int_equal(RAW_INT(f->raw, "ZCARD", P "index:surveillance"), 1);
    assert_int_equal(RAW_INT(f->raw, "SCARD", P "supplier-certs:S1"), 1);
    assert_int_equal(RAW_INT(f->raw, "XLEN", P "stream:changes"), 3);

    /* The same id twice in one batch is applied in order: the second wins, one entry each. */
    struct cv_stored_cert twice[] = {cert("c_2", "{\"v\":\"a\"}", "S1", 20000, CV_DATE_NONE),
                                     cert("c_2", "{\"v\":\"b\"}", "S2", 20050, CV_DATE_NONE)};
    assert_int_equal(cv_store_put_certificates(f->s, twice, 2, "t"), CV_OK);
    assert_int_equal(cv_store_get_certificate(f->s, "c_2", &json), CV_OK);
    assert_string_equal(json, "{\"v\":\"b\"}");
    free(json);
    assert_int_equal(RAW_INT(f->raw, "SISMEMBER", P "supplier-certs:S1", "c_2"), 0);
    assert_int_equal(RAW_INT(f->raw, "SISMEMBER", P "supplier-certs:S2", "c_2"), 1);
    char *link = raw_str(f->raw, "HGET", P "cert-supplier", "c_2");
    assert_string_equal(link, "S2");
    free(link);
    char *score = raw_str(f->raw, "ZSCORE", P "index:expiry", "c_2");
    assert_string_equal(score, "20050");
    free(score);
}

static void test_supplier_change_moves_membership(void **state)
{
    struct fixture *f = *state;
    char *link;

    put1(f->s, cert("c_1", "{}", "S1", 20000, CV_DATE_NONE));
    put1(f->s, cert("c_2", "{}", "S1", 20000, CV_DATE_NONE));
    put1(f->s, cert("c_1", "{}", "S2", 20000, CV_DATE_NONE));
    assert_int_equal(RAW_INT(f->raw, "SISMEMBER", P "supplier-certs:S1", "c_1"), 0);
    assert_int_equal(RAW_INT(f->raw, "SISMEMBER", P "supplier-certs:S1", "c_2"), 1);
    assert_int_equal(RAW_INT(f->raw, "SISMEMBER", P "supplier-certs:S2", "c_1"), 1);
    link = raw_str(f->raw, "HGET", P "cert-supplier", "c_1");
    assert_string_equal(link, "S2");
    free(link);

    /* No supplier (NULL or "") unlinks. */
    put1(f->s, cert("c_1", "{}", "", 20000, CV_DATE_NONE));
    assert_int_equal(RAW_INT(f->raw, "EXISTS", P "supplier-certs:S2"), 0);
    assert_true(raw_nil(f->raw, "HGET", P "cert-supplier", "c_1"));
    put1(f->s, cert("c_2", "{}", NULL, 20000, CV_DATE_NONE));
    assert_int_equal(RAW_INT(f->raw, "EXISTS", P "supplier-certs:S1"), 0);
    assert_int_equal(RAW_INT(f->raw, "HLEN", P "cert-supplier"), 0);
}

static void test_delete_removes_everything(void **state)
{
    struct fixture *f = *state;
    char *json = NULL;
    struct cv_stream_entry *e = NULL;
    size_t n = 0;

    put1(f->s, cert("c_1", "{}", "S1", 20000, 19900));
    put1(f->s, cert("c_2", "{}", "S1", 20001, 19901));
    assert_int_equal(cv_store_delete_certificate(f->s, "c_1", "bob"), CV_OK);
    assert_int_equal(cv_store_get_certificate(f->s, "c_1", &json), CV_ERR_NOT_FOUND);
    assert_true(raw_nil(f->raw, "ZSCORE", P "index:expiry", "c_1"));
    assert_true(raw_nil(f->raw, "ZSCORE", P "index:surveillance", "c_1"));
    assert_true(raw_nil(f->raw, "HGET", P "cert-supplier", "c_1"));
    assert_int_equal(RAW_INT(f->raw, "SISMEMBER", P "supplier-certs:S1", "c_1"), 0);
    assert_int_equal(RAW_INT(f->raw, "SISMEMBER", P "supplier-certs:S1", "c_2"), 1);
    assert_int_equal(RAW_INT(f->raw, "ZCARD", P "index:expiry"), 1);
    assert_int_equal(cv_store_delete_certificate(f->s, "c_1", "bob"), CV_ERR_NOT_FOUND);

    /* A record without a supplier deletes as well. */
    put1(f->s, cert("c_3", "{}", NULL, CV_DATE_NONE, CV_DATE_NONE));
    assert_int_equal(cv_store_delete_certificate(f->s, "c_3", NULL), CV_OK);
    assert_int_equal(RAW_INT(f->raw, "EXISTS", P "cert:c_3"), 0);

    assert_int_equal(cv_store_stream_read(f->s, "changes", NULL, 100, &e, &n), CV_OK);
    assert_int_equal(n, 5); /* three upserts, two deletes (the miss is not logged) */
    assert_string_equal(e[2].values[1], "bob");
    assert_string_equal(e[2].values[2], "delete");
    assert_string_equal(e[2].values[4], "c_1");
    assert_string_equal(e[4].values[1], "unknown");
    cv_store_free_stream_entries(e, n);
}

static void test_no_date_removes_index_entry(void **state)
{
    struct fixture *f = *state;
    put1(f->s, cert("c_1", "{}", NULL, 20000, 19000));
    put1(f->s, cert("c_1", "{}", NULL, CV_DATE_NONE, 19000));
    assert_true(raw_nil(f->raw, "ZSCORE", P "index:expiry", "c_1"));
    assert_false(raw_nil(f->raw, "ZSCORE", P "index:surveillance", "c_1"));
    put1(f->s, cert("c_1", "{}", NULL, 20000, CV_DATE_NONE));
    assert_false(raw_nil(f->raw, "ZSCORE", P "index:expiry", "c_1"));
    assert_true(raw_nil(f->raw, "ZSCORE", P "index:surveillance", "c_1"));
}

static void test_due(void **state)
{
    struct fixture *f = *state;
    cv_date d0 = cv_date_from_ymd(2026, 1, 1), never = -100000; /* 'never': that index adds none */
    struct cv_stored_cert batch[] = {
        cert("c_a", "{}", NULL, d0 + 30, d0 + 5),
        cert("c_b", "{}", NULL, d0 + 10, CV_DATE_NONE),
        cert("c_c", "{}", NULL, d0 + 20, d0 - 400), /* long overdue: dates before 1970 work too */
        cert("c_d", "{}", NULL, d0 + 100, d0 + 1),
        cert("c_e", "{}", NULL, CV_DATE_NONE, CV_DATE_NONE),
        cert("c_f", "{}", NULL, d0 + 10, CV_DATE_NONE), /* same day as c_b: ties by id */
        cert("c_old", "{}", NULL, -800, CV_DATE_NONE),
    };
    const char *upto25[] = {"c_b", "c_c", "c_f", "c_old"};
    const char *first2[] = {"c_b", "c_old"}; /* the oldest two: c_old, then c_b before c_f */
    const char *all[] = {"c_a", "c_b", "c_c", "c_d", "c_f", "c_old"};
    const char *surv[] = {"c_c", "c_d"};
    char **ids = NULL;
    size_t n = 0;

    assert_int_equal(cv_store_put_certificates(f->s, batch, N_ELEMS(batch), "t"), CV_OK);
    assert_int_equal(cv_store_attention_ids(f->s, d0 + 25, never, 10, NULL, 0, &ids, &n), CV_OK);
    assert_ids(ids, n, upto25, 4);
    cv_store_free_strings(ids, n);
    assert_int_equal(cv_store_attention_ids(f->s, d0 + 25, never, 2, NULL, 0, &ids, &n), CV_OK);
    assert_ids(ids, n, first2, 2);
    cv_store_free_strings(ids, n);
    assert_int_equal(cv_store_attention_ids(f->s, d0 + 10000, never, 100, NULL, 0, &ids, &n),
                     CV_OK);
    assert_ids(ids, n, all, 6);
    cv_store_free_strings(ids, n);
    assert_int_equal(cv_store_attention_ids(f->s, -1000, never, 100, NULL, 0, &ids, &n), CV_OK);
    assert_int_equal(n, 0);
    assert_null(ids);
    assert_int_equal(cv_store_attention_ids(f->s, never, d0 + 1, 100, NULL, 0, &ids, &n), CV_OK);
    assert_ids(ids, n, surv, 2);
    cv_store_free_strings(ids, n);
}

/* ---- suppliers --------------------------------------------------------------------------- */

static void test_suppliers_and_pagination(void **state)
{
    struct fixture *f = *state;
    char id[16], *json = NULL, *next = NULL, **ids = NULL, *cursor = NULL;
    size_t n = 0, pages = 0, total = 0;

    /* Written out of order; listed in byte order. */
    for (int i = 24; i >= 0; i--) {
        snprintf(id, sizeof(id), "sup-%02d", (i * 7) % 25);
        assert_int_equal(cv_store_put_supplier(f->s, id, "{\"name\":\"x\"}", "t"), CV_OK);
    }
    assert_int_equal(cv_store_put_supplier(f->s, "sup-03", "{\"name\":\"y\"}", "t"), CV_OK);
    assert_int_equal(cv_store_get_supplier(f->s, "sup-03", &json), CV_OK);
    assert_string_equal(json, "{\"name\":\"y\"}");
    free(json);
    assert_int_equal(cv_store_get_supplier(f->s, "sup-99", &json), CV_ERR_NOT_FOUND);

    do {
        assert_int_equal(cv_store_list_suppliers(f->s, cursor, 10, &ids, &n, &next), CV_OK);
        for (size_t i = 0; i < n; i++) {
            snprintf(id, sizeof(id), "sup-%02zu", total + i);
            assert_string_equal(ids[i], id);
        }
        total += n;
        pages++;
        if (next)
            assert_string_equal(next, ids[n - 1]);
        cv_store_free_strings(ids, n);
        free(cursor);
        cursor = next;
    } while (cursor);
    assert_int_equal(total, 25);
    assert_int_equal(pages, 3);

    /* A last page that is exactly full says so (no empty extra page). */
    for (int i = 20; i < 25; i++) {
        snprintf(id, sizeof(id), "sup-%02d", i);
        assert_int_equal(cv_store_delete_supplier(f->s, id, "t"), CV_OK);
    }
    assert_int_equal(cv_store_list_suppliers(f->s, "sup-09", 10, &ids, &n, &next), CV_OK);
    assert_int_equal(n, 10);
    assert_string_equal(ids[0], "sup-10");
    assert_null(next);
    cv_store_free_strings(ids, n);
    assert_int_equal(cv_store_list_suppliers(f->s, "zzz", 10, &ids, &n, &next), CV_OK);
    assert_int_equal(n, 0);
    assert_null(next);
    assert_int_equal(cv_store_list_suppliers(f->s, NULL, 0, &ids, &n, &next), CV_ERR_USAGE);
}

static void test_delete_supplier_unlinks_certificates(void **state)
{
    struct fixture *f = *state;
    char *json = NULL, **ids = NULL;
    size_t n = 0;

    assert_int_equal(cv_store_put_supplier(f->s, "S1", "{}", "t"), CV_OK);
    put1(f->s, cert("c_1", "{\"s\":1}", "S1", 20000, CV_DATE_NONE));
    put1(f->s, cert("c_2", "{}", "S2", 20000, CV_DATE_NONE));
    assert_int_equal(cv_store_delete_supplier(f->s, "S1", "t"), CV_OK);
    assert_int_equal(cv_store_get_supplier(f->s, "S1", &json), CV_ERR_NOT_FOUND);
    assert_int_equal(RAW_INT(f->raw, "EXISTS", P "supplier-certs:S1"), 0);
    assert_int_equal(RAW_INT(f->raw, "ZCARD", P "suppliers"), 0);
    assert_int_equal(cv_store_supplier_certificates(f->s, "S1", &ids, &n), CV_OK);
    assert_int_equal(n, 0);
    /* The link stays: it mirrors the supplier_id the record was written with. */
    assert_false(raw_nil(f->raw, "HGET", P "cert-supplier", "c_1"));
    assert_int_equal(cv_store_get_certificate(f->s, "c_1", &json), CV_OK); /* it stays */
    assert_string_equal(json, "{\"s\":1}");
    free(json);
    assert_int_equal(cv_store_delete_supplier(f->s, "S1", "t"), CV_ERR_NOT_FOUND);
    /* S2 has certificates but no record: nothing to delete. */
    assert_int_equal(cv_store_delete_supplier(f->s, "S2", "t"), CV_ERR_NOT_FOUND);
    assert_int_equal(cv_store_supplier_certificates(f->s, "S2", &ids, &n), CV_OK);
    assert_int_equal(n, 1);
    cv_store_free_strings(ids, n);
    /* Re-putting the certificate links it again. */
    put1(f->s, cert("c_1", "{}", "S1", 20000, CV_DATE_NONE));
    assert_int_equal(RAW_INT(f->raw, "SISMEMBER", P "supplier-certs:S1", "c_1"), 1);
}

/* ---- cache, streams, stats --------------------------------------------------------------- */

static void test_cache(void **state)
{
    struct fixture *f = *state;
    char *v = NULL;

    assert_int_equal(cv_store_cache_put(f->s, "k1", "verdict", 100), CV_OK);
    assert_int_equal(cv_store_cache_get(f->s, "k1", &v), CV_OK);
    assert_string_equal(v, "verdict");
    free(v);
    long long ttl = RAW_INT(f->raw, "TTL", "certvet:cache:k1"); /* untagged, by design */
    assert_true(ttl > 0 && ttl <= 100);
    assert_int_equal(cv_store_cache_get(f->s, "k2", &v), CV_ERR_NOT_FOUND);
    assert_null(v);
    assert_int_equal(cv_store_cache_put(f->s, "k1", "v", 0), CV_ERR_USAGE);
    assert_int_equal(cv_store_cache_put(f->s, "k1", NULL, 10), CV_ERR_USAGE);

    assert_int_equal(cv_store_cache_put(f->s, "short", "v", 1), CV_OK);
    assert_int_equal(cv_store_ping(f->s), CV_OK); /* the put goes out with it: the TTL starts */
    sleep_ms(2000);
    assert_int_equal(cv_store_cache_get(f->s, "short", &v), CV_ERR_NOT_FOUND);

    /* A put is not waited for: one that Redis refuses (OOM) still returns CV_OK, its error reply
     * is counted when the next command reads it, and that command is unaffected. */
    struct cv_store_stats a, b;
    cv_reply_free(raw(f->raw, "CONFIG", "SET", "maxmemory", "1", NULL));
    cv_store_stats(f->s, &a);
    assert_int_equal(cv_store_cache_put(f->s, "refused", "v", 60), CV_OK);
    assert_int_equal(cv_store_ping(f->s), CV_OK);
    cv_store_stats(f->s, &b);
    cv_reply_free(raw(f->raw, "CONFIG", "SET", "maxmemory", "0", NULL));
    assert_int_equal(b.errors, a.errors + 1);
    assert_int_equal(b.reconnects, a.reconnects);
    assert_int_equal(cv_store_cache_get(f->s, "refused", &v), CV_ERR_NOT_FOUND);
}

/* What a flush from another thread did: run on its own thread, as the service's main thread does.
 */
struct flush_call {
    struct cv_store *s;
    struct cv_redis *r;
};

static void *flush_main(void *arg)
{
    struct flush_call *c = arg;
    if (c->s)
        cv_store_flush_deferred(c->s);
    else
        cv_redis_flush_deferred(c->r);
    return NULL;
}

static void flush_on_other_thread(struct cv_store *s, struct cv_redis *r)
{
    struct flush_call c = {.s = s, .r = r};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, flush_main, &c), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
}

/* EXISTS of 'key' on the checking connection, asked until it is 'want' or 2 s passed (a write
 * just sent on another connection may not have been processed yet). */
static long long exists_within(struct cv_redis *r, const char *key, long long want)
{
    long long got = -1, t0 = now_ms();
    do {
        got = RAW_INT(r, "EXISTS", key);
        if (got == want)
            break;
        sleep_ms(5);
    } while (now_ms() - t0 < 2000);
    return got;
}

/* A cache put waits for nothing and costs no write of its own: it goes out with the connection's
 * next command (its reply read before that command's), or through cv_store_flush_deferred from
 * another thread while the store's thread is idle, or at cv_store_close. A flush while the
 * connection is in the middle of a command leaves it alone. */
static void test_cache_put_goes_with_next_write(void **state)
{
    struct fixture *f = *state;
    struct cv_store_stats a, b;
    char *v = NULL;

    cv_store_stats(f->s, &a);
    assert_int_equal(cv_store_cache_put(f->s, "later", "v1", 100), CV_OK);
    assert_int_equal(RAW_INT(f->raw, "EXISTS", "certvet:cache:later"), 0); /* still buffered */
    assert_int_equal(cv_store_ping(f->s), CV_OK);
    assert_int_equal(RAW_INT(f->raw, "EXISTS", "certvet:cache:later"), 1);

    assert_int_equal(cv_store_cache_put(f->s, "idle", "v2", 100), CV_OK);
    flush_on_other_thread(f->s, NULL);
    assert_int_equal(exists_within(f->raw, "certvet:cache:idle", 1), 1);
    assert_int_equal(cv_store_cache_get(f->s, "idle", &v), CV_OK); /* the put's reply read first */
    assert_string_equal(v, "v2");
    free(v);

    struct cv_store *s2 = open_store(server.url, 2000);
    assert_int_equal(cv_store_cache_put(s2, "closing", "v3", 100), CV_OK);
    cv_store_close(s2);
    assert_int_equal(exists_within(f->raw, "certvet:cache:closing", 1), 1);

    /* In use (a command appended, its reply unread): the flush does not touch the connection;
     * the buffered SET goes out with the GET and its reply is read first. */
    const char *set[] = {"SET", "deferred-key", "x"}, *get[] = {"GET", "deferred-key"};
    struct cv_reply *rep = NULL;
    assert_int_equal(cv_redis_send_deferred(f->raw, 3, set), CV_OK);
    assert_int_equal(cv_redis_begin(f->raw), CV_OK);
    assert_int_equal(cv_redis_append(f->raw, 2, get, NULL), CV_OK);
    flush_on_other_thread(NULL, f->raw);
    struct cv_redis *third = open_raw(server.url);
    assert_int_equal(RAW_INT(third, "EXISTS", "deferred-key"), 0); /* nothing was written */
    cv_redis_free(third);
    assert_int_equal(cv_redis_read(f->raw, &rep), CV_OK);
    assert_string_equal(cv_reply_str(rep, NULL), "x");
    cv_reply_free(rep);

    cv_store_stats(f->s, &b);
    assert_int_equal(b.errors, a.errors);
    assert_int_equal(b.reconnects, a.reconnects);
    cv_store_flush_deferred(NULL);
}

/* A listing source's last good copy: binary-safe body, optional validators, replaced whole. */
static void test_source_copies(void **state)
{
    struct fixture *f = *state;
    struct cv_store_source in = {.body = "a\0b<html>",
                                 .body_len = 10,
                                 .etag = "\"e1\"",
                                 .last_modified = "Wed, 01 Apr 2026 10:00:00 GMT",
                                 .fetched_at = 1775037600};
    struct cv_store_source out;

    assert_int_equal(cv_store_source_get(f->s, "nvas", &out), CV_ERR_NOT_FOUND);
    assert_null(out.body);
    assert_int_equal(cv_store_source_put(f->s, "nvas", &in), CV_OK);
    assert_int_equal(RAW_INT(f->raw, "EXISTS", P "source:nvas"), 1);
    assert_int_equal(cv_store_source_get(f->s, "nvas", &out), CV_OK);
    assert_int_equal(out.body_len, 10);
    assert_memory_equal(out.body, in.body, 10);
    assert_string_equal(out.etag, "\"e1\"");
    assert_string_equal(out.last_modified, in.last_modified);
    assert_int_equal(out.fetched_at, 1775037600);
    cv_store_source_cleanup(&out);
    /* A copy without validators drops the old ones. */
    in.etag = in.last_modified = NULL;
    in.fetched_at = 1775037700;
    assert_int_equal(cv_store_source_put(f->s, "nvas", &in), CV_OK);
    assert_int_equal(cv_store_source_get(f->s, "nvas", &out), CV_OK);
    assert_null(out.etag);
    assert_null(out.last_modified);
    assert_int_equal(out.fetched_at, 1775037700);
    cv_store_source_cleanup(&out);
    assert_int_equal(cv_store_source_put(f->s, "", &in), CV_ERR_USAGE);
    cv_store_source_cleanup(NULL);
}

static void test_streams(void **state)
{
    struct fixture *f = *state;
    const char *names[] = {"type", "certificate", "days"};
    const char *values[3][3] = {
        {"expiring", "c_1", "30"}, {"expired", "c_2", "0"}, {"verdict_changed", "c_3", "-"}};
    char *ids[3] = {0};
    struct cv_stream_entry *e = NULL;
    size_t n = 0;

    for (int i = 0; i < 3; i++)
        assert_int_equal(cv_store_stream_add(f->s, "events", names, values[i], 3, &ids[i]), CV_OK);
    assert_int_equal(cv_store_stream_add(f->s, "events", names, values[0], 1, NULL), CV_OK);

    assert_int_equal(cv_store_stream_read(f->s, "events", NULL, 10, &e, &n), CV_OK);
    assert_int_equal(n, 4);
    assert_string_equal(e[0].id, ids[0]);
    assert_int_equal(e[0].n, 3);
    assert_string_equal(e[1].names[0], "type");
    assert_string_equal(e[1].values[0], "expired");
    assert_string_equal(e[2].values[2], "-");
    assert_int_equal(e[3].n, 1);
    cv_store_free_stream_entries(e, n);

    assert_int_equal(cv_store_stream_read(f->s, "events", ids[0], 2, &e, &n), CV_OK);
    assert_int_equal(n, 2);
    assert_string_equal(e[0].id, ids[1]);
    assert_string_equal(e[1].id, ids[2]);
    cv_store_free_stream_entries(e, n);
    assert_int_equal(cv_store_stream_read(f->s, "events", "0", 1, &e, &n), CV_OK);
    assert_int_equal(n, 1);
    assert_string_equal(e[0].id, ids[0]);
    cv_store_free_stream_entries(e, n);
    assert_int_equal(cv_store_stream_read(f->s, "events", "99999999999999", 5, &e, &n), CV_OK);
    assert_int_equal(n, 0);
    assert_null(e);
    assert_int_equal(cv_store_stream_read(f->s, "changes", NULL, 5, &e, &n), CV_OK);
    assert_int_equal(n, 0);

    assert_int_equal(cv_store_stream_read(f->s, "other", NULL, 5, &e, &n), CV_ERR_USAGE);
    assert_int_equal(cv_store_stream_read(f->s, "events", "12-x", 5, &e, &n), CV_ERR_USAGE);
    assert_int_equal(cv_store_stream_read(f->s, "events", "-", 5, &e, &n), CV_ERR_USAGE);
    assert_int_equal(cv_store_stream_read(f->s, "events", NULL, 0, &e, &n), CV_ERR_USAGE);
    assert_int_equal(cv_store_stream_add(f->s, "events", names, values[0], 0, NULL), CV_ERR_USAGE);
    assert_int_equal(cv_store_stream_add(f->s, "x", names, values[0], 1, NULL), CV_ERR_USAGE);
    for (int i = 0; i < 3; i++)
        free(ids[i]);
}

static void test_stats_and_errstr(void **state)
{
    struct fixture *f = *state;
    struct cv_store_stats a, b;
    char *v = NULL, **ids = NULL;
    size_t n;

    cv_store_stats(f->s, &a);
    assert_true(a.commands >= 1); /* the PING of open */
    assert_int_equal(cv_store_cache_get(f->s, "x", &v), CV_ERR_NOT_FOUND);
    put1(f->s, cert("c_1", "{}", "S1", 20000, 20000));
    cv_store_stats(f->s, &b);
    /* GET; HMGET, MULTI, SET, SADD, HSET, ZADD, ZADD, SREM (the invalid index), XADD, XTRIM,
     * EXEC. */
    assert_int_equal(b.commands - a.commands, 1 + 11);
    assert_int_equal(b.errors, a.errors);
    assert_int_equal(b.reconnects, 0);

    /* An error reply (a key of the wrong type) is an error: counted, text kept, connection kept
     * (no reconnection), cleared by the next success. */
    cv_reply_free(raw(f->raw, "SET", P "index:surveillance", "not a zset", NULL));
    assert_int_equal(cv_store_attention_ids(f->s, 30000, 30000, 5, NULL, 0, &ids, &n),
                     CV_ERR_UNAVAILABLE);
    assert_non_null(strstr(cv_store_errstr(f->s), "WRONGTYPE"));
    assert_int_equal(cv_store_ping(f->s), CV_OK);
    assert_string_equal(cv_store_errstr(f->s), "");
    cv_store_stats(f->s, &b);
    assert_int_equal(b.errors, a.errors + 1);
    assert_int_equal(b.reconnects, 0);
}

/* Redis does not roll back a transaction when one command fails at run time (a key of the wrong
 * type, only possible if something else wrote our keys): the call says so. docs/STORAGE.md. */
static void test_transaction_runtime_error_is_reported(void **state)
{
    struct fixture *f = *state;
    cv_reply_free(raw(f->raw, "SET", P "supplier-certs:S1", "oops", NULL));
    struct cv_stored_cert c = cert("c_1", "{}", "S1", 20000, CV_DATE_NONE);
    assert_int_equal(cv_store_put_certificates(f->s, &c, 1, "t"), CV_ERR_UNAVAILABLE);
    assert_non_null(strstr(cv_store_errstr(f->s), "WRONGTYPE"));
    assert_non_null(strstr(cv_store_errstr(f->s), "applied"));
}

static void test_usage_errors(void **state)
{
    struct fixture *f = *state;
    char long_id[CV_STORE_ID_MAX + 2], *json = NULL;

    memset(long_id, 'x', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    struct cv_stored_cert c = cert(long_id, "{}", NULL, CV_DATE_NONE, CV_DATE_NONE);
    assert_int_equal(cv_store_put_certificates(f->s, &c, 1, "t"), CV_ERR_USAGE);
    assert_non_null(strstr(cv_store_errstr(f->s), "certificate id"));
    c.id = "";
    assert_int_equal(cv_store_put_certificates(f->s, &c, 1, "t"), CV_ERR_USAGE);
    c.id = "ok";
    c.json = NULL;
    assert_int_equal(cv_store_put_certificates(f->s, &c, 1, "t"), CV_ERR_USAGE);
    assert_int_equal(cv_store_put_certificates(f->s, &c, CV_STORE_BATCH_MAX + 1, "t"),
                     CV_ERR_USAGE);
    assert_int_equal(cv_store_put_certificates(f->s, NULL, 0, "t"), CV_OK); /* nothing to do */
    assert_int_equal(cv_store_get_certificate(f->s, NULL, &json), CV_ERR_USAGE);
    assert_int_equal(cv_store_get_certificate(f->s, long_id, &json), CV_ERR_USAGE);
    assert_int_equal(cv_store_put_supplier(f->s, "s", NULL, "t"), CV_ERR_USAGE);
    assert_int_equal(RAW_INT(f->raw, "DBSIZE"), 0);
}

/* A custom prefix goes before the hash tag; cache keys use the bare prefix. */
static void test_custom_prefix(void **state)
{
    struct fixture *f = *state;
    struct cv_store_config cfg = {server.url, "app1:", 2000};
    struct cv_store *s = NULL;
    char err[256];

    assert_int_equal(cv_store_open(&cfg, &s, err, sizeof(err)), CV_OK);
    put1(s, cert("c_1", "{}", "S1", 20000, CV_DATE_NONE));
    assert_int_equal(cv_store_cache_put(s, "k", "v", 60), CV_OK);
    assert_int_equal(cv_store_ping(s), CV_OK); /* the put goes out with it */
    assert_int_equal(RAW_INT(f->raw, "EXISTS", "app1:{cv}:cert:c_1"), 1);
    assert_int_equal(RAW_INT(f->raw, "EXISTS", "app1:cache:k"), 1);
    assert_int_equal(RAW_INT(f->raw, "EXISTS", P "cert:c_1"), 0);
    cv_store_close(s);
    cfg.prefix = "a-prefix-that-is-far-too-long-for-the-limit-of-sixty-four-bytes-xx";
    assert_int_equal(cv_store_open(&cfg, &s, err, sizeof(err)), CV_ERR_USAGE);
}

/* ---- big batches and limits -------------------------------------------------------------- */

#define BIG_N 10000

static void test_batch_of_10000(void **state)
{
    struct fixture *f = *state;
    struct cv_stored_cert *batch = calloc(BIG_N, sizeof(*batch));
    char(*ids)[16] = calloc(BIG_N, sizeof(*ids)), (*sups)[16] = calloc(100, sizeof(*sups));
    char *json = malloc(701), *got = NULL, **due = NULL;
    size_t n = 0;

    assert_non_null(batch);
    assert_non_null(ids);
    assert_non_null(sups);
    assert_non_null(json);
    memset(json, 'j', 700);
    json[0] = '"';
    json[699] = '"';
    json[700] = '\0';
    for (int i = 0; i < 100; i++)
        snprintf(sups[i], sizeof(sups[i]), "S%03d", i);
    for (int i = 0; i < BIG_N; i++) {
        snprintf(ids[i], sizeof(ids[i]), "c_%05d", i);
        batch[i] = cert(ids[i], json, sups[i % 100], 20000 + i % 365, 19900 + i % 400);
    }
    assert_int_equal(cv_store_put_certificates(f->s, batch, BIG_N, "bulk"), CV_OK);
    assert_int_equal(RAW_INT(f->raw, "ZCARD", P "index:expiry"), BIG_N);
    assert_int_equal(RAW_INT(f->raw, "ZCARD", P "index:surveillance"), BIG_N);
    assert_int_equal(RAW_INT(f->raw, "SCARD", P "supplier-certs:S042"), BIG_N / 100);
    assert_int_equal(RAW_INT(f->raw, "HLEN", P "cert-supplier"), BIG_N);
    assert_int_equal(RAW_INT(f->raw, "XLEN", P "stream:changes"), BIG_N);
    assert_int_equal(cv_store_get_certificate(f->s, "c_09999", &got), CV_OK);
    assert_string_equal(got, json);
    free(got);
    assert_int_equal(cv_store_attention_ids(f->s, 20000 + 365, -100000, BIG_N, NULL, 0, &due, &n),
                     CV_OK);
    assert_int_equal(n, BIG_N);
    assert_string_equal(due[0], "c_00000");
    cv_store_free_strings(due, n);

    /* Again, every record moving to another supplier: one transaction, sets follow. */
    for (int i = 0; i < BIG_N; i++)
        batch[i].supplier_id = sups[(i + 1) % 100];
    assert_int_equal(cv_store_put_certificates(f->s, batch, BIG_N, "bulk"), CV_OK);
    assert_int_equal(RAW_INT(f->raw, "SISMEMBER", P "supplier-certs:S001", "c_00000"), 1);
    assert_int_equal(RAW_INT(f->raw, "SISMEMBER", P "supplier-certs:S000", "c_00000"), 0);
    assert_int_equal(RAW_INT(f->raw, "SCARD", P "supplier-certs:S042"), BIG_N / 100);
    free(batch);
    free(ids);
    free(sups);
    free(json);
}

/* A reply past CV_STORE_REPLY_MAX is refused (the named limit), and the store reconnects. */
static void test_reply_limit(void **state)
{
    struct fixture *f = *state;
    size_t big = CV_STORE_REPLY_MAX + 1;
    char *v = malloc(big + 1), *got = NULL;
    struct cv_store_stats st;

    assert_non_null(v);
    memset(v, 'v', big);
    v[big] = '\0';
    assert_int_equal(cv_store_cache_put(f->s, "huge", v, 60), CV_OK);
    free(v);
    assert_int_equal(cv_store_cache_get(f->s, "huge", &got), CV_ERR_TOO_LARGE);
    assert_null(got);
    assert_non_null(strstr(cv_store_errstr(f->s), "larger"));
    assert_int_equal(cv_store_ping(f->s), CV_OK);
    cv_store_stats(f->s, &st);
    assert_int_equal(st.reconnects, 1);
    cv_reply_free(raw(f->raw, "DEL", "certvet:cache:huge", NULL));
}

/* Two processes move the same certificates between suppliers at the same time, with no error,
 * and every record, its link and its supplier's list agree at the end. */
static int run_mover(const char *url, unsigned seed, int rounds)
{
    struct cv_store_config cfg = {url, NULL, 5000};
    struct cv_store *s = NULL;
    char ids[20][8], json[20][32], err[256];
    struct cv_stored_cert batch[20];
    const char *sups[] = {"SA", "SB", "SC", NULL};
    int bad = 0;

    if (cv_store_open(&cfg, &s, err, sizeof(err)))
        return 1;
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < 20; i++) {
            const char *sup = sups[rand_r(&seed) % 4];
            snprintf(ids[i], sizeof(ids[i]), "c_%02d", (int)(rand_r(&seed) % 20));
            snprintf(json[i], sizeof(json[i]), "{\"s\":\"%s\"}", sup ? sup : "");
            batch[i] = cert(ids[i], json[i], sup, 20000, CV_DATE_NONE);
        }
        int rc = cv_store_put_certificates(s, batch, 20, "mover");
        if (rc != CV_OK)
            bad++;
    }
    cv_store_close(s);
    return bad;
}

static void test_concurrent_writers_stay_consistent(void **state)
{
    struct fixture *f = *state;
    int status = 0;
    pid_t child = fork();

    assert_true(child >= 0);
    if (child == 0) /* no cmocka in the child: it reports through its exit status */
        _exit(run_mover(server.url, 7, 500) ? 1 : 0);
    assert_int_equal(run_mover(server.url, 11, 500), 0);
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    /* Each record agrees with its link, and each supplier lists exactly the linked records. */
    size_t linked = 0;
    for (int i = 0; i < 20; i++) {
        char id[8], *json = NULL, *link, want[32];
        snprintf(id, sizeof(id), "c_%02d", i);
        if (cv_store_get_certificate(f->s, id, &json) == CV_ERR_NOT_FOUND)
            continue;
        link = raw_str(f->raw, "HGET", P "cert-supplier", id);
        snprintf(want, sizeof(want), "{\"s\":\"%s\"}", link ? link : "");
        assert_string_equal(json, want);
        linked += link != NULL;
        free(link);
        free(json);
    }
    for (const char *const *sp = (const char *const[]){"SA", "SB", "SC", NULL}; *sp; sp++) {
        char **ids = NULL;
        size_t n = 0;
        assert_int_equal(cv_store_supplier_certificates(f->s, *sp, &ids, &n), CV_OK);
        for (size_t i = 0; i < n; i++) {
            char *link = raw_str(f->raw, "HGET", P "cert-supplier", ids[i]);
            assert_non_null(link);
            assert_string_equal(link, *sp);
            free(link);
        }
        linked -= n;
        cv_store_free_strings(ids, n);
    }
    assert_int_equal(linked, 0);
}

/* The race a put without WATCH allows, made deterministic with CLIENT PAUSE WRITE: another
 * client moves c_1 from S1 to S2, and its transaction is held by the pause before ours reads the
 * old supplier (still S1) and is held in turn. When the pause ends the other one commits first,
 * then ours: the last writer wins for the record, its link and its indexes (S3), and S2's set
 * keeps a stale member, which cv_store_supplier_certificates filters out by the link. */
static void test_concurrent_move_last_writer_wins(void **state)
{
    struct fixture *f = *state;
    char *link, *json = NULL, **ids = NULL;
    size_t n = 0;
    int status = 0;
    pid_t child;

    put1(f->s, cert("c_1", "{\"s\":\"S1\"}", "S1", 20000, CV_DATE_NONE));
    cv_reply_free(raw(f->raw, "CLIENT", "PAUSE", "1500", "WRITE", NULL));
    child = fork();
    assert_true(child >= 0);
    if (child == 0) { /* the other writer; sends its whole transaction at once */
        struct cv_redis *w = NULL;
        char err[256];
        const char *cmds[][5] = {{"MULTI"},
                                 {"SET", P "cert:c_1", "{\"s\":\"S2\"}"},
                                 {"SREM", P "supplier-certs:S1", "c_1"},
                                 {"SADD", P "supplier-certs:S2", "c_1"},
                                 {"HSET", P "cert-supplier", "c_1", "S2"},
                                 {"EXEC"}};
        const int argc[] = {1, 3, 3, 3, 4, 1};
        int bad = cv_redis_new(server.url, 5000, &w, err, sizeof(err)) || cv_redis_begin(w);
        for (int i = 0; !bad && i < 6; i++)
            bad = cv_redis_append(w, argc[i], cmds[i], NULL);
        for (int i = 0; !bad && i < 6; i++)
            bad = cv_redis_read(w, NULL);
        cv_redis_free(w);
        _exit(bad ? 1 : 0);
    }
    /* Wait (bounded) until the child's transaction is held by the pause: CLIENT LIST shows its
     * connection in MULTI and blocked (flags "xb": Redis 7 blocks the first queued write). No
     * guessed delay. */
    bool queued = false;
    for (int tries = 0; tries < 400 && !queued; tries++) {
        struct cv_reply *list = raw(f->raw, "CLIENT", "LIST", NULL);
        const char *text = cv_reply_str(list, NULL);
        queued = text && strstr(text, "flags=xb");
        cv_reply_free(list);
        if (!queued)
            sleep_ms(10);
    }
    assert_true(queued);
    put1(f->s, cert("c_1", "{\"s\":\"S3\"}", "S3", 20000, CV_DATE_NONE));
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    link = raw_str(f->raw, "HGET", P "cert-supplier", "c_1");
    assert_string_equal(link, "S3");
    free(link);
    assert_int_equal(cv_store_get_certificate(f->s, "c_1", &json), CV_OK);
    assert_string_equal(json, "{\"s\":\"S3\"}");
    free(json);
    assert_int_equal(RAW_INT(f->raw, "SISMEMBER", P "supplier-certs:S2", "c_1"), 1); /* stale */
    assert_int_equal(cv_store_supplier_certificates(f->s, "S2", &ids, &n), CV_OK);
    assert_int_equal(n, 0);
    assert_int_equal(cv_store_supplier_certificates(f->s, "S3", &ids, &n), CV_OK);
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], "c_1");
    cv_store_free_strings(ids, n);
    assert_int_equal(RAW_INT(f->raw, "SISMEMBER", P "supplier-certs:S1", "c_1"), 0);
}

/* ---- faults: a killed server, a hung server ---------------------------------------------- */

static void test_killed_server_then_back(void **state)
{
    (void)state;
    struct cv_test_redis own = {0};
    struct cv_store *s;
    struct cv_store_stats st;
    char *json = NULL;
    long long t0;
    int rc = -1;

    assert_int_equal(cv_test_redis_start(&own), 0);
    s = open_store(own.url, 500);
    put1(s, cert("c_1", "{}", NULL, 20000, CV_DATE_NONE));

    cv_test_redis_kill(&own);
    t0 = now_ms();
    assert_int_equal(cv_store_get_certificate(s, "c_1", &json), CV_ERR_UNAVAILABLE);
    assert_int_equal(cv_store_ping(s), CV_ERR_UNAVAILABLE);
    assert_int_equal(
        cv_store_put_certificates(s, &(struct cv_stored_cert){"c_2", "{}", NULL, 1, 1}, 1, "t"),
        CV_ERR_UNAVAILABLE);
    assert_true(now_ms() - t0 < 10000); /* bounded: no hang on a dead server */
    assert_true(strlen(cv_store_errstr(s)) > 0);

    assert_int_equal(cv_test_redis_restart(&own), 0);
    t0 = now_ms();
    while (now_ms() - t0 < 5000 && (rc = cv_store_ping(s)) != CV_OK)
        sleep_ms(50);
    assert_int_equal(rc, CV_OK);
    assert_string_equal(cv_store_errstr(s), "");
    put1(s, cert("c_3", "{\"back\":true}", "S1", 20000, CV_DATE_NONE));
    assert_int_equal(cv_store_get_certificate(s, "c_3", &json), CV_OK);
    assert_string_equal(json, "{\"back\":true}");
    free(json);
    cv_store_stats(s, &st);
    assert_true(st.reconnects >= 1);
    assert_true(st.errors >= 3);
    cv_store_close(s);
    cv_test_redis_stop(&own);
}

/* A server restarted while the store is idle: the very next call goes to the new server (the
 * dead connection is noticed before anything is sent), no error, one reconnection counted. */
static void test_restart_while_idle_is_invisible(void **state)
{
    (void)state;
    struct cv_test_redis own = {0};
    struct cv_store *s;
    struct cv_store_stats st;
    char *json = NULL;

    assert_int_equal(cv_test_redis_start(&own), 0);
    s = open_store(own.url, 1000);
    put1(s, cert("c_1", "{}", NULL, 20000, CV_DATE_NONE));
    assert_int_equal(cv_test_redis_restart(&own), 0); /* SIGKILL, then a new server */
    assert_int_equal(cv_store_get_certificate(s, "c_1", &json), CV_ERR_NOT_FOUND); /* no AOF */
    put1(s, cert("c_1", "{}", NULL, 20000, CV_DATE_NONE));
    cv_store_stats(s, &st);
    assert_int_equal(st.reconnects, 1);
    assert_int_equal(st.errors, 0);
    cv_store_close(s);
    cv_test_redis_stop(&own);
}

/* A buffered put that the idle flush cannot write (the server was restarted under it): the
 * connection is dropped, the store's next command reconnects and goes through, and the lost put
 * is counted as one error. */
static void test_idle_flush_to_a_dead_server(void **state)
{
    (void)state;
    struct cv_test_redis own = {0};
    struct cv_store *s;
    struct cv_store_stats st;

    assert_int_equal(cv_test_redis_start(&own), 0);
    s = open_store(own.url, 1000);
    assert_int_equal(cv_store_cache_put(s, "lost", "v", 100), CV_OK);
    assert_int_equal(cv_test_redis_restart(&own), 0); /* SIGKILL, then a new server */
    flush_on_other_thread(s, NULL);
    assert_int_equal(cv_store_ping(s), CV_OK);
    cv_store_stats(s, &st);
    assert_int_equal(st.errors, 1);
    assert_int_equal(st.reconnects, 1);
    char *v = NULL;
    assert_int_equal(cv_store_cache_get(s, "lost", &v), CV_ERR_NOT_FOUND);
    cv_store_close(s);
    cv_test_redis_stop(&own);
}

static void test_hung_server_times_out(void **state)
{
    (void)state;
    struct cv_test_redis own = {0};
    struct cv_store *s;
    long long t0, took;
    int rc = -1;

    assert_int_equal(cv_test_redis_start(&own), 0);
    s = open_store(own.url, 300);
    kill(own.pid, SIGSTOP);
    t0 = now_ms();
    rc = cv_store_ping(s);
    took = now_ms() - t0;
    assert_int_equal(rc, CV_ERR_UNAVAILABLE);
    assert_non_null(strstr(cv_store_errstr(s), "timed out"));
    assert_true(took >= 250 && took < 10000); /* the 300 ms timeout, not a hang */
    kill(own.pid, SIGCONT);
    t0 = now_ms();
    while (now_ms() - t0 < 5000 && (rc = cv_store_ping(s)) != CV_OK)
        sleep_ms(50);
    assert_int_equal(rc, CV_OK);
    cv_store_close(s);
    cv_test_redis_stop(&own);
}

/* ---- AUTH and SELECT --------------------------------------------------------------------- */

static struct cv_test_redis secured = {.password = "s3cret"};

static int secured_up(void **state)
{
    (void)state;
    return cv_test_redis_start(&secured);
}

static int secured_down(void **state)
{
    (void)state;
    cv_test_redis_stop(&secured);
    return 0;
}

static void test_auth_and_select(void **state)
{
    (void)state;
    struct cv_store_config cfg = {NULL, NULL, 1000};
    struct cv_store *s = NULL;
    struct cv_redis *db3, *db0;
    char url[256], err[256], *json = NULL;

    snprintf(url, sizeof(url), "%s?password=s3cret&db=3", secured.url);
    cfg.url = url;
    assert_int_equal(cv_store_open(&cfg, &s, err, sizeof(err)), CV_OK);
    put1(s, cert("c_1", "{}", NULL, 20000, CV_DATE_NONE));
    assert_int_equal(cv_store_get_certificate(s, "c_1", &json), CV_OK);
    free(json);
    cv_store_close(s);
    db3 = open_raw(url);
    snprintf(url, sizeof(url), "%s?password=s3cret", secured.url);
    db0 = open_raw(url);
    assert_int_equal(RAW_INT(db3, "EXISTS", P "cert:c_1"), 1);
    assert_int_equal(RAW_INT(db0, "EXISTS", P "cert:c_1"), 0);

    /* An ACL user. */
    cv_reply_free(raw(db0, "ACL", "SETUSER", "alice", "on", ">alicepw", "~*", "&*", "+@all", NULL));
    snprintf(url, sizeof(url), "%s?user=alice&password=alicepw", secured.url);
    assert_int_equal(cv_store_open(&cfg, &s, err, sizeof(err)), CV_OK);
    cv_store_close(s);
    cv_redis_free(db3);
    cv_redis_free(db0);

    /* No password: the PING of open is refused. A wrong one: AUTH fails; neither message shows
     * the password. */
    cfg.url = secured.url;
    assert_int_equal(cv_store_open(&cfg, &s, err, sizeof(err)), CV_ERR_UNAVAILABLE);
    assert_null(s);
    assert_non_null(strstr(err, "NOAUTH"));
    snprintf(url, sizeof(url), "%s?password=wrong-guess", secured.url);
    cfg.url = url;
    assert_int_equal(cv_store_open(&cfg, &s, err, sizeof(err)), CV_ERR_UNAVAILABLE);
    assert_non_null(strstr(err, "AUTH"));
    assert_null(strstr(err, "wrong-guess"));
    /* A database that does not exist. */
    snprintf(url, sizeof(url), "%s?password=s3cret&db=99", secured.url);
    assert_int_equal(cv_store_open(&cfg, &s, err, sizeof(err)), CV_ERR_UNAVAILABLE);
    assert_non_null(strstr(err, "SELECT"));
}

/* What needs attention: both indexes up to their dates (at most 'limit' from each), the invalid
 * index whatever its dates, and the extra ids, in one sorted list without duplicates. */
static void test_attention_ids(void **state)
{
    struct fixture *f = *state;
    cv_date d0 = cv_date_from_ymd(2026, 1, 1);
    struct cv_stored_cert batch[] = {
        cert("c_exp", "{}", NULL, d0 + 5, CV_DATE_NONE),   /* expiry due */
        cert("c_surv", "{}", NULL, d0 + 900, d0 - 1),      /* surveillance due */
        cert("c_both", "{}", NULL, d0 + 1, d0),            /* both: listed once */
        cert("c_late", "{}", NULL, d0 + 400, d0 + 400),    /* neither */
        cert("c_bad", "{}", NULL, d0 + 999, CV_DATE_NONE), /* invalid, not due */
        cert("c_exp2", "{}", NULL, d0 + 6, CV_DATE_NONE),  /* due, past the limit of 2 */
    };
    batch[4].invalid = true;
    const char *extra[] = {"c_late", "c_both", "c_x"};
    const char *all[] = {"c_bad", "c_both", "c_exp", "c_exp2", "c_late", "c_surv", "c_x"};
    const char *limited[] = {"c_bad", "c_both", "c_exp", "c_surv"};
    char **ids = NULL;
    size_t n = 0;

    assert_int_equal(cv_store_put_certificates(f->s, batch, N_ELEMS(batch), "t"), CV_OK);
    assert_int_equal(cv_store_attention_ids(f->s, d0 + 30, d0, 100, extra, 3, &ids, &n), CV_OK);
    assert_ids(ids, n, all, N_ELEMS(all));
    cv_store_free_strings(ids, n);
    assert_int_equal(cv_store_attention_ids(f->s, d0 + 30, d0, 2, NULL, 0, &ids, &n), CV_OK);
    assert_ids(ids, n, limited, N_ELEMS(limited)); /* c_both, c_exp by expiry; c_surv, c_both */
    cv_store_free_strings(ids, n);
    assert_int_equal(cv_store_attention_ids(f->s, d0, d0, 0, NULL, 0, &ids, &n), CV_ERR_USAGE);
    assert_int_equal(cv_store_attention_ids(f->s, CV_DATE_NONE, d0, 5, NULL, 0, &ids, &n),
                     CV_ERR_USAGE);
    assert_int_equal(cv_store_attention_ids(f->s, d0, d0, 5, NULL, 2, &ids, &n), CV_ERR_USAGE);
    assert_non_null(strstr(cv_store_errstr(f->s), "attention"));
    assert_null(ids);
    assert_int_equal(n, 0);
}

/* The CB index: each put adds the certificate under its CB keys; a look-up unions the keys,
 * sorted; unlink removes one id from each key. */
static void test_cb_index(void **state)
{
    struct fixture *f = *state;
    struct cv_stored_cert a = cert("c_a", "{}", NULL, CV_DATE_NONE, CV_DATE_NONE);
    struct cv_stored_cert b = cert("c_b", "{}", NULL, CV_DATE_NONE, CV_DATE_NONE);
    struct cv_stored_cert c = cert("c_c", "{}", NULL, CV_DATE_NONE, CV_DATE_NONE);
    a.cb_keys[0] = "n_north";
    b.cb_keys[0] = "n_other";
    b.cb_keys[1] = "i_north"; /* printed another name, but the CB's id */
    c.cb_keys[0] = "n_third";
    c.cb_keys[1] = ""; /* empty: no key */
    struct cv_stored_cert batch[] = {a, b, c};
    const char *north_keys[] = {"n_north", "i_north"}, *missing[] = {"n_nobody"};
    const char *both[] = {"c_a", "c_b"}, *only_b[] = {"c_b"};
    char **ids = NULL;
    size_t n = 0;

    assert_int_equal(cv_store_put_certificates(f->s, batch, N_ELEMS(batch), "t"), CV_OK);
    assert_int_equal(cv_store_cb_certificates(f->s, north_keys, 2, &ids, &n), CV_OK);
    assert_ids(ids, n, both, 2);
    cv_store_free_strings(ids, n);
    assert_int_equal(cv_store_cb_certificates(f->s, missing, 1, &ids, &n), CV_OK);
    assert_int_equal(n, 0);
    assert_null(ids);
    assert_int_equal(cv_store_cb_unlink(f->s, north_keys, 2, "c_a"), CV_OK);
    assert_int_equal(cv_store_cb_certificates(f->s, north_keys, 2, &ids, &n), CV_OK);
    assert_ids(ids, n, only_b, 1);
    cv_store_free_strings(ids, n);
    assert_int_equal(cv_store_cb_certificates(f->s, north_keys, 0, &ids, &n), CV_ERR_USAGE);
}

/* The invalid index follows each put's flag, the scan's marks and deletes; the CB scan state is a
 * hash of opaque values. */
static void test_invalid_index_and_cb_state(void **state)
{
    struct fixture *f = *state;
    struct cv_stored_cert a = cert("c_a", "{}", NULL, CV_DATE_NONE, CV_DATE_NONE);
    struct cv_stored_cert b = cert("c_b", "{}", NULL, CV_DATE_NONE, CV_DATE_NONE);
    a.invalid = b.invalid = true;
    const char *ab[] = {"c_a", "c_b"}, *b_only[] = {"c_b"}, *b_c[] = {"c_b", "c_c"};
    char **ids = NULL, **fields = NULL, **values = NULL;
    size_t n = 0;

    put1(f->s, b);
    put1(f->s, a);
    assert_int_equal(cv_store_attention_ids(f->s, -100000, -100000, 10, NULL, 0, &ids, &n), CV_OK);
    assert_ids(ids, n, ab, 2);
    cv_store_free_strings(ids, n);
    a.invalid = false; /* written again, now valid */
    put1(f->s, a);
    assert_int_equal(cv_store_attention_ids(f->s, -100000, -100000, 10, NULL, 0, &ids, &n), CV_OK);
    assert_ids(ids, n, b_only, 1);
    cv_store_free_strings(ids, n);
    assert_int_equal(cv_store_scan_begin(f->s), CV_OK);
    assert_int_equal(cv_store_scan_invalid(f->s, "c_c", true), CV_OK);
    assert_int_equal(cv_store_scan_flush(f->s), CV_OK);
    assert_int_equal(cv_store_attention_ids(f->s, -100000, -100000, 10, NULL, 0, &ids, &n), CV_OK);
    assert_ids(ids, n, b_c, 2);
    cv_store_free_strings(ids, n);
    assert_int_equal(cv_store_delete_certificate(f->s, "c_b", "t"), CV_OK);
    assert_int_equal(cv_store_scan_begin(f->s), CV_OK);
    assert_int_equal(cv_store_scan_invalid(f->s, "c_c", false), CV_OK);
    assert_int_equal(cv_store_scan_flush(f->s), CV_OK);
    assert_int_equal(cv_store_attention_ids(f->s, -100000, -100000, 10, NULL, 0, &ids, &n), CV_OK);
    assert_int_equal(n, 0);

    assert_int_equal(cv_store_scan_cbs_get(f->s, &fields, &values, &n), CV_OK);
    assert_int_equal(n, 0);
    assert_int_equal(cv_store_scan_cbs_put(f->s, "north", "k\tNorth\tUKAS (active)"), CV_OK);
    assert_int_equal(cv_store_scan_cbs_put(f->s, "~baseline", "2026-01-01"), CV_OK);
    assert_int_equal(cv_store_scan_cbs_del(f->s, "~baseline"), CV_OK);
    assert_int_equal(cv_store_scan_cbs_get(f->s, &fields, &values, &n), CV_OK);
    assert_int_equal(n, 1);
    assert_string_equal(fields[0], "north");
    assert_string_equal(values[0], "k\tNorth\tUKAS (active)");
    cv_store_free_strings(fields, n);
    cv_store_free_strings(values, n);
}

/* The scan's pipeline: events and states appended, applied in order by one flush; states read
 * back in one MGET (NULL where none); an error reply inside the pipeline is reported by flush,
 * and the connection serves the next call. */
static void test_scan_pipeline(void **state)
{
    struct fixture *f = *state;
    const char *names[] = {"type", "certificate_id"}, *values[] = {"expired", "c_1"};
    const char *ids[] = {"c_1", "c_none", "c_2"};
    char **got = NULL;
    struct cv_stream_entry *e = NULL;
    size_t n = 0;

    assert_int_equal(cv_store_scan_begin(f->s), CV_OK);
    assert_int_equal(cv_store_scan_event(f->s, names, values, 2), CV_OK);
    assert_int_equal(cv_store_scan_state(f->s, "c_1", "v=3"), CV_OK);
    assert_int_equal(cv_store_scan_state(f->s, "c_2", "v=1"), CV_OK);
    assert_int_equal(cv_store_scan_flush(f->s), CV_OK);
    assert_int_equal(cv_store_scan_states_get(f->s, ids, 3, &got), CV_OK);
    assert_string_equal(got[0], "v=3");
    assert_null(got[1]);
    assert_string_equal(got[2], "v=1");
    cv_store_free_strings(got, 3);
    assert_int_equal(cv_store_stream_read(f->s, "events", "0", 10, &e, &n), CV_OK);
    assert_int_equal(n, 1);
    assert_string_equal(e[0].values[0], "expired");
    cv_store_free_stream_entries(e, n);

    /* A key of the wrong type makes one command fail: flush says so, the rest applied. */
    cv_reply_free(raw(f->raw, "SET", P "index:invalid", "not a set", NULL));
    assert_int_equal(cv_store_scan_begin(f->s), CV_OK);
    assert_int_equal(cv_store_scan_invalid(f->s, "c_1", true), CV_OK);
    assert_int_equal(cv_store_scan_state(f->s, "c_1", "v=2"), CV_OK);
    assert_int_equal(cv_store_scan_flush(f->s), CV_ERR_UNAVAILABLE);
    assert_non_null(strstr(cv_store_errstr(f->s), "WRONGTYPE"));
    assert_int_equal(cv_store_scan_states_get(f->s, ids, 1, &got), CV_OK);
    assert_string_equal(got[0], "v=2");
    cv_store_free_strings(got, 1);
    assert_int_equal(cv_store_scan_states_get(f->s, ids, 0, &got), CV_ERR_USAGE);
}

int main(void)
{
    const struct CMUnitTest plain[] = {
        cmocka_unit_test(test_url_table),
        cmocka_unit_test(test_url_errors_hide_password),
        cmocka_unit_test(test_url_sentinel),
        cmocka_unit_test(test_open_refused),
    };
#define T(f) cmocka_unit_test_setup_teardown(f, fixture_up, fixture_down)
    const struct CMUnitTest store[] = {
        T(test_scan_pipeline),
        T(test_attention_ids),
        T(test_cb_index),
        T(test_invalid_index_and_cb_state),
        T(test_put_batch_and_read_back),
        T(test_upsert_is_idempotent),
        T(test_supplier_change_moves_membership),
        T(test_delete_removes_everything),
        T(test_no_date_removes_index_entry),
        T(test_due),
        T(test_suppliers_and_pagination),
        T(test_delete_supplier_unlinks_certificates),
        T(test_cache),
        T(test_cache_put_goes_with_next_write),
        T(test_source_copies),
        T(test_streams),
        T(test_stats_and_errstr),
        T(test_transaction_runtime_error_is_reported),
        T(test_usage_errors),
        T(test_custom_prefix),
        T(test_batch_of_10000),
        T(test_reply_limit),
        T(test_concurrent_writers_stay_consistent),
        T(test_concurrent_move_last_writer_wins),
    };
#undef T
    const struct CMUnitTest faults[] = {
        cmocka_unit_test(test_killed_server_then_back),
        cmocka_unit_test(test_restart_while_idle_is_invisible),
        cmocka_unit_test(test_idle_flush_to_a_dead_server),
        cmocka_unit_test(test_hung_server_times_out),
    };
    const struct CMUnitTest auth[] = {
        cmocka_unit_test(test_auth_and_select),
    };
    int failed = 0;
    failed += cmocka_run_group_tests_name("url", plain, NULL, NULL);
    failed += cmocka_run_group_tests_name("store", store, server_up, server_down);
    failed += cmocka_run_group_tests_name("faults", faults, NULL, NULL);
    failed += cmocka_run_group_tests_name("auth", auth, secured_up, secured_down);
    return failed ? 1 : 0;
}

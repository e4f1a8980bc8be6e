/* Unit tests for src/net/registry.c: config errors, the generic connector and the CertSearch-shaped
 * connector against answers from fixtures/registry/, faults (garbage, 5xx, hang), the circuit
 * breaker, and the Redis cache against a real redis-server (tests/redis_harness.c). The HTTP server
 * is a small libmicrohttpd stub in this file (serves fixtures/registry/, per-path faults and
 * request counts), because the shared fixture server had no client helper yet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <microhttpd.h>

#include "redis_harness.h"

#include "certvet/certificate.h"
#include "certvet/error.h"
#include "certvet/registry.h"
#include "certvet/store.h"

#define FIXTURES CERTVET_SOURCE_DIR "/fixtures/registry"

/* ---- the stub server ---------------------------------------------------------------------- */

enum fault { F_NONE = 0, F_STATUS, F_GARBAGE, F_HANG };

struct path_state {
    char path[128];
    int requests;
    enum fault fault;
    int status;
    int times; /* -1: until cleared */
};

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static pthread_mutex_t srv_mu = PTHREAD_MUTEX_INITIALIZER;
static struct path_state paths[64];
static struct MHD_Daemon *daemon_;
static unsigned short port;

static struct path_state *path_get(const char *path)
{
    for (size_t i = 0; i < 64; i++) {
        if (paths[i].path[0] && strcmp(paths[i].path, path) == 0)
            return &paths[i];
    }
    for (size_t i = 0; i < 64; i++) {
        if (!paths[i].path[0]) {
            snprintf(paths[i].path, sizeof paths[i].path, "%s", path);
            return &paths[i];
        }
    }
    return &paths[63];
}

static void set_fault(const char *path, enum fault f, int status, int times)
{
    pthread_mutex_lock(&srv_mu);
    struct path_state *p = path_get(path);
    p->fault = f;
    p->status = status;
    p->times = times;
    pthread_mutex_unlock(&srv_mu);
}

static int requests(const char *path)
{
    pthread_mutex_lock(&srv_mu);
    int n = path_get(path)->requests;
    pthread_mutex_unlock(&srv_mu);
    return n;
}

static void reset_server(void)
{
    pthread_mutex_lock(&srv_mu);
    memset(paths, 0, sizeof paths);
    pthread_mutex_unlock(&srv_mu);
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned int status, const char *body,
                              size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    (void)cls, (void)method, (void)version, (void)upload;
    static int first;
    if (!*con_cls) {
        *con_cls = &first;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0; /* the body is ignored */
        return MHD_YES;
    }
    pthread_mutex_lock(&srv_mu);
    struct path_state *p = path_get(url);
    p->requests++;
    enum fault f = p->times != 0 ? p->fault : F_NONE;
    int status = p->status;
    if (f != F_NONE && p->times > 0)
        p->times--;
    pthread_mutex_unlock(&srv_mu);

    if (f == F_HANG) {
        sleep_ms(5000); /* far past the connector's timeout */
        return MHD_NO;
    }
    if (f == F_GARBAGE)
        return answer(conn, 200, "\x01\x02<html>not json{{", 19);
    if (f == F_STATUS) {
        const char *body = "{\"type\":\"about:blank\",\"title\":\"Forbidden\",\"status\":403,"
                           "\"detail\":\"Not enough credit\",\"code\":\"insufficient_credit\"}";
        if (status != 403)
            body = "{\"title\":\"error\"}";
        return answer(conn, (unsigned)status, body, strlen(body));
    }
    char file[512];
    snprintf(file, sizeof file, "%s%s", FIXTURES, url);
    FILE *fp = strstr(url, "..") ? NULL : fopen(file, "rb");
    if (!fp)
        return answer(conn, 404, "{\"title\":\"Not Found\",\"status\":404}", 33);
    char buf[16384];
    size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    return answer(conn, 200, buf, n);
}

static void server_start(void)
{
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    daemon_ =
        MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL,
                         NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_END);
    assert_non_null(daemon_);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
    assert_non_null(info);
    port = info->port;
}

/* ---- set and certificates ----------------------------------------------------------------- */

/* The connectors of the tests, pointing at the stub server, into 'cfg'. */
static void set_config(char *cfg, size_t cap)
{
    snprintf(cfg, cap,
             "{\"connectors\": ["
             "{\"name\": \"gen\", \"type\": \"generic\", \"cbs\": [\"CB-GEN\", \"Example Cert "
             "Ltd\"],"
             " \"url\": \"http://127.0.0.1:%u/generic/{number}.json\", \"record\": "
             "\"/result/certificate\","
             " \"fields\": {\"status\": \"/state\", \"holder\": \"/holder/name\", \"standard\": "
             "\"/standard\", \"expiry\": \"/valid_until\"},"
             " \"status_map\": {\"Active\": \"active\", \"Suspended\": \"suspended\", "
             "\"Withdrawn\": \"withdrawn\", \"Cancelled\": \"cancelled\", \"Expired\": "
             "\"expired\"},"
             " \"timeout_ms\": 500, \"retries\": 0, \"breaker\": {\"failures\": 3, \"open_ms\": "
             "400}},"
             "{\"name\": \"cs\", \"type\": \"certsearch\", \"cbs\": [\"CB-CS\"],"
             " \"base_url\": \"http://127.0.0.1:%u/certsearch/\", \"api_key_env\": "
             "\"CERTVET_TEST_CS_KEY\", \"timeout_ms\": 1000, \"retries\": 0},"
             "{\"name\": \"nokey\", \"type\": \"certsearch\", \"cbs\": [\"CB-NOKEY\"],"
             " \"base_url\": \"http://127.0.0.1:%u/certsearch\", \"api_key_env\": "
             "\"CERTVET_TEST_UNSET_KEY\"},"
             "{\"name\": \"csretry\", \"type\": \"certsearch\", \"cbs\": [\"CB-CSR\"],"
             " \"base_url\": \"http://127.0.0.1:%u/certsearch\", \"api_key_env\": "
             "\"CERTVET_TEST_CS_KEY\", \"retries\": 1, \"backoff_ms\": 10}"
             "]}",
             port, port, port, port);
}

static struct cv_registry_set *make_set(void)
{
    char cfg[4096], err[256] = "";
    set_config(cfg, sizeof cfg);
    struct cv_registry_set *set = NULL;
    int rc = cv_registry_set_parse(cfg, strlen(cfg), &set, err, sizeof err);
    if (rc)
        fprintf(stderr, "config: %s\n", err);
    assert_int_equal(rc, CV_OK);
    return set;
}

static void make_cert(struct cv_certificate *c, const char *number, const char *cb_id)
{
    char msg[128];
    cv_certificate_init(c, 0);
    static const char *const fields[][2] = {
        {"standard", "ISO 9001:2015"}, {"holder_name", "Acme Widgets Ltd"},
        {"holder_country", "GB"},      {"certification_body", "Some CB"},
        {"issue_date", "2024-06-01"},  {"expiry_date", "2027-05-31"},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        assert_int_equal(cv_certificate_set_text(c, fields[i][0], fields[i][1],
                                                 strlen(fields[i][1]), msg, sizeof msg),
                         CV_OK);
    assert_int_equal(
        cv_certificate_set_text(c, "certificate_number", number, strlen(number), msg, sizeof msg),
        CV_OK);
    if (cb_id)
        assert_int_equal(cv_certificate_set_text(c, "certification_body_id", cb_id, strlen(cb_id),
                                                 msg, sizeof msg),
                         CV_OK);
}

static enum cv_registry_status lookup(struct cv_registry_set *set, struct cv_store *store,
                                      const char *number, const char *cb_id,
                                      struct cv_registry_result *r, char *buf, size_t cap)
{
    struct cv_certificate c;
    make_cert(&c, number, cb_id);
    assert_int_equal(cv_registry_lookup(set, store, &c, r, buf, cap), CV_OK);
    cv_certificate_cleanup(&c);
    return r->status;
}

static int setup(void **state)
{
    (void)state;
    reset_server();
    return 0;
}

/* ---- config ------------------------------------------------------------------------------- */

static void test_config_errors(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int rc;
        const char *want; /* substring of the message */
    } cases[] = {
        {"{", CV_ERR_PARSE, "registries"},
        {"{\"connectors\": 3}", CV_ERR_INVALID, "'connectors'"},
        {"{\"connectors\": [{\"type\": \"generic\"}]}", CV_ERR_INVALID, "#1: field 'name'"},
        {"{\"connectors\": [{\"name\": \"a\", \"type\": \"soap\", \"cbs\": [\"*\"]}]}",
         CV_ERR_INVALID, "'a': field 'type'"},
        {"{\"connectors\": [{\"name\": \"a\", \"cbs\": []}]}", CV_ERR_INVALID, "'a': field 'cbs'"},
        {"{\"connectors\": [{\"name\": \"a\", \"cbs\": [\"*\"], \"url\": \"ftp://x/{number}\"}]}",
         CV_ERR_INVALID, "'a': field 'url'"},
        {"{\"connectors\": [{\"name\": \"a\", \"cbs\": [\"*\"], \"url\": \"http://{cb}.x/\"}]}",
         CV_ERR_INVALID, "'a': field 'url'"},
        {"{\"connectors\": [{\"name\": \"a\", \"cbs\": [\"*\"], \"url\": \"http://x/{number}\"}]}",
         CV_ERR_INVALID, "'a': field 'fields'"},
        {"{\"connectors\": [{\"name\": \"a\", \"cbs\": [\"*\"], \"url\": \"http://x/{number}\", "
         "\"fields\": {\"status\": \"state\"}}]}",
         CV_ERR_INVALID, "'a': field 'fields.status'"},
        {"{\"connectors\": [{\"name\": \"a\", \"cbs\": [\"*\"], \"url\": \"http://x/{number}\", "
         "\"fields\": {\"status\": \"/s\"}, \"status_map\": {\"A\": \"great\"}}]}",
         CV_ERR_INVALID, "'a': field 'status_map.A'"},
        {"{\"connectors\": [{\"name\": \"cs\", \"type\": \"certsearch\", \"cbs\": [\"*\"], "
         "\"base_url\": \"https://api.example\", \"api_key\": \"secret\"}]}",
         CV_ERR_INVALID, "'cs': a key in the file"},
        {"{\"connectors\": [{\"name\": \"cs\", \"type\": \"certsearch\", \"cbs\": [\"*\"], "
         "\"base_url\": \"https://api.example\", \"match_rate\": 83}]}",
         CV_ERR_INVALID, "'cs': field 'match_rate'"},
        {"{\"connectors\": [{\"name\": \"cs\", \"type\": \"certsearch\", \"cbs\": [\"*\"], "
         "\"base_url\": \"https://api.example\", \"ttl_found_s\": 0}]}",
         CV_ERR_INVALID, "'cs': field 'ttl_found_s'"},
        {"{\"connectors\": [{\"name\": \"cs\", \"type\": \"certsearch\", \"cbs\": [\"*\"], "
         "\"base_url\": \"https://api.example\"}, {\"name\": \"cs\", \"type\": \"certsearch\", "
         "\"cbs\": [\"*\"], \"base_url\": \"https://api.example\"}]}",
         CV_ERR_INVALID, "'cs': field 'name': used twice"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cv_registry_set *set = (void *)1;
        char err[256] = "";
        int rc = cv_registry_set_parse(cases[i].json, strlen(cases[i].json), &set, err, sizeof err);
        if (rc != cases[i].rc || !strstr(err, cases[i].want))
            fail_msg("case %zu: rc %d, message \"%s\"", i, rc, err);
        assert_null(set);
    }
}

static void test_sample_config_loads(void **state)
{
    (void)state;
    struct cv_registry_set *set = NULL;
    char err[256] = "";
    int rc =
        cv_registry_set_load(CERTVET_SOURCE_DIR "/config/registries.json", &set, err, sizeof err);
    if (rc)
        fail_msg("%s", err);
    const char *const *origins;
    assert_true(cv_registry_set_origins(set, &origins) >= 2);
    cv_registry_set_free(set);
    assert_int_equal(cv_registry_set_load("/nonexistent/registries.json", &set, err, sizeof err),
                     CV_ERR_IO);
}

static void test_not_consulted(void **state)
{
    (void)state;
    struct cv_registry_set *set = make_set();
    struct cv_registry_result r;
    char buf[CV_REGISTRY_BUF_MIN];
    assert_int_equal(lookup(set, NULL, "ACT-1", "CB-OTHER", &r, buf, sizeof buf),
                     CV_REG_NOT_CONSULTED);
    assert_int_equal(lookup(NULL, NULL, "ACT-1", "CB-GEN", &r, buf, sizeof buf),
                     CV_REG_NOT_CONSULTED);
    assert_int_equal(requests("/generic/ACT-1.json"), 0);
    cv_registry_set_free(set);
}

/* ---- generic connector -------------------------------------------------------------------- */

static void test_generic_statuses(void **state)
{
    (void)state;
    static const struct {
        const char *number;
        enum cv_registry_status want;
    } cases[] = {
        {"ACT-1", CV_REG_ACTIVE},        {"SUS-1", CV_REG_SUSPENDED},
        {"WDR-1", CV_REG_WITHDRAWN},     {"CAN-1", CV_REG_WITHDRAWN},
        {"EXP-1", CV_REG_EXPIRED},       {"EMPTY-1", CV_REG_NOT_FOUND},
        {"MISSING-9", CV_REG_NOT_FOUND}, {"ODD-1", CV_REG_UNAVAILABLE},
    };
    struct cv_registry_set *set = make_set();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cv_registry_result r;
        char buf[CV_REGISTRY_BUF_MIN];
        enum cv_registry_status st =
            lookup(set, NULL, cases[i].number, "CB-GEN", &r, buf, sizeof buf);
        if (st != cases[i].want)
            fail_msg("%s: status %s, error %s", cases[i].number, cv_registry_status_name(st),
                     r.error ? r.error : "-");
        assert_string_equal(r.registry, "gen");
        if (st == CV_REG_UNAVAILABLE) {
            assert_non_null(strstr(r.error, "Pending"));
        } else if (st != CV_REG_NOT_FOUND) {
            assert_string_equal(r.holder_name, "Acme Widgets Ltd");
            assert_string_equal(r.standard, "ISO 9001:2015");
            assert_int_equal(r.expiry_date, cv_date_from_ymd(2027, 5, 31));
            assert_null(r.error);
        } else {
            assert_null(r.holder_name);
            assert_int_equal(r.expiry_date, CV_DATE_NONE);
        }
    }
    cv_registry_set_free(set);
}

static void test_generic_by_cb_name(void **state)
{
    (void)state;
    struct cv_registry_set *set = make_set();
    struct cv_certificate c;
    char msg[128];
    make_cert(&c, "ACT-1", NULL);
    cv_certificate_set_text(&c, "certification_body", "EXAMPLE CERT LIMITED", 20, msg, sizeof msg);
    struct cv_registry_result r;
    char buf[CV_REGISTRY_BUF_MIN];
    assert_int_equal(cv_registry_lookup(set, NULL, &c, &r, buf, sizeof buf), CV_OK);
    assert_int_equal(r.status, CV_REG_ACTIVE);
    assert_int_equal(cv_registry_lookup(set, NULL, &c, &r, buf, 10), CV_ERR_USAGE);
    cv_certificate_cleanup(&c);
    cv_registry_set_free(set);
}

static void test_generic_faults(void **state)
{
    (void)state;
    struct cv_registry_set *set = make_set();
    struct cv_registry_result r;
    char buf[CV_REGISTRY_BUF_MIN];

    set_fault("/generic/ACT-1.json", F_GARBAGE, 0, 1);
    assert_int_equal(lookup(set, NULL, "ACT-1", "CB-GEN", &r, buf, sizeof buf), CV_REG_UNAVAILABLE);
    assert_non_null(strstr(r.error, "not JSON"));

    set_fault("/generic/ACT-1.json", F_STATUS, 503, 1);
    assert_int_equal(lookup(set, NULL, "ACT-1", "CB-GEN", &r, buf, sizeof buf), CV_REG_UNAVAILABLE);
    assert_non_null(strstr(r.error, "503"));

    set_fault("/generic/ACT-1.json", F_HANG, 0, 1);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(lookup(set, NULL, "ACT-1", "CB-GEN", &r, buf, sizeof buf), CV_REG_UNAVAILABLE);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(took < 4.0); /* timeout_ms 500: bounded by the connector, not the 5 s hang */
    assert_non_null(r.error);

    /* Three failures in a row opened the breaker (failures: 3). */
    struct cv_registry_stats st;
    assert_int_equal(cv_registry_stats(set, "gen", &st), CV_OK);
    assert_int_equal(st.breaker_open, 1);
    cv_registry_set_free(set);
}

static void test_breaker(void **state)
{
    (void)state;
    struct cv_registry_set *set = make_set();
    struct cv_registry_result r;
    char buf[CV_REGISTRY_BUF_MIN];
    const char *path = "/generic/SUS-1.json";

    set_fault(path, F_STATUS, 500, -1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(lookup(set, NULL, "SUS-1", "CB-GEN", &r, buf, sizeof buf),
                         CV_REG_UNAVAILABLE);
    assert_int_equal(requests(path), 3);
    /* Open: answered at once, no request. */
    assert_int_equal(lookup(set, NULL, "SUS-1", "CB-GEN", &r, buf, sizeof buf), CV_REG_UNAVAILABLE);
    assert_non_null(strstr(r.error, "circuit open"));
    assert_int_equal(requests(path), 3);

    /* Half-open after open_ms: one trial; it fails, so the breaker opens again. */
    sleep_ms(450);
    assert_int_equal(lookup(set, NULL, "SUS-1", "CB-GEN", &r, buf, sizeof buf), CV_REG_UNAVAILABLE);
    assert_int_equal(requests(path), 4);
    assert_int_equal(lookup(set, NULL, "SUS-1", "CB-GEN", &r, buf, sizeof buf), CV_REG_UNAVAILABLE);
    assert_non_null(strstr(r.error, "circuit open"));
    assert_int_equal(requests(path), 4);

    /* The registry recovers: the next trial succeeds and closes the breaker. */
    set_fault(path, F_NONE, 0, 0);
    sleep_ms(450);
    assert_int_equal(lookup(set, NULL, "SUS-1", "CB-GEN", &r, buf, sizeof buf), CV_REG_SUSPENDED);
    assert_int_equal(lookup(set, NULL, "SUS-1", "CB-GEN", &r, buf, sizeof buf), CV_REG_SUSPENDED);
    assert_int_equal(requests(path), 6);
    struct cv_registry_stats st;
    assert_int_equal(cv_registry_stats(set, "gen", &st), CV_OK);
    assert_int_equal(st.breaker_open, 0);
    assert_int_equal(st.short_circuits, 2);
    assert_int_equal(cv_registry_stats(set, "nope", &st), CV_ERR_NOT_FOUND);
    cv_registry_set_free(set);
}

/* ---- CertSearch-shaped connector ---------------------------------------------------------- */

static void test_certsearch_statuses(void **state)
{
    (void)state;
    static const struct {
        const char *number;
        enum cv_registry_status want;
        const char *standard;
    } cases[] = {
        {"CS-ACT-001", CV_REG_ACTIVE, "ISO 9001:2015"},
        {"cs act 001", CV_REG_ACTIVE, "ISO 9001:2015"}, /* normalized number */
        {"CS-SUS-002", CV_REG_SUSPENDED, "ISO 14001:2015"},
        {"CS-WDR-003", CV_REG_WITHDRAWN, "ISO 9001:2015"},
        {"CS-CAN-004", CV_REG_WITHDRAWN, "ISO 9001:2015"},
        {"CS-EXP-005", CV_REG_EXPIRED, "ISO 45001:2018"},
        {"CS-DET-042", CV_REG_ACTIVE, "ISO 27001:2022"}, /* details from GET /certificate/ */
        {"CS-NONE-999", CV_REG_NOT_FOUND, NULL},
    };
    setenv("CERTVET_TEST_CS_KEY", "test-key", 1);
    struct cv_registry_set *set = make_set();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cv_registry_result r;
        char buf[CV_REGISTRY_BUF_MIN];
        enum cv_registry_status st =
            lookup(set, NULL, cases[i].number, "CB-CS", &r, buf, sizeof buf);
        if (st != cases[i].want)
            fail_msg("%s: status %s, error %s", cases[i].number, cv_registry_status_name(st),
                     r.error ? r.error : "-");
        if (cases[i].standard) {
            assert_string_equal(r.standard, cases[i].standard);
            assert_string_equal(r.holder_name, "Acme Widgets Ltd");
            assert_true(r.expiry_date != CV_DATE_NONE);
        }
    }
    assert_int_equal(requests("/certsearch/company"), 8);
    assert_int_equal(requests("/certsearch/certificate/cert_0042"), 1);
    cv_registry_set_free(set);
}

static void test_certsearch_errors(void **state)
{
    (void)state;
    setenv("CERTVET_TEST_CS_KEY", "test-key", 1);
    unsetenv("CERTVET_TEST_UNSET_KEY");
    struct cv_registry_set *set = make_set();
    struct cv_registry_result r;
    char buf[CV_REGISTRY_BUF_MIN];

    set_fault("/certsearch/company", F_STATUS, 403, 1);
    assert_int_equal(lookup(set, NULL, "CS-ACT-001", "CB-CS", &r, buf, sizeof buf),
                     CV_REG_UNAVAILABLE);
    assert_non_null(strstr(r.error, "insufficient_credit"));

    set_fault("/certsearch/company", F_STATUS, 404, 1);
    assert_int_equal(lookup(set, NULL, "CS-ACT-001", "CB-CS", &r, buf, sizeof buf),
                     CV_REG_NOT_FOUND);

    set_fault("/certsearch/company", F_STATUS, 429, 1);
    assert_int_equal(lookup(set, NULL, "CS-ACT-001", "CB-CS", &r, buf, sizeof buf),
                     CV_REG_UNAVAILABLE);
    assert_non_null(strstr(r.error, "429"));

    /* With retries, the HTTP client asks again after a 429. */
    assert_int_equal(lookup(set, NULL, "CS-ACT-001", "CB-CSR", &r, buf, sizeof buf), CV_REG_ACTIVE);
    set_fault("/certsearch/company", F_STATUS, 429, 1);
    int n429 = requests("/certsearch/company");
    assert_int_equal(lookup(set, NULL, "CS-SUS-002", "CB-CSR", &r, buf, sizeof buf),
                     CV_REG_SUSPENDED);
    assert_int_equal(requests("/certsearch/company"), n429 + 2);

    set_fault("/certsearch/company", F_STATUS, 422, 1);
    assert_int_equal(lookup(set, NULL, "CS-ACT-001", "CB-CS", &r, buf, sizeof buf),
                     CV_REG_UNAVAILABLE);
    assert_non_null(strstr(r.error, "422"));
    int before = requests("/certsearch/company");

    /* No API key in the environment: unavailable, no request. */
    assert_int_equal(lookup(set, NULL, "CS-ACT-001", "CB-NOKEY", &r, buf, sizeof buf),
                     CV_REG_UNAVAILABLE);
    assert_non_null(strstr(r.error, "CERTVET_TEST_UNSET_KEY"));
    assert_int_equal(requests("/certsearch/company"), before);

    /* No holder country: CertSearch needs company_country. */
    struct cv_certificate c;
    make_cert(&c, "CS-ACT-001", "CB-CS");
    c.holder_country = NULL;
    assert_int_equal(cv_registry_lookup(set, NULL, &c, &r, buf, sizeof buf), CV_OK);
    assert_int_equal(r.status, CV_REG_UNAVAILABLE);
    assert_non_null(strstr(r.error, "company_country"));
    cv_certificate_cleanup(&c);
    cv_registry_set_free(set);
}

/* ---- cache -------------------------------------------------------------------------------- */

static void test_cache(void **state)
{
    (void)state;
    struct cv_test_redis redis = {0};
    assert_int_equal(cv_test_redis_start(&redis), 0);
    struct cv_store_config sc = {.url = redis.url};
    struct cv_store *store = NULL;
    char err[256];
    assert_int_equal(cv_store_open(&sc, &store, err, sizeof err), CV_OK);
    struct cv_registry_set *set = make_set();
    struct cv_registry_result r;
    char buf[CV_REGISTRY_BUF_MIN];

    /* Found: the second lookup is a cache hit, same answer. */
    assert_int_equal(lookup(set, store, "ACT-1", "CB-GEN", &r, buf, sizeof buf), CV_REG_ACTIVE);
    assert_int_equal(lookup(set, store, "ACT-1", "CB-GEN", &r, buf, sizeof buf), CV_REG_ACTIVE);
    assert_int_equal(requests("/generic/ACT-1.json"), 1);
    assert_string_equal(r.holder_name, "Acme Widgets Ltd");
    assert_string_equal(r.standard, "ISO 9001:2015");
    assert_int_equal(r.expiry_date, cv_date_from_ymd(2027, 5, 31));
    char *val = NULL;
    assert_int_equal(cv_store_cache_get(store, "reg:gen:ACT1:CB-GEN", &val), CV_OK);
    free(val);

    /* Not found is cached too. */
    assert_int_equal(lookup(set, store, "GONE-1", "CB-GEN", &r, buf, sizeof buf), CV_REG_NOT_FOUND);
    assert_int_equal(lookup(set, store, "GONE-1", "CB-GEN", &r, buf, sizeof buf), CV_REG_NOT_FOUND);
    assert_int_equal(requests("/generic/GONE-1.json"), 1);

    /* A failure is not: the next lookup asks again. */
    set_fault("/generic/EXP-1.json", F_STATUS, 500, 1);
    assert_int_equal(lookup(set, store, "EXP-1", "CB-GEN", &r, buf, sizeof buf),
                     CV_REG_UNAVAILABLE);
    assert_int_equal(lookup(set, store, "EXP-1", "CB-GEN", &r, buf, sizeof buf), CV_REG_EXPIRED);
    assert_int_equal(requests("/generic/EXP-1.json"), 2);
    assert_int_equal(lookup(set, store, "EXP-1", "CB-GEN", &r, buf, sizeof buf), CV_REG_EXPIRED);
    assert_int_equal(requests("/generic/EXP-1.json"), 2);

    struct cv_registry_stats st;
    assert_int_equal(cv_registry_stats(set, "gen", &st), CV_OK);
    assert_int_equal(st.cache_hits, 3);

    /* Redis gone: lookups go on without the cache. */
    cv_test_redis_kill(&redis);
    assert_int_equal(lookup(set, store, "ACT-1", "CB-GEN", &r, buf, sizeof buf), CV_REG_ACTIVE);
    assert_int_equal(requests("/generic/ACT-1.json"), 2);

    cv_registry_set_free(set);
    cv_store_close(store);
    cv_test_redis_stop(&redis);
}

/* ---- threads ------------------------------------------------------------------------------ */

static struct cv_registry_set *shared_set;

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 5; i++) {
        struct cv_registry_result r;
        char buf[CV_REGISTRY_BUF_MIN];
        struct cv_certificate c;
        make_cert(&c, "WDR-1", "CB-GEN");
        if (cv_registry_lookup(shared_set, NULL, &c, &r, buf, sizeof buf) != CV_OK ||
            r.status != CV_REG_WITHDRAWN)
            abort();
        cv_certificate_cleanup(&c);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    shared_set = make_set();
    pthread_t t[6];
    for (int i = 0; i < 6; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, NULL), 0);
    for (int i = 0; i < 6; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(requests("/generic/WDR-1.json"), 30);
    cv_registry_set_free(shared_set);
}

static void test_rate_limit(void **state)
{
    (void)state;
    char cfg[1024], err[256];
    snprintf(cfg, sizeof cfg,
             "{\"connectors\": [{\"name\": \"slow\", \"cbs\": [\"*\"], \"url\": "
             "\"http://127.0.0.1:%u/generic/{number}.json\", \"record\": \"/result/certificate\", "
             "\"fields\": {\"status\": \"/state\"}, \"rate_per_s\": 10, \"max_concurrent\": 1}]}",
             port);
    struct cv_registry_set *set = NULL;
    assert_int_equal(cv_registry_set_parse(cfg, strlen(cfg), &set, err, sizeof err), CV_OK);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 15; i++) {
        struct cv_registry_result r;
        char buf[CV_REGISTRY_BUF_MIN];
        assert_int_equal(lookup(set, NULL, "ACT-1", "ANY", &r, buf, sizeof buf), CV_REG_ACTIVE);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(took >= 0.4); /* a burst of 10, then 5 more at 10 per second */
    cv_registry_set_free(set);
}

/* ---- certvet verify --online -------------------------------------------------------------- */

static char *run_verify(const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s verify --format json --as-of 2026-11-22 %s 2>&1", CERTVET_BINARY,
             args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    static char out[65536];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    pclose(p);
    return out;
}

static void test_cli_online(void **state)
{
    (void)state;
    char dir[] = "/tmp/certvet-reg-XXXXXX", path[128], cfg[4096], args[512];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/registries.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    set_config(cfg, sizeof cfg);
    fputs(cfg, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/cert.json", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"certificate_number\": \"SUS-1\", \"standard\": \"ISO 9001:2015\", "
          "\"holder\": {\"name\": \"Acme Widgets Ltd\", \"country\": \"GB\"}, "
          "\"certification_body\": {\"name\": \"Example Cert Ltd\"}, "
          "\"issue_date\": \"2024-06-01\", \"expiry_date\": \"2027-05-31\"}\n",
          f);
    fclose(f);

    snprintf(args, sizeof args, "--online --registries %s/registries.json %s", dir, path);
    char *out = run_verify(args);
    if (!strstr(out, "REGISTRY_SUSPENDED"))
        fail_msg("no REGISTRY_SUSPENDED in: %s", out);
    assert_int_equal(requests("/generic/SUS-1.json"), 1);

    out = run_verify(path); /* offline: no registry, no request */
    assert_null(strstr(out, "REGISTRY_"));
    assert_int_equal(requests("/generic/SUS-1.json"), 1);

    snprintf(args, sizeof args, "--registries %s/nope.json %s", dir, path);
    out = run_verify(args);
    assert_non_null(strstr(out, "nope.json"));

    char rm[256];
    snprintf(rm, sizeof rm, "rm -rf %s", dir);
    assert_int_equal(system(rm), 0);
}

int main(void)
{
    server_start();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_config_errors, setup),
        cmocka_unit_test_setup(test_sample_config_loads, setup),
        cmocka_unit_test_setup(test_not_consulted, setup),
        cmocka_unit_test_setup(test_generic_statuses, setup),
        cmocka_unit_test_setup(test_generic_by_cb_name, setup),
        cmocka_unit_test_setup(test_generic_faults, setup),
        cmocka_unit_test_setup(test_breaker, setup),
        cmocka_unit_test_setup(test_certsearch_statuses, setup),
        cmocka_unit_test_setup(test_certsearch_errors, setup),
        cmocka_unit_test_setup(test_cache, setup),
        cmocka_unit_test_setup(test_threads, setup),
        cmocka_unit_test_setup(test_rate_limit, setup),
        cmocka_unit_test_setup(test_cli_online, setup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    MHD_stop_daemon(daemon_);
    return rc;
}

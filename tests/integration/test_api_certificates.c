/* POST/GET/DELETE /v1/certificates on the real service (docs/API.md): ingest of the sample
 * portfolio as JSON, CSV and XML with stable ids (upsert, no duplicates), refused records named
 * by line, index and field, malformed bodies, media types, and the body and batch limits. */
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

#define BODY_LIMIT  (64 * 1024) /* limits.body_bytes for this service */
#define BATCH_LIMIT 50          /* limits.batch_records: the portfolio's 43 records fit */
#define PORTFOLIO_N 43

static struct it_redis redis;
static struct it_service svc;
static json_t *portfolio;     /* fixtures/sample/portfolio.json */
static json_t *portfolio_ids; /* the ids the JSON ingest returned, in record order */

static int setup(void **state)
{
    (void)state;
    portfolio = it_load_json_fixture("fixtures/sample/portfolio.json");
    assert_int_equal(json_array_size(portfolio), PORTFOLIO_N);
    it_redis_start(&redis, it_tmpdir(), false);
    struct it_service_options o = {
        .redis_url = redis.url, .body_bytes = BODY_LIMIT, .batch_records = BATCH_LIMIT};
    it_service_start(&svc, &o);
    it_put_sample_suppliers(&svc);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int code = it_service_stop(&svc, false);
    it_redis_stop(&redis);
    it_cleanup_all();
    json_decref(portfolio);
    json_decref(portfolio_ids);
    assert_int_equal(code, 0);
    return 0;
}

static bool str_is(const json_t *v, const char *s)
{
    return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

static json_t *ingest_fixture(const char *rel, const char *content_type, size_t accepted)
{
    size_t len;
    char *body = it_read_fixture(rel, &len);
    json_t *reply = it_ingest(&svc, content_type, body, len, accepted);
    free(body);
    return reply;
}

/* Fails unless the two id arrays are equal, element by element. */
static void expect_same_ids(const json_t *got, const json_t *want, const char *what)
{
    int bad = 0;
    if (json_array_size(got) != json_array_size(want)) {
        print_error("%s: %zu ids, expected %zu\n", what, json_array_size(got),
                    json_array_size(want));
        fail();
    }
    for (size_t i = 0; i < json_array_size(want); i++) {
        const char *g = json_string_value(json_array_get(got, i));
        const char *w = json_string_value(json_array_get(want, i));
        if (!g || !w || strcmp(g, w) != 0) {
            print_error("%s: record %zu has id %s, expected %s\n", what, i, g ? g : "?",
                        w ? w : "?");
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

/* docs/API.md: POST /v1/certificates → 200 {"accepted", "rejected", "ids", "errors"}. */
static void test_ingest_json_array(void **state)
{
    (void)state;
    json_t *reply =
        ingest_fixture("fixtures/sample/portfolio.json", "application/json", PORTFOLIO_N);
    assert_int_equal(json_integer_value(json_object_get(reply, "rejected")), 0);
    assert_true(json_is_array(json_object_get(reply, "errors")));
    assert_int_equal(json_array_size(json_object_get(reply, "errors")), 0);
    json_t *ids = json_object_get(reply, "ids");
    for (size_t i = 0; i < json_array_size(ids); i++) {
        const char *id = json_string_value(json_array_get(ids, i));
        assert_non_null(id);
        assert_true(strlen(id) > 0);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(id, json_string_value(json_array_get(ids, j)));
    }
    portfolio_ids = json_incref(ids);
    json_decref(reply);
}

/* The same certificates as CSV and XML: ids come from (CB, number, standard family), so the same
 * ids come back (SPEC 3.1: "ingesting the same certificate again updates it"). */
static void test_ingest_csv_and_xml_same_ids(void **state)
{
    (void)state;
    assert_non_null(portfolio_ids);
    json_t *csv = ingest_fixture("fixtures/sample/portfolio.csv", "text/csv", PORTFOLIO_N);
    expect_same_ids(json_object_get(csv, "ids"), portfolio_ids, "CSV ingest");
    json_decref(csv);
    json_t *xml = ingest_fixture("fixtures/sample/portfolio.xml", "application/xml", PORTFOLIO_N);
    expect_same_ids(json_object_get(xml, "ids"), portfolio_ids, "XML ingest");
    json_decref(xml);
}

/* Ingesting the same file again returns the same ids and duplicates nothing: every supplier
 * lists each of its certificates once. */
static void test_reingest_no_duplicates(void **state)
{
    (void)state;
    assert_non_null(portfolio_ids);
    json_t *again =
        ingest_fixture("fixtures/sample/portfolio.json", "application/json", PORTFOLIO_N);
    expect_same_ids(json_object_get(again, "ids"), portfolio_ids, "second JSON ingest");
    json_decref(again);

    json_t *suppliers = it_load_json_fixture("fixtures/sample/suppliers.json");
    size_t i;
    json_t *sup;
    int bad = 0;
    json_array_foreach(json_object_get(suppliers, "suppliers"), i, sup)
    {
        const char *sid = json_string_value(json_object_get(sup, "id"));
        json_t *want = json_array(); /* the portfolio's ids linked to this supplier */
        for (size_t k = 0; k < PORTFOLIO_N; k++) {
            const char *linked =
                json_string_value(json_object_get(json_array_get(portfolio, k), "supplier_id"));
            if (linked && strcmp(linked, sid) == 0)
                json_array_append(want, json_array_get(portfolio_ids, k));
        }
        json_t *got = it_supplier_certificate_ids(&svc, sid);
        if (json_array_size(got) != json_array_size(want)) {
            print_error("supplier %s lists %zu certificates, expected %zu\n", sid,
                        json_array_size(got), json_array_size(want));
            bad++;
        }
        for (size_t k = 0; k < json_array_size(want); k++) {
            size_t seen = 0;
            for (size_t m = 0; m < json_array_size(got); m++)
                seen += json_equal(json_array_get(got, m), json_array_get(want, k));
            if (seen != 1) {
                print_error("supplier %s lists certificate %s %zu times\n", sid,
                            json_string_value(json_array_get(want, k)), seen);
                bad++;
            }
        }
        json_decref(want);
        json_decref(got);
    }
    json_decref(suppliers);
    assert_int_equal(bad, 0);
}

/* A single object, and JSON lines (docs/API.md: "body JSON (object, array, JSON lines)"). */
static void test_ingest_object_and_json_lines(void **state)
{
    (void)state;
    assert_non_null(portfolio_ids);
    char *one = json_dumps(json_array_get(portfolio, 0), JSON_COMPACT);
    json_t *reply = it_ingest(&svc, "application/json", one, strlen(one), 1);
    json_t *want = json_pack("[O]", json_array_get(portfolio_ids, 0));
    expect_same_ids(json_object_get(reply, "ids"), want, "object ingest");
    json_decref(want);
    json_decref(reply);

    char *two = json_dumps(json_array_get(portfolio, 1), JSON_COMPACT);
    size_t len = strlen(one) + strlen(two) + 3;
    char *lines = malloc(len);
    assert_non_null(lines);
    snprintf(lines, len, "%s\n%s\n", one, two);
    reply = it_ingest(&svc, "application/json", lines, strlen(lines), 2);
    want = json_pack("[O, O]", json_array_get(portfolio_ids, 0), json_array_get(portfolio_ids, 1));
    expect_same_ids(json_object_get(reply, "ids"), want, "JSON lines ingest");
    json_decref(want);
    json_decref(reply);
    free(lines);
    free(two);
    free(one);
}

/* Whether errors[] has an entry for 'field' whose line is one of 'lines' or whose index is one of
 * 'indexes' (-1 ends each list). */
static bool names_record(const json_t *errors, const char *field, const long *lines,
                         const long *indexes)
{
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        const char *f = json_string_value(json_object_get(e, "field"));
        if (!f || strcmp(f, field) != 0)
            continue;
        json_t *line = json_object_get(e, "line");
        json_t *index = json_object_get(e, "index");
        for (const long *l = lines; *l >= 0; l++) {
            if (json_is_integer(line) && json_integer_value(line) == *l)
                return true;
        }
        for (const long *x = indexes; *x >= 0; x++) {
            if (json_is_integer(index) && json_integer_value(index) == *x)
                return true;
        }
    }
    return false;
}

/* SPEC 3.1: a refused record is named (line or index) with its field; the rest of the batch
 * goes on. fixtures/README.md lists the refused records of sample-broken/. */
static void test_ingest_broken_records(void **state)
{
    (void)state;
    static const struct {
        const char *file, *content_type;
        size_t accepted, rejected;
        const char *field[2];
        long lines[2][3], indexes[2][3];
    } cases[] = {
        {"fixtures/sample-broken/bad-records.json",
         "application/json",
         2,
         2,
         {"issue_date", "expiry_date"},
         {{3, -1}, {4, -1}},
         {{1, -1}, {2, -1}}},
        {"fixtures/sample-broken/missing-field.csv",
         "text/csv",
         2,
         1,
         {"standard", NULL},
         {{3, -1}, {-1}},
         {{1, -1}, {-1}}},
        {"fixtures/sample-broken/bad-date.xml",
         "application/xml",
         1,
         1,
         {"issue_date", NULL},
         {{12, 17, -1}, {-1}},
         {{1, -1}, {-1}}},
    };
    int bad = 0;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        json_t *reply = ingest_fixture(cases[c].file, cases[c].content_type, cases[c].accepted);
        json_t *errors = json_object_get(reply, "errors");
        if (json_integer_value(json_object_get(reply, "rejected")) !=
                (json_int_t)cases[c].rejected ||
            json_array_size(errors) != cases[c].rejected) {
            print_error("%s: rejected %lld with %zu errors, expected %zu\n", cases[c].file,
                        (long long)json_integer_value(json_object_get(reply, "rejected")),
                        json_array_size(errors), cases[c].rejected);
            bad++;
        }
        for (size_t k = 0; k < 2 && cases[c].field[k]; k++) {
            if (!names_record(errors, cases[c].field[k], cases[c].lines[k], cases[c].indexes[k])) {
                print_error("%s: no error names field %s with its line or index\n", cases[c].file,
                            cases[c].field[k]);
                bad++;
            }
        }
        if (bad) {
            char *text = json_dumps(errors, JSON_INDENT(2));
            print_error("errors[] was %s\n", text);
            free(text);
        }
        json_decref(reply);
    }
    assert_int_equal(bad, 0);
}

/* docs/API.md: "422 when none accepted", with the refused records listed. */
static void test_ingest_none_accepted_422(void **state)
{
    (void)state;
    json_t *doc = it_load_json_fixture("fixtures/sample-broken/bad-records.json");
    json_t *refused = json_pack("[O, O]", json_array_get(doc, 1), json_array_get(doc, 2));
    struct it_response r;
    it_send_json(&svc, "POST", "/v1/certificates", IT_KEY_WRITE, refused, &r);
    json_t *p = it_expect_problem(&r, 422, NULL, "POST of refused records only");
    if (!names_record(json_object_get(p, "errors"), "issue_date", (long[]){-1}, (long[]){0, -1}) ||
        !names_record(json_object_get(p, "errors"), "expiry_date", (long[]){-1}, (long[]){1, -1})) {
        print_error("422 errors[] do not name both records and fields: %s\n", r.body);
        fail();
    }
    json_decref(p);
    it_response_cleanup(&r);
    json_decref(refused);
    json_decref(doc);
}

/* Malformed bodies → 400 with a problem; nothing is stored half-way (SPEC 12). The JSON array
 * below starts with a good record linked to SUP-TRUNC and is cut inside the second one. */
static void test_ingest_malformed_400(void **state)
{
    (void)state;
    it_put_supplier(&svc, "SUP-TRUNC", "Truncation Test Ltd");
    json_t *good = it_synth_certificates(1, "IT-TRUNC", "SUP-TRUNC");
    char *first = json_dumps(json_array_get(good, 0), JSON_COMPACT);
    char body[4096];
    snprintf(body, sizeof(body), "[%s, {\"certificate_number\": \"IT-TRUNC-2\", \"stan", first);
    struct it_response r;
    it_send(&svc, "POST", "/v1/certificates", IT_KEY_WRITE, "application/json", body, strlen(body),
            &r);
    json_decref(it_expect_problem(&r, 400, NULL, "truncated JSON array"));
    it_response_cleanup(&r);
    json_t *ids = it_supplier_certificate_ids(&svc, "SUP-TRUNC");
    if (json_array_size(ids) != 0) {
        print_error("a truncated body stored %zu certificates\n", json_array_size(ids));
        fail();
    }
    json_decref(ids);
    free(first);
    json_decref(good);

    static const struct {
        const char *content_type, *body;
    } cases[] = {
        {"application/json", "{\"certificate_number\": "},
        {"application/json", "not json at all"},
        {"application/xml", "<certificates><certificate><certificate_number>X"},
        {"application/xml", "<?xml version=\"1.0\"?><nope/>"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        it_send(&svc, "POST", "/v1/certificates", IT_KEY_WRITE, cases[i].content_type,
                cases[i].body, strlen(cases[i].body), &r);
        json_decref(it_expect_problem(&r, 400, NULL, cases[i].body));
        it_response_cleanup(&r);
    }
}

/* SPEC 12: XXE and billion laughs are refused with a clear error; the service keeps answering;
 * the secret the XXE points at never comes back. */
static void test_ingest_hostile_xml(void **state)
{
    (void)state;
    static const char *const files[] = {
        "fixtures/hostile/xml-xxe-file.xml", "fixtures/hostile/xml-xxe-local.xml",
        "fixtures/hostile/xml-billion-laughs.xml", "fixtures/hostile/xml-parameter-laughs.xml"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        size_t len;
        char *body = it_read_fixture(files[i], &len);
        struct it_response r;
        it_send(&svc, "POST", "/v1/certificates", IT_KEY_WRITE, "application/xml", body, len, &r);
        if (r.status != 400 && r.status != 422) {
            print_error("%s: %ld, expected 400 (or 422)\n", files[i], r.status);
            fail();
        }
        json_decref(it_expect_problem(&r, r.status, NULL, files[i]));
        if (strstr(r.body, "XXE-SECRET")) {
            print_error("%s: the reply carries the XXE secret\n", files[i]);
            fail();
        }
        it_response_cleanup(&r);
        free(body);
        it_get(&svc, "/healthz", IT_KEY_NONE, &r);
        it_expect_status(&r, 200, "GET /healthz after hostile XML");
        it_response_cleanup(&r);
    }
}

/* docs/API.md: GET /v1/certificates/{id} → 200 {"id", "certificate", "verification",
 * "ingested_at", "ingested_by"}; 404. */
static void test_get_certificate(void **state)
{
    (void)state;
    assert_non_null(portfolio_ids);
    static const char *const verdicts[] = {"valid", "warning", "unverified", "invalid"};
    for (size_t k = 0; k < 3; k++) {
        const char *id = json_string_value(json_array_get(portfolio_ids, k));
        json_t *rec = json_array_get(portfolio, k);
        char path[256];
        snprintf(path, sizeof(path), "/v1/certificates/%s", id);
        struct it_response r;
        it_get(&svc, path, IT_KEY_READ, &r);
        it_expect_status(&r, 200, path);
        char ct[128];
        assert_non_null(it_header(&r, "Content-Type", ct, sizeof(ct)));
        assert_true(strncmp(ct, "application/json", 16) == 0);
        json_t *v = it_json(&r);
        json_t *cert = json_object_get(v, "certificate");
        json_t *ver = json_object_get(v, "verification");
        const char *verdict = json_string_value(json_object_get(ver, "verdict"));
        bool verdict_ok = false;
        for (size_t i = 0; verdict && i < 4; i++)
            verdict_ok = verdict_ok || strcmp(verdict, verdicts[i]) == 0;
        const char *problem = NULL;
        if (!str_is(json_object_get(v, "id"), id))
            problem = "\"id\" is not the path's id";
        else if (!json_equal(json_object_get(cert, "certificate_number"),
                             json_object_get(rec, "certificate_number")))
            problem = "certificate.certificate_number differs from the ingested record";
        else if (!json_equal(json_object_get(ver, "certificate_number"),
                             json_object_get(rec, "certificate_number")))
            problem = "verification.certificate_number differs";
        else if (!verdict_ok)
            problem = "verification.verdict is not one of valid/warning/unverified/invalid";
        else if (!json_is_array(json_object_get(ver, "findings")) ||
                 !json_is_object(json_object_get(ver, "checks")))
            problem = "verification lacks findings[] or checks{}";
        else if (!json_is_string(json_object_get(v, "ingested_at")))
            problem = "no ingested_at";
        else if (!str_is(json_object_get(v, "ingested_by"), "it-write"))
            problem = "ingested_by is not the writing key's name (it-write)";
        if (problem) {
            print_error("GET %s: %s\n%.3000s\n", path, problem, r.body);
            fail();
        }
        json_decref(v);
        it_response_cleanup(&r);
    }
    struct it_response r;
    it_get(&svc, "/v1/certificates/c_doesnotexist", IT_KEY_READ, &r);
    json_decref(it_expect_problem(&r, 404, NULL, "GET of an unknown certificate"));
    it_response_cleanup(&r);
}

/* docs/API.md: DELETE /v1/certificates/{id} → 204; 404. */
static void test_delete_certificate(void **state)
{
    (void)state;
    json_t *reply = ingest_fixture("fixtures/sample-broken/good.json", "application/json", 1);
    char id[128], path[256];
    snprintf(id, sizeof(id), "%s",
             json_string_value(json_array_get(json_object_get(reply, "ids"), 0)));
    snprintf(path, sizeof(path), "/v1/certificates/%s", id);
    json_decref(reply);
    struct it_response r;
    it_send(&svc, "DELETE", path, IT_KEY_WRITE, NULL, NULL, 0, &r);
    it_expect_status(&r, 204, "DELETE");
    assert_int_equal(r.len, 0);
    it_response_cleanup(&r);
    it_get(&svc, path, IT_KEY_READ, &r);
    json_decref(it_expect_problem(&r, 404, NULL, "GET after DELETE"));
    it_response_cleanup(&r);
    it_send(&svc, "DELETE", path, IT_KEY_WRITE, NULL, NULL, 0, &r);
    json_decref(it_expect_problem(&r, 404, NULL, "second DELETE"));
    it_response_cleanup(&r);
    /* the supplier no longer lists it */
    json_t *ids = it_supplier_certificate_ids(&svc, "SUP-002");
    for (size_t i = 0; i < json_array_size(ids); i++)
        assert_string_not_equal(json_string_value(json_array_get(ids, i)), id);
    json_decref(ids);
}

/* docs/API.md: "Unsupported Content-Type for a body → 415". */
static void test_unsupported_media_type_415(void **state)
{
    (void)state;
    size_t len;
    char *body = it_read_fixture("fixtures/sample-broken/good.json", &len);
    struct it_response r;
    it_send(&svc, "POST", "/v1/certificates", IT_KEY_WRITE, "text/plain", body, len, &r);
    json_decref(it_expect_problem(&r, 415, NULL, "POST text/plain"));
    it_response_cleanup(&r);
    it_send(&svc, "POST", "/v1/certificates", IT_KEY_WRITE, "image/png", body, len, &r);
    json_decref(it_expect_problem(&r, 415, NULL, "POST image/png"));
    it_response_cleanup(&r);
    free(body);
}

/* docs/API.md: body over limits.body_bytes → 413 (here 64 KiB; 1 MiB is sent). */
static void test_body_too_large_413(void **state)
{
    (void)state;
    size_t len = 1024 * 1024;
    char *body = malloc(len);
    assert_non_null(body);
    memset(body, ' ', len);
    body[0] = '[';
    body[len - 1] = ']';
    const char *const expect[] = {"Expect: 100-continue", NULL};
    struct it_request q = {.method = "POST",
                           .path = "/v1/certificates",
                           .key = IT_KEY_WRITE,
                           .content_type = "application/json",
                           .body = body,
                           .body_len = len,
                           .extra_headers = expect};
    struct it_response r;
    it_do(&svc, &q, &r, false);
    json_decref(it_expect_problem(&r, 413, NULL, "1 MiB body with a 64 KiB limit"));
    it_response_cleanup(&r);
    /* the same through /v1/verify */
    q.path = "/v1/verify";
    q.key = IT_KEY_READ;
    it_do(&svc, &q, &r, false);
    json_decref(it_expect_problem(&r, 413, NULL, "1 MiB body to /v1/verify"));
    it_response_cleanup(&r);
    free(body);
    it_get(&svc, "/healthz", IT_KEY_NONE, &r);
    it_expect_status(&r, 200, "GET /healthz after 413");
    it_response_cleanup(&r);
}

/* docs/API.md: records per batch over limits.batch_records → 413, nothing stored; exactly the
 * limit is accepted. */
static void test_batch_too_large_413(void **state)
{
    (void)state;
    it_put_supplier(&svc, "SUP-BATCH", "Batch Test Ltd");
    json_t *over = it_synth_certificates(BATCH_LIMIT + 1, "IT-BATCH", "SUP-BATCH");
    char *text = json_dumps(over, JSON_COMPACT);
    assert_true(strlen(text) < BODY_LIMIT);
    struct it_response r;
    it_send(&svc, "POST", "/v1/certificates", IT_KEY_WRITE, "application/json", text, strlen(text),
            &r);
    json_decref(it_expect_problem(&r, 413, NULL, "51 records with batch_records 50"));
    it_response_cleanup(&r);
    free(text);
    json_t *ids = it_supplier_certificate_ids(&svc, "SUP-BATCH");
    if (json_array_size(ids) != 0) {
        print_error("a refused batch stored %zu certificates\n", json_array_size(ids));
        fail();
    }
    json_decref(ids);

    /* the same limit holds for a /v1/verify batch */
    json_t *batch = json_pack("{s:O}", "certificates", over);
    it_send_json(&svc, "POST", "/v1/verify", IT_KEY_READ, batch, &r);
    json_decref(it_expect_problem(&r, 413, NULL, "/v1/verify with 51 records"));
    it_response_cleanup(&r);
    json_decref(batch);

    json_array_remove(over, BATCH_LIMIT);
    text = json_dumps(over, JSON_COMPACT);
    json_decref(it_ingest(&svc, "application/json", text, strlen(text), BATCH_LIMIT));
    free(text);
    json_decref(over);
    ids = it_supplier_certificate_ids(&svc, "SUP-BATCH");
    assert_int_equal(json_array_size(ids), BATCH_LIMIT);
    json_decref(ids);
}

/* docs/API.md: request header size over limits.header_bytes (16 KiB) → 431/400, and the service
 * keeps answering (SPEC 12 "1 MB header lines": libcurl refuses to send a header that long, so
 * 64 KiB stands for it here). */
static void test_header_too_large(void **state)
{
    (void)state;
    size_t len = 64 * 1024;
    char *header = malloc(len + 1);
    assert_non_null(header);
    memcpy(header, "X-Filler: ", 10);
    memset(header + 10, 'a', len - 10);
    header[len] = '\0';
    const char *const extra[] = {header, NULL};
    struct it_request q = {.path = "/v1/suppliers", .key = IT_KEY_READ, .extra_headers = extra};
    struct it_response r;
    it_do(&svc, &q, &r, false);
    if (r.status != 431 && r.status != 400) {
        print_error("a 64 KiB header line got %ld, expected 431 (or 400)\n", r.status);
        fail();
    }
    it_response_cleanup(&r);
    free(header);
    it_get(&svc, "/healthz", IT_KEY_NONE, &r);
    it_expect_status(&r, 200, "GET /healthz after a 64 KiB header");
    it_response_cleanup(&r);
}

/* GET /v1/alerts holds the due certificates and every invalid one, due or not: a certificate
 * whose printed AB "GAAC" is in no list (AB_NOT_RECOGNIZED, critical, whatever the date) and
 * whose expiry is years away is listed; a valid one expiring as far away is not; deleting the
 * invalid one takes it off. */
static void test_alerts_list_invalid_not_due(void **state)
{
    (void)state;
    static const char body[] =
        "[{\"certificate_number\":\"ALERT-BAD-1\",\"standard\":\"ISO 9001:2015\","
        "\"holder\":{\"name\":\"Alert Test Ltd\",\"country\":\"GB\"},"
        "\"certification_body\":{\"name\":\"Unlisted Assessors Ltd\"},"
        "\"accreditation_body\":\"GAAC\",\"issue_date\":\"2026-01-10\","
        "\"expiry_date\":\"2029-01-09\"},"
        "{\"certificate_number\":\"ALERT-OK-1\",\"standard\":\"ISO 9001:2015\","
        "\"holder\":{\"name\":\"Alert Test Ltd\",\"country\":\"GB\"},"
        "\"certification_body\":{\"name\":\"Northwind Assurance Ltd\"},"
        "\"accreditation_body\":\"UKAS\",\"issue_date\":\"2026-01-10\","
        "\"expiry_date\":\"2029-01-09\"}]";
    struct it_response r;
    it_send(&svc, "POST", "/v1/certificates", IT_KEY_WRITE, "application/json", body,
            sizeof(body) - 1, &r);
    it_expect_status(&r, 200, "ingest");
    json_t *doc = it_json(&r);
    char bad_id[64], path[128];
    snprintf(bad_id, sizeof(bad_id), "%s",
             json_string_value(json_array_get(json_object_get(doc, "ids"), 0)));
    json_decref(doc);
    it_response_cleanup(&r);

    for (int round = 0; round < 2; round++) {
        it_get(&svc, "/v1/alerts?within=30&limit=1000", IT_KEY_READ, &r);
        it_expect_status(&r, 200, "alerts");
        doc = it_json(&r);
        bool bad = false, ok = false;
        size_t i;
        json_t *a;
        json_array_foreach(json_object_get(doc, "alerts"), i, a)
        {
            const char *n = json_string_value(json_object_get(a, "certificate_number"));
            bad |= n && !strcmp(n, "ALERT-BAD-1") &&
                   !strcmp(json_string_value(json_object_get(a, "verdict")), "invalid");
            ok |= n && !strcmp(n, "ALERT-OK-1");
        }
        assert_false(ok);
        assert_int_equal(bad, round == 0);
        json_decref(doc);
        it_response_cleanup(&r);
        if (round == 0) {
            snprintf(path, sizeof(path), "/v1/certificates/%s", bad_id);
            it_send(&svc, "DELETE", path, IT_KEY_WRITE, NULL, NULL, 0, &r);
            it_expect_status(&r, 204, "delete");
            it_response_cleanup(&r);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ingest_json_array),
        cmocka_unit_test(test_alerts_list_invalid_not_due),
        cmocka_unit_test(test_ingest_csv_and_xml_same_ids),
        cmocka_unit_test(test_reingest_no_duplicates),
        cmocka_unit_test(test_ingest_object_and_json_lines),
        cmocka_unit_test(test_ingest_broken_records),
        cmocka_unit_test(test_ingest_none_accepted_422),
        cmocka_unit_test(test_ingest_malformed_400),
        cmocka_unit_test(test_ingest_hostile_xml),
        cmocka_unit_test(test_get_certificate),
        cmocka_unit_test(test_delete_certificate),
        cmocka_unit_test(test_unsupported_media_type_415),
        cmocka_unit_test(test_body_too_large_413),
        cmocka_unit_test(test_batch_too_large_413),
        cmocka_unit_test(test_header_too_large),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

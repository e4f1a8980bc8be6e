/* /v1/suppliers on the real service (docs/API.md): PUT (upsert, id from the path), GET with the
 * supplier's certificates and verifications, the paginated list, DELETE; and linking: a linked
 * certificate whose holder is not the supplier gets HOLDER_MISMATCH, and changing the supplier's
 * aliases changes the verdict (the cache key includes them). */
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

#define PORTFOLIO_N 43

static struct it_redis redis;
static struct it_service svc;
static json_t *suppliers; /* fixtures/sample/suppliers.json's array */
static json_t *portfolio; /* fixtures/sample/portfolio.json */
static json_t *put_ids;   /* every supplier id PUT so far */

static int setup(void **state)
{
    (void)state;
    json_t *doc = it_load_json_fixture("fixtures/sample/suppliers.json");
    suppliers = json_incref(json_object_get(doc, "suppliers"));
    json_decref(doc);
    portfolio = it_load_json_fixture("fixtures/sample/portfolio.json");
    put_ids = json_array();
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
    json_decref(suppliers);
    json_decref(portfolio);
    json_decref(put_ids);
    assert_int_equal(code, 0);
    return 0;
}

static bool str_is(const json_t *v, const char *s)
{
    return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

/* Fails unless every member of 'want' is in 'got' with an equal value. */
static void expect_members(const json_t *got, const json_t *want, const char *what)
{
    const char *k;
    json_t *v;
    int bad = 0;
    json_object_foreach((json_t *)want, k, v)
    {
        if (!json_equal(json_object_get(got, k), v)) {
            char *g = json_dumps(json_object_get(got, k), JSON_ENCODE_ANY);
            char *w = json_dumps(v, JSON_ENCODE_ANY);
            print_error("%s: \"%s\" is %s, expected %s\n", what, k, g ? g : "(absent)", w);
            free(g);
            free(w);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

static json_t *get_supplier(const char *id, long want_status)
{
    char path[256];
    snprintf(path, sizeof(path), "/v1/suppliers/%s", id);
    struct it_response r;
    it_get(&svc, path, IT_KEY_READ, &r);
    json_t *v = NULL;
    if (want_status == 200) {
        it_expect_status(&r, 200, path);
        v = it_json(&r);
    } else {
        json_decref(it_expect_problem(&r, want_status, NULL, path));
    }
    it_response_cleanup(&r);
    return v;
}

/* docs/API.md: PUT /v1/suppliers/{id} → 200 the supplier ({id, name, aliases, country,
 * identifiers, categories}); GET /v1/suppliers/{id} → the supplier plus "certificates". */
static void test_put_and_get(void **state)
{
    (void)state;
    size_t i;
    json_t *sup;
    json_array_foreach(suppliers, i, sup)
    {
        const char *id = json_string_value(json_object_get(sup, "id"));
        char path[256];
        snprintf(path, sizeof(path), "/v1/suppliers/%s", id);
        struct it_response r;
        it_send_json(&svc, "PUT", path, IT_KEY_WRITE, sup, &r);
        it_expect_status(&r, 200, path);
        json_t *v = it_json(&r);
        expect_members(v, sup, path);
        json_decref(v);
        it_response_cleanup(&r);
        json_array_append_new(put_ids, json_string(id));
    }
    json_t *got = get_supplier("SUP-003", 200);
    expect_members(got, json_array_get(suppliers, 2), "GET /v1/suppliers/SUP-003");
    if (!json_is_array(json_object_get(got, "certificates")) ||
        json_array_size(json_object_get(got, "certificates")) != 0) {
        print_error("SUP-003 before any ingest: \"certificates\" should be []\n");
        fail();
    }
    json_decref(got);
    json_decref(get_supplier("SUP-NOPE", 404));
}

/* "body id must match the path or be absent". */
static void test_put_id_from_path(void **state)
{
    (void)state;
    json_t *body = json_pack("{s:s, s:s, s:[s]}", "name", "Pathfinder Metals Ltd", "country", "GB",
                             "aliases", "Pathfinder");
    struct it_response r;
    it_send_json(&svc, "PUT", "/v1/suppliers/SUP-900", IT_KEY_WRITE, body, &r);
    it_expect_status(&r, 200, "PUT without id");
    json_t *v = it_json(&r);
    assert_true(str_is(json_object_get(v, "id"), "SUP-900"));
    expect_members(v, body, "PUT without id");
    json_decref(v);
    it_response_cleanup(&r);
    json_array_append_new(put_ids, json_string("SUP-900"));

    /* PUT is an upsert: a second PUT replaces the record */
    json_object_set_new(body, "name", json_string("Pathfinder Metals Limited"));
    it_send_json(&svc, "PUT", "/v1/suppliers/SUP-900", IT_KEY_WRITE, body, &r);
    it_expect_status(&r, 200, "second PUT");
    it_response_cleanup(&r);
    json_t *got = get_supplier("SUP-900", 200);
    assert_true(str_is(json_object_get(got, "name"), "Pathfinder Metals Limited"));
    json_decref(got);
    json_decref(body);
}

/* "400 naming the field": a body id that differs from the path, and a field of the wrong type;
 * nothing is stored. */
static void test_put_invalid_400(void **state)
{
    (void)state;
    json_t *body = json_pack("{s:s, s:s}", "id", "SUP-902", "name", "Mismatch Ltd");
    struct it_response r;
    it_send_json(&svc, "PUT", "/v1/suppliers/SUP-901", IT_KEY_WRITE, body, &r);
    json_t *p = it_expect_problem(&r, 400, NULL, "PUT with a mismatched id");
    if (!it_problem_names(p, "id")) {
        print_error("the 400 does not name the field id: %s\n", r.body);
        fail();
    }
    json_decref(p);
    it_response_cleanup(&r);
    json_decref(body);
    json_decref(get_supplier("SUP-901", 404));
    json_decref(get_supplier("SUP-902", 404));

    body = json_pack("{s:s, s:s}", "name", "Typo Ltd", "aliases", "not a list");
    it_send_json(&svc, "PUT", "/v1/suppliers/SUP-903", IT_KEY_WRITE, body, &r);
    p = it_expect_problem(&r, 400, NULL, "PUT with aliases as a string");
    if (!it_problem_names(p, "aliases")) {
        print_error("the 400 does not name the field aliases: %s\n", r.body);
        fail();
    }
    json_decref(p);
    it_response_cleanup(&r);
    json_decref(body);
    json_decref(get_supplier("SUP-903", 404));

    it_send(&svc, "PUT", "/v1/suppliers/SUP-904", IT_KEY_WRITE, "application/json", "{\"name\":", 8,
            &r);
    json_decref(it_expect_problem(&r, 400, NULL, "PUT with malformed JSON"));
    it_response_cleanup(&r);
    json_decref(get_supplier("SUP-904", 404));
}

/* docs/API.md: GET /v1/suppliers → {"suppliers": [...], "next_cursor"}; "?limit=" and
 * "?cursor=" (opaque, from the previous page's next_cursor, null on the last page). */
static void test_list_pagination(void **state)
{
    (void)state;
    size_t total = json_array_size(put_ids);
    assert_true(total >= 12);
    json_t *seen = json_array();
    char cursor[512] = "";
    size_t pages = 0;
    for (;;) {
        char path[1024];
        if (cursor[0]) {
            char *esc = it_url_escape(cursor);
            snprintf(path, sizeof(path), "/v1/suppliers?limit=2&cursor=%s", esc);
            free(esc);
        } else {
            snprintf(path, sizeof(path), "/v1/suppliers?limit=2");
        }
        struct it_response r;
        it_get(&svc, path, IT_KEY_READ, &r);
        it_expect_status(&r, 200, path);
        json_t *v = it_json(&r);
        json_t *list = json_object_get(v, "suppliers");
        json_t *next = json_object_get(v, "next_cursor");
        if (!json_is_array(list) || !(json_is_null(next) || json_is_string(next)) ||
            json_array_size(list) > 2) {
            print_error("%s: bad page (\"suppliers\" array of at most 2, \"next_cursor\" string "
                        "or null): %s\n",
                        path, r.body);
            fail();
        }
        if (json_is_string(next) && json_array_size(list) != 2) {
            print_error("%s: a page before the last has %zu suppliers\n", path,
                        json_array_size(list));
            fail();
        }
        size_t i;
        json_t *s;
        json_array_foreach(list, i, s)
        {
            assert_true(json_is_string(json_object_get(s, "id")));
            assert_true(json_is_string(json_object_get(s, "name")));
            json_array_append(seen, json_object_get(s, "id"));
        }
        pages++;
        assert_true(pages <= total + 1);
        if (json_is_null(next)) {
            json_decref(v);
            it_response_cleanup(&r);
            break;
        }
        snprintf(cursor, sizeof(cursor), "%s", json_string_value(next));
        json_decref(v);
        it_response_cleanup(&r);
    }
    int bad = 0;
    for (size_t i = 0; i < json_array_size(seen); i++) {
        for (size_t j = 0; j < i; j++) {
            if (json_equal(json_array_get(seen, i), json_array_get(seen, j))) {
                print_error("supplier %s listed twice across pages\n",
                            json_string_value(json_array_get(seen, i)));
                bad++;
            }
        }
    }
    for (size_t i = 0; i < total; i++) {
        bool found = false;
        for (size_t j = 0; j < json_array_size(seen) && !found; j++)
            found = json_equal(json_array_get(put_ids, i), json_array_get(seen, j));
        if (!found) {
            print_error("supplier %s missing from the pages\n",
                        json_string_value(json_array_get(put_ids, i)));
            bad++;
        }
    }
    if (pages != (json_array_size(seen) + 1) / 2) {
        print_error("%zu suppliers came in %zu pages of 2\n", json_array_size(seen), pages);
        bad++;
    }
    json_decref(seen);
    assert_int_equal(bad, 0);

    /* without a limit: one page (default 100) */
    struct it_response r;
    it_get(&svc, "/v1/suppliers", IT_KEY_READ, &r);
    it_expect_status(&r, 200, "GET /v1/suppliers");
    json_t *v = it_json(&r);
    assert_true(json_array_size(json_object_get(v, "suppliers")) >= total);
    assert_true(json_is_null(json_object_get(v, "next_cursor")));
    json_decref(v);
    it_response_cleanup(&r);

    /* a malformed limit is refused, naming it */
    it_get(&svc, "/v1/suppliers?limit=abc", IT_KEY_READ, &r);
    json_t *p = it_expect_problem(&r, 400, NULL, "GET /v1/suppliers?limit=abc");
    if (!it_problem_names(p, "limit")) {
        print_error("the 400 does not name limit: %s\n", r.body);
        fail();
    }
    json_decref(p);
    it_response_cleanup(&r);
}

/* The certificate of 'supplier' whose number is 'number' in a GET /v1/suppliers/{id} reply. */
static json_t *find_certificate(json_t *supplier, const char *number)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(supplier, "certificates"), i, c)
    {
        if (str_is(json_object_get(json_object_get(c, "certificate"), "certificate_number"),
                   number) ||
            str_is(json_object_get(json_object_get(c, "verification"), "certificate_number"),
                   number))
            return c;
    }
    return NULL;
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

/* GET /v1/suppliers/{id} → "certificates": [{"id", "certificate", "verification"}] for every
 * linked certificate; docs/API.md "Linking": HOLDER_MISMATCH against the supplier's name and
 * aliases (fixtures/README.md #38 and #39). */
static void test_certificates_and_holder_mismatch(void **state)
{
    (void)state;
    size_t len;
    char *body = it_read_fixture("fixtures/sample/portfolio.json", &len);
    json_decref(it_ingest(&svc, "application/json", body, len, PORTFOLIO_N));
    free(body);

    int bad = 0;
    size_t i;
    json_t *sup;
    json_array_foreach(suppliers, i, sup)
    {
        const char *sid = json_string_value(json_object_get(sup, "id"));
        size_t want = 0;
        for (size_t k = 0; k < PORTFOLIO_N; k++)
            want += str_is(json_object_get(json_array_get(portfolio, k), "supplier_id"), sid);
        json_t *got = get_supplier(sid, 200);
        json_t *certs = json_object_get(got, "certificates");
        if (json_array_size(certs) != want) {
            print_error("%s: %zu certificates, expected %zu\n", sid, json_array_size(certs), want);
            bad++;
        }
        size_t j;
        json_t *c;
        json_array_foreach(certs, j, c)
        {
            if (!json_is_string(json_object_get(c, "id")) ||
                !json_is_object(json_object_get(c, "certificate")) ||
                !json_is_string(json_object_get(json_object_get(c, "verification"), "verdict"))) {
                print_error("%s: certificate %zu lacks id, certificate or verification\n", sid, j);
                bad++;
            }
        }
        json_decref(got);
    }
    assert_int_equal(bad, 0);

    json_t *lakeside = get_supplier("SUP-005", 200);
    json_t *mismatch = find_certificate(lakeside, "NW-Q-26019");
    json_t *match = find_certificate(lakeside, "NW-E-26020");
    assert_non_null(mismatch);
    assert_non_null(match);
    json_t *vm = json_object_get(mismatch, "verification");
    if (!has_finding(vm, "HOLDER_MISMATCH") ||
        !str_is(json_object_get(json_object_get(vm, "checks"), "holder"), "fail")) {
        print_error("NW-Q-26019 (holder Riverbend Garments, supplier Lakeside Textiles) lacks "
                    "HOLDER_MISMATCH / checks.holder fail\n");
        bad++;
    }
    json_t *vo = json_object_get(match, "verification");
    if (has_finding(vo, "HOLDER_MISMATCH") ||
        !str_is(json_object_get(json_object_get(vo, "checks"), "holder"), "pass")) {
        print_error("NW-E-26020 (holder matches the alias Lakeside Textile Mills) should pass "
                    "the holder check\n");
        bad++;
    }
    /* the certificate's own record says the same */
    char path[256];
    snprintf(path, sizeof(path), "/v1/certificates/%s",
             json_string_value(json_object_get(mismatch, "id")));
    struct it_response r;
    it_get(&svc, path, IT_KEY_READ, &r);
    it_expect_status(&r, 200, path);
    json_t *rec = it_json(&r);
    if (!has_finding(json_object_get(rec, "verification"), "HOLDER_MISMATCH")) {
        print_error("GET %s: no HOLDER_MISMATCH in the certificate's verification\n", path);
        bad++;
    }
    json_decref(rec);
    it_response_cleanup(&r);
    json_decref(lakeside);
    assert_int_equal(bad, 0);
}

/* The verification cache key includes the linked supplier's name and aliases (docs/API.md): an
 * alias that names the holder clears HOLDER_MISMATCH at once. */
static void test_supplier_change_reverifies(void **state)
{
    (void)state;
    json_t *sup = json_deep_copy(json_array_get(suppliers, 4));
    assert_true(str_is(json_object_get(sup, "id"), "SUP-005"));
    json_array_append_new(json_object_get(sup, "aliases"),
                          json_string("Riverbend Garments Co., Ltd."));
    struct it_response r;
    it_send_json(&svc, "PUT", "/v1/suppliers/SUP-005", IT_KEY_WRITE, sup, &r);
    it_expect_status(&r, 200, "PUT SUP-005 with the holder as an alias");
    it_response_cleanup(&r);
    json_t *got = get_supplier("SUP-005", 200);
    json_t *c = find_certificate(got, "NW-Q-26019");
    assert_non_null(c);
    if (has_finding(json_object_get(c, "verification"), "HOLDER_MISMATCH")) {
        print_error("NW-Q-26019 still has HOLDER_MISMATCH after its holder became an alias of "
                    "SUP-005 (stale cache?)\n");
        fail();
    }
    json_decref(got);
    /* and back */
    it_send_json(&svc, "PUT", "/v1/suppliers/SUP-005", IT_KEY_WRITE, json_array_get(suppliers, 4),
                 &r);
    it_expect_status(&r, 200, "PUT SUP-005 back");
    it_response_cleanup(&r);
    got = get_supplier("SUP-005", 200);
    c = find_certificate(got, "NW-Q-26019");
    assert_non_null(c);
    assert_true(has_finding(json_object_get(c, "verification"), "HOLDER_MISMATCH"));
    json_decref(got);
    json_decref(sup);
}

/* docs/API.md: DELETE /v1/suppliers/{id} → 204; 404. The certificates stay (unlinked). */
static void test_delete_supplier(void **state)
{
    (void)state;
    struct it_response r;
    it_send(&svc, "DELETE", "/v1/suppliers/SUP-900", IT_KEY_WRITE, NULL, NULL, 0, &r);
    it_expect_status(&r, 204, "DELETE SUP-900");
    assert_int_equal(r.len, 0);
    it_response_cleanup(&r);
    json_decref(get_supplier("SUP-900", 404));
    it_send(&svc, "DELETE", "/v1/suppliers/SUP-900", IT_KEY_WRITE, NULL, NULL, 0, &r);
    json_decref(it_expect_problem(&r, 404, NULL, "second DELETE SUP-900"));
    it_response_cleanup(&r);

    json_t *ids = it_supplier_certificate_ids(&svc, "SUP-006");
    assert_true(json_array_size(ids) > 0);
    it_send(&svc, "DELETE", "/v1/suppliers/SUP-006", IT_KEY_WRITE, NULL, NULL, 0, &r);
    it_expect_status(&r, 204, "DELETE SUP-006");
    it_response_cleanup(&r);
    json_decref(get_supplier("SUP-006", 404));
    for (size_t i = 0; i < json_array_size(ids); i++) {
        char path[256];
        snprintf(path, sizeof(path), "/v1/certificates/%s",
                 json_string_value(json_array_get(ids, i)));
        it_get(&svc, path, IT_KEY_READ, &r);
        it_expect_status(&r, 200, "a certificate of a deleted supplier");
        it_response_cleanup(&r);
    }
    json_decref(ids);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_and_get),
        cmocka_unit_test(test_put_id_from_path),
        cmocka_unit_test(test_put_invalid_400),
        cmocka_unit_test(test_list_pagination),
        cmocka_unit_test(test_certificates_and_holder_mismatch),
        cmocka_unit_test(test_supplier_change_reverifies),
        cmocka_unit_test(test_delete_supplier),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* The route table against the contract: every route of src/service/routes.c is described in
 * docs/openapi.yaml and the other way round; a walk over the table checks roles on the real
 * service (401 without a valid key, 403 below the route's role, neither at or above it); unknown
 * paths answer 404 and wrong methods 405 with Allow (docs/API.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "certvet/service.h"

#define DUMMY_ID   "it-dummy-0001"
#define MAX_ROUTES 128

static struct it_redis redis;
static struct it_service svc;

static const char *const role_label[] = {"none", "read", "write", "admin"};

struct route {
    char method[16];
    char path[256];
};

/* The (method, path) pairs of docs/openapi.yaml's "paths:" section: a path is a line
 * "  /...:" and its methods the lines "    get:" etc. beneath it. */
static size_t openapi_routes(struct route *out, size_t cap)
{
    static const char *const methods[] = {"get",  "put",     "post",  "delete",
                                          "head", "options", "patch", "trace"};
    char *text = it_read_fixture("docs/openapi.yaml", NULL);
    size_t n = 0;
    bool in_paths = false;
    char path[256] = "";
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        line[strcspn(line, "\r")] = '\0';
        if (!*line || line[0] == '#')
            continue;
        if (line[0] != ' ') {
            in_paths = strncmp(line, "paths:", 6) == 0;
            path[0] = '\0';
            continue;
        }
        if (!in_paths)
            continue;
        if (strncmp(line, "  /", 3) == 0) {
            size_t len = strlen(line);
            while (len && line[len - 1] == ' ')
                len--;
            if (len && line[len - 1] == ':') {
                snprintf(path, sizeof(path), "%.*s", (int)(len - 3), line + 2);
                /* a quoted key: '/x': */
                if (path[0] == '\'' || path[0] == '"')
                    memmove(path, path + 1, strlen(path));
                size_t pl = strlen(path);
                if (pl && (path[pl - 1] == '\'' || path[pl - 1] == '"'))
                    path[pl - 1] = '\0';
            }
            continue;
        }
        if (line[2] != ' ') { /* another key at the level of paths */
            path[0] = '\0';
            continue;
        }
        if (!path[0] || strncmp(line, "    ", 4) != 0 || line[4] == ' ')
            continue;
        for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
            size_t ml = strlen(methods[m]);
            if (strncmp(line + 4, methods[m], ml) == 0 && line[4 + ml] == ':') {
                assert_true(n < cap);
                for (size_t i = 0; i <= ml; i++)
                    out[n].method[i] = (char)toupper((unsigned char)methods[m][i]);
                snprintf(out[n].path, sizeof(out[n].path), "%s", path);
                n++;
            }
        }
    }
    free(text);
    return n;
}

static bool has_route(const struct route *r, size_t n, const char *method, const char *path)
{
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(r[i].method, method) == 0 && strcmp(r[i].path, path) == 0)
            return true;
    }
    return false;
}

static void fill_path(const char *pattern, char *out, size_t cap)
{
    const char *p = strstr(pattern, "{id}");
    if (p)
        snprintf(out, cap, "%.*s%s%s", (int)(p - pattern), pattern, DUMMY_ID, p + 4);
    else
        snprintf(out, cap, "%s", pattern);
}

static int setup(void **state)
{
    (void)state;
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
    assert_int_equal(code, 0);
    return 0;
}

/* docs/API.md: "The machine-readable description is docs/openapi.yaml"; the route table is the
 * single source of truth, so both must list the same (method, path) pairs. */
static void test_openapi_matches_route_table(void **state)
{
    (void)state;
    struct route doc[MAX_ROUTES];
    size_t n_doc = openapi_routes(doc, MAX_ROUTES);
    int bad = 0;
    assert_true(cv_n_routes > 0);
    for (size_t i = 0; i < cv_n_routes; i++) {
        if (!has_route(doc, n_doc, cv_routes[i].method, cv_routes[i].path)) {
            print_error("route %s %s is not in docs/openapi.yaml\n", cv_routes[i].method,
                        cv_routes[i].path);
            bad++;
        }
    }
    for (size_t i = 0; i < n_doc; i++) {
        bool found = false;
        for (size_t j = 0; j < cv_n_routes && !found; j++)
            found = strcasecmp(doc[i].method, cv_routes[j].method) == 0 &&
                    strcmp(doc[i].path, cv_routes[j].path) == 0;
        if (!found) {
            print_error("docs/openapi.yaml has %s %s, which is not in the route table\n",
                        doc[i].method, doc[i].path);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

/* docs/API.md: GET /openapi.yaml serves the document. */
static void test_openapi_served(void **state)
{
    (void)state;
    size_t len;
    char *want = it_read_fixture("docs/openapi.yaml", &len);
    struct it_response r;
    it_get(&svc, "/openapi.yaml", IT_KEY_NONE, &r);
    it_expect_status(&r, 200, "GET /openapi.yaml");
    if (r.len != len || memcmp(r.body, want, len) != 0) {
        print_error("GET /openapi.yaml (%zu bytes) differs from docs/openapi.yaml (%zu bytes)\n",
                    r.len, len);
        fail();
    }
    free(want);
    it_response_cleanup(&r);
}

/* One request of the walk: the route with {id} filled in, a JSON body "{}" for POST and PUT. */
static void walk_one(const struct cv_route_def *rt, enum it_key key, struct it_response *r)
{
    char path[512];
    fill_path(rt->path, path, sizeof(path));
    bool body = strcmp(rt->method, "POST") == 0 || strcmp(rt->method, "PUT") == 0;
    struct it_request q = {.method = rt->method,
                           .path = path,
                           .key = key,
                           .content_type = body ? "application/json" : NULL,
                           .body = body ? "{}" : NULL,
                           .body_len = body ? 2 : 0};
    it_do(&svc, &q, r, false);
}

/* SPEC 12: "roles enforced on every route (a test walks the route table)". docs/API.md:
 * "Missing/unknown key → 401 with WWW-Authenticate: Bearer; known key whose role is too low →
 * 403". */
static void test_roles_on_every_route(void **state)
{
    (void)state;
    int bad = 0;
    char hdr[256];
    for (size_t i = 0; i < cv_n_routes; i++) {
        const struct cv_route_def *rt = &cv_routes[i];
        struct it_response r;
        if (rt->role == CV_ROLE_NONE) {
            walk_one(rt, IT_KEY_NONE, &r);
            if (r.status == 401 || r.status == 403 || r.status == 404 || r.status == 405) {
                print_error("%s %s (public): %ld without a key\n", rt->method, rt->path, r.status);
                bad++;
            }
            it_response_cleanup(&r);
            continue;
        }
        const enum it_key unauth[] = {IT_KEY_NONE, IT_KEY_BOGUS};
        for (size_t k = 0; k < 2; k++) {
            walk_one(rt, unauth[k], &r);
            const char *www = it_header(&r, "WWW-Authenticate", hdr, sizeof(hdr));
            if (r.status != 401) {
                print_error("%s %s (%s) with %s: %ld, expected 401\n", rt->method, rt->path,
                            role_label[rt->role], k ? "an unknown key" : "no key", r.status);
                bad++;
            } else if (!www || strncasecmp(www, "Bearer", 6) != 0) {
                print_error("%s %s: 401 without \"WWW-Authenticate: Bearer\"\n", rt->method,
                            rt->path);
                bad++;
            } else {
                json_decref(it_expect_problem(&r, 401, NULL, "401"));
            }
            it_response_cleanup(&r);
        }
        for (int k = IT_KEY_READ; k <= IT_KEY_ADMIN; k++) {
            walk_one(rt, (enum it_key)k, &r);
            if (k < (int)rt->role) {
                if (r.status != 403) {
                    print_error("%s %s (%s) with the %s key: %ld, expected 403\n", rt->method,
                                rt->path, role_label[rt->role], role_label[k], r.status);
                    bad++;
                } else {
                    json_t *p = it_expect_problem(&r, 403, NULL, "403");
                    /* docs/API.md: "detail names what is wrong (the field, the limit, the
                     * role)" */
                    if (!it_has_word(json_string_value(json_object_get(p, "detail")),
                                     role_label[rt->role])) {
                        print_error("%s %s: the 403 detail does not name the role %s: %s\n",
                                    rt->method, rt->path, role_label[rt->role],
                                    json_string_value(json_object_get(p, "detail")));
                        bad++;
                    }
                    json_decref(p);
                }
            } else if (r.status == 401 || r.status == 403 || r.status == 405) {
                print_error("%s %s (%s) with the %s key: %ld\n", rt->method, rt->path,
                            role_label[rt->role], role_label[k], r.status);
                bad++;
            }
            it_response_cleanup(&r);
        }
    }
    assert_int_equal(bad, 0);
}

/* docs/API.md: "Unknown route → 404". */
static void test_unknown_path_404(void **state)
{
    (void)state;
    static const char *const paths[] = {"/nope", "/v1/nope", "/v1/certificates/a/b",
                                        "/v1/suppliers/x/nope", "/v2/verify"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        struct it_response r;
        it_get(&svc, paths[i], IT_KEY_ADMIN, &r);
        json_t *p = it_expect_problem(&r, 404, NULL, paths[i]);
        /* docs/API.md Conventions: problem members include "instance" */
        if (!json_is_string(json_object_get(p, "instance"))) {
            print_error("GET %s: the problem has no \"instance\": %s\n", paths[i], r.body);
            fail();
        }
        json_decref(p);
        it_response_cleanup(&r);
    }
}

/* docs/API.md: "known path, wrong method → 405 with Allow". Every path of the table, with a
 * method it does not have; Allow lists the table's methods for that path. */
static void test_wrong_method_405(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < cv_n_routes; i++) {
        bool first = true;
        for (size_t j = 0; j < i; j++)
            first = first && strcmp(cv_routes[j].path, cv_routes[i].path) != 0;
        if (!first)
            continue;
        char path[512];
        fill_path(cv_routes[i].path, path, sizeof(path));
        struct it_request q = {.method = "PATCH", .path = path, .key = IT_KEY_ADMIN};
        struct it_response r;
        it_do(&svc, &q, &r, false);
        char allow[256];
        if (r.status != 405) {
            print_error("PATCH %s: %ld, expected 405\n", path, r.status);
            bad++;
        } else if (!it_header(&r, "Allow", allow, sizeof(allow))) {
            print_error("PATCH %s: 405 without Allow\n", path);
            bad++;
        } else {
            for (size_t j = 0; j < cv_n_routes; j++) {
                if (strcmp(cv_routes[j].path, cv_routes[i].path) == 0 &&
                    !it_has_word(allow, cv_routes[j].method)) {
                    print_error("PATCH %s: Allow \"%s\" lacks %s\n", path, allow,
                                cv_routes[j].method);
                    bad++;
                }
            }
            json_decref(it_expect_problem(&r, 405, NULL, "405"));
        }
        it_response_cleanup(&r);
    }
    assert_int_equal(bad, 0);
}

/* docs/API.md: "Every response carries X-Request-Id (echoed from the request when present and
 * sane, else generated)". */
static void test_request_id(void **state)
{
    (void)state;
    static const char *const paths[] = {"/healthz", "/v1/nope", "/v1/profiles"};
    char hdr[256];
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        struct it_response r;
        it_get(&svc, paths[i], IT_KEY_NONE, &r); /* 200, 404, 401 */
        if (!it_header(&r, "X-Request-Id", hdr, sizeof(hdr)) || !hdr[0]) {
            print_error("GET %s (%ld): no X-Request-Id\n", paths[i], r.status);
            fail();
        }
        it_response_cleanup(&r);
    }
    const char *const extra[] = {"X-Request-Id: it-req-0001", NULL};
    struct it_request q = {.path = "/healthz", .extra_headers = extra};
    struct it_response r;
    it_do(&svc, &q, &r, false);
    it_expect_status(&r, 200, "GET /healthz");
    if (!it_header(&r, "X-Request-Id", hdr, sizeof(hdr)) || strcmp(hdr, "it-req-0001") != 0) {
        print_error("X-Request-Id it-req-0001 was not echoed (got %s)\n", hdr);
        fail();
    }
    it_response_cleanup(&r);

    /* 300 characters is not a sane id: a generated one comes back instead */
    char line[400];
    int n = snprintf(line, sizeof(line), "X-Request-Id: ");
    memset(line + n, 'x', 300);
    line[n + 300] = '\0';
    const char *const long_id[] = {line, NULL};
    q.extra_headers = long_id;
    it_do(&svc, &q, &r, false);
    it_expect_status(&r, 200, "GET /healthz with a 300-character X-Request-Id");
    if (!it_header(&r, "X-Request-Id", hdr, sizeof(hdr)) || !hdr[0] || strlen(hdr) >= 300) {
        print_error("a 300-character X-Request-Id was echoed or none was generated (got %s)\n",
                    hdr);
        fail();
    }
    it_response_cleanup(&r);
}

/* docs/API.md: "With no keys configured every request has the admin role, and the server binds
 * to loopback only (and logs a warning)". Asked to listen on 0.0.0.0, it listens on 127.0.0.1. */
static void test_no_keys_loopback_admin(void **state)
{
    (void)state;
    struct it_service open_svc;
    struct it_service_options o = {.redis_url = redis.url, .no_keys = true, .listen = "0.0.0.0:0"};
    it_service_start(&open_svc, &o);
    int bad = 0;
    if (strncmp(open_svc.base_url, "http://127.0.0.1:", 17) != 0 &&
        strncmp(open_svc.base_url, "http://[::1]:", 13) != 0 &&
        strncmp(open_svc.base_url, "http://localhost:", 17) != 0) {
        print_error("with no keys and --listen 0.0.0.0:0 the service listens on %s\n",
                    open_svc.base_url);
        bad++;
    }
    for (size_t i = 0; i < cv_n_routes; i++) {
        struct it_response r;
        char path[512];
        fill_path(cv_routes[i].path, path, sizeof(path));
        bool body =
            strcmp(cv_routes[i].method, "POST") == 0 || strcmp(cv_routes[i].method, "PUT") == 0;
        struct it_request q = {.method = cv_routes[i].method,
                               .path = path,
                               .content_type = body ? "application/json" : NULL,
                               .body = body ? "{}" : NULL,
                               .body_len = body ? 2 : 0};
        it_do(&open_svc, &q, &r, false);
        if (r.status == 401 || r.status == 403) {
            print_error("no keys configured: %s %s answered %ld\n", cv_routes[i].method, path,
                        r.status);
            bad++;
        }
        it_response_cleanup(&r);
    }
    int code = it_service_stop(&open_svc, false);
    char *log = it_service_stderr(&open_svc);
    bool warned = false;
    for (char *line = strtok(log, "\n"); line && !warned; line = strtok(NULL, "\n")) {
        json_t *v = json_loads(line, 0, NULL);
        const char *level = json_string_value(json_object_get(v, "level"));
        warned = level && strncmp(level, "warn", 4) == 0 && strstr(line, "loopback");
        json_decref(v);
    }
    free(log);
    if (!warned) {
        print_error("no warning about listening on loopback only was logged\n");
        bad++;
    }
    assert_int_equal(code, 0);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openapi_matches_route_table),
        cmocka_unit_test(test_openapi_served),
        cmocka_unit_test(test_roles_on_every_route),
        cmocka_unit_test(test_unknown_path_404),
        cmocka_unit_test(test_wrong_method_405),
        cmocka_unit_test(test_request_id),
        cmocka_unit_test(test_no_keys_loopback_admin),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

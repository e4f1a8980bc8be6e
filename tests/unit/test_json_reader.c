/* Unit tests for the JSON certificate reader: table-driven inputs fed through fmemopen(), plus
 * generated hostile inputs (deep nesting, huge records, many records) and the broken fixtures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "certvet/error.h"
#include "certvet/reader.h"

#define MAX_ERRS 8
#define ANY      -2 /* an expected line or index that is not checked */

struct got_err {
    long index, line;
    bool has_field, warning;
    char field[64];
    char msg[CV_RECORD_ERROR_MAX];
};

/* What the sink saw. */
struct got {
    size_t accepted;
    long acc_line[8], acc_index[8];
    char number[2][64]; /* certificate_number of the first two accepted */
    char holder[2][128];
    size_t n_audits[2], n_sites[2], n_sectors[2];
    size_t n_errors;
    struct got_err errors[MAX_ERRS];
    size_t stop_after; /* 0: never stop */
};

static int on_cert(void *ctx, struct cv_certificate *c, const struct cv_record_loc *loc)
{
    struct got *g = ctx;
    size_t k = g->accepted;

    if (k < 8) {
        g->acc_line[k] = loc->line;
        g->acc_index[k] = loc->index;
    }
    if (k < 2) {
        snprintf(g->number[k], sizeof(g->number[k]), "%s", c->certificate_number);
        snprintf(g->holder[k], sizeof(g->holder[k]), "%s", c->holder_name);
        g->n_audits[k] = c->n_audits;
        g->n_sites[k] = c->n_sites;
        g->n_sectors[k] = c->n_sectors;
    }
    g->accepted++;
    if (g->stop_after && g->accepted >= g->stop_after)
        return CV_ERR_STOP;
    return CV_OK;
}

static void on_err(void *ctx, const struct cv_record_error *e)
{
    struct got *g = ctx;
    struct got_err *x;

    assert_non_null(e->source);
    assert_true(e->message[0] != '\0');
    if (g->n_errors < MAX_ERRS) {
        x = &g->errors[g->n_errors];
        x->index = e->index;
        x->line = e->line;
        x->has_field = e->field != NULL;
        x->warning = e->is_warning;
        snprintf(x->field, sizeof(x->field), "%s", e->field ? e->field : "");
        snprintf(x->msg, sizeof(x->msg), "%s", e->message);
    }
    g->n_errors++;
}

static int run_json(const char *in, size_t len, struct got *g)
{
    struct cv_reader_sink sink = {on_cert, on_err, g, NULL};
    FILE *f;
    int rc;

    f = len ? fmemopen((void *)in, len, "r") : fopen("/dev/null", "r");
    assert_non_null(f);
    rc = cv_json_read_certificates(f, "test.json", &sink);
    fclose(f);
    return rc;
}

struct exp_err {
    long index, line;
    const char *field; /* NULL: no field; "" : not checked */
    const char *msg;   /* substring of the message */
};

struct json_case {
    const char *name;
    const char *input;
    size_t len;
    int rc;
    size_t accepted;
    long acc_line[3]; /* lines of the first accepted records; 0 = not checked */
    size_t n_errors;
    struct exp_err errors[4];
};

static void dump(const char *name, const struct got *g)
{
    size_t i;

    print_message("case %s: accepted %zu, errors %zu\n", name, g->accepted, g->n_errors);
    for (i = 0; i < g->n_errors && i < MAX_ERRS; i++)
        print_message("  [%ld] line %ld field %s: %s\n", g->errors[i].index, g->errors[i].line,
                      g->errors[i].has_field ? g->errors[i].field : "(null)", g->errors[i].msg);
}

static void check_errors(const char *name, const struct got *g, size_t n, const struct exp_err *x)
{
    size_t i;

    if (g->n_errors != n)
        dump(name, g);
    assert_int_equal(g->n_errors, n);
    for (i = 0; i < n && i < MAX_ERRS; i++) {
        const struct got_err *e = &g->errors[i];

        if (x[i].index != ANY && e->index != x[i].index) {
            dump(name, g);
            fail_msg("%s: error %zu index %ld, want %ld", name, i, e->index, x[i].index);
        }
        if (x[i].line != ANY && e->line != x[i].line) {
            dump(name, g);
            fail_msg("%s: error %zu line %ld, want %ld", name, i, e->line, x[i].line);
        }
        if (!x[i].field && e->has_field) {
            dump(name, g);
            fail_msg("%s: error %zu has field %s, want none", name, i, e->field);
        }
        if (x[i].field && x[i].field[0] && strcmp(e->field, x[i].field) != 0) {
            dump(name, g);
            fail_msg("%s: error %zu field '%s', want '%s'", name, i, e->field, x[i].field);
        }
        if (x[i].msg && !strstr(e->msg, x[i].msg)) {
            dump(name, g);
            fail_msg("%s: error %zu message '%s' lacks '%s'", name, i, e->msg, x[i].msg);
        }
    }
}

#define IN(s) .input = s, .len = sizeof(s) - 1

/* The required fields, valid; cases add dates and whatever they test. */
#define NUM(num)  "\"certificate_number\":\"" num "\""
#define STD       ",\"standard\":\"ISO 9001:2015\""
#define HOLDER    ",\"holder\":{\"name\":\"Acme Plastics\",\"country\":\"CN\"}"
#define CB        ",\"certification_body\":{\"name\":\"Example Certification Ltd\"}"
#define BASE(num) NUM(num) STD HOLDER CB
#define DATES     ",\"issue_date\":\"2025-03-01\",\"expiry_date\":\"2028-02-28\""
#define CERT(num) "{" BASE(num) DATES "}"
#define N61       "1234567890123456789012345678901234567890123456789012345678901"
#define N60       "123456789012345678901234567890123456789012345678901234567890"

static const struct json_case cases[] = {
    {"object", IN(CERT("A")), CV_OK, 1, {1}, 0, {{0}}},
    {"pretty object",
     IN("{\n  \"certificate_number\": \"A\",\n  \"standard\": \"ISO 9001:2015\",\n"
        "  \"holder\": {\n    \"name\": \"Acme\"\n  },\n"
        "  \"certification_body\": {\"name\": \"CB\", \"id\": \"cb-1\"},\n"
        "  \"issue_date\": \"2025-03-01\", \"expiry_date\": \"2028-02-28\"\n}\n"),
     CV_OK,
     1,
     {1},
     0,
     {{0}}},
    {"array", IN("[" CERT("A") ",\n" CERT("B") ",\n" CERT("C") "]"), CV_OK, 3, {1, 2, 3}, 0, {{0}}},
    {"empty array", IN("[ ]\n"), CV_OK, 0, {0}, 0, {{0}}},
    {"empty input", IN("  \n"), CV_OK, 0, {0}, 0, {{0}}},
    {"json lines",
     IN(CERT("A") "\n" CERT("B") "\n\n" CERT("C") "\n"),
     CV_OK,
     3,
     {1, 2, 4},
     0,
     {{0}}},
    {"json lines crlf", IN(CERT("A") "\r\n" CERT("B") "\r\n"), CV_OK, 2, {1, 2}, 0, {{0}}},
    {"concatenated", IN(CERT("A") CERT("B") " " CERT("C")), CV_OK, 3, {1, 1, 1}, 0, {{0}}},
    {"bom", IN("\xEF\xBB\xBF" CERT("A")), CV_OK, 1, {1}, 0, {{0}}},
    {"unknown keys and nulls",
     IN("{" BASE("A") DATES ",\"colour\":[1,{\"x\":2}],\"scope\":null,\"supplier_id\":null}"),
     CV_OK,
     1,
     {1},
     0,
     {{0}}},
    {"all fields",
     IN("{" NUM("A") STD DATES ",\"type\":\"management_system\",\"supplier_id\":\"s1\","
                               "\"accreditation_body\":\"UKAS\",\"scope\":\"moulding\","
                               "\"original_certification_date\":\"20190301\","
                               "\"declared_status\":\"active\","
                               "\"holder\":{\"name\":\"H\",\"identifiers\":{\"vat\":\"CN1\","
                               "\"duns\":\"123\",\"registration\":\"R\"}},"
                               "\"certification_body\":{\"name\":\"CB\",\"id\":\"cb\","
                               "\"accreditation_number\":\"0001\"},"
                               "\"audits\":[{\"type\":\"initial\",\"date\":\"2025-02-01\"},"
                               "{\"type\":\"surveillance\",\"date\":\"2026-02-20\"}],"
                               "\"sites\":[{\"name\":\"Plant 1\",\"country\":\"CN\"}],"
                               "\"sectors\":[\"14\",\"17\"]}"),
     CV_OK,
     1,
     {1},
     0,
     {{0}}},
    {"holder not an object",
     IN("{" NUM("A") STD CB DATES ",\"holder\":\"Acme\"}"),
     CV_OK,
     0,
     {0},
     1,
     {{0, 1, "holder_name", "holder: expected an object, got a string"}}},
    {"number for a string",
     IN("{\"certificate_number\":12345" STD HOLDER CB DATES "}"),
     CV_OK,
     0,
     {0},
     1,
     {{0, 1, "certificate_number", "certificate_number: expected a string, got a number"}}},
    {"holder.name wrong type",
     IN("{" NUM("A") STD CB DATES ",\"holder\":{\"name\":[\"x\"]}}"),
     CV_OK,
     0,
     {0},
     1,
     {{0, 1, "holder_name", "holder.name: expected a string, got an array"}}},
    {"identifiers wrong type",
     IN("{" NUM("A") STD CB DATES ",\"holder\":{\"name\":\"H\",\"identifiers\":{\"vat\":7}}}"),
     CV_OK,
     0,
     {0},
     1,
     {{0, 1, "holder_vat", "holder.identifiers.vat: expected a string"}}},
    {"cb not an object",
     IN("{" NUM("A") STD HOLDER DATES ",\"certification_body\":\"CB\"}"),
     CV_OK,
     0,
     {0},
     1,
     {{0, 1, "certification_body", "certification_body: expected an object"}}},
    {"audits not an array",
     IN("{" BASE("A") DATES ",\"audits\":{}}"),
     CV_OK,
     0,
     {0},
     1,
     {{0, 1, "audits", "audits: expected an array, got an object"}}},
    {"bad audit type",
     IN("{" BASE("A") DATES ",\"audits\":[{\"type\":\"yearly\",\"date\":\"2026-01-01\"}]}"),
     CV_OK,
     0,
     {0},
     1,
     {{0, 1, "audits.type", "yearly"}}},
    {"audit without date",
     IN("{" BASE("A") DATES ",\"audits\":[{\"type\":\"initial\"}]}"),
     CV_OK,
     0,
     {0},
     1,
     {{0, 1, "audits.date", "audits[0]: date is missing"}}},
    {"sector not a string",
     IN("{" BASE("A") DATES ",\"sectors\":[\"14\",17]}"),
     CV_OK,
     0,
     {0},
     1,
     {{0, 1, "sectors", "sectors[1]: expected a string, got a number"}}},
    {"site field wrong type",
     IN("{" BASE("A") DATES ",\"sites\":[{\"name\":true}]}"),
     CV_OK,
     0,
     {0},
     1,
     {{0, 1, "sites", "sites[0].name: expected a string"}}},
    {"missing standard",
     IN("{\"certificate_number\":\"A\",\"holder\":{\"name\":\"H\"},"
        "\"certification_body\":{\"name\":\"CB\"}" DATES "}"),
     CV_OK,
     0,
     {0},
     1,
     {{0, 1, "standard", "standard: required field is missing"}}},
    {"missing expiry",
     IN("{" BASE("A") ",\"issue_date\":\"2025-03-01\"}"),
     CV_OK,
     0,
     {0},
     1,
     {{0, 1, "expiry_date", "required"}}},
    {"test report without expiry",
     IN("{" BASE("A") ",\"type\":\"test_report\",\"issue_date\":\"2025-03-01\"}"),
     CV_OK,
     1,
     {1},
     0,
     {{0}}},
    {"2025-02-30",
     IN("[" CERT("A") ",\n{" BASE("B") ",\"issue_date\":\"2025-01-01\",\"expiry_date\":"
                                       "\"2025-02-30\"}]"),
     CV_OK,
     1,
     {1},
     1,
     {{1, 2, "expiry_date", "expiry_date: '2025-02-30' is not a date"}}},
    {"03/04/2025",
     IN("{" BASE("A") ",\"issue_date\":\"03/04/2025\",\"expiry_date\":\"2028-01-01\"}"),
     CV_OK,
     0,
     {0},
     1,
     {{0, 1, "issue_date", "03/04/2025"}}},
    {"expiry before issue",
     IN("{" BASE("A") ",\"issue_date\":\"2025-03-01\",\"expiry_date\":\"2025-03-01\"}"),
     CV_OK,
     0,
     {0},
     1,
     {{0, 1, "expiry_date", "is not after issue_date"}}},
    {"number of 61 chars",
     IN(CERT(N61)),
     CV_OK,
     0,
     {0},
     1,
     {{0, 1, "certificate_number", "longer than 60"}}},
    {"number of 60 chars", IN(CERT(N60)), CV_OK, 1, {1}, 0, {{0}}},
    {"bad type enum",
     IN("{" BASE("A") DATES ",\"type\":\"ms\"}"),
     CV_OK,
     0,
     {0},
     1,
     {{0, 1, "type", "'ms'"}}},
    {"duplicate key",
     IN("{" BASE("A") DATES ",\"standard\":\"ISO 14001:2015\"}"),
     CV_OK,
     0,
     {0},
     1,
     {{0, 1, NULL, "duplicate object key"}}},
    {"invalid utf-8",
     IN(CERT("A") "\n" CERT("B\xff") "\n" CERT("C") "\n"),
     CV_OK,
     2,
     {1, 3},
     1,
     {{1, 2, NULL, "unable to decode byte 0xff"}}},
    {"overlong utf-8", IN(CERT("\xc0\xaf")), CV_OK, 0, {0}, 1, {{0, 1, NULL, "unable to decode"}}},
    {"nul in a string",
     IN(CERT("A\0B") "\n" CERT("C")),
     CV_OK,
     1,
     {2},
     1,
     {{0, 1, NULL, "control character 0x0"}}},
    {"nul between lines",
     IN(CERT("A") "\n\0\n" CERT("C")),
     CV_OK,
     2,
     {1, 3},
     1,
     {{1, 2, NULL, "unexpected byte 0x00"}}},
    {"truncated array",
     IN("[" CERT("A") ",\n{\"certificate_number\":"),
     CV_ERR_PARSE,
     1,
     {1},
     1,
     {{-1, 2, NULL, "truncated"}}},
    {"truncated array after element",
     IN("[" CERT("A") ",\n" CERT("B")),
     CV_ERR_PARSE,
     2,
     {1, 2},
     1,
     {{-1, ANY, NULL, "not closed"}}},
    {"truncated json lines",
     IN(CERT("A") "\n{\"certificate_number\":\"B\""),
     CV_ERR_PARSE,
     1,
     {1},
     1,
     {{-1, 2, NULL, "truncated"}}},
    {"truncated in a string",
     IN(CERT("A") "\n{\"certificate_number\":\"B"),
     CV_ERR_PARSE,
     1,
     {1},
     1,
     {{-1, 2, NULL, "truncated"}}},
    {"top-level number", IN("42\n"), CV_ERR_PARSE, 0, {0}, 1, {{-1, 1, NULL, "starts with '4'"}}},
    {"top-level string", IN("\n\"hello\""), CV_ERR_PARSE, 0, {0}, 1, {{-1, 2, NULL, "'\"'"}}},
    {"syntax error in an element",
     IN("[" CERT("A") ",\n{\"certificate_number\": tru},\n" CERT("C") "]"),
     CV_OK,
     2,
     {1, 3},
     1,
     {{1, 2, NULL, "invalid JSON"}}},
    {"error line inside a record",
     IN("[\n" CERT("A") ",\n{\n\"certificate_number\": \"B\",\n\"standard\" \"x\"\n},\n" CERT(
         "C") "\n]"),
     CV_OK,
     2,
     {2, 7},
     1,
     {{1, 5, NULL, "line 5"}}},
    {"mismatched bracket resyncs",
     IN("[\n " CERT("A") ",\n {\"certificate_number\": [1},\n " CERT("C") "\n]\n"),
     CV_OK,
     2,
     {2, 4},
     1,
     {{1, 3, NULL, "invalid JSON"}}},
    {"unterminated string, json lines",
     IN(CERT("A") "\n{\"certificate_number\": \"abc\n" CERT("C") "\n"),
     CV_OK,
     2,
     {1, 3},
     1,
     {{1, 2, NULL, "newline"}}},
    {"unindented nested object",
     IN("{\n\"certificate_number\": \"A\",\n\"holder\":\n{\n\"name\": \"H\"\n}" STD CB DATES
        "\n}\n" CERT("B") "\n"),
     CV_OK,
     2,
     {1, 8},
     0,
     {{0}}},
    {"unclosed array, json lines",
     IN(CERT("A") "\n{\"sectors\": [\"1\"\n" CERT("C") "\n"),
     CV_OK,
     2,
     {1, 3},
     1,
     {{1, 2, NULL, "invalid JSON"}}},
    {"unclosed object, json lines",
     IN(CERT("A") "\n{\"certificate_number\": 1\n" CERT("C") "\n"),
     CV_OK,
     2,
     {1, 3},
     1,
     {{1, 2, NULL, "invalid JSON"}}},
    {"garbage line, json lines",
     IN(CERT("A") "\nnot json\n" CERT("C") "\n"),
     CV_OK,
     2,
     {1, 3},
     1,
     {{1, 2, NULL, "'n'"}}},
    {"non-object element",
     IN("[1, \"x\", " CERT("A") "]"),
     CV_OK,
     1,
     {1},
     2,
     {{0, 1, NULL, "record is a number"}, {1, 1, NULL, "record is a string"}}},
    {"trailing comma",
     IN("[" CERT("A") ",]"),
     CV_OK,
     1,
     {1},
     1,
     {{1, 1, NULL, "missing value before ']'"}}},
    {"missing comma",
     IN("[" CERT("A") " " CERT("B") "]"),
     CV_OK,
     1,
     {1},
     1,
     {{1, 1, NULL, "missing ','"}}},
    {"two arrays", IN("[" CERT("A") "]\n[" CERT("B") "]\n"), CV_OK, 2, {1, 2}, 0, {{0}}},
};

static void test_cases(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct json_case *c = &cases[i];
        struct got g = {0};
        int rc;
        size_t k;

        rc = run_json(c->input, c->len, &g);
        if (rc != c->rc || g.accepted != c->accepted)
            dump(c->name, &g);
        if (rc != c->rc)
            fail_msg("%s: rc %d, want %d", c->name, rc, c->rc);
        if (g.accepted != c->accepted)
            fail_msg("%s: accepted %zu, want %zu", c->name, g.accepted, c->accepted);
        for (k = 0; k < 3 && k < g.accepted; k++) {
            if (c->acc_line[k] && g.acc_line[k] != c->acc_line[k])
                fail_msg("%s: record %zu at line %ld, want %ld", c->name, k, g.acc_line[k],
                         c->acc_line[k]);
        }
        check_errors(c->name, &g, c->n_errors, c->errors);
    }
}

/* The mapping puts each JSON field where it belongs. */
static void test_mapping(void **state)
{
    static const char in[] = "{" BASE("Q-1") DATES
        ",\"audits\":[{\"type\":\"surveillance\",\"date\":\"2026-02-20\"}],"
        "\"sites\":[{\"name\":\"P1\"},{\"name\":\"P2\"}],\"sectors\":[\"14\"]}";
    struct got g = {0};

    (void)state;
    assert_int_equal(run_json(in, sizeof(in) - 1, &g), CV_OK);
    assert_int_equal(g.accepted, 1);
    assert_string_equal(g.number[0], "Q-1");
    assert_string_equal(g.holder[0], "Acme Plastics");
    assert_int_equal(g.n_audits[0], 1);
    assert_int_equal(g.n_sites[0], 2);
    assert_int_equal(g.n_sectors[0], 1);
    assert_int_equal(g.acc_index[0], 0);
}

/* The sink can stop the reader. */
static void test_stop(void **state)
{
    static const char in[] = "[" CERT("A") "," CERT("B") "," CERT("C") "]";
    struct got g = {0};

    (void)state;
    g.stop_after = 2;
    assert_int_equal(run_json(in, sizeof(in) - 1, &g), CV_ERR_STOP);
    assert_int_equal(g.accepted, 2);
    assert_int_equal(g.n_errors, 0);
}

static char *repeat(const char *head, char c, size_t n, char c2, size_t n2, const char *tail,
                    size_t *len)
{
    size_t hl = strlen(head), tl = strlen(tail);
    char *b = malloc(hl + n + n2 + tl + 1);

    assert_non_null(b);
    memcpy(b, head, hl);
    memset(b + hl, c, n);
    memset(b + hl + n, c2, n2);
    memcpy(b + hl + n + n2, tail, tl + 1);
    *len = hl + n + n2 + tl;
    return b;
}

/* 10000 nested brackets: an error for that record, no crash, the next record still read. */
static void test_deep_nesting(void **state)
{
    struct got g = {0};
    size_t len;
    char *b;

    (void)state;
    b = repeat("[", '[', 10000, ']', 10000, "," CERT("B") "]", &len);
    assert_int_equal(run_json(b, len, &g), CV_OK);
    free(b);
    assert_int_equal(g.accepted, 1);
    check_errors("deep array", &g, 1, (struct exp_err[]){{0, 1, NULL, "depth"}});

    memset(&g, 0, sizeof(g));
    b = repeat("{" BASE("A") DATES ",\"scope\":", '[', 10000, ']', 10000, "}\n" CERT("B"), &len);
    assert_int_equal(run_json(b, len, &g), CV_OK);
    free(b);
    assert_int_equal(g.accepted, 1);
    check_errors("deep value", &g, 1, (struct exp_err[]){{0, 1, NULL, "depth"}});

    /* only openers: the input ends inside the record */
    memset(&g, 0, sizeof(g));
    b = repeat("", '[', 10000, ' ', 0, "", &len);
    assert_int_equal(run_json(b, len, &g), CV_ERR_PARSE);
    free(b);
    check_errors("deep unclosed", &g, 1, (struct exp_err[]){{-1, 1, NULL, "truncated"}});
}

/* A record past CV_RECORD_MAX_BYTES is refused and skipped; one just under it is read. */
static void test_large_records(void **state)
{
    size_t big = CV_RECORD_MAX_BYTES + 100, len;
    struct got g = {0};
    char *b;

    (void)state;
    b = repeat(CERT("A") "\n{" BASE("B") DATES ",\"scope\":\"", 'x', big, '"', 1,
               "}\n" CERT("C") "\n", &len);
    assert_int_equal(run_json(b, len, &g), CV_OK);
    free(b);
    assert_int_equal(g.accepted, 2);
    assert_int_equal(g.acc_line[1], 3);
    check_errors("too large", &g, 1, (struct exp_err[]){{1, 2, NULL, "record too large"}});

    /* the same inside an array, with brackets inside the string */
    memset(&g, 0, sizeof(g));
    b = repeat("[{" BASE("B") DATES ",\"scope\":\"", '{', big, '"', 1, "},\n" CERT("C") "]", &len);
    assert_int_equal(run_json(b, len, &g), CV_OK);
    free(b);
    assert_int_equal(g.accepted, 1);
    check_errors("too large in array", &g, 1, (struct exp_err[]){{0, 1, NULL, "too large"}});

    memset(&g, 0, sizeof(g));
    b = repeat("{" BASE("B") DATES ",\"scope\":\"", 'y', CV_RECORD_MAX_BYTES - 1000, '"', 1, "}",
               &len);
    assert_int_equal(run_json(b, len, &g), CV_OK);
    free(b);
    assert_int_equal(g.accepted, 1);
    assert_int_equal(g.n_errors, 0);
}

/* Many records through a real file: all read, across read-buffer boundaries. */
static void test_many_records(void **state)
{
    char path[] = "/tmp/certvet-json-XXXXXX";
    struct cv_reader_sink sink;
    struct got g = {0};
    FILE *f;
    int fd, i, rc;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w+");
    assert_non_null(f);
    for (i = 0; i < 200000; i++)
        fprintf(f,
                "{\"certificate_number\":\"QMS-%d\",\"standard\":\"ISO 9001:2015\","
                "\"holder\":{\"name\":\"Supplier \\\"%d\\\" Co., Ltd.\",\"country\":\"CN\"},"
                "\"certification_body\":{\"name\":\"Example Certification Ltd\"},"
                "\"accreditation_body\":\"UKAS\",\"issue_date\":\"2025-03-01\","
                "\"expiry_date\":\"2028-02-28\",\"audits\":[{\"type\":\"surveillance\","
                "\"date\":\"2026-02-20\"}]}\n",
                i, i);
    rewind(f);
    sink = (struct cv_reader_sink){on_cert, on_err, &g, NULL};
    rc = cv_json_read_certificates(f, path, &sink);
    fclose(f);
    unlink(path);
    assert_int_equal(rc, CV_OK);
    assert_int_equal(g.n_errors, 0);
    assert_int_equal(g.accepted, 200000);
    assert_int_equal(g.acc_line[7], 8);
}

/* Every broken and hostile JSON fixture is read to its end with at least one error. */
static void test_fixtures(void **state)
{
    static const struct {
        const char *path;
        size_t accepted;
        size_t min_errors;
    } fx[] = {
        {"broken/json-wrong-types.json", 1, 4},       {"broken/json-bad-dates.json", 1, 3},
        {"broken/json-missing-fields.jsonl", 1, 3},   {"broken/json-syntax.jsonl", 2, 3},
        {"broken/json-truncated.json", 1, 1},         {"hostile/json-deep-nesting.json", 1, 1},
        {"hostile/json-invalid-utf8.jsonl", 1, 2},    {"hostile/json-nul-bytes.jsonl", 2, 2},
        {"hostile/json-top-level-scalar.json", 0, 1},
    };
    char path[4096];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(fx) / sizeof(fx[0]); i++) {
        struct cv_reader_sink sink;
        struct got g = {0};
        FILE *f;

        snprintf(path, sizeof(path), "%s/fixtures/%s", CERTVET_SOURCE_DIR, fx[i].path);
        f = fopen(path, "rb");
        if (!f)
            fail_msg("cannot open %s", path);
        sink = (struct cv_reader_sink){on_cert, on_err, &g, NULL};
        (void)cv_json_read_certificates(f, fx[i].path, &sink);
        fclose(f);
        if (g.accepted != fx[i].accepted || g.n_errors < fx[i].min_errors) {
            dump(fx[i].path, &g);
            fail_msg("%s: accepted %zu (want %zu), errors %zu (want >= %zu)", fx[i].path,
                     g.accepted, fx[i].accepted, g.n_errors, fx[i].min_errors);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),         cmocka_unit_test(test_mapping),
        cmocka_unit_test(test_stop),          cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_large_records), cmocka_unit_test(test_many_records),
        cmocka_unit_test(test_fixtures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for the CSV certificate reader: table-driven inputs fed through fmemopen(), plus
 * generated inputs (huge records, many records) and the broken and hostile fixtures. */
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
    char number[2][64]; /* fields of the first two accepted */
    char holder[2][128];
    char scope[2][128];
    size_t n_audits[2];
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
        snprintf(g->scope[k], sizeof(g->scope[k]), "%s", c->scope ? c->scope : "");
        g->n_audits[k] = c->n_audits;
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

static int run_csv(const char *in, size_t len, struct got *g)
{
    struct cv_reader_sink sink = {on_cert, on_err, g, NULL};
    FILE *f;
    int rc;

    f = len ? fmemopen((void *)in, len, "r") : fopen("/dev/null", "r");
    assert_non_null(f);
    rc = cv_csv_read_certificates(f, "test.csv", &sink);
    fclose(f);
    return rc;
}

struct exp_err {
    long index, line;
    const char *field; /* NULL: no field; "" : not checked */
    const char *msg;   /* substring of the message */
    bool warning;
};

struct csv_case {
    const char *name;
    const char *input;
    size_t len;
    int rc;
    size_t accepted;
    long acc_line[3];   /* lines of the first accepted records; 0 = not checked */
    const char *holder; /* holder_name of the first accepted, or NULL */
    const char *scope;  /* scope of the first accepted, or NULL */
    size_t n_errors;
    struct exp_err errors[4];
};

static void dump(const char *name, const struct got *g)
{
    size_t i;

    print_message("case %s: accepted %zu, errors %zu\n", name, g->accepted, g->n_errors);
    for (i = 0; i < g->n_errors && i < MAX_ERRS; i++)
        print_message("  [%ld] line %ld field %s%s: %s\n", g->errors[i].index, g->errors[i].line,
                      g->errors[i].has_field ? g->errors[i].field : "(null)",
                      g->errors[i].warning ? " (warning)" : "", g->errors[i].msg);
}

static void check_errors(const char *name, const struct got *g, size_t n, const struct exp_err *x)
{
    size_t i;

    if (g->n_errors != n)
        dump(name, g);
    assert_int_equal(g->n_errors, n);
    for (i = 0; i < n && i < MAX_ERRS; i++) {
        const struct got_err *e = &g->errors[i];

        if ((x[i].index != ANY && e->index != x[i].index) ||
            (x[i].line != ANY && e->line != x[i].line) || (!x[i].field && e->has_field) ||
            (x[i].field && x[i].field[0] && strcmp(e->field, x[i].field) != 0) ||
            (x[i].msg && !strstr(e->msg, x[i].msg)) || e->warning != x[i].warning) {
            dump(name, g);
            fail_msg("%s: error %zu is [%ld] line %ld field '%s' '%s'; want [%ld] line %ld "
                     "field '%s' '%s'%s",
                     name, i, e->index, e->line, e->field, e->msg, x[i].index, x[i].line,
                     x[i].field ? x[i].field : "(null)", x[i].msg ? x[i].msg : "",
                     x[i].warning ? " (warning)" : "");
        }
    }
}

#define IN(s) .input = s, .len = sizeof(s) - 1

#define HDR      "certificate_number,standard,holder_name,certification_body,issue_date,expiry_date\n"
#define ROW(num) num ",ISO 9001:2015,Acme Plastics,Example CB,2025-03-01,2028-02-28\n"
#define HDR_AUDIT                                                                                  \
    "certificate_number,standard,holder_name,certification_body,issue_date,expiry_date,"           \
    "last_audit_type,last_audit_date\n"
#define ROW_AUDIT(t, d) "A,ISO 9001:2015,Acme,CB,2025-03-01,2028-02-28," t "," d "\n"
#define N61             "1234567890123456789012345678901234567890123456789012345678901"

static const struct csv_case cases[] = {
    {"basic", IN(HDR ROW("A") ROW("B")), CV_OK, 2, {2, 3}, "Acme Plastics", "", 0, {{0}}},
    {"no final newline",
     IN(HDR ROW("A") "B,ISO 9001:2015,H,CB,2025-03-01,2028-02-28"),
     CV_OK,
     2,
     {2, 3},
     NULL,
     NULL,
     0,
     {{0}}},
    {"header only", IN(HDR), CV_OK, 0, {0}, NULL, NULL, 0, {{0}}},
    {"bom", IN("\xEF\xBB\xBF" HDR ROW("A")), CV_OK, 1, {2}, NULL, NULL, 0, {{0}}},
    {"crlf",
     IN("certificate_number,standard,holder_name,certification_body,issue_date,"
        "expiry_date\r\nA,ISO 9001:2015,Acme,CB,2025-03-01,2028-02-28\r\n"
        "B,ISO 9001:2015,\"two\r\nlines\",CB,2025-03-01,2028-02-28\r\n"
        "C,ISO 9001:2015,Acme,CB,2025-03-01,2028-02-28\r\n"),
     CV_OK,
     3,
     {2, 3, 5},
     "Acme",
     NULL,
     0,
     {{0}}},
    {"reordered columns",
     IN("expiry_date,scope,Holder_Name , issue_date,certification_body,standard,"
        "certificate_number,type,holder_country,supplier_id,accreditation_body,"
        "accreditation_number,original_certification_date,declared_status,holder_vat,"
        "holder_duns,holder_registration,certification_body_id\n"
        "2028-02-28,injection moulding,Ningbo Harbour,2025-03-01,Example CB,ISO 9001:2015,Q-1,"
        "management_system,CN,s-1,UKAS,0001,2019-03-01,active,CN123,123456789,R-1,cb-1\n"),
     CV_OK,
     1,
     {2},
     "Ningbo Harbour",
     "injection moulding",
     0,
     {{0}}},
    {"quotes, commas, newlines",
     IN("scope," HDR "\"moulding, \"\"assembly\"\"\nand packing\"," ROW(
         "A") "\"\",\"B\",ISO 9001:2015,\"Acme, \"\"North\"\" Ltd\",CB,2025-03-01,2028-02-28\n"),
     CV_OK,
     2,
     {2, 4},
     "Acme Plastics",
     "moulding, \"assembly\"\nand packing",
     0,
     {{0}}},
    {"blank lines",
     IN("\n" HDR "\n" ROW("A") "\n  \n" ROW("B") "\n\n"),
     CV_OK,
     2,
     {4, 7},
     NULL,
     NULL,
     0,
     {{0}}},
    {"empty cell is absent",
     IN(HDR "A,ISO 9001:2015,Acme,CB,2025-03-01,\nB,ISO 9001:2015,,CB,2025-03-01,2028-02-28\n"),
     CV_OK,
     0,
     {0},
     NULL,
     NULL,
     2,
     {{0, 2, "expiry_date", "expiry_date: required"}, {1, 3, "holder_name", "required"}}},
    {"test report without expiry",
     IN("type," HDR "test_report,A,ISO 8124-1:2018,Acme,Lab,2025-03-01,\n"),
     CV_OK,
     1,
     {2},
     NULL,
     NULL,
     0,
     {{0}}},
    {"stray quote",
     IN(HDR ROW("A") "B,ISO 9001:2015,Ac\"me,CB,2025-03-01,2028-02-28\n" ROW("C")),
     CV_OK,
     2,
     {2, 4},
     NULL,
     NULL,
     1,
     {{1, 3, "holder_name", "stray quote"}}},
    {"text after closing quote",
     IN(HDR "B,ISO 9001:2015,\"Acme\" Ltd,CB,2025-03-01,2028-02-28\n" ROW("C")),
     CV_OK,
     1,
     {3},
     NULL,
     NULL,
     1,
     {{0, 2, "holder_name", "after a closing quote"}}},
    {"unterminated quote",
     IN(HDR ROW("A") "B,ISO 9001:2015,\"Acme,CB,2025-03-01,2028-02-28\n" ROW("C")),
     CV_OK,
     1,
     {2},
     NULL,
     NULL,
     1,
     {{1, 3, "holder_name", "unterminated quoted field"}}},
    {"too few fields",
     IN(HDR ROW("A") "B,ISO 9001:2015,Acme\n" ROW("C")),
     CV_OK,
     2,
     {2, 4},
     NULL,
     NULL,
     1,
     {{1, 3, NULL, "line 3: record has 3 fields, the header has 6"}}},
    {"too many fields",
     IN(HDR "B,ISO 9001:2015,Acme,CB,2025-03-01,2028-02-28,x,y\n"),
     CV_OK,
     0,
     {0},
     NULL,
     NULL,
     1,
     {{0, 2, NULL, "record has 8 fields"}}},
    {"unknown column",
     IN("colour," HDR "red," ROW("A")),
     CV_OK,
     1,
     {2},
     NULL,
     NULL,
     1,
     {{-1, 1, "colour", "unknown column 'colour' ignored", true}}},
    {"unnamed column",
     IN("certificate_number,standard,holder_name,certification_body,issue_date,"
        "expiry_date,\n"
        "A,ISO 9001:2015,Acme,CB,2025-03-01,2028-02-28,\n"),
     CV_OK,
     1,
     {2},
     NULL,
     NULL,
     1,
     {{-1, 1, "", "column 7 has no name", true}}},
    {"missing required column",
     IN("certificate_number,standard,holder_name,certification_body,expiry_date\n"
        "A,ISO 9001:2015,Acme,CB,2028-02-28\n"),
     CV_ERR_INVALID,
     0,
     {0},
     NULL,
     NULL,
     1,
     {{-1, 1, "issue_date", "missing required column 'issue_date'"}}},
    {"duplicate column",
     IN("standard," HDR "x," ROW("A")),
     CV_ERR_PARSE,
     0,
     {0},
     NULL,
     NULL,
     1,
     {{-1, 1, "standard", "duplicate column 'standard'"}}},
    {"duplicate unknown column",
     IN("x,X," HDR "1,2," ROW("A")),
     CV_ERR_PARSE,
     0,
     {0},
     NULL,
     NULL,
     1,
     {{-1, 1, "X", "duplicate column"}}},
    {"empty input", IN(""), CV_ERR_PARSE, 0, {0}, NULL, NULL, 1, {{-1, 0, NULL, "no header"}}},
    {"unterminated quote in header",
     IN("\"certificate_number,standard\n"),
     CV_ERR_PARSE,
     0,
     {0},
     NULL,
     NULL,
     1,
     {{-1, 1, NULL, "header row: unterminated"}}},
    {"2025-02-30",
     IN(HDR "A,ISO 9001:2015,Acme,CB,2025-01-01,2025-02-30\n"),
     CV_OK,
     0,
     {0},
     NULL,
     NULL,
     1,
     {{0, 2, "expiry_date", "expiry_date: '2025-02-30' is not a date"}}},
    {"03/04/2025",
     IN(HDR "A,ISO 9001:2015,Acme,CB,03/04/2025,2028-02-28\n"),
     CV_OK,
     0,
     {0},
     NULL,
     NULL,
     1,
     {{0, 2, "issue_date", "'03/04/2025'"}}},
    {"YYYYMMDD",
     IN(HDR "A,ISO 9001:2015,Acme,CB,20250301,20280228\n"),
     CV_OK,
     1,
     {2},
     NULL,
     NULL,
     0,
     {{0}}},
    {"expiry before issue",
     IN(HDR "A,ISO 9001:2015,Acme,CB,2025-03-01,2024-03-01\n"),
     CV_OK,
     0,
     {0},
     NULL,
     NULL,
     1,
     {{0, 2, "expiry_date", "is not after issue_date"}}},
    {"number of 61 chars",
     IN(HDR ROW(N61)),
     CV_OK,
     0,
     {0},
     NULL,
     NULL,
     1,
     {{0, 2, "certificate_number", "longer than 60"}}},
    {"audit",
     IN(HDR_AUDIT ROW_AUDIT("surveillance", "2026-02-20")),
     CV_OK,
     1,
     {2},
     NULL,
     NULL,
     0,
     {{0}}},
    {"audit without date",
     IN(HDR_AUDIT ROW_AUDIT("surveillance", "")),
     CV_OK,
     0,
     {0},
     NULL,
     NULL,
     1,
     {{0, 2, "last_audit_date", "give both or neither"}}},
    {"audit without type",
     IN(HDR_AUDIT ROW_AUDIT(" ", "2026-02-20")),
     CV_OK,
     0,
     {0},
     NULL,
     NULL,
     1,
     {{0, 2, "last_audit_type", "give both or neither"}}},
    {"bad audit date",
     IN(HDR_AUDIT ROW_AUDIT("surveillance", "2026-13-01")),
     CV_OK,
     0,
     {0},
     NULL,
     NULL,
     1,
     {{0, 2, "last_audit_date", "last_audit_date: '2026-13-01' is not a date"}}},
    {"bad audit type",
     IN(HDR_AUDIT ROW_AUDIT("yearly", "2026-01-01")),
     CV_OK,
     0,
     {0},
     NULL,
     NULL,
     1,
     {{0, 2, "last_audit_type", "last_audit_type: 'yearly'"}}},
    {"bad declared_status",
     IN("declared_status," HDR "dormant," ROW("A")),
     CV_OK,
     0,
     {0},
     NULL,
     NULL,
     1,
     {{0, 2, "declared_status", "'dormant'"}}},
    {"invalid utf-8",
     IN(HDR ROW("A\xff") ROW("B")),
     CV_OK,
     1,
     {3},
     NULL,
     NULL,
     1,
     {{0, 2, "certificate_number", "not valid UTF-8"}}},
    {"surrogate in utf-8",
     IN(HDR ROW("A\xed\xa0\x80")),
     CV_OK,
     0,
     {0},
     NULL,
     NULL,
     1,
     {{0, 2, "certificate_number", "not valid UTF-8"}}},
    {"utf-8 accepted",
     IN(HDR "A,ISO 9001:2015,Société Générale 寧波 🎉,CB,2025-03-01,2028-02-28\n"),
     CV_OK,
     1,
     {2},
     "Société Générale 寧波 🎉",
     NULL,
     0,
     {{0}}},
    {"nul byte",
     IN(HDR ROW("A\0B") ROW("C")),
     CV_OK,
     1,
     {3},
     NULL,
     NULL,
     1,
     {{0, 2, "certificate_number", "NUL"}}},
    {"quoted header",
     IN("\"certificate_number\",\"standard\",holder_name,certification_body,"
        "issue_date,expiry_date\n" ROW("A")),
     CV_OK,
     1,
     {2},
     NULL,
     NULL,
     0,
     {{0}}},
    {"index skips blank lines",
     IN(HDR ROW("A") "\n"
                     "B,ISO 9001:2015,Acme\n" ROW("C")),
     CV_OK,
     2,
     {2, 5},
     NULL,
     NULL,
     1,
     {{1, 4, NULL, "line 4"}}},
};

static void test_cases(void **state)
{
    size_t i, k;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct csv_case *c = &cases[i];
        struct got g = {0};
        int rc;

        rc = run_csv(c->input, c->len, &g);
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
        if (c->holder && strcmp(g.holder[0], c->holder) != 0)
            fail_msg("%s: holder '%s', want '%s'", c->name, g.holder[0], c->holder);
        if (c->scope && strcmp(g.scope[0], c->scope) != 0)
            fail_msg("%s: scope '%s', want '%s'", c->name, g.scope[0], c->scope);
        check_errors(c->name, &g, c->n_errors, c->errors);
    }
}

/* Record indexes count data records; the audit columns make one audit. */
static void test_mapping(void **state)
{
    static const char in[] = HDR_AUDIT ROW_AUDIT("surveillance", "2026-02-20") ROW_AUDIT("", "");
    struct got g = {0};

    (void)state;
    assert_int_equal(run_csv(in, sizeof(in) - 1, &g), CV_OK);
    assert_int_equal(g.accepted, 2);
    assert_int_equal(g.n_audits[0], 1);
    assert_int_equal(g.n_audits[1], 0);
    assert_int_equal(g.acc_index[0], 0);
    assert_int_equal(g.acc_index[1], 1);
    assert_string_equal(g.number[0], "A");
}

static void test_stop(void **state)
{
    static const char in[] = HDR ROW("A") ROW("B") ROW("C");
    struct got g = {0};

    (void)state;
    g.stop_after = 1;
    assert_int_equal(run_csv(in, sizeof(in) - 1, &g), CV_ERR_STOP);
    assert_int_equal(g.accepted, 1);
}

/* Builds head + n times c + tail. */
static char *repeat(const char *head, char c, size_t n, const char *tail, size_t *len)
{
    size_t hl = strlen(head), tl = strlen(tail);
    char *b = malloc(hl + n + tl + 1);

    assert_non_null(b);
    memcpy(b, head, hl);
    memset(b + hl, c, n);
    memcpy(b + hl + n, tail, tl + 1);
    *len = hl + n + tl;
    return b;
}

/* A record past CV_RECORD_MAX_BYTES is refused and skipped, even when quoted across lines. */
static void test_large_records(void **state)
{
    size_t big = CV_RECORD_MAX_BYTES + 10, len;
    struct got g = {0};
    char *b;

    (void)state;
    b = repeat("scope," HDR "x," ROW("A") "\"", 'x', big,
               "\n\",B,ISO 9001:2015,Acme,CB,2025-03-01,2028-02-28\n"
               "y," ROW("C"),
               &len);
    assert_int_equal(run_csv(b, len, &g), CV_OK);
    free(b);
    assert_int_equal(g.accepted, 2);
    assert_int_equal(g.acc_line[1], 5);
    check_errors("too large", &g, 1, (struct exp_err[]){{1, 3, NULL, "record too large"}});

    memset(&g, 0, sizeof(g));
    b = repeat("scope," HDR, 'y', CV_RECORD_MAX_BYTES - 1000, "," ROW("A"), &len);
    assert_int_equal(run_csv(b, len, &g), CV_OK);
    free(b);
    assert_int_equal(g.accepted, 1);
    assert_int_equal(g.n_errors, 0);

    /* a header that never ends */
    memset(&g, 0, sizeof(g));
    b = repeat("certificate_number,", 'z', big, "\n", &len);
    assert_int_equal(run_csv(b, len, &g), CV_ERR_TOO_LARGE);
    free(b);
    check_errors("header too large", &g, 1, (struct exp_err[]){{-1, 1, NULL, "too large"}});
}

/* Many records through a real file: all read, across read-buffer boundaries. */
static void test_many_records(void **state)
{
    char path[] = "/tmp/certvet-csv-XXXXXX";
    struct cv_reader_sink sink;
    struct got g = {0};
    FILE *f;
    int fd, i, rc;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w+");
    assert_non_null(f);
    fputs("certificate_number,type,standard,holder_name,holder_country,supplier_id,"
          "certification_body,accreditation_body,accreditation_number,scope,issue_date,"
          "expiry_date,original_certification_date,last_audit_type,last_audit_date,"
          "declared_status\n",
          f);
    for (i = 0; i < 200000; i++)
        fprintf(f,
                "QMS-%d,management_system,ISO 9001:2015,\"Supplier \"\"%d\"\" Co., Ltd.\",CN,"
                "s-%d,Example Certification Ltd,UKAS,0001,\"Injection moulding,\nassembly\","
                "2025-03-01,2028-02-28,2019-03-01,surveillance,2026-02-20,active\n",
                i, i, i);
    rewind(f);
    sink = (struct cv_reader_sink){on_cert, on_err, &g, NULL};
    rc = cv_csv_read_certificates(f, path, &sink);
    fclose(f);
    unlink(path);
    assert_int_equal(rc, CV_OK);
    assert_int_equal(g.n_errors, 0);
    assert_int_equal(g.accepted, 200000);
    assert_int_equal(g.acc_line[7], 16);
    assert_string_equal(g.holder[1], "Supplier \"1\" Co., Ltd.");
}

/* Every broken and hostile CSV fixture is read to its end with the errors it is about. */
static void test_fixtures(void **state)
{
    static const struct {
        const char *path;
        int rc;
        size_t accepted;
        size_t errors;
    } fx[] = {
        {"broken/csv-stray-quote.csv", CV_OK, 1, 2},
        {"broken/csv-unterminated-quote.csv", CV_OK, 2, 1},
        {"broken/csv-quote-not-closed.csv", CV_OK, 2, 1},
        {"broken/csv-wrong-field-count.csv", CV_OK, 1, 2},
        {"broken/csv-missing-column.csv", CV_ERR_INVALID, 0, 1},
        {"broken/csv-duplicate-column.csv", CV_ERR_PARSE, 0, 1},
        {"broken/csv-bad-dates.csv", CV_OK, 1, 3},
        {"broken/csv-audit-half.csv", CV_OK, 1, 2},
        {"broken/csv-unknown-column.csv", CV_OK, 2, 1},
        {"hostile/csv-embedded-newlines.csv", CV_OK, 3, 1},
        {"hostile/csv-invalid-utf8.csv", CV_OK, 1, 2},
        {"hostile/csv-nul-bytes.csv", CV_OK, 1, 1},
        {"hostile/csv-bom-crlf.csv", CV_OK, 2, 0},
    };
    char path[4096];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(fx) / sizeof(fx[0]); i++) {
        struct cv_reader_sink sink;
        struct got g = {0};
        FILE *f;
        int rc;

        snprintf(path, sizeof(path), "%s/fixtures/%s", CERTVET_SOURCE_DIR, fx[i].path);
        f = fopen(path, "rb");
        if (!f)
            fail_msg("cannot open %s", path);
        sink = (struct cv_reader_sink){on_cert, on_err, &g, NULL};
        rc = cv_csv_read_certificates(f, fx[i].path, &sink);
        fclose(f);
        if (rc != fx[i].rc || g.accepted != fx[i].accepted || g.n_errors != fx[i].errors) {
            dump(fx[i].path, &g);
            fail_msg("%s: rc %d (want %d), accepted %zu (want %zu), errors %zu (want %zu)",
                     fx[i].path, rc, fx[i].rc, g.accepted, fx[i].accepted, g.n_errors,
                     fx[i].errors);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),        cmocka_unit_test(test_mapping),
        cmocka_unit_test(test_stop),         cmocka_unit_test(test_large_records),
        cmocka_unit_test(test_many_records), cmocka_unit_test(test_fixtures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

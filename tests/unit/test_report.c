/* Unit tests of src/formats/report.c and verification_json.c: what a reader of each output
 * format gets, on values that need care (commas, quotes, newlines, long UTF-8 names). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certvet/error.h"
#include "certvet/report.h"

/* A certificate and a hand-made verification of it (the rules are not under test here). */
struct sample {
    struct cv_certificate cert;
    struct cv_verification v;
    struct cv_record_loc loc;
};

static void make_sample(struct sample *s, const char *holder)
{
    char msg[128];
    cv_certificate_init(&s->cert, 0);
    cv_certificate_set_text(&s->cert, "certificate_number", "Q-1", 3, msg, sizeof(msg));
    cv_certificate_set_text(&s->cert, "holder_name", holder, strlen(holder), msg, sizeof(msg));
    cv_certificate_set_text(&s->cert, "certification_body", "Example CB", 10, msg, sizeof(msg));
    memset(&s->v, 0, sizeof(s->v));
    s->v.certificate_number = s->cert.certificate_number;
    strcpy(s->v.standard, "ISO 9001:2015");
    s->v.family = "ISO 9001";
    s->v.as_of = cv_date_from_ymd(2026, 11, 22);
    s->v.verdict = CV_VERDICT_WARNING;
    s->v.effective_expiry = cv_date_from_ymd(2027, 1, 1);
    s->v.has_days_to_expiry = true;
    s->v.days_to_expiry = 40;
    s->v.surveillance_due = CV_DATE_NONE;
    s->v.n_findings = 2;
    s->v.findings[0].code = CV_F_CERT_EXPIRING_SOON;
    s->v.findings[0].severity = CV_SEV_WARNING;
    strcpy(s->v.findings[0].message, "expires soon, \"really\"");
    s->v.findings[0].detail[0].key = "days_to_expiry";
    s->v.findings[0].detail[0].is_number = true;
    strcpy(s->v.findings[0].detail[0].value, "40");
    s->v.findings[1].code = CV_F_SURVEILLANCE_DUE;
    s->v.findings[1].severity = CV_SEV_INFO;
    strcpy(s->v.findings[1].message, "due");
    s->loc = (struct cv_record_loc){"in.csv", 7, 5};
}

/* Runs one report with the sample and one refused record; returns what was written. */
static char *run_report(enum cv_output_format fmt, const char *holder, char **err_out)
{
    struct sample s;
    struct cv_report *r;
    char *out = NULL, *err = NULL;
    size_t out_len = 0, err_len = 0;
    FILE *fo = open_memstream(&out, &out_len), *fe = open_memstream(&err, &err_len);
    struct cv_record_error e = {"in.csv", 3, 1, "issue_date", false, "issue_date: bad"};

    make_sample(&s, holder);
    assert_int_equal(cv_report_new(fo, fe, fmt, s.v.as_of, &r), CV_OK);
    assert_int_equal(cv_report_add(r, &s.v, &s.cert, &s.loc), CV_OK);
    cv_report_error(r, &e);
    assert_int_equal(cv_report_finish(r), CV_OK);
    long verdicts[4], errors, warnings;
    cv_report_counts(r, verdicts, &errors, &warnings);
    assert_int_equal(verdicts[CV_VERDICT_WARNING], 1);
    assert_int_equal(errors, 1);
    assert_int_equal(warnings, 0);
    cv_report_free(r);
    cv_certificate_cleanup(&s.cert);
    fclose(fo);
    fclose(fe);
    if (err_out)
        *err_out = err;
    else
        free(err);
    return out;
}

static void csv_quotes_what_needs_quoting(void **state)
{
    (void)state;
    char *err;
    char *out = run_report(CV_OUTPUT_CSV, "Acme, \"Best\" Ltd\nUnit 2", &err);
    const char *want =
        "source,certificate_number,standard,family,holder,certification_body,verdict,"
        "effective_expiry,days_to_expiry,surveillance_due,findings\r\n"
        "in.csv:7,Q-1,ISO 9001:2015,ISO 9001,\"Acme, \"\"Best\"\" Ltd\nUnit 2\",Example CB,"
        "warning,2027-01-01,40,,CERT_EXPIRING_SOON;SURVEILLANCE_DUE\r\n";
    assert_string_equal(out, want);
    /* Refusals go to the error stream, naming where and what. */
    assert_string_equal(err, "in.csv:3: refused: issue_date: bad\n");
    free(out);
    free(err);
}

/* True when 's' is well-formed UTF-8. */
static bool utf8_ok(const unsigned char *s)
{
    while (*s) {
        int n = *s < 0x80 ? 0 : (*s & 0xE0) == 0xC0 ? 1 : (*s & 0xF0) == 0xE0 ? 2 : 3;
        if (*s >= 0x80 && (*s & 0xC0) == 0x80)
            return false;
        s++;
        for (int i = 0; i < n; i++, s++)
            if ((*s & 0xC0) != 0x80)
                return false;
    }
    return true;
}

static void text_rows_split_into_columns(void **state)
{
    (void)state;
    /* 40 two-byte characters: cut inside the HOLDER column, never inside a character. */
    char holder[128] = "";
    for (int i = 0; i < 40; i++)
        strcat(holder, "\xc3\xa9");
    char *out = run_report(CV_OUTPUT_TEXT, holder, NULL);
    assert_true(utf8_ok((const unsigned char *)out));
    assert_non_null(strstr(out, "summary: 0 valid, 1 warning, 0 unverified, 0 invalid, 1 errors"));
    char *row = strstr(out, "\nQ-1");
    assert_non_null(row);
    row++;
    *strchr(row, '\n') = '\0';
    /* Columns are separated by two or more spaces; no value holds two spaces. */
    int columns = 0;
    for (char *p = row; *p;) {
        columns++;
        char *gap = strstr(p, "  ");
        if (!gap)
            break;
        p = gap;
        while (*p == ' ')
            p++;
    }
    assert_int_equal(columns, 7);
    assert_non_null(strstr(row, "...  warning  "));
    assert_non_null(strstr(row, "  2027-01-01  "));
    assert_non_null(strstr(row, "CERT_EXPIRING_SOON,SURVEILLANCE_DUE"));
    free(out);
}

static void json_is_the_spec_envelope(void **state)
{
    (void)state;
    char *out = run_report(CV_OUTPUT_JSON, "Acme Ltd", NULL);
    json_error_t jerr;
    json_t *doc = json_loads(out, 0, &jerr);
    if (!doc)
        fail_msg("not JSON: %s", jerr.text);
    assert_string_equal(json_string_value(json_object_get(doc, "as_of")), "2026-11-22");
    json_t *res = json_array_get(json_object_get(doc, "results"), 0);
    assert_string_equal(json_string_value(json_object_get(res, "verdict")), "warning");
    assert_int_equal(json_integer_value(json_object_get(res, "days_to_expiry")), 40);
    assert_true(json_is_null(json_object_get(res, "surveillance_due")));
    json_t *f0 = json_array_get(json_object_get(res, "findings"), 0);
    assert_string_equal(json_string_value(json_object_get(f0, "code")), "CERT_EXPIRING_SOON");
    assert_string_equal(json_string_value(json_object_get(f0, "message")),
                        "expires soon, \"really\"");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(f0, "detail"), "days_to_expiry")), 40);
    json_t *src = json_object_get(res, "source");
    assert_int_equal(json_integer_value(json_object_get(src, "line")), 7);
    json_t *sum = json_object_get(doc, "summary");
    assert_int_equal(json_integer_value(json_object_get(sum, "warning")), 1);
    assert_int_equal(json_integer_value(json_object_get(sum, "errors")), 1);
    json_t *e0 = json_array_get(json_object_get(doc, "errors"), 0);
    assert_string_equal(json_string_value(json_object_get(e0, "source")), "in.csv:3");
    assert_string_equal(json_string_value(json_object_get(e0, "field")), "issue_date");
    json_decref(doc);
    free(out);
}

static void certificate_json_round_trip(void **state)
{
    (void)state;
    const char *text =
        "{\"certificate_number\": \"QMS-1\", \"type\": \"management_system\", \"standard\": "
        "\"ISO 9001:2015\", \"holder\": {\"name\": \"Acme\", \"country\": \"CN\", "
        "\"identifiers\": {\"vat\": \"V1\"}}, \"supplier_id\": \"s1\", \"certification_body\": "
        "{\"name\": \"Example CB\", \"id\": \"ex\"}, \"accreditation_body\": \"UKAS\", "
        "\"scope\": \"Moulding\", \"sites\": [{\"name\": \"Plant 2\", \"country\": \"CN\"}], "
        "\"sectors\": [\"14\"], \"original_certification_date\": \"2019-03-01\", "
        "\"issue_date\": \"2025-03-01\", \"expiry_date\": \"2028-02-28\", \"audits\": "
        "[{\"type\": \"surveillance\", \"date\": \"2026-02-20\"}], \"declared_status\": "
        "\"active\"}";
    json_t *in = json_loads(text, 0, NULL);
    struct cv_certificate c;
    const char *field = NULL;
    char msg[256];
    cv_certificate_init(&c, 0);
    assert_int_equal(cv_json_to_certificate(in, &c, &field, msg, sizeof(msg)), CV_OK);
    json_t *out = cv_certificate_to_json(&c);
    if (!json_equal(in, out)) {
        char *got = json_dumps(out, JSON_SORT_KEYS);
        fail_msg("round trip differs: %s", got);
    }
    json_decref(out);
    json_decref(in);
    cv_certificate_cleanup(&c);
}

static void json_to_certificate_refuses(void **state)
{
    (void)state;
    json_t *arr = json_array();
    struct cv_certificate c;
    const char *field = "x";
    char msg[256];
    cv_certificate_init(&c, 0);
    assert_int_equal(cv_json_to_certificate(arr, &c, &field, msg, sizeof(msg)), CV_ERR_INVALID);
    assert_null(field);
    json_t *o = json_pack("{s:s}", "certificate_number", "Q");
    cv_certificate_reset(&c);
    assert_int_equal(cv_json_to_certificate(o, &c, &field, msg, sizeof(msg)), CV_ERR_INVALID);
    assert_string_equal(field, "standard");
    json_decref(o);
    json_decref(arr);
    cv_certificate_cleanup(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(csv_quotes_what_needs_quoting),
        cmocka_unit_test(text_rows_split_into_columns),
        cmocka_unit_test(json_is_the_spec_envelope),
        cmocka_unit_test(certificate_json_round_trip),
        cmocka_unit_test(json_to_certificate_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Tests of the XML adapter (src/formats/xml.c): certificate streams, listings, schemas, and the
 * hostile inputs of SPEC 12, from fixtures/ and from files generated here. */
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

#include "certvet/bodies.h"
#include "certvet/certificate.h"
#include "certvet/error.h"
#include "certvet/reader.h"
#include "certvet/xml.h"

#define FIXTURE(rel) CERTVET_SOURCE_DIR "/fixtures/" rel
#define CERT_XSD     CERTVET_SOURCE_DIR "/config/certificate.xsd"
#define LISTING_XSD  CERTVET_SOURCE_DIR "/config/listing.xsd"
#define MAX_SEEN     64

static struct cv_xml_schema *schema;

/* What a read delivered: certificates (as one line of text each) and errors. */
struct seen {
    struct {
        long index, line;
        char text[1024];
    } certs[MAX_SEEN];
    size_t n_certs;
    struct {
        long index, line;
        char field[64]; /* "" when NULL */
        bool warning;
        char message[CV_RECORD_ERROR_MAX];
    } errs[MAX_SEEN];
    size_t n_errs;
    size_t stop_after; /* 0: never ask to stop */
};

static size_t put(char *buf, size_t cap, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static size_t put(char *buf, size_t cap, size_t n, const char *fmt, ...)
{
    va_list ap;
    int k;

    if (n >= cap)
        return n;
    va_start(ap, fmt);
    k = vsnprintf(buf + n, cap - n, fmt, ap);
    va_end(ap);
    return k > 0 ? n + (size_t)k : n;
}

static const char *str(const char *s)
{
    return s ? s : "-";
}

static const char *date(cv_date d, char *buf)
{
    cv_date_format(d, buf);
    return d == CV_DATE_NONE ? "-" : buf;
}

/* Every field of 'c' on one line, so that a test compares a whole record at once. */
static void describe(const struct cv_certificate *c, char *buf, size_t cap)
{
    char d1[CV_DATE_STRLEN], d2[CV_DATE_STRLEN], d3[CV_DATE_STRLEN];
    size_t n = 0;

    n = put(buf, cap, n, "%s|%s|%s|holder=%s,%s,%s,%s,%s|supplier=%s|cb=%s,%s,%s|ab=%s|scope=%s",
            str(c->certificate_number), cv_cert_type_name(c->type), str(c->standard),
            str(c->holder_name), str(c->holder_country), str(c->holder_vat), str(c->holder_duns),
            str(c->holder_registration), str(c->supplier_id), str(c->cb_name), str(c->cb_id),
            str(c->cb_accreditation_number), str(c->accreditation_body), str(c->scope));
    n = put(buf, cap, n, "|dates=%s,%s,%s", date(c->original_certification_date, d1),
            date(c->issue_date, d2), date(c->expiry_date, d3));
    for (size_t i = 0; i < c->n_sites; i++)
        n = put(buf, cap, n, "|site=%s,%s,%s,%s", str(c->sites[i].name), str(c->sites[i].address),
                str(c->sites[i].country), str(c->sites[i].scope));
    for (size_t i = 0; i < c->n_sectors; i++)
        n = put(buf, cap, n, "|sector=%s", c->sectors[i]);
    for (size_t i = 0; i < c->n_audits; i++)
        n = put(buf, cap, n, "|audit=%s,%s", cv_audit_type_name(c->audits[i].type),
                date(c->audits[i].date, d1));
    put(buf, cap, n, "|status=%s", cv_declared_status_name(c->declared_status));
}

static int on_certificate(void *ctx, struct cv_certificate *c, const struct cv_record_loc *loc)
{
    struct seen *s = ctx;

    if (s->n_certs < MAX_SEEN) {
        s->certs[s->n_certs].index = loc->index;
        s->certs[s->n_certs].line = loc->line;
        describe(c, s->certs[s->n_certs].text, sizeof s->certs[s->n_certs].text);
    }
    s->n_certs++;
    return s->stop_after && s->n_certs >= s->stop_after ? CV_ERR_STOP : CV_OK;
}

static void on_error(void *ctx, const struct cv_record_error *e)
{
    struct seen *s = ctx;

    if (s->n_errs < MAX_SEEN) {
        s->errs[s->n_errs].index = e->index;
        s->errs[s->n_errs].line = e->line;
        snprintf(s->errs[s->n_errs].field, sizeof s->errs[s->n_errs].field, "%s",
                 e->field ? e->field : "");
        s->errs[s->n_errs].warning = e->is_warning;
        snprintf(s->errs[s->n_errs].message, sizeof s->errs[s->n_errs].message, "%s", e->message);
    }
    s->n_errs++;
}

/* libxml2 must print nothing itself: standard error is captured around each read. */
struct quiet {
    int saved;
    FILE *tmp;
};

static void quiet_begin(struct quiet *q)
{
    fflush(stderr);
    q->tmp = tmpfile();
    assert_non_null(q->tmp);
    q->saved = dup(2);
    assert_true(q->saved >= 0);
    assert_true(dup2(fileno(q->tmp), 2) >= 0);
}

/* Returns how many bytes were written to standard error meanwhile. */
static long quiet_end(struct quiet *q)
{
    long size;

    fflush(stderr);
    dup2(q->saved, 2);
    close(q->saved);
    fseek(q->tmp, 0, SEEK_END);
    size = ftell(q->tmp);
    fclose(q->tmp);
    return size;
}

static int read_file(const char *path, struct seen *s, const struct cv_xml_schema *with)
{
    struct cv_reader_sink sink = {on_certificate, on_error, s, with};
    struct quiet q;
    int rc;

    quiet_begin(&q);
    rc = cv_xml_read_certificates(path, path, &sink);
    assert_int_equal(quiet_end(&q), 0);
    return rc;
}

/* Writes 'len' bytes to a new temporary file whose name goes into 'path' (>= 32 bytes). */
static void write_temp(char *path, const char *data, size_t len)
{
    FILE *f;
    int fd;

    strcpy(path, "/tmp/certvet-test-xml-XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* A growable text buffer for generated documents. */
struct text {
    char *data;
    size_t len, cap;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_add(struct text *t, const char *fmt, ...)
{
    va_list ap;
    int k;

    for (;;) {
        va_start(ap, fmt);
        k = vsnprintf(t->data ? t->data + t->len : NULL, t->data ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        assert_true(k >= 0);
        if (t->data != NULL && t->len + (size_t)k < t->cap)
            break;
        t->cap = (t->cap + (size_t)k + 1) * 2;
        t->data = realloc(t->data, t->cap);
        assert_non_null(t->data);
    }
    t->len += (size_t)k;
}

/* Appends one valid record (10 lines); 'issue' is its issue date. */
static void text_add_record(struct text *t, long i, const char *issue)
{
    text_add(t,
             "  <certificate>\n"
             "    <certificate_number>GEN-%ld</certificate_number>\n"
             "    <standard>ISO 9001:2015</standard>\n"
             "    <holder><name>Holder %ld</name></holder>\n"
             "    <certification_body><name>CB</name></certification_body>\n"
             "    <scope>Scope</scope>\n"
             "    <issue_date>%s</issue_date>\n"
             "    <expiry_date>2028-02-28</expiry_date>\n"
             "    <audits><audit type=\"surveillance\" date=\"2026-02-20\"/></audits>\n"
             "  </certificate>\n",
             i, i, issue);
}

static int setup(void **state)
{
    char err[512];

    (void)state;
    return cv_xml_schema_new(CERT_XSD, LISTING_XSD, &schema, err, sizeof err);
}

static int teardown(void **state)
{
    (void)state;
    cv_xml_schema_free(schema);
    return 0;
}

/* ---- certificates ------------------------------------------------------------------------- */

static const char full_record[] =
    "QMS-88213|management_system|ISO 9001:2015"
    "|holder=Ningbo Harbour Plastics Co., Ltd.,CN,CN913302001234567X,654321987,913302001234567X"
    "|supplier=SUP-042|cb=Example Certification Ltd,example-cert,UKAS-0001|ab=UKAS"
    "|scope=Injection moulding of polypropylene & ABS housings"
    "|dates=2019-03-01,2025-03-01,2028-02-28"
    "|site=Plant 1,88 Harbour Road, Ningbo,CN,Moulding|site=Warehouse,-,-,-"
    "|sector=14|sector=28"
    "|audit=surveillance,2026-02-20|audit=recertification,2025-02-10"
    "|status=active";

/* fixtures/broken/xml-records.xml: what passes, and each refusal with its index, line, field. */
static const struct {
    long index, line;
    const char *number;
} records_passed[] = {
    {0, 5, "QMS-88213"},
    {6, 85, "GOOD-2"},
    {12, 128, "TR-2025-001"},
    {17, 171, "LAST-GOOD"},
};

static const struct {
    long index, line;
    const char *field; /* "" for none */
    const char *message;
} records_refused[] = {
    {1, 45, "standard", "standard: required field is missing"},
    {2, 52, "issue_date", "issue_date: '2025-02-30' is not a date"},
    {3, 60, "expiry_date", "expiry_date: 2024-03-01 is not after issue_date 2025-03-01"},
    {4, 68, "colour", "colour: unexpected element <colour>"},
    {5, 77, "certificate_number", "certificate_number: longer than 60 characters"},
    {7, 93, "issue_date", "issue_date: '03/04/2025' is not a date"},
    {8, 101, "holder_name", "holder_name: required field is missing"},
    {9, 109, "audits.type", "audits.type: 'inspection' is not one of initial, surveillance"},
    {10, 118, "", "<record>: unexpected element"},
    {11, 121, "expiry_date", "expiry_date: required field is missing"},
    {13, 136, "audits.date", "audits.date: '2026-02-29' is not a date"},
    {14, 145, "certification_body.colour", "unexpected element <colour>"},
    {15, 153, "standard", "unexpected element <standard> (not in the format, or given twice)"},
    {16, 162, "declared_status", "declared_status: 'dormant' is not one of active"},
};

static void test_records_each_refused_others_pass(void **state)
{
    static struct seen s;
    size_t np = sizeof records_passed / sizeof records_passed[0];
    size_t nr = sizeof records_refused / sizeof records_refused[0];

    (void)state;
    memset(&s, 0, sizeof s);
    assert_int_equal(read_file(FIXTURE("broken/xml-records.xml"), &s, schema), CV_OK);
    assert_int_equal(s.n_certs, np);
    for (size_t i = 0; i < np; i++) {
        assert_int_equal(s.certs[i].index, records_passed[i].index);
        assert_int_equal(s.certs[i].line, records_passed[i].line);
        assert_non_null(strstr(s.certs[i].text, records_passed[i].number));
    }
    assert_int_equal(s.n_errs, nr);
    for (size_t i = 0; i < nr; i++) {
        assert_int_equal(s.errs[i].index, records_refused[i].index);
        assert_int_equal(s.errs[i].line, records_refused[i].line);
        assert_string_equal(s.errs[i].field, records_refused[i].field);
        assert_false(s.errs[i].warning);
        if (strstr(s.errs[i].message, records_refused[i].message) == NULL)
            fail_msg("record %ld: '%s' lacks '%s'", records_refused[i].index, s.errs[i].message,
                     records_refused[i].message);
    }
}

static void test_valid_record_maps_every_field(void **state)
{
    static struct seen s;

    (void)state;
    memset(&s, 0, sizeof s);
    assert_int_equal(read_file(FIXTURE("broken/xml-records.xml"), &s, schema), CV_OK);
    assert_true(s.n_certs > 0);
    assert_string_equal(s.certs[0].text, full_record);
    /* A test report may omit its expiry date and keeps its type. */
    assert_string_equal(s.certs[2].text, "TR-2025-001|test_report|ISO 8124-1:2022"
                                         "|holder=Toy Maker,-,-,-,-|supplier=-|cb=Lab,-,-|ab=-"
                                         "|scope=-|dates=-,2025-03-01,-|status=");
}

static void test_single_certificate_root(void **state)
{
    static const char doc[] = "<?xml version=\"1.0\"?>\n<!-- one record -->\n<certificate>\n"
                              "  <standard>ISO 14001:2015</standard>\n"
                              "  <certificate_number> EMS-7 </certificate_number>\n"
                              "  <issue_date>20250301</issue_date>\n"
                              "  <expiry_date>2028-02-28</expiry_date>\n"
                              "  <certification_body><name>CB</name></certification_body>\n"
                              "  <holder><name>H</name></holder>\n"
                              "</certificate>\n";
    static struct seen s;
    char path[64];

    (void)state;
    memset(&s, 0, sizeof s);
    write_temp(path, doc, sizeof doc - 1);
    assert_int_equal(read_file(path, &s, schema), CV_OK);
    unlink(path);
    assert_int_equal(s.n_errs, 0);
    assert_int_equal(s.n_certs, 1);
    assert_int_equal(s.certs[0].index, 0);
    assert_int_equal(s.certs[0].line, 3);
    assert_non_null(strstr(s.certs[0].text, "EMS-7|management_system|ISO 14001:2015|"));
    assert_non_null(strstr(s.certs[0].text, "|dates=-,2025-03-01,2028-02-28|"));
}

static void test_sample_portfolio_is_valid(void **state)
{
    static struct seen s;

    (void)state;
    memset(&s, 0, sizeof s);
    assert_int_equal(read_file(FIXTURE("sample/portfolio.xml"), &s, schema), CV_OK);
    for (size_t i = 0; i < s.n_errs && i < MAX_SEEN; i++)
        print_message("unexpected: record %ld: %s\n", s.errs[i].index, s.errs[i].message);
    assert_int_equal(s.n_errs, 0);
    assert_true(s.n_certs > 0);
}

/* Files that stop as a whole, with one file-level error (index -1). */
static const struct {
    const char *file;
    int rc;
    size_t certs; /* at most delivered before the stop (the reader reads ahead) */
    long line;    /* -1: not checked */
    const char *message;
} file_errors[] = {
    {"broken/xml-truncated.xml", CV_ERR_PARSE, 1, 23,
     "not well-formed XML: Opening and ending tag"},
    {"broken/xml-wrong-root.xml", CV_ERR_INVALID, 0, 3, "root element must be <certificates>"},
    {"broken/xml-namespaced.xml", CV_ERR_INVALID, 0, 3, "namespace"},
    {"broken/does-not-exist.xml", CV_ERR_IO, 0, 0, "cannot open"},
    {"hostile/xml-deep-nesting.xml", CV_ERR_TOO_LARGE, 0, -1, "exceeds the XML parser's limits"},
    {"hostile/xml-invalid-utf8.xml", CV_ERR_PARSE, 0, 5, "Input is not proper UTF-8"},
};

static void test_file_level_errors(void **state)
{
    static struct seen s;

    (void)state;
    for (size_t i = 0; i < sizeof file_errors / sizeof file_errors[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/fixtures/%s", CERTVET_SOURCE_DIR, file_errors[i].file);
        memset(&s, 0, sizeof s);
        assert_int_equal(read_file(path, &s, schema), file_errors[i].rc);
        assert_true(s.n_certs <= file_errors[i].certs);
        assert_int_equal(s.n_errs, 1);
        assert_int_equal(s.errs[0].index, -1);
        if (file_errors[i].line >= 0)
            assert_int_equal(s.errs[0].line, file_errors[i].line);
        if (strstr(s.errs[0].message, file_errors[i].message) == NULL)
            fail_msg("%s: '%s' lacks '%s'", file_errors[i].file, s.errs[0].message,
                     file_errors[i].message);
    }
}

static void test_empty_and_no_schema(void **state)
{
    static struct seen s;
    char path[64];

    (void)state;
    memset(&s, 0, sizeof s);
    write_temp(path, "", 0);
    assert_int_equal(read_file(path, &s, schema), CV_ERR_PARSE);
    unlink(path);
    assert_int_equal(s.n_errs, 1);
    assert_int_equal(s.errs[0].index, -1);

    memset(&s, 0, sizeof s);
    write_temp(path, "<certificates/>", 15);
    assert_int_equal(read_file(path, &s, schema), CV_OK);
    assert_int_equal(s.n_errs + s.n_certs, 0);

    memset(&s, 0, sizeof s);
    assert_int_equal(read_file(path, &s, NULL), CV_ERR_UNSUPPORTED);
    assert_int_equal(s.n_errs, 1);
    assert_non_null(strstr(s.errs[0].message, "certificate schema"));
    unlink(path);
}

static void test_text_between_records_is_a_warning(void **state)
{
    static const char doc[] = "<certificates>\n  stray text\n  <certificate>"
                              "<certificate_number>A</certificate_number><standard>S</standard>"
                              "<holder><name>H</name></holder><certification_body><name>C</name>"
                              "</certification_body><issue_date>2025-03-01</issue_date>"
                              "<expiry_date>2028-02-28</expiry_date></certificate>\n"
                              "</certificates>\n";
    static struct seen s;
    char path[64];

    (void)state;
    memset(&s, 0, sizeof s);
    write_temp(path, doc, sizeof doc - 1);
    assert_int_equal(read_file(path, &s, schema), CV_OK);
    unlink(path);
    assert_int_equal(s.n_certs, 1);
    assert_int_equal(s.n_errs, 1);
    assert_true(s.errs[0].warning);
    assert_int_equal(s.errs[0].index, -1);
}

static void test_sink_can_stop(void **state)
{
    static struct seen s;

    (void)state;
    memset(&s, 0, sizeof s);
    s.stop_after = 2;
    assert_int_equal(read_file(FIXTURE("broken/xml-records.xml"), &s, schema), CV_ERR_STOP);
    assert_int_equal(s.n_certs, 2);
    assert_int_equal(s.certs[1].index, 6);
}

/* Line numbers past 65535 (libxml2 keeps them only on text nodes) are still exact. */
static void test_lines_past_65535(void **state)
{
    static struct seen s;
    struct text t = {0};
    char path[64];
    long n = 7000; /* 10 lines each */

    (void)state;
    text_add(&t, "<certificates>\n");
    for (long i = 0; i < n; i++)
        text_add_record(&t, i, i == n - 1 ? "2025-02-30" : "2025-03-01");
    /* And one written on a single line, with no blank text before its first child. */
    text_add(&t, "<certificate><certificate_number>LAST</certificate_number><standard>S</standard>"
                 "<holder><name>H</name></holder><certification_body><name>C</name>"
                 "</certification_body><issue_date>2025-02-31</issue_date></certificate>\n");
    text_add(&t, "</certificates>\n");
    write_temp(path, t.data, t.len);
    free(t.data);
    memset(&s, 0, sizeof s);
    assert_int_equal(read_file(path, &s, schema), CV_OK);
    unlink(path);
    assert_int_equal(s.n_certs, (size_t)n - 1);
    assert_int_equal(s.n_errs, 2);
    assert_int_equal(s.errs[0].index, n - 1);
    assert_int_equal(s.errs[0].line, 2 + (n - 1) * 10);
    assert_string_equal(s.errs[0].field, "issue_date");
    assert_int_equal(s.errs[1].index, n);
    assert_int_equal(s.errs[1].line, 2 + n * 10);
}

/* A record past CV_RECORD_MAX_BYTES stops the file before it is buffered; one below passes. */
static void test_record_size_limit(void **state)
{
    static struct seen s;
    struct text t = {0};
    char path[64];
    size_t big;

    (void)state;
    text_add(&t, "<certificates>\n");
    text_add_record(&t, 0, "2025-03-01");
    for (int pass = 0; pass < 2; pass++) {
        big = pass == 0 ? CV_RECORD_MAX_BYTES / 2 : 2 * CV_RECORD_MAX_BYTES;
        text_add(&t, "<certificate><certificate_number>BIG-%d</certificate_number><scope>", pass);
        for (size_t i = 0; i < big / 64; i++)
            text_add(&t, "%s", "0123456789012345678901234567890123456789012345678901234567890123");
        text_add(&t, "</scope><standard>S</standard><holder><name>H</name></holder>"
                     "<certification_body><name>C</name></certification_body>"
                     "<issue_date>2025-03-01</issue_date><expiry_date>2028-02-28</expiry_date>"
                     "</certificate>\n");
    }
    text_add_record(&t, 3, "2025-03-01");
    text_add(&t, "</certificates>\n");
    write_temp(path, t.data, t.len);
    free(t.data);
    memset(&s, 0, sizeof s);
    assert_int_equal(read_file(path, &s, schema), CV_ERR_TOO_LARGE);
    unlink(path);
    assert_int_equal(s.n_certs, 2);
    assert_non_null(strstr(s.certs[1].text, "BIG-0"));
    assert_int_equal(s.n_errs, 1);
    assert_int_equal(s.errs[0].index, -1);
    assert_non_null(strstr(s.errs[0].message, "larger than the limit"));
}

/* ---- hostile input ------------------------------------------------------------------------ */

static const char doctype_refused[] = "DOCTYPE declarations are not accepted";

static const struct {
    const char *file;
    int rc;
    const char *message;
} hostile[] = {
    {"xml-xxe-file.xml", CV_ERR_HOSTILE, doctype_refused},
    {"xml-xxe-local.xml", CV_ERR_HOSTILE, doctype_refused},
    {"xml-billion-laughs.xml", CV_ERR_HOSTILE, doctype_refused},
    {"xml-billion-laughs-attr.xml", CV_ERR_HOSTILE, doctype_refused},
    {"xml-parameter-entities.xml", CV_ERR_HOSTILE, doctype_refused},
    {"xml-parameter-laughs.xml", CV_ERR_HOSTILE, doctype_refused},
    {"xml-external-dtd.xml", CV_ERR_HOSTILE, doctype_refused},
    {"xml-doctype-plain.xml", CV_ERR_HOSTILE, doctype_refused},
    {"xml-listing-xxe.xml", CV_ERR_HOSTILE, doctype_refused},
};

static void test_hostile_documents_refused(void **state)
{
    static struct seen s;

    (void)state;
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/fixtures/hostile/%s", CERTVET_SOURCE_DIR, hostile[i].file);
        memset(&s, 0, sizeof s);
        assert_int_equal(read_file(path, &s, schema), hostile[i].rc);
        assert_int_equal(s.n_certs, 0);
        assert_int_equal(s.n_errs, 1);
        assert_int_equal(s.errs[0].index, -1);
        if (strstr(s.errs[0].message, hostile[i].message) == NULL)
            fail_msg("%s: '%s'", hostile[i].file, s.errs[0].message);
        assert_null(strstr(s.errs[0].message, "XXE-SECRET"));
        assert_null(strstr(s.errs[0].message, "root:"));
    }
}

static void test_xinclude_not_processed(void **state)
{
    static struct seen s;

    (void)state;
    memset(&s, 0, sizeof s);
    assert_int_equal(read_file(FIXTURE("hostile/xml-xinclude.xml"), &s, schema), CV_OK);
    assert_int_equal(s.n_certs, 0);
    assert_int_equal(s.n_errs, 1);
    assert_int_equal(s.errs[0].index, 0);
    assert_string_equal(s.errs[0].field, "certificate_number");
    assert_null(strstr(s.errs[0].message, "root:"));
}

/* ---- listings ----------------------------------------------------------------------------- */

static const char listing_doc[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<listing>\n"
    " <certification_bodies>\n"
    "  <certification_body>\n"
    "   <name> Example Certification Ltd </name><id>example-cert</id><country>GB</country>\n"
    "   <aliases><alias>Example Cert</alias><alias>ECL</alias></aliases>\n"
    "   <accreditations>\n"
    "    <accreditation>\n"
    "     <accreditation_body>UKAS</accreditation_body><number>0000</number>\n"
    "     <standards><standard>ISO 9001</standard><standard>ISO/IEC 27001</standard></standards>\n"
    "     <status>suspended</status><status_date>2025-06-01</status_date>\n"
    "     <valid_from>2010-01-01</valid_from><valid_until>20301231</valid_until>\n"
    "    </accreditation>\n"
    "    <accreditation><accreditation_body>XAB</accreditation_body>\n"
    "     <standards><standard>ISO 14001</standard></standards></accreditation>\n"
    "   </accreditations>\n"
    "  </certification_body>\n"
    " </certification_bodies>\n"
    " <accreditation_bodies>\n"
    "  <accreditation_body>\n"
    "   <acronym>XAB</acronym><name>Example Accreditation Body</name><economy>XX</economy>\n"
    "   <aliases><alias>XAB Accreditation</alias></aliases>\n"
    "   <recognitions>\n"
    "    <recognition><arrangement>IAF MLA</arrangement><main_scope>ISO/IEC 17021-1</main_scope>\n"
    "     <subscopes><subscope>QMS</subscope><subscope>EMS</subscope></subscopes>\n"
    "     <status>active</status><since>2019-06-01</since></recognition>\n"
    "    <recognition><since>2020-01-01</since><main_scope>ISO/IEC 17025</main_scope>\n"
    "     <arrangement>ILAC MRA</arrangement><status>withdrawn</status></recognition>\n"
    "   </recognitions>\n"
    "  </accreditation_body>\n"
    " </accreditation_bodies>\n"
    "</listing>\n";

static int load_mem(struct cv_bodies *b, const char *doc, size_t len, char *err, size_t cap)
{
    struct quiet q;
    int rc;

    quiet_begin(&q);
    rc = cv_xml_load_listing_mem(b, doc, len, "listing.xml", schema, err, cap);
    assert_int_equal(quiet_end(&q), 0);
    return rc;
}

static void test_listing_maps_every_field(void **state)
{
    struct cv_bodies b;
    const struct cv_cb *cb;
    const struct cv_ab *ab;
    char err[512], d[CV_DATE_STRLEN];

    (void)state;
    cv_bodies_init(&b);
    assert_int_equal(load_mem(&b, listing_doc, sizeof listing_doc - 1, err, sizeof err), CV_OK);
    assert_int_equal(b.n_cbs, 1);
    assert_int_equal(b.n_abs, 1);

    cb = cv_bodies_find_cb(&b, "example-cert", NULL);
    assert_non_null(cb);
    assert_string_equal(cb->name, "Example Certification Ltd");
    assert_string_equal(cb->country, "GB");
    assert_int_equal(cb->n_aliases, 2);
    assert_string_equal(cb->aliases[1], "ECL");
    assert_int_equal(cb->n_accreditations, 2);
    assert_string_equal(cb->accreditations[0].accreditation_body, "UKAS");
    assert_string_equal(cb->accreditations[0].number, "0000");
    assert_int_equal(cb->accreditations[0].n_standards, 2);
    assert_string_equal(cb->accreditations[0].standards[1], "ISO/IEC 27001");
    assert_int_equal(cb->accreditations[0].status, CV_LS_SUSPENDED);
    cv_date_format(cb->accreditations[0].status_date, d);
    assert_string_equal(d, "2025-06-01");
    cv_date_format(cb->accreditations[0].valid_from, d);
    assert_string_equal(d, "2010-01-01");
    cv_date_format(cb->accreditations[0].valid_until, d);
    assert_string_equal(d, "2030-12-31");
    assert_int_equal(cb->accreditations[1].status, CV_LS_ACTIVE);
    assert_null(cb->accreditations[1].number);
    assert_int_equal(cb->accreditations[1].valid_from, CV_DATE_NONE);
    assert_non_null(cv_bodies_find_cb(&b, NULL, "Example Cert"));

    ab = cv_bodies_find_ab(&b, "XAB");
    assert_non_null(ab);
    assert_string_equal(ab->name, "Example Accreditation Body");
    assert_string_equal(ab->economy, "XX");
    assert_int_equal(ab->n_aliases, 1);
    assert_int_equal(ab->n_recognitions, 2);
    assert_int_equal(ab->recognitions[0].arrangement, CV_ARR_IAF_MLA);
    assert_int_equal(ab->recognitions[0].main_scope, CV_ROUTE_17021_1);
    assert_int_equal(ab->recognitions[0].subscopes, CV_SUB_QMS | CV_SUB_EMS);
    assert_int_equal(ab->recognitions[0].status, CV_LS_ACTIVE);
    cv_date_format(ab->recognitions[0].since, d);
    assert_string_equal(d, "2019-06-01");
    assert_int_equal(ab->recognitions[1].arrangement, CV_ARR_ILAC_MRA);
    assert_int_equal(ab->recognitions[1].main_scope, CV_ROUTE_17025);
    assert_int_equal(ab->recognitions[1].status, CV_LS_WITHDRAWN);

    /* Loading again replaces by id and acronym. */
    assert_int_equal(load_mem(&b, listing_doc, sizeof listing_doc - 1, err, sizeof err), CV_OK);
    assert_int_equal(b.n_cbs, 1);
    assert_int_equal(b.n_abs, 1);
    cv_bodies_cleanup(&b);
}

static void test_sample_listing_loads(void **state)
{
    struct cv_bodies b;
    char err[512];

    (void)state;
    cv_bodies_init(&b);
    assert_int_equal(
        cv_xml_load_listing(&b, FIXTURE("sample/listing.xml"), schema, err, sizeof err), CV_OK);
    assert_true(b.n_cbs > 0);
    assert_true(b.n_abs > 0);
    cv_bodies_cleanup(&b);
}

/* Broken listings: the error names the entry, and nothing at all is merged. */
static const struct {
    const char *file;
    int rc;
    const char *message;
} broken_listings[] = {
    {"broken/xml-listing-bad-date.xml", CV_ERR_INVALID,
     "xml-listing-bad-date.xml:28: certification_bodies[1].accreditations[0].valid_from: "
     "'2025-02-30' is not a valid date"},
    {"broken/xml-listing-missing-id.xml", CV_ERR_INVALID,
     "certification_bodies[1]: missing required element <id>"},
    {"broken/xml-listing-unknown-element.xml", CV_ERR_INVALID,
     "accreditation_bodies[0].recognitions[0].colour: unexpected element <colour>"},
    {"broken/xml-listing-bad-subscope.xml", CV_ERR_INVALID,
     "accreditation_bodies[0].recognitions[0].subscopes[1]: 'XMS' is not a sub-scope"},
    {"broken/xml-listing-bad-status.xml", CV_ERR_INVALID,
     "certification_bodies[0].accreditations[0].status: 'paused' is not a status"},
    {"broken/xml-listing-no-standards.xml", CV_ERR_INVALID,
     "certification_bodies[0].accreditations[0]: missing required element <standards>"},
    {"broken/xml-listing-wrong-root.xml", CV_ERR_INVALID, "root element must be <listing>"},
    {"broken/xml-listing-truncated.xml", CV_ERR_PARSE, "not well-formed XML"},
    {"hostile/xml-listing-xxe.xml", CV_ERR_HOSTILE, doctype_refused},
    {"hostile/xml-billion-laughs.xml", CV_ERR_HOSTILE, doctype_refused},
    {"hostile/xml-parameter-entities.xml", CV_ERR_HOSTILE, doctype_refused},
    {"hostile/xml-doctype-plain.xml", CV_ERR_HOSTILE, doctype_refused},
    {"broken/no-such-listing.xml", CV_ERR_IO, "cannot open"},
};

static void test_broken_listings_merge_nothing(void **state)
{
    struct cv_bodies b;
    char err[512];

    (void)state;
    cv_bodies_init(&b);
    assert_int_equal(load_mem(&b, listing_doc, sizeof listing_doc - 1, err, sizeof err), CV_OK);
    for (size_t i = 0; i < sizeof broken_listings / sizeof broken_listings[0]; i++) {
        char path[512];
        struct quiet q;
        snprintf(path, sizeof path, "%s/fixtures/%s", CERTVET_SOURCE_DIR, broken_listings[i].file);
        err[0] = '\0';
        quiet_begin(&q);
        assert_int_equal(cv_xml_load_listing(&b, path, schema, err, sizeof err),
                         broken_listings[i].rc);
        assert_int_equal(quiet_end(&q), 0);
        if (strstr(err, broken_listings[i].message) == NULL)
            fail_msg("%s: '%s' lacks '%s'", broken_listings[i].file, err,
                     broken_listings[i].message);
        assert_int_equal(b.n_cbs, 1);
        assert_int_equal(b.n_abs, 1);
        assert_null(cv_bodies_find_cb(&b, "good-cb", NULL));
        assert_string_equal(cv_bodies_find_ab(&b, "XAB")->name, "Example Accreditation Body");
    }
    cv_bodies_cleanup(&b);
}

static void test_listing_limits(void **state)
{
    struct cv_bodies b;
    size_t big = 64 * 1024 * 1024 + 1;
    char *buf, err[512];

    (void)state;
    cv_bodies_init(&b);
    buf = calloc(1, big);
    assert_non_null(buf);
    assert_int_equal(load_mem(&b, buf, big, err, sizeof err), CV_ERR_TOO_LARGE);
    free(buf);
    assert_int_equal(cv_xml_load_listing_mem(&b, listing_doc, sizeof listing_doc - 1, "x", NULL,
                                             err, sizeof err),
                     CV_ERR_UNSUPPORTED);
    assert_int_equal(b.n_cbs + b.n_abs, 0);
    cv_bodies_cleanup(&b);
}

/* ---- schemas ------------------------------------------------------------------------------ */

static const struct {
    const char *certificate_xsd;
    int rc;
    const char *message;
} bad_schemas[] = {
    {CERTVET_SOURCE_DIR "/config/no-such.xsd", CV_ERR_IO, "no-such.xsd: cannot open"},
    {FIXTURE("broken/xml-truncated.xml"), CV_ERR_PARSE, "xml-truncated.xml:23:"},
    {FIXTURE("broken/xml-wrong-root.xml"), CV_ERR_INVALID, "not a usable XML schema"},
    {FIXTURE("hostile/xml-xxe-file.xml"), CV_ERR_HOSTILE, doctype_refused},
};

static void test_schema_errors(void **state)
{
    struct cv_xml_schema *s = NULL;
    char err[512];

    (void)state;
    for (size_t i = 0; i < sizeof bad_schemas / sizeof bad_schemas[0]; i++) {
        struct quiet q;
        quiet_begin(&q);
        assert_int_equal(
            cv_xml_schema_new(bad_schemas[i].certificate_xsd, LISTING_XSD, &s, err, sizeof err),
            bad_schemas[i].rc);
        assert_int_equal(quiet_end(&q), 0);
        assert_null(s);
        if (strstr(err, bad_schemas[i].message) == NULL)
            fail_msg("%s: '%s'", bad_schemas[i].certificate_xsd, err);
    }
    cv_xml_schema_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_each_refused_others_pass),
        cmocka_unit_test(test_valid_record_maps_every_field),
        cmocka_unit_test(test_single_certificate_root),
        cmocka_unit_test(test_sample_portfolio_is_valid),
        cmocka_unit_test(test_file_level_errors),
        cmocka_unit_test(test_empty_and_no_schema),
        cmocka_unit_test(test_text_between_records_is_a_warning),
        cmocka_unit_test(test_sink_can_stop),
        cmocka_unit_test(test_lines_past_65535),
        cmocka_unit_test(test_record_size_limit),
        cmocka_unit_test(test_hostile_documents_refused),
        cmocka_unit_test(test_xinclude_not_processed),
        cmocka_unit_test(test_listing_maps_every_field),
        cmocka_unit_test(test_sample_listing_loads),
        cmocka_unit_test(test_broken_listings_merge_nothing),
        cmocka_unit_test(test_listing_limits),
        cmocka_unit_test(test_schema_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* Unit tests for src/core/certificate.c: setting the flat fields of SPEC 3.1 from text (trimming,
 * empty = absent, dates, enums), audits, sites and sectors, the checks every reader applies
 * (required fields, certificate_number length, expiry after issue), and reset for reuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "test_util.h"

#include "certvet/certificate.h"
#include "certvet/error.h"

/* ---- cv_certificate_set_text ---------------------------------------------------------------- */

enum kind {
    K_STR,      /* a const char * member at 'off' */
    K_DATE,     /* a cv_date member at 'off' */
    K_TYPE,     /* c->type */
    K_DECLARED, /* c->declared_status */
    K_NONE,     /* no field (rc is an error) */
};

struct set_case {
    const char *name, *value;
    int rc;
    enum kind kind;
    size_t off;
    const char *want; /* K_STR: the stored string (NULL: absent); K_DATE: YYYY-MM-DD ("": none) */
    int want_enum;    /* K_TYPE, K_DECLARED */
};

#define STR(member, want)  K_STR, offsetof(struct cv_certificate, member), want, 0
#define DATE(member, want) K_DATE, offsetof(struct cv_certificate, member), want, 0

static const struct set_case set_cases[] = {
    /* every flat field name, with blanks trimmed */
    {"certificate_number", "  QMS-88213 \t", CV_OK, STR(certificate_number, "QMS-88213")},
    {"standard", "GB/T 19001-2016/ISO 9001:2015", CV_OK,
     STR(standard, "GB/T 19001-2016/ISO 9001:2015")}, /* kept as printed */
    {"holder_name", " Ningbo Harbour Plastics Co., Ltd. ", CV_OK,
     STR(holder_name, "Ningbo Harbour Plastics Co., Ltd.")},
    {"holder_country", "CN", CV_OK, STR(holder_country, "CN")},
    {"holder_vat", "GB123456789", CV_OK, STR(holder_vat, "GB123456789")},
    {"holder_duns", "123456789", CV_OK, STR(holder_duns, "123456789")},
    {"holder_registration", "91330200MA2A0B1C2D", CV_OK,
     STR(holder_registration, "91330200MA2A0B1C2D")},
    {"supplier_id", "sup-001", CV_OK, STR(supplier_id, "sup-001")},
    {"certification_body", "Example Certification Ltd", CV_OK,
     STR(cb_name, "Example Certification Ltd")},
    {"certification_body_id", "example-cert", CV_OK, STR(cb_id, "example-cert")},
    {"accreditation_number", "0000", CV_OK, STR(cb_accreditation_number, "0000")},
    {"accreditation_body", "UKAS", CV_OK, STR(accreditation_body, "UKAS")},
    {"scope", "Injection moulding of plastic parts", CV_OK,
     STR(scope, "Injection moulding of plastic parts")},
    {"issue_date", "2025-03-01", CV_OK, DATE(issue_date, "2025-03-01")},
    {"issue_date", "20250301", CV_OK, DATE(issue_date, "2025-03-01")},
    {"issue_date", " 2025-03-01\t", CV_OK, DATE(issue_date, "2025-03-01")},
    {"expiry_date", "2028-02-28", CV_OK, DATE(expiry_date, "2028-02-28")},
    {"original_certification_date", "2016-02-29", CV_OK,
     DATE(original_certification_date, "2016-02-29")},
    {"type", "management_system", CV_OK, K_TYPE, 0, NULL, CV_CERT_MANAGEMENT_SYSTEM},
    {"type", "product", CV_OK, K_TYPE, 0, NULL, CV_CERT_PRODUCT},
    {"type", " test_report ", CV_OK, K_TYPE, 0, NULL, CV_CERT_TEST_REPORT},
    {"declared_status", "active", CV_OK, K_DECLARED, 0, NULL, CV_DECLARED_ACTIVE},
    {"declared_status", "suspended", CV_OK, K_DECLARED, 0, NULL, CV_DECLARED_SUSPENDED},
    {"declared_status", "withdrawn", CV_OK, K_DECLARED, 0, NULL, CV_DECLARED_WITHDRAWN},
    {"declared_status", "cancelled", CV_OK, K_DECLARED, 0, NULL, CV_DECLARED_CANCELLED},
    {"declared_status", "expired", CV_OK, K_DECLARED, 0, NULL, CV_DECLARED_EXPIRED},
    /* empty (after trimming) leaves the field absent */
    {"scope", "", CV_OK, STR(scope, NULL)},
    {"holder_name", "   ", CV_OK, STR(holder_name, NULL)},
    {"certificate_number", "\t", CV_OK, STR(certificate_number, NULL)},
    {"issue_date", "", CV_OK, DATE(issue_date, "")},
    {"expiry_date", "  ", CV_OK, DATE(expiry_date, "")},
    {"type", "", CV_OK, K_TYPE, 0, NULL, CV_CERT_MANAGEMENT_SYSTEM},
    {"declared_status", " ", CV_OK, K_DECLARED, 0, NULL, CV_DECLARED_NONE},
    /* wrong values */
    {"issue_date", "2025-02-30", CV_ERR_INVALID, DATE(issue_date, "")},
    {"issue_date", "2023-02-29", CV_ERR_INVALID, DATE(issue_date, "")},
    {"expiry_date", "03/04/2025", CV_ERR_INVALID, DATE(expiry_date, "")},
    {"expiry_date", "2025-1-5", CV_ERR_INVALID, DATE(expiry_date, "")},
    {"original_certification_date", "2025-13-01", CV_ERR_INVALID,
     DATE(original_certification_date, "")},
    {"type", "management system", CV_ERR_INVALID, K_TYPE, 0, NULL, CV_CERT_MANAGEMENT_SYSTEM},
    {"type", "system", CV_ERR_INVALID, K_TYPE, 0, NULL, CV_CERT_MANAGEMENT_SYSTEM},
    {"declared_status", "revoked", CV_ERR_INVALID, K_DECLARED, 0, NULL, CV_DECLARED_NONE},
    {"declared_status", "valid", CV_ERR_INVALID, K_DECLARED, 0, NULL, CV_DECLARED_NONE},
    /* unknown field names */
    {"holder", "x", CV_ERR_NOT_FOUND, K_NONE, 0, NULL, 0},
    {"expiry", "2028-02-28", CV_ERR_NOT_FOUND, K_NONE, 0, NULL, 0},
    {"cb_name", "x", CV_ERR_NOT_FOUND, K_NONE, 0, NULL, 0},
    {"certificate_number_x", "x", CV_ERR_NOT_FOUND, K_NONE, 0, NULL, 0},
    {"", "x", CV_ERR_NOT_FOUND, K_NONE, 0, NULL, 0},
};

/* Two optional strings are equal (both NULL, or the same text). */
static bool same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static const char *str_member(const struct cv_certificate *c, size_t off)
{
    const char *const *p = (const char *const *)(const void *)((const char *)c + off);
    return *p;
}

static cv_date date_member(const struct cv_certificate *c, size_t off)
{
    const cv_date *p = (const cv_date *)(const void *)((const char *)c + off);
    return *p;
}

static void test_set_text_table(void **state)
{
    (void)state;
    int fails = 0;
    for (size_t i = 0; i < N_ELEMS(set_cases); i++) {
        const struct set_case *t = &set_cases[i];
        struct cv_certificate c;
        char msg[256] = "";
        cv_certificate_init(&c, 0);
        int rc = cv_certificate_set_text(&c, t->name, t->value, strlen(t->value), msg, sizeof msg);
        EXPECT(fails, rc == t->rc, "set_text(%s, \"%s\") = %d, want %d (%s)\n", t->name, t->value,
               rc, t->rc, msg);
        if (rc == CV_ERR_INVALID)
            EXPECT(fails, msg[0] != '\0', "set_text(%s, \"%s\"): empty message\n", t->name,
                   t->value);
        switch (t->kind) {
        case K_STR: {
            const char *got = str_member(&c, t->off);
            EXPECT(fails, same(got, t->want), "set_text(%s, \"%s\") stored %s, want %s\n", t->name,
                   t->value, got ? got : "NULL", t->want ? t->want : "NULL");
            break;
        }
        case K_DATE: {
            char buf[CV_DATE_STRLEN];
            cv_date_format(date_member(&c, t->off), buf);
            EXPECT(fails, strcmp(buf, t->want) == 0,
                   "set_text(%s, \"%s\") stored \"%s\", want \"%s\"\n", t->name, t->value, buf,
                   t->want);
            break;
        }
        case K_TYPE:
            EXPECT(fails, (int)c.type == t->want_enum,
                   "set_text(type, \"%s\") stored %d, want %d\n", t->value, c.type, t->want_enum);
            break;
        case K_DECLARED:
            EXPECT(fails, (int)c.declared_status == t->want_enum,
                   "set_text(declared_status, \"%s\") stored %d, want %d\n", t->value,
                   c.declared_status, t->want_enum);
            break;
        case K_NONE:
            break;
        }
        cv_certificate_cleanup(&c);
    }
    assert_int_equal(fails, 0);
}

/* A fresh certificate has nothing in it. */
static void assert_empty(const struct cv_certificate *c)
{
    static const size_t strs[] = {
        offsetof(struct cv_certificate, certificate_number),
        offsetof(struct cv_certificate, standard),
        offsetof(struct cv_certificate, holder_name),
        offsetof(struct cv_certificate, holder_country),
        offsetof(struct cv_certificate, holder_vat),
        offsetof(struct cv_certificate, holder_duns),
        offsetof(struct cv_certificate, holder_registration),
        offsetof(struct cv_certificate, supplier_id),
        offsetof(struct cv_certificate, cb_name),
        offsetof(struct cv_certificate, cb_id),
        offsetof(struct cv_certificate, cb_accreditation_number),
        offsetof(struct cv_certificate, accreditation_body),
        offsetof(struct cv_certificate, scope),
    };
    for (size_t i = 0; i < N_ELEMS(strs); i++)
        assert_null(str_member(c, strs[i]));
    assert_int_equal(c->type, CV_CERT_MANAGEMENT_SYSTEM);
    assert_int_equal(c->declared_status, CV_DECLARED_NONE);
    assert_int_equal(c->issue_date, CV_DATE_NONE);
    assert_int_equal(c->expiry_date, CV_DATE_NONE);
    assert_int_equal(c->original_certification_date, CV_DATE_NONE);
    assert_int_equal(c->n_audits, 0);
    assert_int_equal(c->n_sites, 0);
    assert_int_equal(c->n_sectors, 0);
}

static void test_init_empty(void **state)
{
    (void)state;
    struct cv_certificate c;
    cv_certificate_init(&c, 0);
    assert_empty(&c);
    cv_certificate_cleanup(&c);
    cv_certificate_cleanup(NULL);
}

/* Only 'len' bytes of the value are read. */
static void test_set_text_len(void **state)
{
    (void)state;
    struct cv_certificate c;
    char msg[128];
    char buf[13];
    memcpy(buf, "ISO 9001:2015", 13); /* not NUL-terminated */
    cv_certificate_init(&c, 0);
    assert_int_equal(cv_certificate_set_text(&c, "standard", buf, sizeof buf, msg, sizeof msg),
                     CV_OK);
    assert_string_equal(c.standard, "ISO 9001:2015");
    assert_int_equal(
        cv_certificate_set_text(&c, "issue_date", "2025-03-01garbage", 10, msg, sizeof msg), CV_OK);
    assert_int_equal(c.issue_date, cv_date_from_ymd(2025, 3, 1));
    assert_int_equal(
        cv_certificate_set_text(&c, "holder_name", "Acme Ltd, more", 8, msg, sizeof msg), CV_OK);
    assert_string_equal(c.holder_name, "Acme Ltd");
    cv_certificate_cleanup(&c);
}

/* The arena's limit bounds what a record may hold. */
static void test_arena_limit(void **state)
{
    (void)state;
    struct cv_certificate c;
    char msg[128], big[400];
    memset(big, 'a', sizeof big);
    cv_certificate_init(&c, 64);
    assert_int_equal(cv_certificate_set_text(&c, "scope", big, sizeof big, msg, sizeof msg),
                     CV_ERR_TOO_LARGE);
    cv_certificate_cleanup(&c);
}

/* A swap moves the fields and their memory both ways; each side keeps its arena limit. */
static void test_swap(void **state)
{
    (void)state;
    struct cv_certificate a, b;
    char msg[128], big[400];
    memset(big, 'a', sizeof big);
    cv_certificate_init(&a, 64);
    cv_certificate_init(&b, 0);
    assert_int_equal(cv_certificate_set_text(&a, "standard", "ISO 9001:2015", 13, msg, sizeof msg),
                     CV_OK);
    const char *text = a.standard;
    cv_certificate_swap(&a, &b);
    assert_ptr_equal(b.standard, text); /* moved, not copied */
    assert_string_equal(b.standard, "ISO 9001:2015");
    assert_empty(&a);
    assert_int_equal(cv_certificate_set_text(&a, "scope", big, sizeof big, msg, sizeof msg),
                     CV_ERR_TOO_LARGE); /* a's limit stayed with a */
    assert_int_equal(cv_certificate_set_text(&b, "scope", big, sizeof big, msg, sizeof msg), CV_OK);
    cv_certificate_cleanup(&a);
    cv_certificate_cleanup(&b);
}

/* ---- audits, sites, sectors ----------------------------------------------------------------- */

static void add_audit_or_fail(struct cv_certificate *c, const char *type, const char *date)
{
    const char *field = NULL;
    char msg[256] = "";
    int rc = cv_certificate_add_audit(c, type, strlen(type), date, strlen(date), &field, msg,
                                      sizeof msg);
    if (rc)
        print_error("add_audit(%s, %s): %s\n", type, date, msg);
    assert_int_equal(rc, CV_OK);
}

struct audit_case {
    const char *type, *date;
    int rc;
    const char *field; /* on CV_ERR_INVALID */
    enum cv_audit_type want_type;
    const char *want_date;
};

static const struct audit_case audit_cases[] = {
    {"initial", "2025-02-10", CV_OK, NULL, CV_AUDIT_INITIAL, "2025-02-10"},
    {"surveillance", "2026-02-20", CV_OK, NULL, CV_AUDIT_SURVEILLANCE, "2026-02-20"},
    {"recertification", "20280115", CV_OK, NULL, CV_AUDIT_RECERTIFICATION, "2028-01-15"},
    {"special", "2026-07-01", CV_OK, NULL, CV_AUDIT_SPECIAL, "2026-07-01"},
    {"transfer", "2024-02-29", CV_OK, NULL, CV_AUDIT_TRANSFER, "2024-02-29"},
    {"annual", "2026-02-20", CV_ERR_INVALID, "audits.type", 0, NULL},
    {"Surveillance audit", "2026-02-20", CV_ERR_INVALID, "audits.type", 0, NULL},
    {"surveillance", "2026-02-30", CV_ERR_INVALID, "audits.date", 0, NULL},
    {"surveillance", "20/02/2026", CV_ERR_INVALID, "audits.date", 0, NULL},
};

static void test_add_audit_table(void **state)
{
    (void)state;
    struct cv_certificate c;
    size_t expect_n = 0;
    cv_certificate_init(&c, 0);
    for (size_t i = 0; i < N_ELEMS(audit_cases); i++) {
        const struct audit_case *t = &audit_cases[i];
        const char *field = NULL;
        char msg[256] = "";
        int rc = cv_certificate_add_audit(&c, t->type, strlen(t->type), t->date, strlen(t->date),
                                          &field, msg, sizeof msg);
        if (rc != t->rc)
            print_error("add_audit(%s, %s) = %d, want %d (%s)\n", t->type, t->date, rc, t->rc, msg);
        assert_int_equal(rc, t->rc);
        if (rc == CV_OK) {
            char buf[CV_DATE_STRLEN];
            expect_n++;
            assert_int_equal(c.n_audits, expect_n);
            assert_int_equal(c.audits[expect_n - 1].type, t->want_type);
            cv_date_format(c.audits[expect_n - 1].date, buf);
            assert_string_equal(buf, t->want_date);
        } else {
            assert_non_null(field);
            assert_string_equal(field, t->field);
            assert_true(msg[0] != '\0');
            assert_int_equal(c.n_audits, expect_n); /* a refused audit is not appended */
        }
    }
    /* the earlier audits survive the array growing */
    for (int i = 0; i < 100; i++)
        add_audit_or_fail(&c, "special", "2027-01-01");
    assert_int_equal(c.n_audits, expect_n + 100);
    assert_int_equal(c.audits[0].type, CV_AUDIT_INITIAL);
    assert_int_equal(c.audits[1].date, cv_date_from_ymd(2026, 2, 20));
    cv_certificate_cleanup(&c);
}

static void test_sites_and_sectors(void **state)
{
    (void)state;
    struct cv_certificate c;
    cv_certificate_init(&c, 0);
    assert_int_equal(cv_certificate_add_site(&c, "Plant 1", "1 Harbour Road", "CN", NULL), CV_OK);
    assert_int_equal(cv_certificate_add_site(&c, NULL, NULL, NULL, "Warehousing"), CV_OK);
    assert_int_equal(cv_certificate_add_sector(&c, "14", 2), CV_OK);
    assert_int_equal(cv_certificate_add_sector(&c, "17abc", 2), CV_OK);
    assert_int_equal(c.n_sites, 2);
    assert_string_equal(c.sites[0].name, "Plant 1");
    assert_string_equal(c.sites[0].address, "1 Harbour Road");
    assert_string_equal(c.sites[0].country, "CN");
    assert_null(c.sites[0].scope);
    assert_null(c.sites[1].name);
    assert_string_equal(c.sites[1].scope, "Warehousing");
    assert_int_equal(c.n_sectors, 2);
    assert_string_equal(c.sectors[0], "14");
    assert_string_equal(c.sectors[1], "17");
    cv_certificate_cleanup(&c);
}

/* ---- cv_certificate_check ------------------------------------------------------------------- */

struct check_case {
    const char *what;
    const char *type;  /* NULL: not set (management_system) */
    const char *omit;  /* a field name left unset, or NULL */
    int number_len;    /* 0: "QMS-88213" */
    const char *issue; /* NULL: 2025-03-01 */
    const char *expiry;
    int rc;
    const char *field; /* on CV_ERR_INVALID */
};

static const struct check_case check_cases[] = {
    {"complete", NULL, NULL, 0, NULL, NULL, CV_OK, NULL},
    {"no number", NULL, "certificate_number", 0, NULL, NULL, CV_ERR_INVALID, "certificate_number"},
    {"no standard", NULL, "standard", 0, NULL, NULL, CV_ERR_INVALID, "standard"},
    {"no holder", NULL, "holder_name", 0, NULL, NULL, CV_ERR_INVALID, "holder_name"},
    {"no CB name", NULL, "certification_body", 0, NULL, NULL, CV_ERR_INVALID, "certification_body"},
    {"no issue date", NULL, "issue_date", 0, NULL, NULL, CV_ERR_INVALID, "issue_date"},
    {"no expiry date", NULL, "expiry_date", 0, NULL, NULL, CV_ERR_INVALID, "expiry_date"},
    {"product without expiry", "product", "expiry_date", 0, NULL, NULL, CV_ERR_INVALID,
     "expiry_date"},
    {"test report without expiry", "test_report", "expiry_date", 0, NULL, NULL, CV_OK, NULL},
    {"test report without issue", "test_report", "issue_date", 0, NULL, NULL, CV_ERR_INVALID,
     "issue_date"},
    {"optional fields absent", NULL, "scope", 0, NULL, NULL, CV_OK, NULL},
    {"60-character number", NULL, NULL, 60, NULL, NULL, CV_OK, NULL},
    {"61-character number", NULL, NULL, 61, NULL, NULL, CV_ERR_INVALID, "certificate_number"},
    {"expiry the day after issue", NULL, NULL, 0, "2025-03-01", "2025-03-02", CV_OK, NULL},
    {"expiry == issue", NULL, NULL, 0, "2025-03-01", "2025-03-01", CV_ERR_INVALID, "expiry_date"},
    {"expiry < issue", NULL, NULL, 0, "2025-03-01", "2025-02-28", CV_ERR_INVALID, "expiry_date"},
    {"expiry years before issue", NULL, NULL, 0, "2025-03-01", "2020-01-01", CV_ERR_INVALID,
     "expiry_date"},
    {"test report expiry < issue", "test_report", NULL, 0, "2025-03-01", "2025-01-01",
     CV_ERR_INVALID, "expiry_date"},
};

static void set_or_fail(struct cv_certificate *c, const char *name, const char *value)
{
    char msg[256] = "";
    int rc = cv_certificate_set_text(c, name, value, strlen(value), msg, sizeof msg);
    if (rc)
        print_error("set_text(%s, \"%s\"): %s\n", name, value, msg);
    assert_int_equal(rc, CV_OK);
}

static void fill(struct cv_certificate *c, const struct check_case *t)
{
    static const char *const fields[][2] = {
        {"certificate_number", "QMS-88213"},
        {"standard", "ISO 9001:2015"},
        {"holder_name", "Ningbo Harbour Plastics Co., Ltd."},
        {"certification_body", "Example Certification Ltd"},
        {"accreditation_body", "UKAS"},
        {"scope", "Plastic parts"},
        {"issue_date", "2025-03-01"},
        {"expiry_date", "2028-02-28"},
    };
    if (t->type)
        set_or_fail(c, "type", t->type);
    for (size_t i = 0; i < N_ELEMS(fields); i++) {
        const char *name = fields[i][0], *value = fields[i][1];
        if (t->omit && strcmp(t->omit, name) == 0)
            continue;
        if (strcmp(name, "issue_date") == 0 && t->issue)
            value = t->issue;
        if (strcmp(name, "expiry_date") == 0 && t->expiry)
            value = t->expiry;
        set_or_fail(c, name, value);
    }
    if (t->number_len) {
        char number[80];
        memset(number, 'N', sizeof number);
        number[t->number_len] = '\0';
        set_or_fail(c, "certificate_number", number);
    }
}

static void test_check_table(void **state)
{
    (void)state;
    int fails = 0;
    for (size_t i = 0; i < N_ELEMS(check_cases); i++) {
        const struct check_case *t = &check_cases[i];
        struct cv_certificate c;
        const char *field = NULL;
        char msg[256] = "";
        cv_certificate_init(&c, 0);
        fill(&c, t);
        int rc = cv_certificate_check(&c, &field, msg, sizeof msg);
        EXPECT(fails, rc == t->rc && (!t->field || same(field, t->field)),
               "check [%s] = %d field %s (%s), want %d field %s\n", t->what, rc,
               rc && field ? field : "NULL", msg, t->rc, t->field ? t->field : "NULL");
        if (rc && t->rc)
            EXPECT(fails, msg[0] != '\0', "check [%s]: empty message\n", t->what);
        cv_certificate_cleanup(&c);
    }
    assert_int_equal(fails, 0);
}

/* ---- reset and reuse ------------------------------------------------------------------------ */

static void test_reset_reuse(void **state)
{
    (void)state;
    static const struct check_case complete = {"complete", NULL, NULL, 0, NULL, NULL, CV_OK, NULL};
    struct cv_certificate c;
    cv_certificate_init(&c, 0);
    for (int round = 0; round < 50; round++) {
        const char *field = NULL;
        char msg[256] = "";
        fill(&c, &complete);
        set_or_fail(&c, "type", "product");
        set_or_fail(&c, "declared_status", "suspended");
        set_or_fail(&c, "original_certification_date", "2016-02-29");
        set_or_fail(&c, "supplier_id", "sup-001");
        add_audit_or_fail(&c, "surveillance", "2026-02-20");
        assert_int_equal(cv_certificate_add_site(&c, "Plant 1", NULL, "CN", NULL), CV_OK);
        assert_int_equal(cv_certificate_add_sector(&c, "14", 2), CV_OK);
        assert_int_equal(cv_certificate_check(&c, &field, msg, sizeof msg), CV_OK);
        assert_string_equal(c.holder_name, "Ningbo Harbour Plastics Co., Ltd.");
        assert_int_equal(c.n_audits, 1);
        cv_certificate_reset(&c);
        assert_empty(&c);
        assert_int_equal(cv_certificate_check(&c, &field, msg, sizeof msg), CV_ERR_INVALID);
    }
    cv_certificate_cleanup(&c);
}

/* ---- enum names ----------------------------------------------------------------------------- */

static void test_enum_names(void **state)
{
    (void)state;
    static const char *const types[] = {"management_system", "product", "test_report"};
    for (int i = 0; i < 3; i++) {
        enum cv_cert_type out = CV_CERT_MANAGEMENT_SYSTEM;
        assert_string_equal(cv_cert_type_name((enum cv_cert_type)i), types[i]);
        assert_int_equal(cv_cert_type_parse(types[i], &out), CV_OK);
        assert_int_equal(out, i);
    }
    static const char *const statuses[] = {"active", "suspended", "withdrawn", "cancelled",
                                           "expired"};
    for (int i = 0; i < 5; i++) {
        enum cv_declared_status out = CV_DECLARED_NONE;
        assert_string_equal(cv_declared_status_name((enum cv_declared_status)(i + 1)), statuses[i]);
        assert_int_equal(cv_declared_status_parse(statuses[i], &out), CV_OK);
        assert_int_equal(out, i + 1);
    }
    static const char *const audits[] = {"initial", "surveillance", "recertification", "special",
                                         "transfer"};
    for (int i = 0; i < 5; i++) {
        enum cv_audit_type out = CV_AUDIT_INITIAL;
        assert_string_equal(cv_audit_type_name((enum cv_audit_type)i), audits[i]);
        assert_int_equal(cv_audit_type_parse(audits[i], &out), CV_OK);
        assert_int_equal(out, i);
    }
    enum cv_cert_type t;
    enum cv_declared_status s;
    enum cv_audit_type a;
    assert_int_equal(cv_cert_type_parse("management-system", &t), CV_ERR_INVALID);
    assert_int_equal(cv_cert_type_parse("", &t), CV_ERR_INVALID);
    assert_int_equal(cv_declared_status_parse("revoked", &s), CV_ERR_INVALID);
    assert_int_equal(cv_audit_type_parse("annual", &a), CV_ERR_INVALID);
}

/* The stable id (SPEC 3.1): the same certificate spelled differently is one id. */
static void stable_id(void **state)
{
    (void)state;
    static const struct {
        const char *cb, *number, *family;
        int group; /* rows of the same group share an id; different groups differ */
    } rows[] = {
        {"Example Certification Ltd", "QMS-88213", "ISO 9001", 1},
        {"EXAMPLE CERTIFICATION LIMITED", "qms 88213", "ISO 9001", 1},
        {"Example  Certification", "QMS/88213", "iso 9001", 1},
        {"Example Certification Ltd", "QMS-88213", "ISO 14001", 2},
        {"Other Certification Ltd", "QMS-88213", "ISO 9001", 3},
        {"Example Certification Ltd", "QMS-88214", "ISO 9001", 4},
    };
    char ids[N_ELEMS(rows)][CV_CERT_ID_LEN];
    for (size_t i = 0; i < N_ELEMS(rows); i++) {
        struct cv_certificate c;
        char msg[128];
        cv_certificate_init(&c, 0);
        cv_certificate_set_text(&c, "certification_body", rows[i].cb, strlen(rows[i].cb), msg,
                                sizeof(msg));
        cv_certificate_set_text(&c, "certificate_number", rows[i].number, strlen(rows[i].number),
                                msg, sizeof(msg));
        cv_certificate_id(&c, rows[i].family, ids[i]);
        assert_int_equal(strlen(ids[i]), CV_CERT_ID_LEN - 1);
        assert_memory_equal(ids[i], "c_", 2);
        cv_certificate_cleanup(&c);
    }
    for (size_t i = 0; i < N_ELEMS(rows); i++)
        for (size_t j = 0; j < i; j++)
            if ((strcmp(ids[i], ids[j]) == 0) != (rows[i].group == rows[j].group))
                fail_msg("rows %zu and %zu: %s vs %s", j, i, ids[j], ids[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stable_id),
        cmocka_unit_test(test_set_text_table),
        cmocka_unit_test(test_init_empty),
        cmocka_unit_test(test_set_text_len),
        cmocka_unit_test(test_arena_limit),
        cmocka_unit_test(test_swap),
        cmocka_unit_test(test_add_audit_table),
        cmocka_unit_test(test_sites_and_sectors),
        cmocka_unit_test(test_check_table),
        cmocka_unit_test(test_reset_reuse),
        cmocka_unit_test(test_enum_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

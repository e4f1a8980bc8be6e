/* Unit tests for src/core/verify.c: the rules of SPEC 4 as docs/RULES.md reads them, one table
 * row per case, each at a boundary. Reference data is built by hand below; every expected value
 * (verdict, findings in order with their severities, effective expiry, days to expiry,
 * surveillance due date, the six check results) was worked out by hand from SPEC 4 / RULES.md.
 *
 * Where RULES.md does not say how a check's result follows from its findings (validity, edition,
 * holder), the rows read it the way RULES.md states it for accreditation: "fail" on a critical
 * finding of that check, "inconclusive" on an inconclusive one, else "pass"; HOLDER_MISMATCH
 * fails the holder check (its only rule). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "test_util.h"

#include "certvet/bodies.h"
#include "certvet/certificate.h"
#include "certvet/error.h"
#include "certvet/findings.h"
#include "certvet/standards.h"
#include "certvet/verify.h"

/* Our own names for codes and severities, from the table in findings.h (not from findings.c). */
static const char *const code_names[CV_F_COUNT] = {
#define X_NAME(code, sev, check) #code,
    CV_FINDING_TABLE(X_NAME)
#undef X_NAME
};
static const char *const severity_names[] = {"info", "warning", "inconclusive", "critical"};
static const char *const verdict_names[] = {"valid", "warning", "unverified", "invalid"};

static cv_date day(const char *s)
{
    cv_date d = CV_DATE_NONE;
    if (s && *s)
        assert_int_equal(cv_date_parse(s, strlen(s), &d), CV_OK);
    return d;
}

/* ---- reference data ------------------------------------------------------------------------- */

struct std_row {
    const char *id, *family;
    enum cv_route route;
    unsigned subscope;
    bool withdrawn;
    const char *valid_until;
};

static const struct std_row std_rows[] = {
    {"ISO 9001:2015", "ISO 9001", CV_ROUTE_17021_1, CV_SUB_QMS, false, NULL},
    {"ISO 9001:2008", "ISO 9001", CV_ROUTE_17021_1, CV_SUB_QMS, true, "2018-09-15"},
    {"ISO 28000:2007", "ISO 28000", CV_ROUTE_17021_1, CV_SUB_NONE, true, NULL}, /* no end known */
    {"ISO 28000:2022", "ISO 28000", CV_ROUTE_17021_1, CV_SUB_NONE, false, NULL},
    {"ISO/IEC 27001:2022", "ISO/IEC 27001", CV_ROUTE_17021_1, CV_SUB_ISMS, false, NULL},
    {"ISO 8124-1:2018", "ISO 8124-1", CV_ROUTE_17025, CV_SUB_NONE, false, NULL},
    {"ISO 8124-1:2014", "ISO 8124-1", CV_ROUTE_17025, CV_SUB_NONE, true, "2020-06-30"},
    {"ISO 21469:2006", "ISO 21469", CV_ROUTE_17065, CV_SUB_NONE, false, NULL},
    {"ISO 22716:2007", "ISO 22716", CV_ROUTE_GUIDELINE, CV_SUB_NONE, false, NULL},
};

static const struct std_row *std_row_by_id(const char *id)
{
    for (size_t i = 0; i < N_ELEMS(std_rows); i++)
        if (strcmp(std_rows[i].id, id) == 0)
            return &std_rows[i];
    return NULL;
}

struct rec_row {
    enum cv_arrangement arr;
    enum cv_route scope;
    unsigned subscopes;
    enum cv_listing_status status;
};

struct ab_row {
    const char *acronym, *name, *alias;
    struct rec_row recs[3];
    size_t n;
};

static const struct ab_row ab_rows[] = {
    {"XAB",
     "Example Accreditation Body",
     "ExAccred",
     {{CV_ARR_IAF_MLA, CV_ROUTE_17021_1, CV_SUB_QMS, CV_LS_ACTIVE}},
     1},
    {"FAB",
     "Full Accreditation Body",
     "FullAccred",
     {{CV_ARR_IAF_MLA, CV_ROUTE_17021_1, CV_SUB_QMS | CV_SUB_EMS | CV_SUB_ISMS | CV_SUB_OHSMS,
       CV_LS_ACTIVE},
      {CV_ARR_IAF_MLA, CV_ROUTE_17065, CV_SUB_NONE, CV_LS_ACTIVE},
      {CV_ARR_ILAC_MRA, CV_ROUTE_17025, CV_SUB_NONE, CV_LS_ACTIVE}},
     3},
    {"LABA",
     "Laboratory Accreditation Authority",
     NULL,
     {{CV_ARR_ILAC_MRA, CV_ROUTE_17025, CV_SUB_NONE, CV_LS_ACTIVE}},
     1},
    {"GAB",
     "Global Accreditation Board",
     NULL,
     {{CV_ARR_GLOBAL_ACI, CV_ROUTE_17025, CV_SUB_NONE, CV_LS_ACTIVE},
      {CV_ARR_GLOBAL_ACI, CV_ROUTE_17021_1, CV_SUB_QMS, CV_LS_ACTIVE}},
     2},
    {"SUSAB",
     "Suspended Accreditation Body",
     NULL,
     {{CV_ARR_IAF_MLA, CV_ROUTE_17021_1, CV_SUB_QMS, CV_LS_SUSPENDED}},
     1},
    /* sub-scopes spread over two arrangements */
    {"MIXAB",
     "Mixed Accreditation Body",
     NULL,
     {{CV_ARR_IAF_MLA, CV_ROUTE_17021_1, CV_SUB_QMS, CV_LS_ACTIVE},
      {CV_ARR_GLOBAL_ACI, CV_ROUTE_17021_1, CV_SUB_ISMS, CV_LS_ACTIVE}},
     2},
    /* ISMS only in a suspended recognition */
    {"HALFAB",
     "Half Suspended Body",
     NULL,
     {{CV_ARR_IAF_MLA, CV_ROUTE_17021_1, CV_SUB_QMS, CV_LS_ACTIVE},
      {CV_ARR_IAF_MLA, CV_ROUTE_17021_1, CV_SUB_ISMS, CV_LS_SUSPENDED}},
     2},
};

struct acc_row {
    const char *ab;
    const char *standards[7];
    enum cv_listing_status status;
    const char *status_date, *valid_from, *valid_until;
};

struct cb_row {
    const char *id, *name, *alias;
    struct acc_row accs[2];
    size_t n;
};

static const struct cb_row cb_rows[] = {
    /* The first accreditation covers none of the standards used below, so picking it would
     * show up as a wrong AB. */
    {"cb-good",
     "Good Certification Ltd",
     "GoodCert",
     {{"XAB", {"ISO 14001"}, CV_LS_ACTIVE, NULL, "2010-01-01", NULL},
      {"FAB",
       {"ISO 9001", "ISO/IEC 27001", "ISO 28000", "ISO 21469", "ISO 22716", "ISO 8124"},
       CV_LS_ACTIVE,
       NULL,
       "2010-01-01",
       NULL}},
     2},
    {"cb-qms",
     "QMS Only Certification",
     NULL,
     {{"XAB", {"ISO 9001", "ISO 27001"}, CV_LS_ACTIVE, NULL, NULL, NULL}},
     1},
    {"cb-susp",
     "Suspended Cert GmbH",
     NULL,
     {{"FAB", {"ISO 9001"}, CV_LS_SUSPENDED, "2024-06-01", "2010-01-01", NULL}},
     1},
    {"cb-wd",
     "Withdrawn Cert SA",
     NULL,
     {{"FAB", {"ISO 9001"}, CV_LS_WITHDRAWN, "2025-06-30", "2010-01-01", NULL}},
     1},
    {"cb-late",
     "Late Accreditation Inc",
     NULL,
     {{"FAB", {"ISO 9001"}, CV_LS_ACTIVE, NULL, "2025-03-02", NULL}},
     1},
    {"cb-lapsed",
     "Lapsed Accreditation Corp",
     NULL,
     {{"FAB", {"ISO 9001"}, CV_LS_ACTIVE, NULL, "2010-01-01", "2025-04-30"}},
     1},
    {"cb-narrow",
     "Narrow Scope Certification",
     NULL,
     {{"FAB", {"ISO 14001"}, CV_LS_ACTIVE, NULL, NULL, NULL}},
     1},
    {"cb-lab", "Toy Test Lab", NULL, {{"LABA", {"ISO 8124"}, CV_LS_ACTIVE, NULL, NULL, NULL}}, 1},
    {"cb-glab", "Global Toy Lab", NULL, {{"GAB", {"ISO 8124"}, CV_LS_ACTIVE, NULL, NULL, NULL}}, 1},
    {"cb-badlab",
     "Unrecognized Toy Lab",
     NULL,
     {{"XAB", {"ISO 8124"}, CV_LS_ACTIVE, NULL, NULL, NULL}},
     1},
    {"cb-noab",
     "Unlisted AB Certification",
     NULL,
     {{"NOAB", {"ISO 9001"}, CV_LS_ACTIVE, NULL, NULL, NULL}},
     1},
    {"cb-susab",
     "Suspended AB Certification",
     NULL,
     {{"SUSAB", {"ISO 9001"}, CV_LS_ACTIVE, NULL, NULL, NULL}},
     1},
    /* several covering accreditations: RULES.md picks an active one valid at issue, then any
     * active one, then the most recently dated one */
    {"cb-multi-a",
     "Multi Active Certification",
     NULL,
     {{"FAB", {"ISO 9001"}, CV_LS_WITHDRAWN, "2020-01-01", "2010-01-01", NULL},
      {"FAB", {"ISO 9001"}, CV_LS_ACTIVE, NULL, "2010-01-01", NULL}},
     2},
    {"cb-multi-i",
     "Multi Issue Certification",
     NULL,
     {{"FAB", {"ISO 9001"}, CV_LS_ACTIVE, NULL, "2026-01-01", NULL},
      {"FAB", {"ISO 9001"}, CV_LS_ACTIVE, NULL, "2015-01-01", NULL}},
     2},
    {"cb-multi-d",
     "Multi Dated Certification",
     NULL,
     {{"FAB", {"ISO 9001"}, CV_LS_SUSPENDED, "2024-01-01", "2010-01-01", NULL},
      {"FAB", {"ISO 9001"}, CV_LS_WITHDRAWN, "2025-06-30", "2010-01-01", NULL}},
     2},
    {"cb-mix",
     "Mixed AB Certification",
     NULL,
     {{"MIXAB", {"ISO 27001"}, CV_LS_ACTIVE, NULL, NULL, NULL}},
     1},
    {"cb-half",
     "Half AB Certification",
     NULL,
     {{"HALFAB", {"ISO 27001"}, CV_LS_ACTIVE, NULL, NULL, NULL}},
     1},
    {"cb-wd-nodate",
     "Undated Withdrawal Certification",
     NULL,
     {{"FAB", {"ISO 9001"}, CV_LS_WITHDRAWN, NULL, NULL, NULL}},
     1},
    {"cb-susp-nodate",
     "Undated Suspension Certification",
     NULL,
     {{"FAB", {"ISO 9001"}, CV_LS_SUSPENDED, NULL, NULL, NULL}},
     1},
};

static char *xstrdup(const char *s)
{
    if (!s)
        return NULL;
    char *p = strdup(s);
    assert_non_null(p);
    return p;
}

static char **one_alias(const char *alias, size_t *n)
{
    *n = 0;
    if (!alias)
        return NULL;
    char **v = calloc(1, sizeof *v);
    assert_non_null(v);
    v[0] = xstrdup(alias);
    *n = 1;
    return v;
}

static struct cv_catalog catalog;
static struct cv_bodies bodies;
static struct cv_refdata refdata;

static int setup_refdata(void **state)
{
    (void)state;
    cv_catalog_init(&catalog);
    for (size_t i = 0; i < N_ELEMS(std_rows); i++) {
        const struct std_row *r = &std_rows[i];
        struct cv_standard s = {0};
        s.id = (char *)r->id;
        s.family = (char *)r->family;
        s.route = r->route;
        s.subscope = r->subscope;
        s.withdrawn = r->withdrawn;
        s.valid_until = day(r->valid_until);
        s.cycle_years = r->route == CV_ROUTE_17021_1 ? 3 : 0;
        assert_int_equal(cv_catalog_add(&catalog, &s, NULL), CV_OK);
    }
    cv_bodies_init(&bodies);
    for (size_t i = 0; i < N_ELEMS(ab_rows); i++) {
        const struct ab_row *r = &ab_rows[i];
        struct cv_ab ab;
        memset(&ab, 0, sizeof ab);
        ab.acronym = xstrdup(r->acronym);
        ab.name = xstrdup(r->name);
        ab.economy = xstrdup("XX");
        ab.aliases = one_alias(r->alias, &ab.n_aliases);
        ab.recognitions = calloc(r->n, sizeof *ab.recognitions);
        assert_non_null(ab.recognitions);
        for (size_t k = 0; k < r->n; k++)
            ab.recognitions[k] =
                (struct cv_recognition){r->recs[k].arr, r->recs[k].scope, r->recs[k].subscopes,
                                        r->recs[k].status, day("2015-01-01")};
        ab.n_recognitions = r->n;
        assert_int_equal(cv_bodies_put_ab(&bodies, &ab), CV_OK);
    }
    for (size_t i = 0; i < N_ELEMS(cb_rows); i++) {
        const struct cb_row *r = &cb_rows[i];
        struct cv_cb cb;
        memset(&cb, 0, sizeof cb);
        cb.id = xstrdup(r->id);
        cb.name = xstrdup(r->name);
        cb.country = xstrdup("GB");
        cb.aliases = one_alias(r->alias, &cb.n_aliases);
        cb.accreditations = calloc(r->n, sizeof *cb.accreditations);
        assert_non_null(cb.accreditations);
        for (size_t k = 0; k < r->n; k++) {
            const struct acc_row *a = &r->accs[k];
            struct cv_cb_accreditation *out = &cb.accreditations[k];
            size_t n = 0;
            while (n < N_ELEMS(a->standards) && a->standards[n])
                n++;
            out->accreditation_body = xstrdup(a->ab);
            out->number = xstrdup("0001");
            out->standards = calloc(n, sizeof *out->standards);
            assert_non_null(out->standards);
            for (size_t j = 0; j < n; j++)
                out->standards[j] = xstrdup(a->standards[j]);
            out->n_standards = n;
            out->status = a->status;
            out->status_date = day(a->status_date);
            out->valid_from = day(a->valid_from);
            out->valid_until = day(a->valid_until);
        }
        cb.n_accreditations = r->n;
        assert_int_equal(cv_bodies_put_cb(&bodies, &cb), CV_OK);
    }
    refdata.catalog = &catalog;
    refdata.bodies = &bodies;
    return 0;
}

static int teardown_refdata(void **state)
{
    (void)state;
    cv_catalog_cleanup(&catalog);
    cv_bodies_cleanup(&bodies);
    return 0;
}

/* ---- the table ------------------------------------------------------------------------------ */

/* Certificate fields are NULL for the default: type management_system, standard ISO 9001:2015,
 * CB "Good Certification Ltd", AB printed "FAB" ("" = none printed), issued 2025-03-01, expiring
 * 2028-02-28 ("" = none), no audits, holder "Ningbo Harbour Plastics Co., Ltd.". */
struct vcase {
    const char *name;
    const char *type, *standard, *cb, *cb_id, *ab, *issue, *expiry;
    const char *audits; /* "type date;type date" */
    const char *declared;
    const char *as_of;
    const char *opts; /* "within=N grace=N max_age=N", NULL: the defaults */
    const char *supplier, *alias;
    /* expected */
    const char *verdict;
    const char *findings; /* "CODE:severity ..." worst first, then in table order */
    const char *eff;      /* effective expiry, "" for none */
    const char *days;     /* days_to_expiry, "null" */
    const char *due;      /* surveillance_due, "" for none */
    const char *checks;   /* validity edition surveillance accreditation holder registry: P F I S */
    const char *edition;  /* expected 'standard' of the verification; NULL: the printed one */
    const char *family;   /* expected family when the edition is unknown but the family is not */
    const char *msg_has;  /* "CODE~text": that finding's message contains text */
    const char *msg_lacks;
};

/* Audits that move the anchor past expiry minus 12 months: no surveillance finding near E. */
#define LATE_AUDITS "surveillance 2026-02-20;surveillance 2027-03-01"
#define AUDITS_2008 "surveillance 2016-09-20;surveillance 2017-09-15"

static const struct vcase cases[] = {
    // clang-format off
    /* ---- validity ---- */
    {.name = "baseline: valid", .as_of = "2025-06-01", .verdict = "valid", .findings = "",
     .eff = "2028-02-28", .days = "1002", .due = "2026-03-01", .checks = "PPPPSS"},
    {.name = "D = issue - 1: not yet valid", .as_of = "2025-02-28", .verdict = "invalid",
     .findings = "CERT_NOT_YET_VALID:critical", .eff = "2028-02-28", .days = "1095",
     .due = "2026-03-01", .checks = "FPSPSS"},
    {.name = "D = issue: valid", .as_of = "2025-03-01", .verdict = "valid", .findings = "",
     .eff = "2028-02-28", .days = "1094", .due = "2026-03-01", .checks = "PPPPSS"},
    {.name = "E - D = 91: no warning", .audits = LATE_AUDITS, .as_of = "2027-11-29",
     .verdict = "valid", .findings = "", .eff = "2028-02-28", .days = "91", .due = "",
     .checks = "PPSPSS"},
    {.name = "E - D = 90: expiring soon", .audits = LATE_AUDITS, .as_of = "2027-11-30",
     .verdict = "warning", .findings = "CERT_EXPIRING_SOON:warning", .eff = "2028-02-28",
     .days = "90", .due = "", .checks = "PPSPSS"},
    {.name = "E - D = 1: expiring soon", .audits = LATE_AUDITS, .as_of = "2028-02-27",
     .verdict = "warning", .findings = "CERT_EXPIRING_SOON:warning", .eff = "2028-02-28",
     .days = "1", .due = "", .checks = "PPSPSS"},
    {.name = "D = E: expiring soon, not expired", .audits = LATE_AUDITS, .as_of = "2028-02-28",
     .verdict = "warning", .findings = "CERT_EXPIRING_SOON:warning", .eff = "2028-02-28",
     .days = "0", .due = "", .checks = "PPSPSS"},
    {.name = "D = E + 1: expired, restorable", .audits = LATE_AUDITS, .as_of = "2028-02-29",
     .verdict = "invalid", .findings = "CERT_EXPIRED:critical", .eff = "2028-02-28",
     .days = "-1", .due = "", .checks = "FPSPSS", .msg_has = "CERT_EXPIRED~restorable"},
    {.name = "D = X + 6 months: still restorable", .audits = LATE_AUDITS, .as_of = "2028-08-28",
     .verdict = "invalid", .findings = "CERT_EXPIRED:critical", .eff = "2028-02-28",
     .days = "-182", .due = "", .checks = "FPSPSS", .msg_has = "CERT_EXPIRED~restorable"},
    {.name = "D = X + 6 months + 1: no longer restorable", .audits = LATE_AUDITS,
     .as_of = "2028-08-29", .verdict = "invalid", .findings = "CERT_EXPIRED:critical",
     .eff = "2028-02-28", .days = "-183", .due = "", .checks = "FPSPSS",
     .msg_lacks = "CERT_EXPIRED~restorable"},
    {.name = "within=30, E - D = 30: warns", .audits = LATE_AUDITS, .as_of = "2028-01-29",
     .opts = "within=30", .verdict = "warning", .findings = "CERT_EXPIRING_SOON:warning",
     .eff = "2028-02-28", .days = "30", .due = "", .checks = "PPSPSS"},
    {.name = "within=30, E - D = 31: quiet", .audits = LATE_AUDITS, .as_of = "2028-01-28",
     .opts = "within=30", .verdict = "valid", .findings = "", .eff = "2028-02-28", .days = "31",
     .due = "", .checks = "PPSPSS"},
    {.name = "within=0, D = E: warns", .audits = LATE_AUDITS, .as_of = "2028-02-28",
     .opts = "within=0", .verdict = "warning", .findings = "CERT_EXPIRING_SOON:warning",
     .eff = "2028-02-28", .days = "0", .due = "", .checks = "PPSPSS"},
    {.name = "within=0, E - D = 1: quiet", .audits = LATE_AUDITS, .as_of = "2028-02-27",
     .opts = "within=0", .verdict = "valid", .findings = "", .eff = "2028-02-28", .days = "1",
     .due = "", .checks = "PPSPSS"},
    {.name = "cycle: X = I + 42 months", .expiry = "2028-09-01", .as_of = "2025-06-01",
     .verdict = "valid", .findings = "", .eff = "2028-09-01", .days = "1188",
     .due = "2026-03-01", .checks = "PPPPSS"},
    {.name = "cycle: X = I + 42 months + 1 day", .expiry = "2028-09-02", .as_of = "2025-06-01",
     .verdict = "warning", .findings = "CERT_CYCLE_TOO_LONG:warning", .eff = "2028-09-02",
     .days = "1189", .due = "2026-03-01", .checks = "PPPPSS"},
    {.name = "cycle: I = 08-31, X = I + 42 months clamped to 02-28", .issue = "2025-08-31",
     .expiry = "2029-02-28", .as_of = "2025-10-01", .verdict = "valid", .findings = "",
     .eff = "2029-02-28", .days = "1246", .due = "2026-08-31", .checks = "PPPPSS"},
    {.name = "cycle: I = 08-31, X = 03-01 after the clamped date", .issue = "2025-08-31",
     .expiry = "2029-03-01", .as_of = "2025-10-01", .verdict = "warning",
     .findings = "CERT_CYCLE_TOO_LONG:warning", .eff = "2029-03-01", .days = "1247",
     .due = "2026-08-31", .checks = "PPPPSS"},
    {.name = "cycle: product certificates have none", .type = "product",
     .standard = "ISO 21469:2006", .expiry = "2030-03-01", .as_of = "2025-06-01",
     .verdict = "valid", .findings = "", .eff = "2030-03-01", .days = "1734", .due = "",
     .checks = "PPSPSS"},
    {.name = "declared suspended", .declared = "suspended", .as_of = "2025-06-01",
     .verdict = "invalid", .findings = "CERT_STATUS_NOT_ACTIVE:critical", .eff = "2028-02-28",
     .days = "1002", .due = "2026-03-01", .checks = "FPPPSS"},
    {.name = "declared withdrawn", .declared = "withdrawn", .as_of = "2025-06-01",
     .verdict = "invalid", .findings = "CERT_STATUS_NOT_ACTIVE:critical", .eff = "2028-02-28",
     .days = "1002", .due = "2026-03-01", .checks = "FPPPSS"},
    {.name = "declared cancelled", .declared = "cancelled", .as_of = "2025-06-01",
     .verdict = "invalid", .findings = "CERT_STATUS_NOT_ACTIVE:critical", .eff = "2028-02-28",
     .days = "1002", .due = "2026-03-01", .checks = "FPPPSS"},
    {.name = "declared expired", .declared = "expired", .as_of = "2025-06-01",
     .verdict = "invalid", .findings = "CERT_STATUS_NOT_ACTIVE:critical", .eff = "2028-02-28",
     .days = "1002", .due = "2026-03-01", .checks = "FPPPSS"},
    {.name = "declared active", .declared = "active", .as_of = "2025-06-01", .verdict = "valid",
     .findings = "", .eff = "2028-02-28", .days = "1002", .due = "2026-03-01",
     .checks = "PPPPSS"},

    /* ---- edition ---- */
    {.name = "withdrawn edition before its end: in transition", .standard = "ISO 9001:2008",
     .issue = "2015-10-01", .expiry = "2018-09-30", .audits = AUDITS_2008, .as_of = "2018-06-01",
     .verdict = "warning", .findings = "STANDARD_IN_TRANSITION:warning", .eff = "2018-09-15",
     .days = "106", .due = "", .checks = "PPSPSS"},
    {.name = "withdrawn edition, D = valid_until: in transition, E = valid_until",
     .standard = "ISO9001:2008", .issue = "2015-10-01", .expiry = "2018-09-30",
     .audits = AUDITS_2008, .as_of = "2018-09-15", .verdict = "warning",
     .findings = "CERT_EXPIRING_SOON:warning STANDARD_IN_TRANSITION:warning", .eff = "2018-09-15",
     .days = "0", .due = "", .checks = "PPSPSS", .edition = "ISO 9001:2008"},
    {.name = "withdrawn edition, D = valid_until + 1: withdrawn and expired",
     .standard = "ISO 9001:2008", .issue = "2015-10-01", .expiry = "2018-09-30",
     .audits = AUDITS_2008, .as_of = "2018-09-16", .verdict = "invalid",
     .findings = "CERT_EXPIRED:critical STANDARD_WITHDRAWN:critical", .eff = "2018-09-15",
     .days = "-1", .due = "", .checks = "FFSPSS", .msg_lacks = "CERT_EXPIRED~restorable"},
    {.name = "withdrawn edition without an end date: in transition",
     .standard = "ISO 28000:2007", .issue = "2023-01-10", .expiry = "2026-01-09",
     .as_of = "2023-06-01", .verdict = "warning",
     .findings = "STANDARD_IN_TRANSITION:warning ACCREDITATION_OUTSIDE_MLA:info",
     .eff = "2026-01-09", .days = "953", .due = "2024-01-10", .checks = "PPPPSS"},
    {.name = "withdrawn edition without an end date, after expiry: never WITHDRAWN",
     .standard = "ISO 28000:2007", .issue = "2023-01-10", .expiry = "2026-01-09",
     .as_of = "2026-01-10", .verdict = "invalid",
     .findings = "CERT_EXPIRED:critical STANDARD_IN_TRANSITION:warning "
                 "ACCREDITATION_OUTSIDE_MLA:info",
     .eff = "2026-01-09", .days = "-1", .due = "2024-01-10", .checks = "FPSPSS",
     .msg_has = "CERT_EXPIRED~restorable"},
    {.name = "no MLA sub-scope: outside MLA", .standard = "ISO 28000:2022", .as_of = "2025-06-01",
     .verdict = "valid", .findings = "ACCREDITATION_OUTSIDE_MLA:info", .eff = "2028-02-28",
     .days = "1002", .due = "2026-03-01", .checks = "PPPPSS"},
    {.name = "unknown standard", .standard = "ISO 99999:2015", .as_of = "2025-06-01",
     .verdict = "unverified", .findings = "STANDARD_UNKNOWN:inconclusive", .eff = "2028-02-28",
     .days = "1002", .due = "2026-03-01", .checks = "PIPISS"},
    {.name = "family without year is unknown as an edition", .standard = "ISO 9001",
     .as_of = "2025-06-01", .verdict = "unverified", .findings = "STANDARD_UNKNOWN:inconclusive",
     .eff = "2028-02-28", .days = "1002", .due = "2026-03-01", .checks = "PIPISS",
     .family = "ISO 9001"},
    {.name = "unknown standard, unknown CB, unlisted AB printed", .standard = "ISO 99999:2015",
     .cb = "Nobody Certification Ltd", .ab = "NOAB", .as_of = "2025-06-01", .verdict = "invalid",
     .findings = "AB_NOT_RECOGNIZED:critical STANDARD_UNKNOWN:inconclusive CB_UNKNOWN:inconclusive",
     .eff = "2028-02-28", .days = "1002", .due = "2026-03-01", .checks = "PIPFSS"},
    {.name = "unknown standard, unknown CB, recognized AB printed", .standard = "ISO 99999:2015",
     .cb = "Nobody Certification Ltd", .as_of = "2025-06-01", .verdict = "unverified",
     .findings = "STANDARD_UNKNOWN:inconclusive CB_UNKNOWN:inconclusive", .eff = "2028-02-28",
     .days = "1002", .due = "2026-03-01", .checks = "PIPISS"},
    {.name = "unknown standard: no CB_NOT_ACCREDITED_FOR_STANDARD", .standard = "ISO 99999:2015",
     .cb = "Narrow Scope Certification", .as_of = "2025-06-01", .verdict = "unverified",
     .findings = "STANDARD_UNKNOWN:inconclusive", .eff = "2028-02-28", .days = "1002",
     .due = "2026-03-01", .checks = "PIPISS"},
    {.name = "unknown standard: no CB_ACCREDITATION_SUSPENDED", .standard = "ISO 99999:2015",
     .cb = "Suspended Cert GmbH", .as_of = "2025-06-01", .verdict = "unverified",
     .findings = "STANDARD_UNKNOWN:inconclusive", .eff = "2028-02-28", .days = "1002",
     .due = "2026-03-01", .checks = "PIPISS"},
    {.name = "unknown standard: no AB finding from the CB's listing",
     .standard = "ISO 99999:2015", .cb = "Unlisted AB Certification", .ab = "NOAB",
     .as_of = "2025-06-01", .verdict = "unverified", .findings = "STANDARD_UNKNOWN:inconclusive",
     .eff = "2028-02-28", .days = "1002", .due = "2026-03-01", .checks = "PIPISS"},
    {.name = "unknown standard: no AB_MISMATCH", .standard = "ISO 99999:2015", .ab = "XAB",
     .as_of = "2025-06-01", .verdict = "unverified", .findings = "STANDARD_UNKNOWN:inconclusive",
     .eff = "2028-02-28", .days = "1002", .due = "2026-03-01", .checks = "PIPISS"},
    {.name = "unknown standard: surveillance still runs", .standard = "ISO 99999:2015",
     .as_of = "2026-03-02", .verdict = "unverified",
     .findings = "STANDARD_UNKNOWN:inconclusive SURVEILLANCE_UNKNOWN:warning",
     .eff = "2028-02-28", .days = "728", .due = "2026-03-01", .checks = "PIIISS"},
    {.name = "unknown standard: validity still runs", .standard = "ISO 99999:2015",
     .as_of = "2028-02-29", .verdict = "invalid",
     .findings = "CERT_EXPIRED:critical STANDARD_UNKNOWN:inconclusive", .eff = "2028-02-28",
     .days = "-1", .due = "2026-03-01", .checks = "FISISS",
     .msg_has = "CERT_EXPIRED~restorable"},
    {.name = "national adoption + ISO edition resolves",
     .standard = "GB/T 19001-2016/ISO 9001:2015", .as_of = "2025-06-01", .verdict = "valid",
     .findings = "", .eff = "2028-02-28", .days = "1002", .due = "2026-03-01",
     .checks = "PPPPSS", .edition = "ISO 9001:2015"},
    {.name = "lower-case spelling resolves", .standard = "iso 9001:2015", .as_of = "2025-06-01",
     .verdict = "valid", .findings = "", .eff = "2028-02-28", .days = "1002",
     .due = "2026-03-01", .checks = "PPPPSS", .edition = "ISO 9001:2015"},

    /* ---- route ---- */
    {.name = "route: 17025 standard as a management-system certificate",
     .standard = "ISO 8124-1:2018", .as_of = "2025-06-01", .verdict = "warning",
     .findings = "STANDARD_ROUTE_MISMATCH:warning ACCREDITATION_OUTSIDE_MLA:info",
     .eff = "2028-02-28", .days = "1002", .due = "2026-03-01", .checks = "PPPPSS"},
    {.name = "route: management-system standard as a test report", .type = "test_report",
     .expiry = "", .as_of = "2025-06-01", .verdict = "warning",
     .findings = "STANDARD_ROUTE_MISMATCH:warning", .eff = "", .days = "null", .due = "",
     .checks = "PPSPSS"},
    {.name = "route: 17065 standard as a product certificate", .type = "product",
     .standard = "ISO 21469:2006", .as_of = "2025-06-01", .verdict = "valid", .findings = "",
     .eff = "2028-02-28", .days = "1002", .due = "", .checks = "PPSPSS"},
    {.name = "route: management-system standard as a product certificate", .type = "product",
     .as_of = "2025-06-01", .verdict = "warning", .findings = "STANDARD_ROUTE_MISMATCH:warning",
     .eff = "2028-02-28", .days = "1002", .due = "", .checks = "PPSPSS"},
    {.name = "route: guideline as a management-system certificate", .standard = "ISO 22716:2007",
     .as_of = "2025-06-01", .verdict = "valid", .findings = "ACCREDITATION_OUTSIDE_MLA:info",
     .eff = "2028-02-28", .days = "1002", .due = "2026-03-01", .checks = "PPPPSS"},
    {.name = "route: guideline as a test report", .type = "test_report",
     .standard = "ISO 22716:2007", .expiry = "", .as_of = "2025-06-01", .verdict = "warning",
     .findings = "STANDARD_ROUTE_MISMATCH:warning", .eff = "", .days = "null", .due = "",
     .checks = "PPSPSS"},
    {.name = "route: guideline as a product certificate", .type = "product",
     .standard = "ISO 22716:2007", .as_of = "2025-06-01", .verdict = "valid", .findings = "",
     .eff = "2028-02-28", .days = "1002", .due = "", .checks = "PPSPSS"},
    {.name = "route: 17025 standard as a product certificate", .type = "product",
     .standard = "ISO 8124-1:2018", .as_of = "2025-06-01", .verdict = "warning",
     .findings = "STANDARD_ROUTE_MISMATCH:warning", .eff = "2028-02-28", .days = "1002",
     .due = "", .checks = "PPSPSS"},

    /* ---- accreditation: CB unknown, the printed AB is checked ---- */
    {.name = "CB unknown, recognized AB", .cb = "Unknown Certification Body Ltd",
     .as_of = "2025-06-01", .verdict = "unverified", .findings = "CB_UNKNOWN:inconclusive",
     .eff = "2028-02-28", .days = "1002", .due = "2026-03-01", .checks = "PPPISS"},
    {.name = "CB unknown, AB in no list", .cb = "Unknown Certification Body Ltd", .ab = "NOAB",
     .as_of = "2025-06-01", .verdict = "invalid",
     .findings = "AB_NOT_RECOGNIZED:critical CB_UNKNOWN:inconclusive", .eff = "2028-02-28",
     .days = "1002", .due = "2026-03-01", .checks = "PPPFSS"},
    {.name = "CB unknown, no AB printed", .cb = "Unknown Certification Body Ltd", .ab = "",
     .as_of = "2025-06-01", .verdict = "unverified", .findings = "CB_UNKNOWN:inconclusive",
     .eff = "2028-02-28", .days = "1002", .due = "2026-03-01", .checks = "PPPISS"},
    {.name = "CB unknown, AB without the sub-scope", .cb = "Unknown Certification Body Ltd",
     .ab = "XAB", .standard = "ISO/IEC 27001:2022", .as_of = "2025-06-01",
     .verdict = "unverified",
     .findings = "CB_UNKNOWN:inconclusive AB_SUBSCOPE_NOT_RECOGNIZED:warning",
     .eff = "2028-02-28", .days = "1002", .due = "2026-03-01", .checks = "PPPISS"},
    {.name = "CB unknown, AB with a suspended recognition", .cb = "Unknown Certification Body Ltd",
     .ab = "SUSAB", .as_of = "2025-06-01", .verdict = "invalid",
     .findings = "AB_NOT_RECOGNIZED:critical CB_UNKNOWN:inconclusive", .eff = "2028-02-28",
     .days = "1002", .due = "2026-03-01", .checks = "PPPFSS"},
    {.name = "CB unknown, AB recognized through Global ACI MRA",
     .cb = "Unknown Certification Body Ltd", .ab = "GAB", .as_of = "2025-06-01",
     .verdict = "unverified", .findings = "CB_UNKNOWN:inconclusive", .eff = "2028-02-28",
     .days = "1002", .due = "2026-03-01", .checks = "PPPISS"},
    {.name = "CB unknown, AB printed by its name", .cb = "Unknown Certification Body Ltd",
     .ab = "Example Accreditation Body", .as_of = "2025-06-01", .verdict = "unverified",
     .findings = "CB_UNKNOWN:inconclusive", .eff = "2028-02-28", .days = "1002",
     .due = "2026-03-01", .checks = "PPPISS"},
    {.name = "CB unknown, AB printed by its alias, sub-scope missing",
     .cb = "Unknown Certification Body Ltd", .ab = "ExAccred", .standard = "ISO 27001:2022",
     .as_of = "2025-06-01", .verdict = "unverified",
     .findings = "CB_UNKNOWN:inconclusive AB_SUBSCOPE_NOT_RECOGNIZED:warning",
     .eff = "2028-02-28", .days = "1002", .due = "2026-03-01", .checks = "PPPISS",
     .edition = "ISO/IEC 27001:2022"},
    {.name = "CB unknown, standard outside the MLA", .cb = "Unknown Certification Body Ltd",
     .ab = "XAB", .standard = "ISO 28000:2022", .as_of = "2025-06-01", .verdict = "unverified",
     .findings = "CB_UNKNOWN:inconclusive ACCREDITATION_OUTSIDE_MLA:info", .eff = "2028-02-28",
     .days = "1002", .due = "2026-03-01", .checks = "PPPISS"},
    {.name = "CB unknown, product, AB without 17065", .type = "product",
     .standard = "ISO 21469:2006", .cb = "Unknown Certification Body Ltd", .ab = "XAB",
     .as_of = "2025-06-01", .verdict = "invalid",
     .findings = "AB_NOT_RECOGNIZED:critical CB_UNKNOWN:inconclusive", .eff = "2028-02-28",
     .days = "1002", .due = "", .checks = "PPSFSS"},
    {.name = "CB unknown, product, Global ACI AB without 17065", .type = "product",
     .standard = "ISO 21469:2006", .cb = "Unknown Certification Body Ltd", .ab = "GAB",
     .as_of = "2025-06-01", .verdict = "invalid",
     .findings = "AB_NOT_RECOGNIZED:critical CB_UNKNOWN:inconclusive", .eff = "2028-02-28",
     .days = "1002", .due = "", .checks = "PPSFSS"},
    {.name = "CB unknown, test report, ILAC lab AB", .type = "test_report",
     .standard = "ISO 8124-1:2018", .cb = "Unknown Test Lab", .ab = "LABA", .expiry = "",
     .as_of = "2025-06-01", .verdict = "unverified", .findings = "CB_UNKNOWN:inconclusive",
     .eff = "", .days = "null", .due = "", .checks = "PPSISS"},
    {.name = "CB unknown, test report, AB without 17025", .type = "test_report",
     .standard = "ISO 8124-1:2018", .cb = "Unknown Test Lab", .ab = "XAB", .expiry = "",
     .as_of = "2025-06-01", .verdict = "invalid",
     .findings = "AB_NOT_RECOGNIZED:critical CB_UNKNOWN:inconclusive", .eff = "", .days = "null",
     .due = "", .checks = "PPSFSS"},

    /* ---- accreditation: CB found ---- */
    {.name = "CB by id", .cb = "Some Other Name", .cb_id = "cb-good", .as_of = "2025-06-01",
     .verdict = "valid", .findings = "", .eff = "2028-02-28", .days = "1002",
     .due = "2026-03-01", .checks = "PPPPSS"},
    {.name = "CB by alias", .cb = "GoodCert", .as_of = "2025-06-01", .verdict = "valid",
     .findings = "", .eff = "2028-02-28", .days = "1002", .due = "2026-03-01",
     .checks = "PPPPSS"},
    {.name = "CB by normalized name", .cb = "GOOD CERTIFICATION LIMITED", .as_of = "2025-06-01",
     .verdict = "valid", .findings = "", .eff = "2028-02-28", .days = "1002",
     .due = "2026-03-01", .checks = "PPPPSS"},
    {.name = "CB not accredited for the standard: nothing more",
     .cb = "Narrow Scope Certification", .ab = "XAB", .as_of = "2025-06-01",
     .verdict = "invalid", .findings = "CB_NOT_ACCREDITED_FOR_STANDARD:critical",
     .eff = "2028-02-28", .days = "1002", .due = "2026-03-01", .checks = "PPPFSS"},
    {.name = "CB suspended before issue: critical", .cb = "Suspended Cert GmbH",
     .as_of = "2025-06-01", .verdict = "invalid",
     .findings = "CB_ACCREDITATION_SUSPENDED:critical", .eff = "2028-02-28", .days = "1002",
     .due = "2026-03-01", .checks = "PPPFSS", .msg_has = "CB_ACCREDITATION_SUSPENDED~2024-06-01"},
    {.name = "CB suspended on the issue date: critical", .cb = "Suspended Cert GmbH",
     .issue = "2024-06-01", .expiry = "2027-05-31", .as_of = "2024-07-01", .verdict = "invalid",
     .findings = "CB_ACCREDITATION_SUSPENDED:critical", .eff = "2027-05-31", .days = "1064",
     .due = "2025-06-01", .checks = "PPPFSS"},
    {.name = "CB suspended the day after issue: warning", .cb = "Suspended Cert GmbH",
     .issue = "2024-05-31", .expiry = "2027-05-30", .as_of = "2024-07-01", .verdict = "warning",
     .findings = "CB_ACCREDITATION_SUSPENDED:warning", .eff = "2027-05-30", .days = "1063",
     .due = "2025-05-31", .checks = "PPPPSS", .msg_has = "CB_ACCREDITATION_SUSPENDED~2024-06-01"},
    {.name = "CB withdrawn, D just after: warning", .cb = "Withdrawn Cert SA",
     .as_of = "2025-07-01", .verdict = "warning", .findings = "CB_ACCREDITATION_WITHDRAWN:warning",
     .eff = "2028-02-28", .days = "972", .due = "2026-03-01", .checks = "PPPPSS",
     .msg_has = "CB_ACCREDITATION_WITHDRAWN~2025-06-30"},
    {.name = "CB withdrawn, D = withdrawal + 6 months: warning", .cb = "Withdrawn Cert SA",
     .as_of = "2025-12-30", .verdict = "warning", .findings = "CB_ACCREDITATION_WITHDRAWN:warning",
     .eff = "2028-02-28", .days = "790", .due = "2026-03-01", .checks = "PPPPSS"},
    {.name = "CB withdrawn, D = withdrawal + 6 months + 1: critical", .cb = "Withdrawn Cert SA",
     .as_of = "2025-12-31", .verdict = "invalid",
     .findings = "CB_ACCREDITATION_WITHDRAWN:critical", .eff = "2028-02-28", .days = "789",
     .due = "2026-03-01", .checks = "PPPFSS", .msg_has = "CB_ACCREDITATION_WITHDRAWN~2025-06-30"},
    {.name = "CB accredited the day after issue", .cb = "Late Accreditation Inc",
     .as_of = "2025-06-01", .verdict = "invalid",
     .findings = "CB_NOT_ACCREDITED_AT_ISSUE:critical", .eff = "2028-02-28", .days = "1002",
     .due = "2026-03-01", .checks = "PPPFSS", .msg_has = "CB_NOT_ACCREDITED_AT_ISSUE~2025-03-02"},
    {.name = "CB accredited on the issue date", .cb = "Late Accreditation Inc",
     .issue = "2025-03-02", .expiry = "2028-03-01", .as_of = "2025-06-01", .verdict = "valid",
     .findings = "", .eff = "2028-03-01", .days = "1004", .due = "2026-03-02",
     .checks = "PPPPSS"},
    {.name = "CB accreditation valid_until = D: fine", .cb = "Lapsed Accreditation Corp",
     .as_of = "2025-04-30", .verdict = "valid", .findings = "", .eff = "2028-02-28",
     .days = "1034", .due = "2026-03-01", .checks = "PPPPSS"},
    {.name = "CB accreditation valid_until = D - 1: warning", .cb = "Lapsed Accreditation Corp",
     .as_of = "2025-05-01", .verdict = "warning", .findings = "CB_ACCREDITATION_WITHDRAWN:warning",
     .eff = "2028-02-28", .days = "1033", .due = "2026-03-01", .checks = "PPPPSS",
     .msg_has = "CB_ACCREDITATION_WITHDRAWN~2025-04-30"},
    {.name = "CB accreditation ended 6 months before D: warning", .cb = "Lapsed Accreditation Corp",
     .as_of = "2025-10-30", .verdict = "warning", .findings = "CB_ACCREDITATION_WITHDRAWN:warning",
     .eff = "2028-02-28", .days = "851", .due = "2026-03-01", .checks = "PPPPSS"},
    {.name = "CB accreditation ended 6 months + 1 day before D: critical",
     .cb = "Lapsed Accreditation Corp", .as_of = "2025-10-31", .verdict = "invalid",
     .findings = "CB_ACCREDITATION_WITHDRAWN:critical", .eff = "2028-02-28", .days = "850",
     .due = "2026-03-01", .checks = "PPPFSS"},
    {.name = "AB printed differs from the listing", .ab = "XAB", .as_of = "2025-06-01",
     .verdict = "warning", .findings = "AB_MISMATCH:warning", .eff = "2028-02-28",
     .days = "1002", .due = "2026-03-01", .checks = "PPPPSS", .msg_has = "AB_MISMATCH~XAB"},
    {.name = "AB printed by its full name", .ab = "Full Accreditation Body", .as_of = "2025-06-01",
     .verdict = "valid", .findings = "", .eff = "2028-02-28", .days = "1002",
     .due = "2026-03-01", .checks = "PPPPSS"},
    {.name = "AB printed in lower case", .ab = "fab", .as_of = "2025-06-01", .verdict = "valid",
     .findings = "", .eff = "2028-02-28", .days = "1002", .due = "2026-03-01",
     .checks = "PPPPSS"},
    {.name = "AB printed by its alias", .ab = "FullAccred", .as_of = "2025-06-01",
     .verdict = "valid", .findings = "", .eff = "2028-02-28", .days = "1002",
     .due = "2026-03-01", .checks = "PPPPSS"},
    {.name = "AB printed is in no list", .ab = "NOAB", .as_of = "2025-06-01", .verdict = "warning",
     .findings = "AB_MISMATCH:warning", .eff = "2028-02-28", .days = "1002",
     .due = "2026-03-01", .checks = "PPPPSS"},
    {.name = "no AB printed: no mismatch", .ab = "", .as_of = "2025-06-01", .verdict = "valid",
     .findings = "", .eff = "2028-02-28", .days = "1002", .due = "2026-03-01",
     .checks = "PPPPSS"},
    {.name = "listing's AB is in no AB list", .cb = "Unlisted AB Certification", .ab = "NOAB",
     .as_of = "2025-06-01", .verdict = "invalid", .findings = "AB_NOT_RECOGNIZED:critical",
     .eff = "2028-02-28", .days = "1002", .due = "2026-03-01", .checks = "PPPFSS"},
    {.name = "listing's AB unknown and another printed", .cb = "Unlisted AB Certification",
     .as_of = "2025-06-01", .verdict = "invalid",
     .findings = "AB_NOT_RECOGNIZED:critical AB_MISMATCH:warning", .eff = "2028-02-28",
     .days = "1002", .due = "2026-03-01", .checks = "PPPFSS"},
    {.name = "listing's AB recognition suspended", .cb = "Suspended AB Certification",
     .ab = "SUSAB", .as_of = "2025-06-01", .verdict = "invalid",
     .findings = "AB_NOT_RECOGNIZED:critical", .eff = "2028-02-28", .days = "1002",
     .due = "2026-03-01", .checks = "PPPFSS"},
    {.name = "listing's AB lacks the sub-scope", .cb = "QMS Only Certification", .ab = "XAB",
     .standard = "ISO/IEC 27001:2022", .as_of = "2025-06-01", .verdict = "warning",
     .findings = "AB_SUBSCOPE_NOT_RECOGNIZED:warning", .eff = "2028-02-28", .days = "1002",
     .due = "2026-03-01", .checks = "PPPPSS"},
    {.name = "listing's AB has the sub-scope", .cb = "QMS Only Certification", .ab = "XAB",
     .as_of = "2025-06-01", .verdict = "valid", .findings = "", .eff = "2028-02-28",
     .days = "1002", .due = "2026-03-01", .checks = "PPPPSS"},
    {.name = "family spelled ISO/IEC in the listing", .standard = "ISO/IEC 27001:2022",
     .as_of = "2025-06-01", .verdict = "valid", .findings = "", .eff = "2028-02-28",
     .days = "1002", .due = "2026-03-01", .checks = "PPPPSS"},
    {.name = "family spelled without IEC on the certificate", .standard = "ISO 27001:2022",
     .as_of = "2025-06-01", .verdict = "valid", .findings = "", .eff = "2028-02-28",
     .days = "1002", .due = "2026-03-01", .checks = "PPPPSS", .edition = "ISO/IEC 27001:2022"},
    {.name = "several accreditations: the active one is checked",
     .cb = "Multi Active Certification", .as_of = "2025-06-01", .verdict = "valid",
     .findings = "", .eff = "2028-02-28", .days = "1002", .due = "2026-03-01",
     .checks = "PPPPSS"},
    {.name = "several accreditations: the one valid at issue is checked",
     .cb = "Multi Issue Certification", .as_of = "2025-06-01", .verdict = "valid",
     .findings = "", .eff = "2028-02-28", .days = "1002", .due = "2026-03-01",
     .checks = "PPPPSS"},
    {.name = "several accreditations, none active: the latest dated is checked",
     .cb = "Multi Dated Certification", .as_of = "2025-07-01", .verdict = "warning",
     .findings = "CB_ACCREDITATION_WITHDRAWN:warning", .eff = "2028-02-28", .days = "972",
     .due = "2026-03-01", .checks = "PPPPSS"},
    {.name = "sub-scope recognized under a second arrangement", .cb = "Mixed AB Certification",
     .ab = "MIXAB", .standard = "ISO/IEC 27001:2022", .as_of = "2025-06-01", .verdict = "valid",
     .findings = "", .eff = "2028-02-28", .days = "1002", .due = "2026-03-01",
     .checks = "PPPPSS"},
    {.name = "sub-scope only in a suspended recognition", .cb = "Half AB Certification",
     .ab = "HALFAB", .standard = "ISO/IEC 27001:2022", .as_of = "2025-06-01",
     .verdict = "warning", .findings = "AB_SUBSCOPE_NOT_RECOGNIZED:warning", .eff = "2028-02-28",
     .days = "1002", .due = "2026-03-01", .checks = "PPPPSS"},
    {.name = "CB withdrawn, no date on record: critical", .cb = "Undated Withdrawal Certification",
     .as_of = "2025-06-01", .verdict = "invalid",
     .findings = "CB_ACCREDITATION_WITHDRAWN:critical", .eff = "2028-02-28", .days = "1002",
     .due = "2026-03-01", .checks = "PPPFSS"},
    {.name = "CB suspended, no date on record: critical", .cb = "Undated Suspension Certification",
     .as_of = "2025-06-01", .verdict = "invalid",
     .findings = "CB_ACCREDITATION_SUSPENDED:critical", .eff = "2028-02-28", .days = "1002",
     .due = "2026-03-01", .checks = "PPPFSS"},
    {.name = "test report, ILAC MRA lab", .type = "test_report", .standard = "ISO 8124-1:2018",
     .cb = "Toy Test Lab", .ab = "LABA", .expiry = "", .as_of = "2025-06-01", .verdict = "valid",
     .findings = "", .eff = "", .days = "null", .due = "", .checks = "PPSPSS"},
    {.name = "test report, Global ACI MRA lab", .type = "test_report",
     .standard = "ISO 8124-1:2018", .cb = "Global Toy Lab", .ab = "GAB", .expiry = "",
     .as_of = "2025-06-01", .verdict = "valid", .findings = "", .eff = "", .days = "null",
     .due = "", .checks = "PPSPSS"},
    {.name = "test report, lab AB without 17025", .type = "test_report",
     .standard = "ISO 8124-1:2018", .cb = "Unrecognized Toy Lab", .ab = "XAB", .expiry = "",
     .as_of = "2025-06-01", .verdict = "invalid", .findings = "AB_NOT_RECOGNIZED:critical",
     .eff = "", .days = "null", .due = "", .checks = "PPSFSS"},

    /* ---- surveillance (I = 2025-03-01: due = 2026-03-01 without audits) ---- */
    {.name = "surveillance: due - D = 31, quiet", .as_of = "2026-01-29", .verdict = "valid",
     .findings = "", .eff = "2028-02-28", .days = "760", .due = "2026-03-01",
     .checks = "PPPPSS"},
    {.name = "surveillance: due - D = 30, due", .as_of = "2026-01-30", .verdict = "valid",
     .findings = "SURVEILLANCE_DUE:info", .eff = "2028-02-28", .days = "759",
     .due = "2026-03-01", .checks = "PPPPSS"},
    {.name = "surveillance: D = due, due", .as_of = "2026-03-01", .verdict = "valid",
     .findings = "SURVEILLANCE_DUE:info", .eff = "2028-02-28", .days = "729",
     .due = "2026-03-01", .checks = "PPPPSS"},
    {.name = "surveillance: no audits, D = due + 1, unknown", .as_of = "2026-03-02",
     .verdict = "warning", .findings = "SURVEILLANCE_UNKNOWN:warning", .eff = "2028-02-28",
     .days = "728", .due = "2026-03-01", .checks = "PPIPSS"},
    {.name = "surveillance: no audits, long past grace, still unknown", .as_of = "2026-06-30",
     .verdict = "warning", .findings = "SURVEILLANCE_UNKNOWN:warning", .eff = "2028-02-28",
     .days = "608", .due = "2026-03-01", .checks = "PPIPSS"},
    {.name = "surveillance: initial audit only, D = due", .audits = "initial 2025-02-10",
     .as_of = "2026-03-01", .verdict = "valid", .findings = "SURVEILLANCE_DUE:info",
     .eff = "2028-02-28", .days = "729", .due = "2026-03-01", .checks = "PPPPSS"},
    {.name = "surveillance: audits known, D = due + 1, overdue", .audits = "initial 2025-02-10",
     .as_of = "2026-03-02", .verdict = "warning", .findings = "SURVEILLANCE_OVERDUE:warning",
     .eff = "2028-02-28", .days = "728", .due = "2026-03-01", .checks = "PPPPSS"},
    {.name = "surveillance: D = due + 90, overdue", .audits = "initial 2025-02-10",
     .as_of = "2026-05-30", .verdict = "warning", .findings = "SURVEILLANCE_OVERDUE:warning",
     .eff = "2028-02-28", .days = "639", .due = "2026-03-01", .checks = "PPPPSS"},
    {.name = "surveillance: D = due + 91, lapsed", .audits = "initial 2025-02-10",
     .as_of = "2026-05-31", .verdict = "invalid", .findings = "SURVEILLANCE_LAPSED:critical",
     .eff = "2028-02-28", .days = "638", .due = "2026-03-01", .checks = "PPFPSS"},
    {.name = "surveillance audit re-anchors", .audits = "surveillance 2026-02-20",
     .as_of = "2026-04-01", .verdict = "valid", .findings = "", .eff = "2028-02-28",
     .days = "698", .due = "2027-02-20", .checks = "PPPPSS"},
    {.name = "audit dated after D is ignored", .audits = "surveillance 2026-04-15",
     .as_of = "2026-04-10", .verdict = "warning", .findings = "SURVEILLANCE_OVERDUE:warning",
     .eff = "2028-02-28", .days = "689", .due = "2026-03-01", .checks = "PPPPSS"},
    {.name = "special audit does not re-anchor", .audits = "special 2026-02-01",
     .as_of = "2026-04-01", .verdict = "warning", .findings = "SURVEILLANCE_OVERDUE:warning",
     .eff = "2028-02-28", .days = "698", .due = "2026-03-01", .checks = "PPPPSS"},
    {.name = "recertification audit re-anchors", .audits = "recertification 2026-02-01",
     .as_of = "2026-04-01", .verdict = "valid", .findings = "", .eff = "2028-02-28",
     .days = "698", .due = "2027-02-01", .checks = "PPPPSS"},
    {.name = "transfer audit re-anchors", .audits = "transfer 2025-09-10", .as_of = "2026-04-01",
     .verdict = "valid", .findings = "", .eff = "2028-02-28", .days = "698",
     .due = "2026-09-10", .checks = "PPPPSS"},
    {.name = "audit before issue: the anchor stays the issue date",
     .audits = "surveillance 2024-11-01", .as_of = "2026-03-02", .verdict = "warning",
     .findings = "SURVEILLANCE_OVERDUE:warning", .eff = "2028-02-28", .days = "728",
     .due = "2026-03-01", .checks = "PPPPSS"},
    {.name = "surveillance: D = audit + 12 months + 90, overdue",
     .audits = "surveillance 2026-02-20", .as_of = "2027-05-21", .verdict = "warning",
     .findings = "SURVEILLANCE_OVERDUE:warning", .eff = "2028-02-28", .days = "283",
     .due = "2027-02-20", .checks = "PPPPSS"},
    {.name = "surveillance: D = audit + 12 months + 91, lapsed",
     .audits = "surveillance 2026-02-20", .as_of = "2027-05-22", .verdict = "invalid",
     .findings = "SURVEILLANCE_LAPSED:critical", .eff = "2028-02-28", .days = "282",
     .due = "2027-02-20", .checks = "PPFPSS"},
    {.name = "the latest audit anchors, whatever the order",
     .audits = "surveillance 2027-02-10;surveillance 2026-02-20", .as_of = "2027-03-01",
     .verdict = "valid", .findings = "", .eff = "2028-02-28", .days = "364",
     .due = "2028-02-10", .checks = "PPPPSS"},
    {.name = "surveillance due and expiry soon together",
     .audits = "surveillance 2027-02-10;surveillance 2026-02-20", .as_of = "2028-01-11",
     .verdict = "warning", .findings = "CERT_EXPIRING_SOON:warning SURVEILLANCE_DUE:info",
     .eff = "2028-02-28", .days = "48", .due = "2028-02-10", .checks = "PPPPSS"},
    {.name = "leap-day issue: due 02-28 next year", .issue = "2024-02-29", .expiry = "2027-02-27",
     .as_of = "2025-02-28", .verdict = "valid", .findings = "SURVEILLANCE_DUE:info",
     .eff = "2027-02-27", .days = "729", .due = "2025-02-28", .checks = "PPPPSS"},
    {.name = "leap-day issue: unknown from 03-01", .issue = "2024-02-29", .expiry = "2027-02-27",
     .as_of = "2025-03-01", .verdict = "warning", .findings = "SURVEILLANCE_UNKNOWN:warning",
     .eff = "2027-02-27", .days = "728", .due = "2025-02-28", .checks = "PPIPSS"},
    {.name = "due = E: the recertification is next, no surveillance finding",
     .expiry = "2026-03-01", .as_of = "2026-02-15", .verdict = "warning",
     .findings = "CERT_EXPIRING_SOON:warning", .eff = "2026-03-01", .days = "14", .due = "",
     .checks = "PPSPSS"},
    {.name = "due = E - 1: surveillance due", .expiry = "2026-03-02", .as_of = "2026-02-15",
     .verdict = "warning", .findings = "CERT_EXPIRING_SOON:warning SURVEILLANCE_DUE:info",
     .eff = "2026-03-02", .days = "15", .due = "2026-03-01", .checks = "PPPPSS"},
    {.name = "due = E - 1, D = E: unknown", .expiry = "2026-03-02", .as_of = "2026-03-02",
     .verdict = "warning",
     .findings = "CERT_EXPIRING_SOON:warning SURVEILLANCE_UNKNOWN:warning", .eff = "2026-03-02",
     .days = "0", .due = "2026-03-01", .checks = "PPIPSS"},
    {.name = "due = E - 1, D = E + 1: expired, no surveillance finding", .expiry = "2026-03-02",
     .as_of = "2026-03-03", .verdict = "invalid", .findings = "CERT_EXPIRED:critical",
     .eff = "2026-03-02", .days = "-1", .due = "2026-03-01", .checks = "FPSPSS"},
    {.name = "grace=30: D = due + 30, overdue", .audits = "initial 2025-02-10",
     .as_of = "2026-03-31", .opts = "grace=30", .verdict = "warning",
     .findings = "SURVEILLANCE_OVERDUE:warning", .eff = "2028-02-28", .days = "699",
     .due = "2026-03-01", .checks = "PPPPSS"},
    {.name = "grace=30: D = due + 31, lapsed", .audits = "initial 2025-02-10",
     .as_of = "2026-04-01", .opts = "grace=30", .verdict = "invalid",
     .findings = "SURVEILLANCE_LAPSED:critical", .eff = "2028-02-28", .days = "698",
     .due = "2026-03-01", .checks = "PPFPSS"},
    {.name = "product certificates have no surveillance rule", .type = "product",
     .standard = "ISO 21469:2006", .as_of = "2026-06-01", .verdict = "valid", .findings = "",
     .eff = "2028-02-28", .days = "637", .due = "", .checks = "PPSPSS"},

    /* ---- test reports ---- */
    {.name = "max_age applies to test reports only", .as_of = "2025-06-01", .opts = "max_age=30",
     .verdict = "valid", .findings = "", .eff = "2028-02-28", .days = "1002",
     .due = "2026-03-01", .checks = "PPPPSS"},
    {.name = "test report: 365 days old, limit 365", .type = "test_report",
     .standard = "ISO 8124-1:2018", .cb = "Toy Test Lab", .ab = "LABA", .issue = "2024-06-01",
     .expiry = "", .as_of = "2025-06-01", .opts = "max_age=365", .verdict = "valid",
     .findings = "", .eff = "", .days = "null", .due = "", .checks = "PPSPSS"},
    {.name = "test report: 366 days old, limit 365", .type = "test_report",
     .standard = "ISO 8124-1:2018", .cb = "Toy Test Lab", .ab = "LABA", .issue = "2024-06-01",
     .expiry = "", .as_of = "2025-06-02", .opts = "max_age=365", .verdict = "warning",
     .findings = "REPORT_TOO_OLD:warning", .eff = "", .days = "null", .due = "",
     .checks = "PPSPSS"},
    {.name = "test report: no age limit given", .type = "test_report",
     .standard = "ISO 8124-1:2018", .cb = "Toy Test Lab", .ab = "LABA", .issue = "2024-06-01",
     .expiry = "", .as_of = "2030-01-01", .verdict = "valid", .findings = "", .eff = "",
     .days = "null", .due = "", .checks = "PPSPSS"},
    {.name = "test report: before its date", .type = "test_report", .standard = "ISO 8124-1:2018",
     .cb = "Toy Test Lab", .ab = "LABA", .issue = "2024-06-01", .expiry = "",
     .as_of = "2024-05-31", .verdict = "invalid", .findings = "CERT_NOT_YET_VALID:critical",
     .eff = "", .days = "null", .due = "", .checks = "FPSPSS"},
    {.name = "test report: a printed expiry has no effect", .type = "test_report",
     .standard = "ISO 8124-1:2018", .cb = "Toy Test Lab", .ab = "LABA", .issue = "2024-06-01",
     .expiry = "2025-01-01", .as_of = "2026-01-01", .verdict = "valid", .findings = "",
     .eff = "", .days = "null", .due = "", .checks = "PPSPSS"},
    {.name = "test report to a withdrawn edition, D = valid_until", .type = "test_report",
     .standard = "ISO 8124-1:2014", .cb = "Toy Test Lab", .ab = "LABA", .issue = "2019-01-10",
     .expiry = "", .as_of = "2020-06-30", .verdict = "warning",
     .findings = "STANDARD_IN_TRANSITION:warning", .eff = "2020-06-30", .days = "0", .due = "",
     .checks = "PPSPSS"},
    {.name = "test report to a withdrawn edition, D = valid_until + 1", .type = "test_report",
     .standard = "ISO 8124-1:2014", .cb = "Toy Test Lab", .ab = "LABA", .issue = "2019-01-10",
     .expiry = "", .as_of = "2020-07-01", .verdict = "invalid",
     .findings = "STANDARD_WITHDRAWN:critical", .eff = "2020-06-30", .days = "-1", .due = "",
     .checks = "PFSPSS"},

    /* ---- holder ---- */
    {.name = "holder matches the supplier", .supplier = "Ningbo Harbour Plastics",
     .as_of = "2025-06-01", .verdict = "valid", .findings = "", .eff = "2028-02-28",
     .days = "1002", .due = "2026-03-01", .checks = "PPPPPS"},
    {.name = "holder matches in another order", .supplier = "Plastics Ningbo Harbour",
     .as_of = "2025-06-01", .verdict = "valid", .findings = "", .eff = "2028-02-28",
     .days = "1002", .due = "2026-03-01", .checks = "PPPPPS"},
    {.name = "holder differs from the supplier", .supplier = "Ningbo Harbour Rubber Co.",
     .as_of = "2025-06-01", .verdict = "warning", .findings = "HOLDER_MISMATCH:warning",
     .eff = "2028-02-28", .days = "1002", .due = "2026-03-01", .checks = "PPPPFS"},
    {.name = "holder matches a supplier alias", .supplier = "Other Trading",
     .alias = "NINGBO HARBOUR PLASTICS LIMITED", .as_of = "2025-06-01", .verdict = "valid",
     .findings = "", .eff = "2028-02-28", .days = "1002", .due = "2026-03-01",
     .checks = "PPPPPS"},

    /* ---- several at once: order is worst severity first, then the code table ---- */
    {.name = "many criticals in table order", .standard = "ISO 9001:2008", .cb = "Nobody Ltd",
     .ab = "NOAB", .issue = "2017-01-10", .expiry = "2020-01-09", .declared = "suspended",
     .supplier = "Someone Else Entirely", .as_of = "2019-01-01", .verdict = "invalid",
     .findings = "CERT_EXPIRED:critical CERT_STATUS_NOT_ACTIVE:critical "
                 "STANDARD_WITHDRAWN:critical AB_NOT_RECOGNIZED:critical CB_UNKNOWN:inconclusive "
                 "HOLDER_MISMATCH:warning",
     .eff = "2018-09-15", .days = "-108", .due = "2018-01-10", .checks = "FFSFFS"},
    {.name = "many warnings in table order", .cb = "Suspended Cert GmbH", .ab = "XAB",
     .issue = "2024-05-31", .expiry = "2027-05-30", .as_of = "2027-04-01", .verdict = "warning",
     .findings = "CERT_EXPIRING_SOON:warning SURVEILLANCE_UNKNOWN:warning "
                 "CB_ACCREDITATION_SUSPENDED:warning AB_MISMATCH:warning",
     .eff = "2027-05-30", .days = "59", .due = "2025-05-31", .checks = "PPIPSS"},
    // clang-format on
};

/* ---- running a row -------------------------------------------------------------------------- */

static void set_field(struct cv_certificate *c, const char *name, const char *value)
{
    char msg[256] = "";
    int rc = cv_certificate_set_text(c, name, value, strlen(value), msg, sizeof msg);
    if (rc)
        print_error("set_text(%s, \"%s\"): %s\n", name, value, msg);
    assert_int_equal(rc, CV_OK);
}

static void build_cert(struct cv_certificate *c, const struct vcase *t)
{
    cv_certificate_init(c, 0);
    set_field(c, "certificate_number", "Q-1");
    if (t->type)
        set_field(c, "type", t->type);
    set_field(c, "standard", t->standard ? t->standard : "ISO 9001:2015");
    set_field(c, "holder_name", "Ningbo Harbour Plastics Co., Ltd.");
    set_field(c, "holder_country", "CN");
    set_field(c, "certification_body", t->cb ? t->cb : "Good Certification Ltd");
    if (t->cb_id)
        set_field(c, "certification_body_id", t->cb_id);
    if (!t->ab || *t->ab)
        set_field(c, "accreditation_body", t->ab ? t->ab : "FAB");
    set_field(c, "issue_date", t->issue ? t->issue : "2025-03-01");
    if (!t->expiry || *t->expiry)
        set_field(c, "expiry_date", t->expiry ? t->expiry : "2028-02-28");
    if (t->declared)
        set_field(c, "declared_status", t->declared);
    if (t->supplier)
        set_field(c, "supplier_id", "sup-1");
    for (const char *p = t->audits; p && *p;) {
        const char *sp = strchr(p, ' '), *end = strchr(p, ';');
        const char *field = NULL;
        char msg[256] = "";
        if (!end)
            end = p + strlen(p);
        assert_non_null(sp);
        int rc = cv_certificate_add_audit(c, p, (size_t)(sp - p), sp + 1, (size_t)(end - sp - 1),
                                          &field, msg, sizeof msg);
        if (rc)
            print_error("add_audit(%s): %s\n", p, msg);
        assert_int_equal(rc, CV_OK);
        p = *end ? end + 1 : end;
    }
    const char *field = NULL;
    char msg[256] = "";
    int rc = cv_certificate_check(c, &field, msg, sizeof msg);
    if (rc)
        print_error("certificate refused: %s\n", msg);
    assert_int_equal(rc, CV_OK);
}

static void build_options(struct cv_verify_options *o, const struct vcase *t,
                          const char *const *aliases)
{
    cv_verify_options_init(o);
    for (const char *p = t->opts; p && *p;) {
        int v = 0, n = 0;
        if (sscanf(p, "within=%d%n", &v, &n) == 1)
            o->expiring_within = v;
        else if (sscanf(p, "grace=%d%n", &v, &n) == 1)
            o->surveillance_grace = v;
        else if (sscanf(p, "max_age=%d%n", &v, &n) == 1)
            o->max_report_age_days = v;
        else
            fail_msg("bad option string %s", p);
        p += n;
        while (*p == ' ')
            p++;
    }
    if (t->supplier) {
        o->supplier_name = t->supplier;
        o->supplier_aliases = t->alias ? aliases : NULL;
        o->n_supplier_aliases = t->alias ? 1 : 0;
    }
}

static void findings_string(const struct cv_verification *v, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < v->n_findings && n < cap; i++) {
        const struct cv_finding *f = &v->findings[i];
        const char *code = (unsigned)f->code < CV_F_COUNT ? code_names[f->code] : "BAD_CODE";
        const char *sev = (unsigned)f->severity < 4 ? severity_names[f->severity] : "bad";
        n += (size_t)snprintf(out + n, cap - n, "%s%s:%s", i ? " " : "", code, sev);
    }
}

static void checks_string(const struct cv_verification *v, char *out)
{
    for (int i = 0; i < CV_CHECK_COUNT; i++) {
        switch (v->checks[i]) {
        case CV_CHECK_SKIPPED:
            out[i] = 'S';
            break;
        case CV_CHECK_PASS:
            out[i] = 'P';
            break;
        case CV_CHECK_FAIL:
            out[i] = 'F';
            break;
        case CV_CHECK_INCONCLUSIVE:
            out[i] = 'I';
            break;
        default:
            out[i] = '?';
        }
    }
    out[CV_CHECK_COUNT] = '\0';
}

static const struct cv_finding *find_code(const struct cv_verification *v, const char *name)
{
    for (size_t i = 0; i < v->n_findings; i++)
        if ((unsigned)v->findings[i].code < CV_F_COUNT &&
            strcmp(code_names[v->findings[i].code], name) == 0)
            return &v->findings[i];
    return NULL;
}

/* Checks "CODE~text": whether the finding's message contains 'text' is 'want'. */
static int check_message(const struct cv_verification *v, const char *spec, bool want)
{
    char code[64];
    const char *tilde = strchr(spec, '~');
    assert_non_null(tilde);
    snprintf(code, sizeof code, "%.*s", (int)(tilde - spec), spec);
    const struct cv_finding *f = find_code(v, code);
    if (!f) {
        print_error("  no %s finding to check the message of\n", code);
        return 1;
    }
    if ((strstr(f->message, tilde + 1) != NULL) != want) {
        print_error("  %s message %s \"%s\": %s\n", code, want ? "lacks" : "contains", tilde + 1,
                    f->message);
        return 1;
    }
    return 0;
}

/* A finding's message names the date it is about. */
static int check_date_mentioned(const struct cv_verification *v, const char *code, const char *date)
{
    const struct cv_finding *f = find_code(v, code);
    if (!f || !date || !*date || strstr(f->message, date))
        return 0;
    print_error("  %s message does not mention %s: %s\n", code, date, f->message);
    return 1;
}

static bool same_verification(const struct cv_verification *a, const struct cv_verification *b)
{
    if (a->verdict != b->verdict || a->n_findings != b->n_findings ||
        a->effective_expiry != b->effective_expiry ||
        a->has_days_to_expiry != b->has_days_to_expiry ||
        (a->has_days_to_expiry && a->days_to_expiry != b->days_to_expiry) ||
        a->surveillance_due != b->surveillance_due || a->as_of != b->as_of ||
        a->family != b->family || strcmp(a->standard, b->standard) != 0 ||
        a->certificate_number != b->certificate_number)
        return false;
    for (int i = 0; i < CV_CHECK_COUNT; i++)
        if (a->checks[i] != b->checks[i])
            return false;
    for (size_t i = 0; i < a->n_findings; i++) {
        const struct cv_finding *x = &a->findings[i], *y = &b->findings[i];
        if (x->code != y->code || x->severity != y->severity || strcmp(x->message, y->message) != 0)
            return false;
        for (int k = 0; k < CV_DETAIL_MAX; k++) {
            if ((x->detail[k].key == NULL) != (y->detail[k].key == NULL))
                return false;
            if (x->detail[k].key && (strcmp(x->detail[k].key, y->detail[k].key) != 0 ||
                                     strcmp(x->detail[k].value, y->detail[k].value) != 0))
                return false;
        }
    }
    return true;
}

static void run_case(void **state)
{
    const struct vcase *t = *state;
    const char *const aliases[] = {t->alias};
    struct cv_certificate cert;
    struct cv_verify_options opt;
    static struct cv_verification v, again;
    char got[1024], buf[CV_DATE_STRLEN], checks[CV_CHECK_COUNT + 1];
    int fails = 0;

    build_cert(&cert, t);
    build_options(&opt, t, aliases);
    cv_date as_of = day(t->as_of);
    memset(&v, 0, sizeof v);
    memset(&again, 0xA5, sizeof again); /* 'out' is fully overwritten */
    cv_verify(&cert, &refdata, as_of, &opt, &v);
    cv_verify(&cert, &refdata, as_of, &opt, &again);

    assert_true(v.n_findings <= CV_F_COUNT);
    if ((unsigned)v.verdict > CV_VERDICT_INVALID || strcmp(verdict_names[v.verdict], t->verdict)) {
        print_error("  verdict %s, want %s\n",
                    (unsigned)v.verdict <= CV_VERDICT_INVALID ? verdict_names[v.verdict] : "?",
                    t->verdict);
        fails++;
    }
    findings_string(&v, got, sizeof got);
    if (strcmp(got, t->findings) != 0) {
        print_error("  findings \"%s\"\n      want \"%s\"\n", got, t->findings);
        fails++;
    }
    cv_date_format(v.effective_expiry, buf);
    if (strcmp(buf, t->eff) != 0) {
        print_error("  effective_expiry \"%s\", want \"%s\"\n", buf, t->eff);
        fails++;
    }
    if (v.has_days_to_expiry)
        snprintf(got, sizeof got, "%d", v.days_to_expiry);
    else
        snprintf(got, sizeof got, "null");
    if (strcmp(got, t->days) != 0) {
        print_error("  days_to_expiry %s, want %s\n", got, t->days);
        fails++;
    }
    cv_date_format(v.surveillance_due, buf);
    if (strcmp(buf, t->due) != 0) {
        print_error("  surveillance_due \"%s\", want \"%s\"\n", buf, t->due);
        fails++;
    }
    checks_string(&v, checks);
    if (strcmp(checks, t->checks) != 0) {
        print_error("  checks %s, want %s (validity edition surveillance accreditation holder "
                    "registry)\n",
                    checks, t->checks);
        fails++;
    }

    /* what the verification echoes */
    const char *printed = t->standard ? t->standard : "ISO 9001:2015";
    const char *edition = t->edition ? t->edition : printed;
    if (strcmp(v.standard, edition) != 0) {
        print_error("  standard \"%s\", want \"%s\"\n", v.standard, edition);
        fails++;
    }
    const struct std_row *row =
        strstr(t->findings, "STANDARD_UNKNOWN") ? NULL : std_row_by_id(edition);
    const char *want_family = row ? row->family : t->family;
    if ((v.family == NULL) != (want_family == NULL) ||
        (v.family && strcmp(v.family, want_family) != 0)) {
        print_error("  family %s, want %s\n", v.family ? v.family : "NULL",
                    want_family ? want_family : "NULL");
        fails++;
    }
    if (!v.certificate_number || strcmp(v.certificate_number, "Q-1") != 0) {
        print_error("  certificate_number not echoed\n");
        fails++;
    }
    if (v.as_of != as_of) {
        print_error("  as_of not echoed\n");
        fails++;
    }

    /* findings: unique, with a message */
    for (size_t i = 0; i < v.n_findings; i++) {
        if (v.findings[i].message[0] == '\0') {
            print_error("  finding %zu has an empty message\n", i);
            fails++;
        }
        for (size_t k = i + 1; k < v.n_findings; k++)
            if (v.findings[k].code == v.findings[i].code) {
                print_error("  finding code %d appears twice\n", v.findings[i].code);
                fails++;
            }
    }
    /* messages name their dates */
    fails += check_date_mentioned(&v, "CERT_EXPIRED", t->eff);
    fails += check_date_mentioned(&v, "CERT_EXPIRING_SOON", t->eff);
    fails += check_date_mentioned(&v, "CERT_NOT_YET_VALID", t->issue ? t->issue : "2025-03-01");
    fails += check_date_mentioned(&v, "SURVEILLANCE_DUE", t->due);
    fails += check_date_mentioned(&v, "SURVEILLANCE_OVERDUE", t->due);
    fails += check_date_mentioned(&v, "SURVEILLANCE_LAPSED", t->due);
    fails += check_date_mentioned(&v, "SURVEILLANCE_UNKNOWN", t->due);
    if (row && row->valid_until) {
        fails += check_date_mentioned(&v, "STANDARD_IN_TRANSITION", row->valid_until);
        fails += check_date_mentioned(&v, "STANDARD_WITHDRAWN", row->valid_until);
    }
    if (t->msg_has)
        fails += check_message(&v, t->msg_has, true);
    if (t->msg_lacks)
        fails += check_message(&v, t->msg_lacks, false);

    /* same input, same output */
    if (!same_verification(&v, &again)) {
        print_error("  a second verification of the same input differs\n");
        fails++;
    }
    cv_certificate_cleanup(&cert);
    if (fails)
        fail_msg("%s: %d mismatch(es)", t->name, fails);
}

/* ---- other tests ---------------------------------------------------------------------------- */

static void test_options_defaults(void **state)
{
    (void)state;
    struct cv_verify_options o;
    memset(&o, 0x5A, sizeof o);
    cv_verify_options_init(&o);
    assert_int_equal(o.expiring_within, 90);
    assert_int_equal(o.surveillance_grace, 90);
    assert_int_equal(o.max_report_age_days, 0);
    assert_null(o.supplier_name);
    assert_int_equal(o.n_supplier_aliases, 0);
}

/* Verifying one certificate at every day of a cycle never produces a duplicate code or an empty
 * message, and the findings stay sorted worst first. */
static void test_sweep_invariants(void **state)
{
    (void)state;
    static const struct vcase sweep = {
        .name = "sweep", .cb = "Withdrawn Cert SA", .audits = "surveillance 2026-02-20"};
    struct cv_certificate cert;
    struct cv_verify_options opt;
    static struct cv_verification v;
    build_cert(&cert, &sweep);
    cv_verify_options_init(&opt);
    for (cv_date d = day("2025-01-01"); d <= day("2029-01-01"); d++) {
        cv_verify(&cert, &refdata, d, &opt, &v);
        assert_true(v.n_findings <= CV_F_COUNT);
        enum cv_severity worst = CV_SEV_INFO;
        for (size_t i = 0; i < v.n_findings; i++) {
            assert_true(v.findings[i].message[0] != '\0');
            if (i) {
                const struct cv_finding *p = &v.findings[i - 1], *f = &v.findings[i];
                assert_true(p->severity > f->severity ||
                            (p->severity == f->severity && p->code < f->code));
            }
            if (v.findings[i].severity > worst)
                worst = v.findings[i].severity;
        }
        /* verdict follows the worst severity */
        assert_int_equal((int)v.verdict, (int)worst);
        if (v.n_findings == 0)
            assert_int_equal(v.verdict, CV_VERDICT_VALID);
    }
    cv_certificate_cleanup(&cert);
}

/* SPEC 4 registry rules: what a registry says (struct cv_registry_result) against the baseline
 * certificate (ISO 9001:2015, holder "Ningbo Harbour Plastics Co., Ltd.", expiry 2028-02-28,
 * issue 2025-03-01; surveillance due 2026-03-01). Expected values written by hand. */
static const struct {
    const char *name;
    enum cv_registry_status status;
    const char *holder, *standard, *expiry, *error;
    const char *audits, *as_of;
    const char *verdict, *findings, *checks;
} registry_rows[] = {
    // clang-format off
    {"not consulted", CV_REG_NOT_CONSULTED, NULL, NULL, NULL, NULL, NULL, "2025-06-01",
     "valid", "", "PPPPSS"},
    {"active, same data", CV_REG_ACTIVE, "NINGBO HARBOUR PLASTICS CO LTD", "ISO9001:2015",
     "2028-02-28", NULL, NULL, "2025-06-01", "valid", "REGISTRY_CONFIRMED:info", "PPPPSP"},
    {"active, nothing to compare", CV_REG_ACTIVE, NULL, NULL, NULL, NULL, NULL, "2025-06-01",
     "valid", "REGISTRY_CONFIRMED:info", "PPPPSP"},
    {"active, other expiry", CV_REG_ACTIVE, NULL, NULL, "2028-03-31", NULL, NULL, "2025-06-01",
     "warning", "REGISTRY_MISMATCH:warning", "PPPPSP"},
    {"active, other holder", CV_REG_ACTIVE, "Harbour Trading Ltd", NULL, NULL, NULL, NULL,
     "2025-06-01", "warning", "REGISTRY_MISMATCH:warning", "PPPPSP"},
    {"active, other standard", CV_REG_ACTIVE, NULL, "ISO 14001:2015", NULL, NULL, NULL,
     "2025-06-01", "warning", "REGISTRY_MISMATCH:warning", "PPPPSP"},
    {"suspended", CV_REG_SUSPENDED, NULL, NULL, NULL, NULL, NULL, "2025-06-01", "invalid",
     "REGISTRY_SUSPENDED:critical", "PPPPSF"},
    {"withdrawn", CV_REG_WITHDRAWN, NULL, NULL, NULL, NULL, NULL, "2025-06-01", "invalid",
     "REGISTRY_WITHDRAWN:critical", "PPPPSF"},
    {"expired, other expiry", CV_REG_EXPIRED, NULL, NULL, "2025-05-31", NULL, NULL, "2025-06-01",
     "invalid", "REGISTRY_EXPIRED:critical REGISTRY_MISMATCH:warning", "PPPPSF"},
    {"not found", CV_REG_NOT_FOUND, NULL, NULL, NULL, NULL, NULL, "2025-06-01", "unverified",
     "REGISTRY_NOT_FOUND:inconclusive", "PPPPSI"},
    {"unavailable", CV_REG_UNAVAILABLE, NULL, NULL, NULL, "timeout after 10 s", NULL,
     "2025-06-01", "unverified", "REGISTRY_UNAVAILABLE:inconclusive", "PPPPSI"},
    /* D = due + 1 with no audit on record: a warning offline, information when active. */
    {"no audit, not consulted", CV_REG_NOT_CONSULTED, NULL, NULL, NULL, NULL, NULL, "2026-03-02",
     "warning", "SURVEILLANCE_UNKNOWN:warning", "PPIPSS"},
    {"no audit, active", CV_REG_ACTIVE, NULL, NULL, NULL, NULL, NULL, "2026-03-02", "valid",
     "SURVEILLANCE_UNKNOWN:info REGISTRY_CONFIRMED:info", "PPPPSP"},
    {"no audit, suspended", CV_REG_SUSPENDED, NULL, NULL, NULL, NULL, NULL, "2026-03-02",
     "invalid", "REGISTRY_SUSPENDED:critical SURVEILLANCE_UNKNOWN:warning", "PPIPSF"},
    {"no audit, not found", CV_REG_NOT_FOUND, NULL, NULL, NULL, NULL, NULL, "2026-03-02",
     "unverified", "REGISTRY_NOT_FOUND:inconclusive SURVEILLANCE_UNKNOWN:warning", "PPIPSI"},
    // clang-format on
};

static void test_registry_rules(void **state)
{
    (void)state;
    int fails = 0;
    for (size_t i = 0; i < N_ELEMS(registry_rows); i++) {
        struct vcase t = {.audits = registry_rows[i].audits};
        struct cv_certificate c;
        struct cv_verify_options o;
        struct cv_verification v;
        struct cv_registry_result r = {registry_rows[i].status,      "TestRegistry",
                                       registry_rows[i].holder,      registry_rows[i].standard,
                                       day(registry_rows[i].expiry), registry_rows[i].error};
        char findings[1024], checks[CV_CHECK_COUNT + 1];
        build_cert(&c, &t);
        build_options(&o, &t, NULL);
        o.registry = &r;
        cv_verify(&c, &refdata, day(registry_rows[i].as_of), &o, &v);
        findings_string(&v, findings, sizeof(findings));
        checks_string(&v, checks);
        EXPECT(fails, strcmp(verdict_names[v.verdict], registry_rows[i].verdict) == 0,
               "%s: verdict %s\n", registry_rows[i].name, verdict_names[v.verdict]);
        EXPECT(fails, strcmp(findings, registry_rows[i].findings) == 0, "%s: findings %s\n",
               registry_rows[i].name, findings);
        EXPECT(fails, strcmp(checks, registry_rows[i].checks) == 0, "%s: checks %s\n",
               registry_rows[i].name, checks);
        const struct cv_finding *u = find_code(&v, "REGISTRY_UNAVAILABLE");
        if (u)
            EXPECT(fails, strstr(u->message, "timeout after 10 s") != NULL,
                   "%s: message lacks the reason: %s\n", registry_rows[i].name, u->message);
        cv_certificate_cleanup(&c);
    }
    assert_int_equal(fails, 0);
}

int main(void)
{
    static struct CMUnitTest tests[N_ELEMS(cases) + 3];
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        tests[i].name = cases[i].name;
        tests[i].test_func = run_case;
        tests[i].initial_state = (void *)&cases[i];
    }
    tests[N_ELEMS(cases)] = (struct CMUnitTest)cmocka_unit_test(test_options_defaults);
    tests[N_ELEMS(cases) + 1] = (struct CMUnitTest)cmocka_unit_test(test_sweep_invariants);
    tests[N_ELEMS(cases) + 2] = (struct CMUnitTest)cmocka_unit_test(test_registry_rules);
    return cmocka_run_group_tests_name("verify", tests, setup_refdata, teardown_refdata);
}

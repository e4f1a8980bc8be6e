/* Unit tests for src/core/score.c: certvet-score/1 (SPEC 5). The table rows give a profile and a
 * supplier's certificates as already-verified results (verdict, family, effective expiry, whether
 * the CB was unknown), so each expectation is SPEC 5 arithmetic done by hand in the row's comment:
 * points valid 10 / warning 7 / unverified 4 / invalid 0 / none 0, score =
 * round(100 * sum(weight * points) / (10 * sum(weight))). The replay test goes through cv_verify
 * with the real catalog and the sample listing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "test_util.h"

#include "certvet/error.h"
#include "certvet/refdata.h"
#include "certvet/score.h"

#define MAX_REQS  4
#define MAX_CERTS 5

enum {
    V = CV_VERDICT_VALID,
    W = CV_VERDICT_WARNING,
    U = CV_VERDICT_UNVERIFIED,
    I = CV_VERDICT_INVALID
};
enum { REQ = CV_REQ_REQUIRED, REC = CV_REQ_RECOMMENDED };

struct req_row {
    const char *family; /* NULL ends the list */
    int level, weight;
};

struct cert_row {
    const char *number; /* NULL ends the list */
    const char *family; /* the verification's family, NULL when unknown */
    int verdict;
    const char *expiry; /* effective expiry, NULL for none (a test report) */
    int cb_unknown;     /* CB_UNKNOWN finding */
    int registry_pass;  /* a registry had the certificate (checks.registry pass) */
};

struct score_case {
    const char *name;
    struct req_row reqs[MAX_REQS];
    int approve_at;
    struct cert_row certs[MAX_CERTS];
    int has_score, score;
    int decision;
    int coverage_pct;           /* round(100 * coverage) */
    const char *best[MAX_REQS]; /* best certificate number per requirement, "" none */
};

#define GOV                                                                                        \
    {                                                                                              \
        {"ISO 9001", REQ, 10}, {"ISO 14001", REQ, 10}, {"ISO 45001", REQ, 10},                     \
        {                                                                                          \
            NULL, 0, 0                                                                             \
        }                                                                                          \
    }

static const struct score_case cases[] = {
    /* 3 x 10 x 10 = 300 / 300 -> 100; all covered. */
    {"government all valid",
     GOV,
     80,
     {{"Q1", "ISO 9001", V, "2027-01-01", 0, 0},
      {"E1", "ISO 14001", V, "2027-01-01", 0, 0},
      {"H1", "ISO 45001", V, "2027-01-01", 0, 0}},
     1,
     100,
     CV_DECISION_APPROVED,
     100,
     {"Q1", "E1", "H1"}},
    /* 100 + 70 + 70 = 240 / 300 = 80: exactly approve_at, required all valid or warning. */
    {"approved at the threshold",
     GOV,
     80,
     {{"Q1", "ISO 9001", V, "2027-01-01", 0, 0},
      {"E1", "ISO 14001", W, "2027-01-01", 0, 0},
      {"H1", "ISO 45001", W, "2027-01-01", 0, 0}},
     1,
     80,
     CV_DECISION_APPROVED,
     100,
     {"Q1", "E1", "H1"}},
    /* 100 + 70 + 40 = 210 / 300 = 70 < 80: conditional. */
    {"below the threshold",
     GOV,
     80,
     {{"Q1", "ISO 9001", V, "2027-01-01", 0, 0},
      {"E1", "ISO 14001", W, "2027-01-01", 0, 0},
      {"H1", "ISO 45001", U, "2027-01-01", 0, 0}},
     1,
     70,
     CV_DECISION_CONDITIONAL,
     100,
     {"Q1", "E1", "H1"}},
    /* 100 + 100 + 40 = 240 / 300 = 80 >= 80, but a required family is only unverified (CB unknown):
     * conditional; coverage 20 / 30 weight = 67 %. */
    {"score reached, required unverified",
     GOV,
     80,
     {{"Q1", "ISO 9001", V, "2027-01-01", 0, 0},
      {"E1", "ISO 14001", V, "2027-01-01", 0, 0},
      {"H1", "ISO 45001", U, "2027-01-01", 1, 0}},
     1,
     80,
     CV_DECISION_CONDITIONAL,
     67,
     {"Q1", "E1", "H1"}},
    /* 45001 missing: rejected; 200 / 300 = 66.7 -> 67; coverage 20/30. */
    {"required family missing",
     GOV,
     80,
     {{"Q1", "ISO 9001", V, "2027-01-01", 0, 0}, {"E1", "ISO 14001", V, "2027-01-01", 0, 0}},
     1,
     67,
     CV_DECISION_REJECTED,
     67,
     {"Q1", "E1", ""}},
    /* 45001 only invalid ones: rejected; best invalid = latest expiry H2; 200/300 -> 67;
     * coverage counts H2 (checked, though invalid): 100 %. */
    {"required family only invalid",
     GOV,
     80,
     {{"Q1", "ISO 9001", V, "2027-01-01", 0, 0},
      {"E1", "ISO 14001", V, "2027-01-01", 0, 0},
      {"H1", "ISO 45001", I, "2025-01-01", 0, 0},
      {"H2", "ISO 45001", I, "2026-01-01", 0, 0}},
     1,
     67,
     CV_DECISION_REJECTED,
     100,
     {"Q1", "E1", "H2"}},
    /* Weights 3 (required) and 1 (recommended): 3*7 + 1*0 = 21 / 40 -> 52.5 -> 53 (half up);
     * the required family is a warning: conditional, not rejected. */
    {"weights and rounding",
     {{"ISO 9001", REQ, 3}, {"ISO 14001", REC, 1}, {NULL, 0, 0}},
     80,
     {{"Q1", "ISO 9001", W, "2027-01-01", 0, 0}, {"E1", "ISO 14001", I, "2027-01-01", 0, 0}},
     1,
     53,
     CV_DECISION_CONDITIONAL,
     100,
     {"Q1", "E1"}},
    /* 10*10 + 5*4 = 120 / 150 = 80: approved although a recommended family is unverified;
     * coverage 10/15 = 67 %. */
    {"recommended unverified still approved",
     {{"ISO 9001", REQ, 10}, {"ISO 14001", REC, 5}, {NULL, 0, 0}},
     80,
     {{"Q1", "ISO 9001", V, "2027-01-01", 0, 0}, {"E1", "ISO 14001", U, "2027-01-01", 1, 0}},
     1,
     80,
     CV_DECISION_APPROVED,
     67,
     {"Q1", "E1"}},
    /* Ties: same verdict and expiry -> lowest number (A-1 before B-2); valid beats a later warning.
     */
    {"ties: lowest number, verdict before expiry",
     {{"ISO 9001", REQ, 10}, {"ISO 14001", REQ, 10}, {NULL, 0, 0}},
     80,
     {{"B-2", "ISO 9001", V, "2027-01-01", 0, 0},
      {"A-1", "ISO 9001", V, "2027-01-01", 0, 0},
      {"E-LATE", "ISO 14001", W, "2029-01-01", 0, 0},
      {"E-EARLY", "ISO 14001", V, "2026-12-01", 0, 0}},
     1,
     100,
     CV_DECISION_APPROVED,
     100,
     {"A-1", "E-EARLY"}},
    /* Same verdict: latest effective expiry wins; a test report without expiry counts as latest.
     * "ISO/IEC 27001" written "ISO 27001" in the profile, the series "ISO 8124" matches. */
    {"ties: latest expiry, spelling",
     {{"ISO 27001", REQ, 10}, {"ISO 8124", REQ, 10}, {NULL, 0, 0}},
     80,
     {{"IS-1", "ISO/IEC 27001", W, "2026-12-01", 0, 0},
      {"IS-2", "ISO/IEC 27001", W, "2027-12-01", 0, 0},
      {"TR-1", "ISO 8124", V, "2027-12-01", 0, 0},
      {"TR-2", "ISO 8124", V, NULL, 0, 0}},
     1,
     85,
     CV_DECISION_APPROVED,
     100,
     {"IS-2", "TR-2"}},
    /* No requirements: score and coverage null; nothing required is missing, no score to reach
     * approve_at: conditional. */
    {"no requirements: null score",
     {{NULL, 0, 0}},
     80,
     {{"Q1", "ISO 9001", V, "2027-01-01", 0, 0}},
     0,
     0,
     CV_DECISION_CONDITIONAL,
     0,
     {""}},
    /* Recommended only (general): no certificate -> 0, conditional (never rejected). */
    {"recommended only, none",
     {{"ISO 9001", REC, 5}, {NULL, 0, 0}},
     80,
     {{"E1", "ISO 14001", V, "2027-01-01", 0, 0}},
     1,
     0,
     CV_DECISION_CONDITIONAL,
     0,
     {""}},
    /* Recommended only, invalid -> 0 points, still conditional. */
    {"recommended only, invalid",
     {{"ISO 9001", REC, 5}, {NULL, 0, 0}},
     80,
     {{"Q1", "ISO 9001", I, "2025-01-01", 0, 0}},
     1,
     0,
     CV_DECISION_CONDITIONAL,
     100,
     {"Q1"}},
    /* Recommended only, valid -> 100, approved. */
    {"recommended only, valid",
     {{"ISO 9001", REC, 5}, {NULL, 0, 0}},
     80,
     {{"Q1", "ISO 9001", V, "2027-01-01", 0, 0}},
     1,
     100,
     CV_DECISION_APPROVED,
     100,
     {"Q1"}},
    /* A certificate whose family is unknown answers nothing: 9001 missing -> rejected, 0. */
    {"unknown family ignored",
     {{"ISO 9001", REQ, 10}, {NULL, 0, 0}},
     80,
     {{"X1", NULL, U, "2027-01-01", 0, 0}},
     1,
     0,
     CV_DECISION_REJECTED,
     0,
     {""}},
    /* Coverage: CB unknown but a registry had the certificate -> covered (10/10); 4 points. */
    {"coverage through a registry",
     {{"ISO 9001", REQ, 10}, {NULL, 0, 0}},
     80,
     {{"Q1", "ISO 9001", U, "2027-01-01", 1, 1}},
     1,
     40,
     CV_DECISION_CONDITIONAL,
     100,
     {"Q1"}},
    /* approve_at 0 (custom): score 0 would pass, but the required family is missing: rejected. */
    {"approve_at 0 does not save a missing family",
     {{"ISO 9001", REQ, 10}, {NULL, 0, 0}},
     0,
     {{NULL, NULL, 0, NULL, 0, 0}},
     1,
     0,
     CV_DECISION_REJECTED,
     0,
     {""}},
};

static struct cv_catalog catalog;

static int setup(void **state)
{
    (void)state;
    char err[256];
    cv_catalog_init(&catalog);
    return cv_catalog_load_json(&catalog, CERTVET_SOURCE_DIR "/config/standards.json", err,
                                sizeof(err));
}

static int teardown(void **state)
{
    (void)state;
    cv_catalog_cleanup(&catalog);
    return 0;
}

static cv_date day(const char *s)
{
    cv_date d = CV_DATE_NONE;
    if (s && *s)
        assert_int_equal(cv_date_parse(s, strlen(s), &d), CV_OK);
    return d;
}

static void set(struct cv_certificate *c, const char *field, const char *value)
{
    char msg[128];
    assert_int_equal(cv_certificate_set_text(c, field, value, strlen(value), msg, sizeof(msg)),
                     CV_OK);
}

static void test_table(void **state)
{
    (void)state;
    int fails = 0;
    for (size_t t = 0; t < N_ELEMS(cases); t++) {
        const struct score_case *tc = &cases[t];
        struct cv_requirement reqs[MAX_REQS];
        struct cv_profile prof = {.name = (char *)"test", .approve_at = tc->approve_at};
        for (size_t i = 0; i < MAX_REQS && tc->reqs[i].family; i++) {
            reqs[i].family = (char *)tc->reqs[i].family;
            reqs[i].level = (enum cv_req_level)tc->reqs[i].level;
            reqs[i].weight = tc->reqs[i].weight;
            prof.n_reqs++;
        }
        prof.reqs = reqs;
        struct cv_certificate certs[MAX_CERTS];
        struct cv_verification *vs = calloc(MAX_CERTS, sizeof(*vs));
        struct cv_scored_cert in[MAX_CERTS];
        size_t n = 0;
        assert_non_null(vs);
        for (; n < MAX_CERTS && tc->certs[n].number; n++) {
            const struct cert_row *r = &tc->certs[n];
            cv_certificate_init(&certs[n], 0);
            set(&certs[n], "certificate_number", r->number);
            set(&certs[n], "certification_body", "Northwind Assurance Ltd");
            set(&certs[n], "standard", r->family ? r->family : "ISO 37001:2016");
            vs[n].certificate_number = certs[n].certificate_number;
            vs[n].family = r->family;
            vs[n].verdict = (enum cv_verdict)r->verdict;
            vs[n].effective_expiry = day(r->expiry);
            if (r->cb_unknown) {
                vs[n].findings[0].code = CV_F_CB_UNKNOWN;
                vs[n].findings[0].severity = CV_SEV_INCONCLUSIVE;
                vs[n].n_findings = 1;
            }
            vs[n].checks[CV_CHECK_REGISTRY] = r->registry_pass ? CV_CHECK_PASS : CV_CHECK_SKIPPED;
            in[n].cert = &certs[n];
            in[n].v = &vs[n];
        }
        struct cv_score s;
        assert_int_equal(cv_score(&prof, in, n, &catalog, day("2026-11-22"), &s), CV_OK);
        EXPECT(fails, s.has_score == (tc->has_score != 0), "%s: has_score %d\n", tc->name,
               s.has_score);
        if (tc->has_score) {
            EXPECT(fails, s.score == tc->score, "%s: score %d, expected %d\n", tc->name, s.score,
                   tc->score);
            int cov = (int)(s.coverage * 100 + 0.5);
            EXPECT(fails, cov == tc->coverage_pct, "%s: coverage %d%%, expected %d%%\n", tc->name,
                   cov, tc->coverage_pct);
        }
        EXPECT(fails, (int)s.decision == tc->decision, "%s: decision %s, expected %s\n", tc->name,
               cv_decision_name(s.decision), cv_decision_name((enum cv_decision)tc->decision));
        EXPECT(fails, s.n_rows == prof.n_reqs, "%s: %zu rows\n", tc->name, s.n_rows);
        for (size_t i = 0; i < s.n_rows; i++) {
            const char *got = s.rows[i].best ? s.rows[i].best->cert->certificate_number : "";
            EXPECT(fails, strcmp(got, tc->best[i]) == 0, "%s: row %zu best '%s', expected '%s'\n",
                   tc->name, i, got, tc->best[i]);
            EXPECT(fails,
                   s.rows[i].points ==
                       (s.rows[i].best ? cv_verdict_points(s.rows[i].best->v->verdict) : 0),
                   "%s: row %zu points\n", tc->name, i);
            EXPECT(fails, (strlen(s.rows[i].cert_id) > 0) == (s.rows[i].best != NULL),
                   "%s: row %zu certificate id\n", tc->name, i);
        }
        EXPECT(fails,
               s.n_reasons >= 1 && strncmp(s.reasons[0], cv_decision_name(s.decision),
                                           strlen(cv_decision_name(s.decision))) == 0,
               "%s: first reason '%s'\n", tc->name, s.n_reasons ? s.reasons[0] : "");
        cv_score_cleanup(&s);
        for (size_t i = 0; i < n; i++)
            cv_certificate_cleanup(&certs[i]);
        free(vs);
    }
    assert_int_equal(fails, 0);
}

/* A missing required family is explained in plain words. */
static void test_reason_missing(void **state)
{
    (void)state;
    struct cv_requirement reqs[] = {{(char *)"ISO 14001", CV_REQ_REQUIRED, 10}};
    struct cv_profile prof = {
        .name = (char *)"government", .reqs = reqs, .n_reqs = 1, .approve_at = 80};
    struct cv_score s;
    assert_int_equal(cv_score(&prof, NULL, 0, &catalog, day("2026-11-22"), &s), CV_OK);
    assert_int_equal(s.decision, CV_DECISION_REJECTED);
    assert_int_equal(s.n_reasons, 2);
    assert_string_equal(s.reasons[1], "ISO 14001 is required by the government profile; the "
                                      "supplier has no ISO 14001 certificate");
    cv_score_cleanup(&s);
}

/* Replay: the same certificate scored for an order placed before and after its expiry.
 * QMS-1182, ISO 9001:2015 by Northwind Assurance Ltd (sample listing: UKAS, active since
 * 2010-01-01), issued 2023-03-02, expires 2026-03-01, surveillance audits 2024-02-20 and
 * 2025-02-15.
 * - as of 2025-06-01: A = 2025-02-15, due 2026-02-15 (< E), 259 days away: no finding; 273 days to
 *   expiry (> 90): valid -> 10 points, score 100, approved.
 * - as of 2026-03-02: D > E = 2026-03-01: CERT_EXPIRED -> invalid -> required family only invalid:
 *   rejected, score 0, reason "... QMS-1182 expired on 2026-03-01". */
static void test_replay(void **state)
{
    (void)state;
    struct cv_reference ref;
    char err[512];
    const char *listing = CERTVET_SOURCE_DIR "/fixtures/sample/listing.json";
    assert_int_equal(
        cv_reference_load(&ref, CERTVET_SOURCE_DIR "/config", &listing, 1, err, sizeof(err)),
        CV_OK);
    struct cv_certificate c;
    cv_certificate_init(&c, 0);
    set(&c, "certificate_number", "QMS-1182");
    set(&c, "standard", "ISO 9001:2015");
    set(&c, "holder_name", "Example Supplier Ltd");
    set(&c, "certification_body", "Northwind Assurance Ltd");
    set(&c, "accreditation_body", "UKAS");
    set(&c, "issue_date", "2023-03-02");
    set(&c, "expiry_date", "2026-03-01");
    const char *field;
    char msg[128];
    assert_int_equal(cv_certificate_add_audit(&c, "surveillance", 12, "2024-02-20", 10, &field, msg,
                                              sizeof(msg)),
                     CV_OK);
    assert_int_equal(cv_certificate_add_audit(&c, "surveillance", 12, "2025-02-15", 10, &field, msg,
                                              sizeof(msg)),
                     CV_OK);
    struct cv_requirement reqs[] = {{(char *)"ISO 9001", CV_REQ_REQUIRED, 10}};
    struct cv_profile prof = {
        .name = (char *)"quality", .reqs = reqs, .n_reqs = 1, .approve_at = 80};
    struct cv_verify_options opt;
    cv_verify_options_init(&opt);
    struct cv_verification *v = calloc(1, sizeof(*v));
    assert_non_null(v);
    struct cv_scored_cert in = {&c, v};
    struct cv_score s;

    cv_verify(&c, &ref.ref, day("2025-06-01"), &opt, v);
    assert_int_equal(v->verdict, CV_VERDICT_VALID);
    assert_int_equal(cv_score(&prof, &in, 1, &ref.catalog, day("2025-06-01"), &s), CV_OK);
    assert_int_equal(s.decision, CV_DECISION_APPROVED);
    assert_int_equal(s.score, 100);
    assert_true(s.coverage > 0.999);
    cv_score_cleanup(&s);

    cv_verify(&c, &ref.ref, day("2026-03-02"), &opt, v);
    assert_int_equal(v->verdict, CV_VERDICT_INVALID);
    assert_int_equal(cv_score(&prof, &in, 1, &ref.catalog, day("2026-03-02"), &s), CV_OK);
    assert_int_equal(s.decision, CV_DECISION_REJECTED);
    assert_int_equal(s.score, 0);
    assert_int_equal(s.n_reasons, 2);
    assert_string_equal(s.reasons[1], "ISO 9001 is required by the quality profile; the "
                                      "supplier's certificate QMS-1182 expired on 2026-03-01");
    cv_score_cleanup(&s);

    free(v);
    cv_certificate_cleanup(&c);
    cv_reference_cleanup(&ref);
}

static void test_names(void **state)
{
    (void)state;
    enum cv_req_level l;
    assert_int_equal(cv_req_level_parse("required", &l), CV_OK);
    assert_int_equal(l, CV_REQ_REQUIRED);
    assert_int_equal(cv_req_level_parse("recommended", &l), CV_OK);
    assert_int_equal(l, CV_REQ_RECOMMENDED);
    assert_int_equal(cv_req_level_parse("mandatory", &l), CV_ERR_INVALID);
    assert_string_equal(cv_decision_name(CV_DECISION_CONDITIONAL), "conditional");
    assert_int_equal(cv_verdict_points(CV_VERDICT_VALID), 10);
    assert_int_equal(cv_verdict_points(CV_VERDICT_WARNING), 7);
    assert_int_equal(cv_verdict_points(CV_VERDICT_UNVERIFIED), 4);
    assert_int_equal(cv_verdict_points(CV_VERDICT_INVALID), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_reason_missing),
        cmocka_unit_test(test_replay),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

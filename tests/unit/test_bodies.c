/* Unit tests for src/core/bodies.c: putting accreditation and certification bodies into the
 * registry (ownership, replacement by acronym or id), finding them by acronym, id, name and alias
 * through the name normalizer (SPEC 3.2), and the names of the enums. */
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
#include "certvet/error.h"

/* Two optional strings are equal (both NULL, or the same text). */
static bool same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static char *xstrdup(const char *s)
{
    if (!s)
        return NULL;
    char *p = strdup(s);
    assert_non_null(p);
    return p;
}

/* A heap-allocated AB, as a listing reader would build it: one alias (may be NULL), one IAF MLA
 * recognition for ISO/IEC 17021-1 with the QMS sub-scope. */
static void make_ab(struct cv_ab *ab, const char *acronym, const char *name, const char *alias)
{
    memset(ab, 0, sizeof *ab);
    ab->acronym = xstrdup(acronym);
    ab->name = xstrdup(name);
    ab->economy = xstrdup("XX");
    if (alias) {
        ab->aliases = calloc(1, sizeof *ab->aliases);
        assert_non_null(ab->aliases);
        ab->aliases[0] = xstrdup(alias);
        ab->n_aliases = 1;
    }
    ab->recognitions = calloc(2, sizeof *ab->recognitions);
    assert_non_null(ab->recognitions);
    ab->recognitions[0] = (struct cv_recognition){CV_ARR_IAF_MLA, CV_ROUTE_17021_1, CV_SUB_QMS,
                                                  CV_LS_ACTIVE, cv_date_from_ymd(2004, 10, 1)};
    ab->recognitions[1] = (struct cv_recognition){CV_ARR_ILAC_MRA, CV_ROUTE_17025, CV_SUB_NONE,
                                                  CV_LS_ACTIVE, CV_DATE_NONE};
    ab->n_recognitions = 2;
}

/* A heap-allocated CB with one alias (may be NULL) and one accreditation by 'ab' for the
 * families 'std1' and 'std2'. */
static void make_cb(struct cv_cb *cb, const char *id, const char *name, const char *alias,
                    const char *ab, const char *std1, const char *std2)
{
    memset(cb, 0, sizeof *cb);
    cb->id = xstrdup(id);
    cb->name = xstrdup(name);
    cb->country = xstrdup("GB");
    if (alias) {
        cb->aliases = calloc(1, sizeof *cb->aliases);
        assert_non_null(cb->aliases);
        cb->aliases[0] = xstrdup(alias);
        cb->n_aliases = 1;
    }
    cb->accreditations = calloc(1, sizeof *cb->accreditations);
    assert_non_null(cb->accreditations);
    struct cv_cb_accreditation *a = &cb->accreditations[0];
    a->accreditation_body = xstrdup(ab);
    a->number = xstrdup("0001");
    a->standards = calloc(2, sizeof *a->standards);
    assert_non_null(a->standards);
    a->standards[0] = xstrdup(std1);
    a->standards[1] = xstrdup(std2);
    a->n_standards = 2;
    a->status = CV_LS_SUSPENDED;
    a->status_date = cv_date_from_ymd(2025, 6, 30);
    a->valid_from = cv_date_from_ymd(2010, 1, 1);
    a->valid_until = CV_DATE_NONE;
    cb->n_accreditations = 1;
}

static int setup_bodies(void **state)
{
    static struct cv_bodies b;
    struct cv_ab ab;
    struct cv_cb cb;
    cv_bodies_init(&b);
    make_ab(&ab, "UKAS", "United Kingdom Accreditation Service", "UK Accreditation");
    assert_int_equal(cv_bodies_put_ab(&b, &ab), CV_OK);
    make_ab(&ab, "DAkkS", "Deutsche Akkreditierungsstelle GmbH", NULL);
    assert_int_equal(cv_bodies_put_ab(&b, &ab), CV_OK);
    make_ab(&ab, "CNAS", "China National Accreditation Service for Conformity Assessment",
            "China National Accreditation Service");
    assert_int_equal(cv_bodies_put_ab(&b, &ab), CV_OK);
    make_cb(&cb, "example-cert", "Example Certification Ltd", "Example Cert", "UKAS", "ISO 9001",
            "ISO/IEC 27001");
    assert_int_equal(cv_bodies_put_cb(&b, &cb), CV_OK);
    make_cb(&cb, "sgs-cn", "SGS-CSTC Standards Technical Services Co., Ltd.", "SGS China", "CNAS",
            "ISO 9001", "ISO 14001");
    assert_int_equal(cv_bodies_put_cb(&b, &cb), CV_OK);
    make_cb(&cb, "tuv-lga", "T\xc3\x9cV Rheinland LGA Products GmbH", NULL, "DAkkS", "ISO 8124",
            "ISO 9001");
    assert_int_equal(cv_bodies_put_cb(&b, &cb), CV_OK);
    assert_int_equal(b.n_abs, 3);
    assert_int_equal(b.n_cbs, 3);
    *state = &b;
    return 0;
}

static int teardown_bodies(void **state)
{
    cv_bodies_cleanup(*state);
    return 0;
}

/* ---- finding accreditation bodies ----------------------------------------------------------- */

struct ab_find_case {
    const char *printed;
    const char *acronym; /* NULL: not found */
};

static const struct ab_find_case ab_find_cases[] = {
    {"UKAS", "UKAS"},
    {"ukas", "UKAS"},
    {"Ukas", "UKAS"},
    {"United Kingdom Accreditation Service", "UKAS"},
    {"UNITED KINGDOM ACCREDITATION SERVICE", "UKAS"},
    {"United Kingdom Accreditation Service Ltd", "UKAS"},
    {"Service, United Kingdom Accreditation", "UKAS"},
    {"UK Accreditation", "UKAS"}, /* alias */
    {"uk accreditation", "UKAS"},
    {"DAkkS", "DAkkS"},
    {"DAKKS", "DAkkS"},
    {"dakks", "DAkkS"},
    {"Deutsche Akkreditierungsstelle", "DAkkS"},
    {"Deutsche Akkreditierungsstelle GmbH", "DAkkS"},
    {"CNAS", "CNAS"},
    {"China National Accreditation Service for Conformity Assessment", "CNAS"},
    {"China National Accreditation Service", "CNAS"}, /* alias */
    {"ANAB", NULL},
    {"United Kingdom Accreditation", NULL},
    {"Accreditation Service", NULL},
    {"UKAS2", NULL},
    {"", NULL},
};

static void test_find_ab_table(void **state)
{
    const struct cv_bodies *b = *state;
    int fails = 0;
    for (size_t i = 0; i < N_ELEMS(ab_find_cases); i++) {
        const struct ab_find_case *t = &ab_find_cases[i];
        const struct cv_ab *ab = cv_bodies_find_ab(b, t->printed);
        const char *got = ab ? ab->acronym : NULL;
        EXPECT(fails, same(got, t->acronym), "find_ab(\"%s\") = %s, want %s\n", t->printed,
               got ? got : "NULL", t->acronym ? t->acronym : "NULL");
    }
    assert_int_equal(fails, 0);
}

/* What was put in comes back intact. */
static void test_ab_fields_kept(void **state)
{
    const struct cv_bodies *b = *state;
    const struct cv_ab *ab = cv_bodies_find_ab(b, "UKAS");
    assert_non_null(ab);
    assert_string_equal(ab->name, "United Kingdom Accreditation Service");
    assert_string_equal(ab->economy, "XX");
    assert_int_equal(ab->n_aliases, 1);
    assert_string_equal(ab->aliases[0], "UK Accreditation");
    assert_int_equal(ab->n_recognitions, 2);
    assert_int_equal(ab->recognitions[0].arrangement, CV_ARR_IAF_MLA);
    assert_int_equal(ab->recognitions[0].main_scope, CV_ROUTE_17021_1);
    assert_int_equal(ab->recognitions[0].subscopes, CV_SUB_QMS);
    assert_int_equal(ab->recognitions[0].status, CV_LS_ACTIVE);
    assert_int_equal(ab->recognitions[0].since, cv_date_from_ymd(2004, 10, 1));
    assert_int_equal(ab->recognitions[1].arrangement, CV_ARR_ILAC_MRA);
    assert_int_equal(ab->recognitions[1].main_scope, CV_ROUTE_17025);
}

/* Same acronym replaces; the other bodies are untouched. */
static void test_ab_replaced(void **state)
{
    struct cv_bodies *b = *state;
    struct cv_ab ab;
    make_ab(&ab, "UKAS", "UKAS Renamed Body", NULL);
    ab.recognitions[0].subscopes = CV_SUB_QMS | CV_SUB_EMS;
    assert_int_equal(cv_bodies_put_ab(b, &ab), CV_OK);
    assert_int_equal(b->n_abs, 3);
    const struct cv_ab *got = cv_bodies_find_ab(b, "UKAS");
    assert_non_null(got);
    assert_string_equal(got->name, "UKAS Renamed Body");
    assert_int_equal(got->recognitions[0].subscopes, CV_SUB_QMS | CV_SUB_EMS);
    got = cv_bodies_find_ab(b, "ukas renamed body");
    assert_non_null(got);
    assert_string_equal(got->acronym, "UKAS");
    /* the others are untouched */
    got = cv_bodies_find_ab(b, "CNAS");
    assert_non_null(got);
    assert_string_equal(got->name,
                        "China National Accreditation Service for Conformity Assessment");
    got = cv_bodies_find_ab(b, "Deutsche Akkreditierungsstelle");
    assert_non_null(got);
    assert_string_equal(got->acronym, "DAkkS");
}

/* A replaced body's own names and aliases no longer lead anywhere (SPEC 3.2: "same id or acronym
 * replaces"). */
static void test_ab_replaced_old_names_gone(void **state)
{
    struct cv_bodies *b = *state;
    struct cv_ab ab;
    make_ab(&ab, "UKAS", "UKAS Renamed Body", NULL);
    assert_int_equal(cv_bodies_put_ab(b, &ab), CV_OK);
    const struct cv_ab *got = cv_bodies_find_ab(b, "United Kingdom Accreditation Service");
    if (got)
        print_error("old name of a replaced AB still finds \"%s\"\n", got->name);
    assert_null(got);
    assert_null(cv_bodies_find_ab(b, "UK Accreditation"));
}

/* ---- finding certification bodies ---------------------------------------------------------- */

struct cb_find_case {
    const char *id, *name;
    const char *want; /* expected id, NULL: not found */
};

static const struct cb_find_case cb_find_cases[] = {
    {"example-cert", NULL, "example-cert"},
    {NULL, "Example Certification Ltd", "example-cert"},
    {NULL, "EXAMPLE CERTIFICATION LIMITED", "example-cert"},
    {NULL, "Example Certification", "example-cert"},
    {NULL, "Certification, Example (Ltd.)", "example-cert"},
    {NULL, "Example Cert", "example-cert"}, /* alias */
    {NULL, "example cert.", "example-cert"},
    {"example-cert", "Totally Different Name", "example-cert"},  /* the id decides */
    {"no-such-id", "Example Certification Ltd", "example-cert"}, /* then the name */
    {"sgs-cn", NULL, "sgs-cn"},
    {NULL, "SGS-CSTC Standards Technical Services Co., Ltd.", "sgs-cn"},
    {NULL, "sgs-cstc standards technical services co ltd", "sgs-cn"},
    {NULL, "SGS China", "sgs-cn"},
    {NULL, "T\xc3\x9cV Rheinland LGA Products", "tuv-lga"},
    {NULL, "T\xc3\x9cV RHEINLAND LGA PRODUCTS GMBH", "tuv-lga"},
    {"tuv-lga", "", "tuv-lga"},
    {"EXAMPLE-CERT", NULL, NULL}, /* ids compare exactly */
    {"example", NULL, NULL},
    {NULL, "Example", NULL},
    {NULL, "Certification Ltd", NULL},
    {NULL, "Example Certification Group", NULL},
    {NULL, "Ltd", NULL},
    {NULL, "", NULL},
    {"", "", NULL},
    {NULL, NULL, NULL},
};

static void test_find_cb_table(void **state)
{
    const struct cv_bodies *b = *state;
    int fails = 0;
    for (size_t i = 0; i < N_ELEMS(cb_find_cases); i++) {
        const struct cb_find_case *t = &cb_find_cases[i];
        const struct cv_cb *cb = cv_bodies_find_cb(b, t->id, t->name);
        const char *got = cb ? cb->id : NULL;
        EXPECT(fails, same(got, t->want), "find_cb(%s, %s) = %s, want %s\n", t->id ? t->id : "NULL",
               t->name ? t->name : "NULL", got ? got : "NULL", t->want ? t->want : "NULL");
    }
    assert_int_equal(fails, 0);
}

static void test_cb_fields_kept(void **state)
{
    const struct cv_bodies *b = *state;
    const struct cv_cb *cb = cv_bodies_find_cb(b, "example-cert", NULL);
    assert_non_null(cb);
    assert_string_equal(cb->name, "Example Certification Ltd");
    assert_string_equal(cb->country, "GB");
    assert_int_equal(cb->n_aliases, 1);
    assert_string_equal(cb->aliases[0], "Example Cert");
    assert_int_equal(cb->n_accreditations, 1);
    const struct cv_cb_accreditation *a = &cb->accreditations[0];
    assert_string_equal(a->accreditation_body, "UKAS");
    assert_string_equal(a->number, "0001");
    assert_int_equal(a->n_standards, 2);
    assert_string_equal(a->standards[0], "ISO 9001");
    assert_string_equal(a->standards[1], "ISO/IEC 27001");
    assert_int_equal(a->status, CV_LS_SUSPENDED);
    assert_int_equal(a->status_date, cv_date_from_ymd(2025, 6, 30));
    assert_int_equal(a->valid_from, cv_date_from_ymd(2010, 1, 1));
    assert_int_equal(a->valid_until, CV_DATE_NONE);
}

static void test_cb_replaced(void **state)
{
    struct cv_bodies *b = *state;
    struct cv_cb cb;
    make_cb(&cb, "example-cert", "Example Certification Services", NULL, "UKAS", "ISO 14001",
            "ISO 45001");
    cb.accreditations[0].status = CV_LS_ACTIVE;
    assert_int_equal(cv_bodies_put_cb(b, &cb), CV_OK);
    assert_int_equal(b->n_cbs, 3);
    const struct cv_cb *got = cv_bodies_find_cb(b, "example-cert", NULL);
    assert_non_null(got);
    assert_string_equal(got->name, "Example Certification Services");
    assert_string_equal(got->accreditations[0].standards[0], "ISO 14001");
    assert_int_equal(got->accreditations[0].status, CV_LS_ACTIVE);
    got = cv_bodies_find_cb(b, NULL, "EXAMPLE CERTIFICATION SERVICES LTD");
    assert_non_null(got);
    assert_string_equal(got->id, "example-cert");
    got = cv_bodies_find_cb(b, "sgs-cn", NULL);
    assert_non_null(got);
    assert_string_equal(got->name, "SGS-CSTC Standards Technical Services Co., Ltd.");
}

/* The same for a CB replaced under its id. */
static void test_cb_replaced_old_names_gone(void **state)
{
    struct cv_bodies *b = *state;
    struct cv_cb cb;
    make_cb(&cb, "example-cert", "Example Certification Services", NULL, "UKAS", "ISO 14001",
            "ISO 45001");
    assert_int_equal(cv_bodies_put_cb(b, &cb), CV_OK);
    const struct cv_cb *got = cv_bodies_find_cb(b, NULL, "Example Certification Ltd");
    if (got)
        print_error("old name of a replaced CB still finds \"%s\"\n", got->name);
    assert_null(got);
    assert_null(cv_bodies_find_cb(b, NULL, "Example Cert"));
}

/* Enough bodies to grow every array and index several times. */
static void test_many_bodies(void **state)
{
    (void)state;
    struct cv_bodies b;
    cv_bodies_init(&b);
    for (int i = 0; i < 300; i++) {
        char id[32], name[64], acr[16], abname[64];
        struct cv_cb cb;
        struct cv_ab ab;
        snprintf(id, sizeof id, "cb-%03d", i);
        snprintf(name, sizeof name, "Certifier %03d Ltd", i);
        snprintf(acr, sizeof acr, "AB%03d", i);
        snprintf(abname, sizeof abname, "Accreditor %03d", i);
        make_cb(&cb, id, name, NULL, acr, "ISO 9001", "ISO 14001");
        assert_int_equal(cv_bodies_put_cb(&b, &cb), CV_OK);
        make_ab(&ab, acr, abname, NULL);
        assert_int_equal(cv_bodies_put_ab(&b, &ab), CV_OK);
    }
    assert_int_equal(b.n_cbs, 300);
    assert_int_equal(b.n_abs, 300);
    for (int i = 0; i < 300; i++) {
        char id[32], name[64], acr[16], abname[64];
        snprintf(id, sizeof id, "cb-%03d", i);
        snprintf(name, sizeof name, "CERTIFIER %03d LIMITED", i);
        snprintf(acr, sizeof acr, "ab%03d", i);
        snprintf(abname, sizeof abname, "accreditor %03d", i);
        const struct cv_cb *cb = cv_bodies_find_cb(&b, id, NULL);
        assert_non_null(cb);
        assert_string_equal(cb->id, id);
        cb = cv_bodies_find_cb(&b, NULL, name);
        assert_non_null(cb);
        assert_string_equal(cb->id, id);
        const struct cv_ab *ab = cv_bodies_find_ab(&b, acr);
        assert_non_null(ab);
        assert_string_equal(ab->name + 11, abname + 11); /* the number */
        assert_ptr_equal(cv_bodies_find_ab(&b, abname), ab);
    }
    cv_bodies_cleanup(&b);
}

/* Bodies that were built but never handed over are released by their own cleanup (ASan checks
 * for leaks); cleanup accepts NULL, and an empty registry cleans up. */
static void test_cleanup_unowned(void **state)
{
    (void)state;
    struct cv_ab ab;
    struct cv_cb cb;
    struct cv_bodies b;
    make_ab(&ab, "UKAS", "United Kingdom Accreditation Service", "UK Accreditation");
    cv_ab_cleanup(&ab);
    make_cb(&cb, "example-cert", "Example Certification Ltd", "Example Cert", "UKAS", "ISO 9001",
            "ISO 14001");
    cv_cb_cleanup(&cb);
    cv_ab_cleanup(NULL);
    cv_cb_cleanup(NULL);
    cv_bodies_init(&b);
    assert_null(cv_bodies_find_ab(&b, "UKAS"));
    assert_null(cv_bodies_find_cb(&b, "example-cert", "Example Certification Ltd"));
    cv_bodies_cleanup(&b);
}

/* ---- enum names ----------------------------------------------------------------------------- */

static void test_arrangement_names(void **state)
{
    (void)state;
    static const struct {
        enum cv_arrangement a;
        const char *name;
    } rows[] = {
        {CV_ARR_IAF_MLA, "IAF MLA"},
        {CV_ARR_ILAC_MRA, "ILAC MRA"},
        {CV_ARR_GLOBAL_ACI, "Global ACI MRA"},
    };
    for (size_t i = 0; i < N_ELEMS(rows); i++) {
        enum cv_arrangement out = CV_ARR_NONE;
        assert_string_equal(cv_arrangement_name(rows[i].a), rows[i].name);
        assert_int_equal(cv_arrangement_parse(rows[i].name, &out), CV_OK);
        assert_int_equal(out, rows[i].a);
    }
    static const char *const bad[] = {"IAF", "ILAC", "EA MLA", "", "MLA"};
    int fails = 0;
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        enum cv_arrangement out = CV_ARR_NONE;
        int rc = cv_arrangement_parse(bad[i], &out);
        EXPECT(fails, rc == CV_ERR_INVALID, "arrangement_parse(\"%s\") = %d (%d), want %d\n",
               bad[i], rc, out, CV_ERR_INVALID);
    }
    assert_int_equal(fails, 0);
}

static void test_listing_status_names(void **state)
{
    (void)state;
    static const struct {
        enum cv_listing_status s;
        const char *name;
    } rows[] = {
        {CV_LS_ACTIVE, "active"},
        {CV_LS_SUSPENDED, "suspended"},
        {CV_LS_WITHDRAWN, "withdrawn"},
    };
    for (size_t i = 0; i < N_ELEMS(rows); i++) {
        enum cv_listing_status out = CV_LS_WITHDRAWN;
        assert_string_equal(cv_listing_status_name(rows[i].s), rows[i].name);
        assert_int_equal(cv_listing_status_parse(rows[i].name, &out), CV_OK);
        assert_int_equal(out, rows[i].s);
    }
    static const char *const bad[] = {"expired", "cancelled", "", "act"};
    int fails = 0;
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        enum cv_listing_status out = CV_LS_ACTIVE;
        int rc = cv_listing_status_parse(bad[i], &out);
        EXPECT(fails, rc == CV_ERR_INVALID, "listing_status_parse(\"%s\") = %d, want %d\n", bad[i],
               rc, CV_ERR_INVALID);
    }
    assert_int_equal(fails, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_find_ab_table, setup_bodies, teardown_bodies),
        cmocka_unit_test_setup_teardown(test_ab_fields_kept, setup_bodies, teardown_bodies),
        cmocka_unit_test_setup_teardown(test_ab_replaced, setup_bodies, teardown_bodies),
        cmocka_unit_test_setup_teardown(test_ab_replaced_old_names_gone, setup_bodies,
                                        teardown_bodies),
        cmocka_unit_test_setup_teardown(test_find_cb_table, setup_bodies, teardown_bodies),
        cmocka_unit_test_setup_teardown(test_cb_fields_kept, setup_bodies, teardown_bodies),
        cmocka_unit_test_setup_teardown(test_cb_replaced, setup_bodies, teardown_bodies),
        cmocka_unit_test_setup_teardown(test_cb_replaced_old_names_gone, setup_bodies,
                                        teardown_bodies),
        cmocka_unit_test(test_many_bodies),
        cmocka_unit_test(test_cleanup_unowned),
        cmocka_unit_test(test_arrangement_names),
        cmocka_unit_test(test_listing_status_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for src/formats/profiles_json.c: the shipped config/profiles.json loads with the ten
 * profiles of SPEC 5, and malformed profiles are refused with a message naming profile and field.
 */
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
#include "certvet/profiles.h"
#include "certvet/refdata.h"

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

/* SPEC 5's list: name, then the required and the recommended families in profile order. */
struct shipped {
    const char *name;
    const char *required;    /* comma-separated canonical families */
    const char *recommended; /* idem */
    int max_report_age_days;
};

static const struct shipped shipped[] = {
    {"general", "", "ISO 9001", 0},
    {"government", "ISO 9001,ISO 14001,ISO 45001", "", 0},
    {"medical-devices-eu", "ISO 13485", "ISO 9001", 0},
    {"cosmetics", "ISO 22716", "", 0},
    {"toys-au-nz", "ISO 8124", "", 365},
    {"food", "ISO 22000", "ISO 9001", 0},
    {"food-contact-lubricants", "ISO 21469", "", 0},
    {"logistics-security", "ISO 28000", "ISO 9001,ISO/IEC 27001", 0},
    {"information-security", "ISO/IEC 27001", "", 0},
    {"energy", "ISO 50001", "ISO 14001", 0},
};

static void join(const struct cv_profile *p, enum cv_req_level l, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t i = 0; i < p->n_reqs; i++) {
        if (p->reqs[i].level != l)
            continue;
        if (*out)
            strncat(out, ",", cap - strlen(out) - 1);
        strncat(out, cv_catalog_family(&catalog, p->reqs[i].family), cap - strlen(out) - 1);
    }
}

static void test_shipped(void **state)
{
    (void)state;
    struct cv_profiles p;
    char err[512], got[256];
    int fails = 0;
    cv_profiles_init(&p);
    int rc = cv_profiles_load_json(&p, CERTVET_SOURCE_DIR "/config/profiles.json", &catalog, err,
                                   sizeof(err));
    if (rc)
        fail_msg("%s", err);
    for (size_t i = 0; i < N_ELEMS(shipped); i++) {
        const struct cv_profile *prof = cv_profiles_find(&p, shipped[i].name);
        EXPECT(fails, prof != NULL, "profile %s missing\n", shipped[i].name);
        if (!prof)
            continue;
        join(prof, CV_REQ_REQUIRED, got, sizeof(got));
        EXPECT(fails, strcmp(got, shipped[i].required) == 0, "%s required: '%s'\n", shipped[i].name,
               got);
        join(prof, CV_REQ_RECOMMENDED, got, sizeof(got));
        EXPECT(fails, strcmp(got, shipped[i].recommended) == 0, "%s recommended: '%s'\n",
               shipped[i].name, got);
        EXPECT(fails, prof->approve_at == 80, "%s approve_at %d\n", shipped[i].name,
               prof->approve_at);
        EXPECT(fails, prof->max_report_age_days == shipped[i].max_report_age_days,
               "%s max_report_age_days %d\n", shipped[i].name, prof->max_report_age_days);
        for (size_t k = 0; k < prof->n_reqs; k++)
            EXPECT(fails, prof->reqs[k].weight == (prof->reqs[k].level == CV_REQ_REQUIRED ? 10 : 5),
                   "%s: requirement %zu weight %d\n", shipped[i].name, k, prof->reqs[k].weight);
    }
    cv_profiles_cleanup(&p);
    assert_int_equal(fails, 0);
}

static void test_defaults(void **state)
{
    (void)state;
    const char *doc = "[{\"name\": \"x\", \"_doc\": \"a comment\", \"requirements\": [{\"family\": "
                      "\"ISO/IEC 27001\", "
                      "\"level\": \"required\"}, {\"family\": \"iso 9001\", \"level\": "
                      "\"recommended\"}]}, {\"name\": \"empty\", \"requirements\": []}]";
    struct cv_profiles p;
    char err[256];
    cv_profiles_init(&p);
    assert_int_equal(
        cv_profiles_load_json_mem(&p, doc, strlen(doc), "t", &catalog, err, sizeof(err)), CV_OK);
    const struct cv_profile *x = cv_profiles_find(&p, "x");
    assert_non_null(x);
    assert_int_equal(x->approve_at, 80);
    assert_int_equal(x->max_report_age_days, 0);
    assert_int_equal(x->reqs[0].weight, 10);
    assert_int_equal(x->reqs[1].weight, 5);
    assert_int_equal(cv_profiles_find(&p, "empty")->n_reqs, 0);
    cv_profiles_cleanup(&p);
}

struct bad_case {
    const char *doc;
    const char *message; /* expected error text */
};

#define OK_P(name) "{\"name\": \"" name "\", \"requirements\": []}"

static const struct bad_case bad[] = {
    {"{\"profiles\": [" OK_P("a") ", " OK_P("b") ", " OK_P(
         "c") ", {\"name\": \"food\", "
              "\"requirements\": [{\"family\": \"ISO 22000\", \"level\": \"required\"}, "
              "{\"family\": "
              "\"ISO 9001\", \"level\": \"mandatory\"}]}]}",
     "profiles[3] (food).requirements[1].level: 'mandatory' is not required or recommended"},
    {"[{\"name\": \"x\", \"requirements\": [{\"family\": \"ISO 99999\", \"level\": "
     "\"required\"}]}]",
     "profiles[0] (x).requirements[0].family: 'ISO 99999' is not a standard family of the "
     "catalog"},
    {"[{\"name\": \"x\", \"requirements\": [{\"level\": \"required\"}]}]",
     "profiles[0] (x).requirements[0].family: required string is missing"},
    {"[{\"name\": \"x\", \"requirements\": [{\"family\": \"ISO 9001\", \"level\": \"required\", "
     "\"weight\": 0}]}]",
     "profiles[0] (x).requirements[0].weight: must be an integer from 1 to 1000"},
    {"[{\"name\": \"x\", \"approve_at\": 101, \"requirements\": []}]",
     "profiles[0] (x).approve_at: must be an integer from 0 to 100"},
    {"[{\"name\": \"x\", \"max_report_age_days\": -1, \"requirements\": []}]",
     "profiles[0] (x).max_report_age_days: must be an integer from 0 to 100000"},
    {"[{\"name\": \"x\"}]", "profiles[0] (x).requirements: required array is missing"},
    {"[{\"requirements\": []}]", "profiles[0].name: required string is missing"},
    {"[" OK_P("x") ", " OK_P("x") "]",
     "profiles[1] (x).name: a profile of that name comes earlier"},
    {"[{\"name\": \"x\", \"requirements\": [{\"family\": \"ISO 9001\", \"level\": \"required\"}, "
     "{\"family\": \"ISO9001\", \"level\": \"recommended\"}]}]",
     "profiles[0] (x).requirements[1].family: 'ISO9001' is already listed by requirements[0]"},
    {"{\"other\": 1}", "t: no \"profiles\" array"},
    /* a misspelt key would silently keep a default: refused */
    {"[{\"name\": \"x\", \"aprove_at\": 90, \"requirements\": []}]",
     "profiles[0] (x).aprove_at: unknown key"},
    {"[{\"name\": \"x\", \"requirements\": [{\"family\": \"ISO 9001\", \"level\": "
     "\"required\", \"wieght\": 3}]}]",
     "profiles[0] (x).requirements[0].wieght: unknown key"},
};

static void test_refused(void **state)
{
    (void)state;
    int fails = 0;
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        struct cv_profiles p;
        char err[512] = "";
        cv_profiles_init(&p);
        int rc = cv_profiles_load_json_mem(&p, bad[i].doc, strlen(bad[i].doc), "t", &catalog, err,
                                           sizeof(err));
        EXPECT(fails, rc == CV_ERR_INVALID, "case %zu: rc %d\n", i, rc);
        EXPECT(fails, strcmp(err, bad[i].message) == 0, "case %zu: '%s'\n", i, err);
        EXPECT(fails, p.count == 0, "case %zu: %zu profiles kept\n", i, p.count);
        cv_profiles_cleanup(&p);
    }
    assert_int_equal(fails, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

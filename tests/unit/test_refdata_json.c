/* Unit tests of src/formats/refdata_json.c: catalog, listings and suppliers from JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "certvet/error.h"
#include "certvet/refdata.h"

#define CONFIG CERTVET_SOURCE_DIR "/config"

/* A listing that is refused must name where, and merge nothing. */
static const struct {
    const char *json;
    int rc;
    const char *in_message; /* substring the error must contain */
} bad_listings[] = {
    {"{\"certification_bodies\": [{\"id\": \"a\"}]}", CV_ERR_INVALID,
     "certification_bodies[0].name: required"},
    {"{\"certification_bodies\": [{\"id\": \"a\", \"name\": \"A\", \"accreditations\": "
     "[{\"accreditation_body\": \"UKAS\", \"standards\": [\"ISO 9001\"], \"valid_from\": "
     "\"2025-02-30\"}]}]}",
     CV_ERR_INVALID, "certification_bodies[0].accreditations[0].valid_from"},
    {"{\"certification_bodies\": [{\"id\": \"a\", \"name\": \"A\", \"accreditations\": "
     "[{\"accreditation_body\": \"UKAS\", \"standards\": []}]}]}",
     CV_ERR_INVALID, "standards: at least one"},
    {"{\"certification_bodies\": [{\"id\": \"a\", \"name\": \"A\", \"accreditations\": "
     "[{\"accreditation_body\": \"UKAS\", \"standards\": [\"ISO 9001\"], \"status\": "
     "\"revoked\"}]}]}",
     CV_ERR_INVALID, "status: 'revoked'"},
    {"{\"accreditation_bodies\": [{\"acronym\": \"XAB\", \"name\": \"X\", \"recognitions\": "
     "[{\"arrangement\": \"IAC MLA\", \"main_scope\": \"ISO/IEC 17021-1\"}]}]}",
     CV_ERR_INVALID, "accreditation_bodies[0].recognitions[0].arrangement"},
    {"{\"accreditation_bodies\": [{\"acronym\": \"XAB\", \"name\": \"X\", \"recognitions\": "
     "[{\"arrangement\": \"IAF MLA\", \"main_scope\": \"ISO/IEC 17021-1\", \"subscopes\": "
     "[\"QMS\", \"XMS\"]}]}]}",
     CV_ERR_INVALID, "subscopes[1]"},
    {"{\"accreditation_bodies\": [{\"acronym\": 7, \"name\": \"X\"}]}", CV_ERR_INVALID,
     "acronym: must be a string"},
    {"{\"suppliers\": []}", CV_ERR_INVALID, "a listing needs"},
    {"[1, 2]", CV_ERR_INVALID, "a listing needs"},
    {"{\"certification_bodies\": [", CV_ERR_PARSE, "test:"},
    {"{\"certification_bodies\": [], \"certification_bodies\": []}", CV_ERR_PARSE, "duplicate"},
};

static void refused_listings_merge_nothing(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_listings) / sizeof(bad_listings[0]); i++) {
        struct cv_bodies b;
        char err[512] = "";
        cv_bodies_init(&b);
        /* A good CB first in the same document: it must not be merged either. */
        int rc = cv_listing_load_json_mem(&b, bad_listings[i].json, strlen(bad_listings[i].json),
                                          "test", err, sizeof(err));
        if (rc != bad_listings[i].rc || !strstr(err, bad_listings[i].in_message))
            fail_msg("case %zu: rc %d, error '%s'", i, rc, err);
        assert_int_equal(b.n_cbs, 0);
        assert_int_equal(b.n_abs, 0);
        cv_bodies_cleanup(&b);
    }
}

static void partial_document_is_all_or_nothing(void **state)
{
    (void)state;
    const char *doc = "{\"certification_bodies\": ["
                      "{\"id\": \"good\", \"name\": \"Good Cert Ltd\"},"
                      "{\"id\": \"bad\"}]}";
    struct cv_bodies b;
    char err[512];
    cv_bodies_init(&b);
    assert_int_equal(cv_listing_load_json_mem(&b, doc, strlen(doc), "doc", err, sizeof(err)),
                     CV_ERR_INVALID);
    assert_null(cv_bodies_find_cb(&b, "good", NULL));
    assert_non_null(strstr(err, "certification_bodies[1].name"));
    cv_bodies_cleanup(&b);
}

static void listing_merges_and_replaces(void **state)
{
    (void)state;
    const char *first =
        "{\"certification_bodies\": [{\"id\": \"ex\", \"name\": \"Example Certification Ltd\", "
        "\"aliases\": [\"ExCert\"], \"accreditations\": [{\"accreditation_body\": \"UKAS\", "
        "\"number\": \"0001\", \"standards\": [\"ISO 9001\", \"ISO/IEC 27001\"], \"status\": "
        "\"active\", \"valid_from\": \"2010-01-01\"}]}],"
        " \"accreditation_bodies\": [{\"acronym\": \"XAB\", \"name\": \"Example Accreditation "
        "Body\", \"recognitions\": [{\"arrangement\": \"Global ACI MRA\", \"main_scope\": "
        "\"ISO/IEC 17021-1\", \"subscopes\": [\"QMS\", \"EnMS\"], \"since\": \"2026-01-01\"}]}]}";
    const char *second =
        "{\"certification_bodies\": [{\"id\": \"ex\", \"name\": \"Example Certification Ltd\", "
        "\"accreditations\": [{\"accreditation_body\": \"UKAS\", \"standards\": [\"ISO 9001\"], "
        "\"status\": \"suspended\", \"status_date\": \"20260301\"}]}]}";
    struct cv_bodies b;
    char err[512];
    cv_bodies_init(&b);
    assert_int_equal(cv_listing_load_json_mem(&b, first, strlen(first), "1", err, sizeof(err)),
                     CV_OK);
    const struct cv_cb *cb = cv_bodies_find_cb(&b, NULL, "EXAMPLE CERTIFICATION LIMITED");
    assert_non_null(cb);
    assert_ptr_equal(cv_bodies_find_cb(&b, NULL, "excert"), cb);
    assert_int_equal(cb->n_accreditations, 1);
    assert_int_equal(cb->accreditations[0].n_standards, 2);
    assert_int_equal(cb->accreditations[0].valid_from, cv_date_from_ymd(2010, 1, 1));
    assert_int_equal(cb->accreditations[0].status_date, CV_DATE_NONE);
    const struct cv_ab *ab = cv_bodies_find_ab(&b, "xab");
    assert_non_null(ab);
    assert_int_equal(ab->n_recognitions, 1);
    assert_int_equal(ab->recognitions[0].arrangement, CV_ARR_GLOBAL_ACI);
    assert_int_equal(ab->recognitions[0].subscopes, CV_SUB_QMS | CV_SUB_ENMS);
    assert_int_equal(ab->recognitions[0].since, cv_date_from_ymd(2026, 1, 1));

    assert_int_equal(cv_listing_load_json_mem(&b, second, strlen(second), "2", err, sizeof(err)),
                     CV_OK);
    assert_int_equal(b.n_cbs, 1);
    cb = cv_bodies_find_cb(&b, "ex", NULL);
    assert_int_equal(cb->accreditations[0].status, CV_LS_SUSPENDED);
    assert_int_equal(cb->accreditations[0].status_date, cv_date_from_ymd(2026, 3, 1));
    assert_int_equal(cb->n_aliases, 0);
    assert_non_null(cv_bodies_find_ab(&b, "XAB")); /* ABs of the first document stay */
    cv_bodies_cleanup(&b);
}

static void shipped_reference_data_loads(void **state)
{
    (void)state;
    struct cv_catalog c;
    struct cv_bodies b;
    char err[512] = "";
    cv_catalog_init(&c);
    cv_bodies_init(&b);
    if (cv_catalog_load_json(&c, CONFIG "/standards.json", err, sizeof(err)))
        fail_msg("standards.json: %s", err);
    if (cv_listing_load_json(&b, CONFIG "/accreditation-bodies.json", err, sizeof(err)))
        fail_msg("accreditation-bodies.json: %s", err);
    /* SPEC 3.2: the families the seed documents name, each with a current edition. */
    static const char *const families[] = {"ISO 9001",      "ISO 14001", "ISO 45001", "OHSAS 18001",
                                           "ISO/IEC 27001", "ISO 22000", "ISO 13485", "ISO 50001",
                                           "ISO 28000",     "ISO 22301", "ISO 22716", "ISO 21469",
                                           "ISO 8124"};
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
        if (!cv_catalog_family(&c, families[i]))
            fail_msg("family %s missing from standards.json", families[i]);
    /* SPEC 3.2 and domain-facts 5: at least the 26 confirmed signatories. */
    assert_true(b.n_abs >= 26);
    static const char *const abs[] = {
        "UKAS",  "ANAB",   "CNAS", "DAkkS", "COFRAC", "ACCREDIA", "ENAC",  "JAS-ANZ", "JAB",
        "NABCB", "SAC",    "HKAS", "TAF",   "BoA",    "SCC",      "SANAS", "RvA",     "BELAC",
        "SAS",   "TURKAK", "EGAC", "KAB",   "DANAK",  "SWEDAC",   "FINAS"};
    for (size_t i = 0; i < sizeof(abs) / sizeof(abs[0]); i++)
        if (!cv_bodies_find_ab(&b, abs[i]))
            fail_msg("accreditation body %s missing", abs[i]);
    /* Look-alike forums must never be on the allow-list (domain-facts 5, 7). */
    static const char *const lookalikes[] = {"UAF", "United Accreditation Foundation",     "GAB",
                                             "IAC", "International Accreditation Council", "IAS"};
    for (size_t i = 0; i < sizeof(lookalikes) / sizeof(lookalikes[0]); i++)
        if (cv_bodies_find_ab(&b, lookalikes[i]))
            fail_msg("%s must not be listed as an accreditation body", lookalikes[i]);
    cv_bodies_cleanup(&b);
    cv_catalog_cleanup(&c);
}

static void broken_catalog_is_refused(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *in_message;
    } cases[] = {
        {"{\"standards\": [{\"id\": \"ISO 1:2000\", \"family\": \"ISO 1\", \"route\": \"ISO/IEC "
         "17021-1\", \"status\": \"old\"}]}",
         "standards[0].status"},
        {"{\"standards\": [{\"id\": \"ISO 1:2000\", \"family\": \"ISO 1\", \"route\": \"ISO "
         "17099\", \"status\": \"current\"}]}",
         "standards[0].route"},
        {"{\"standards\": [{\"family\": \"ISO 1\", \"route\": \"ISO/IEC 17021-1\", \"status\": "
         "\"current\"}]}",
         "standards[0].id: required"},
        {"{\"standards\": [{\"id\": \"ISO 1:2000\", \"family\": \"ISO 1\", \"route\": \"ISO/IEC "
         "17021-1\", \"status\": \"withdrawn\", \"valid_until\": \"15/09/2018\"}]}",
         "standards[0].valid_until"},
        {"{\"standards\": {}}", "'standards' must be an array"},
    };
    char path[] = "/tmp/certvet-catalog-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        FILE *f = fopen(path, "w");
        fputs(cases[i].json, f);
        fclose(f);
        struct cv_catalog c;
        char err[512] = "";
        cv_catalog_init(&c);
        int rc = cv_catalog_load_json(&c, path, err, sizeof(err));
        if (rc == CV_OK || !strstr(err, cases[i].in_message))
            fail_msg("case %zu: rc %d, error '%s'", i, rc, err);
        assert_int_equal(c.count, 0);
        cv_catalog_cleanup(&c);
    }
    unlink(path);
}

static void suppliers_load(void **state)
{
    (void)state;
    struct cv_suppliers s;
    char err[512] = "";
    cv_suppliers_init(&s);
    int rc = cv_suppliers_load_json(&s, CERTVET_SOURCE_DIR "/fixtures/sample/suppliers.json", err,
                                    sizeof(err));
    if (rc)
        fail_msg("%s", err);
    assert_true(s.count > 0);
    const struct cv_supplier *first = &s.items[0];
    assert_ptr_equal(cv_suppliers_find(&s, first->id), first);
    assert_null(cv_suppliers_find(&s, "no-such-supplier"));
    assert_null(cv_suppliers_find(&s, NULL));
    cv_suppliers_cleanup(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refused_listings_merge_nothing),
        cmocka_unit_test(partial_document_is_all_or_nothing),
        cmocka_unit_test(listing_merges_and_replaces),
        cmocka_unit_test(shipped_reference_data_loads),
        cmocka_unit_test(broken_catalog_is_refused),
        cmocka_unit_test(suppliers_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

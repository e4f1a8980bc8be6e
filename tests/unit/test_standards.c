/* Unit tests for src/core/standards.c: the catalog, its alias look-ups, family and series
 * coverage (SPEC 3.2), and the route and sub-scope names; plus facts of the shipped
 * config/standards.json (domain-facts.md section 3) loaded through src/formats/refdata_json.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "test_util.h"

#include "certvet/error.h"
#include "certvet/refdata.h"
#include "certvet/standards.h"

#ifndef CERTVET_SOURCE_DIR
#error "CERTVET_SOURCE_DIR must name the repository root"
#endif

/* ---- a small catalog, built by hand --------------------------------------------------------- */

struct std_row {
    const char *id, *family, *superseded_by;
    enum cv_route route;
    unsigned subscope;
    bool withdrawn;
    const char *valid_until; /* NULL: none */
    int cycle_years;
    const char *alias; /* one explicit alias, or NULL */
};

static const struct std_row std_rows[] = {
    {"ISO 9001:2015", "ISO 9001", NULL, CV_ROUTE_17021_1, CV_SUB_QMS, false, NULL, 3, NULL},
    {"ISO 9001:2008", "ISO 9001", "ISO 9001:2015", CV_ROUTE_17021_1, CV_SUB_QMS, true, "2018-09-15",
     3, NULL},
    {"ISO/IEC 27001:2022", "ISO/IEC 27001", NULL, CV_ROUTE_17021_1, CV_SUB_ISMS, false, NULL, 3,
     NULL},
    {"ISO/IEC 27001:2013", "ISO/IEC 27001", "ISO/IEC 27001:2022", CV_ROUTE_17021_1, CV_SUB_ISMS,
     true, "2025-10-31", 3, NULL},
    {"ISO 8124-1:2018", "ISO 8124-1", NULL, CV_ROUTE_17025, CV_SUB_NONE, false, NULL, 0, NULL},
    {"ISO 8124-3:2020", "ISO 8124-3", NULL, CV_ROUTE_17025, CV_SUB_NONE, false, NULL, 0, NULL},
    {"ISO 13485:2016", "ISO 13485", NULL, CV_ROUTE_17021_1, CV_SUB_MDMS, false, NULL, 3, NULL},
    {"ISO 45001:2018", "ISO 45001", NULL, CV_ROUTE_17021_1, CV_SUB_OHSMS, false, NULL, 3,
     "GB/T 45001-2020"},
    {"ISO 28000:2022", "ISO 28000", NULL, CV_ROUTE_17021_1, CV_SUB_NONE, false, NULL, 3, NULL},
};

/* Two optional strings are equal (both NULL, or the same text). */
static bool same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static cv_date day(const char *s)
{
    cv_date d = CV_DATE_NONE;
    if (s)
        assert_int_equal(cv_date_parse(s, strlen(s), &d), CV_OK);
    return d;
}

static void build_catalog(struct cv_catalog *c)
{
    cv_catalog_init(c);
    for (size_t i = 0; i < N_ELEMS(std_rows); i++) {
        const struct std_row *r = &std_rows[i];
        struct cv_standard s = {0};
        size_t index = 999;
        s.id = (char *)r->id;
        s.family = (char *)r->family;
        s.superseded_by = (char *)r->superseded_by;
        s.route = r->route;
        s.subscope = r->subscope;
        s.withdrawn = r->withdrawn;
        s.valid_until = day(r->valid_until);
        s.cycle_years = r->cycle_years;
        assert_int_equal(cv_catalog_add(c, &s, &index), CV_OK);
        assert_int_equal(index, i);
        if (r->alias)
            assert_int_equal(cv_catalog_add_alias(c, index, r->alias), CV_OK);
    }
    assert_int_equal(c->count, N_ELEMS(std_rows));
}

static int setup_catalog(void **state)
{
    static struct cv_catalog c;
    build_catalog(&c);
    *state = &c;
    return 0;
}

static int teardown_catalog(void **state)
{
    cv_catalog_cleanup(*state);
    return 0;
}

/* ---- cv_catalog_add ------------------------------------------------------------------------- */

static void test_add_copies_strings(void **state)
{
    (void)state;
    struct cv_catalog c;
    char id[] = "ISO 9001:2015", family[] = "ISO 9001", title[] = "Quality management systems";
    struct cv_standard s = {0};
    size_t index = 999;
    cv_catalog_init(&c);
    s.id = id;
    s.family = family;
    s.title = title;
    s.route = CV_ROUTE_17021_1;
    s.subscope = CV_SUB_QMS;
    s.valid_until = CV_DATE_NONE;
    s.cycle_years = 3;
    assert_int_equal(cv_catalog_add(&c, &s, &index), CV_OK);
    assert_int_equal(index, 0);
    memset(id, 'X', sizeof id - 1); /* the catalog must hold its own copies */
    memset(family, 'X', sizeof family - 1);
    memset(title, 'X', sizeof title - 1);
    const struct cv_standard *got = cv_catalog_find(&c, "ISO 9001:2015");
    assert_non_null(got);
    assert_string_equal(got->id, "ISO 9001:2015");
    assert_string_equal(got->family, "ISO 9001");
    assert_string_equal(got->title, "Quality management systems");
    assert_null(got->superseded_by);
    assert_int_equal(got->route, CV_ROUTE_17021_1);
    assert_int_equal(got->subscope, CV_SUB_QMS);
    assert_false(got->withdrawn);
    assert_int_equal(got->valid_until, CV_DATE_NONE);
    assert_int_equal(got->cycle_years, 3);
    cv_catalog_cleanup(&c);
}

static void test_add_refuses_missing_id_or_family(void **state)
{
    (void)state;
    struct cv_catalog c;
    struct cv_standard s = {0};
    cv_catalog_init(&c);
    s.family = "ISO 9001";
    s.valid_until = CV_DATE_NONE;
    assert_int_equal(cv_catalog_add(&c, &s, NULL), CV_ERR_INVALID);
    s.id = "ISO 9001:2015";
    s.family = NULL;
    assert_int_equal(cv_catalog_add(&c, &s, NULL), CV_ERR_INVALID);
    assert_int_equal(c.count, 0);
    assert_null(cv_catalog_find(&c, "ISO 9001:2015"));
    s.family = "ISO 9001";
    assert_int_equal(cv_catalog_add(&c, &s, NULL), CV_OK); /* index may be NULL */
    assert_int_equal(c.count, 1);
    cv_catalog_cleanup(&c);
}

/* Many editions: the index survives the array growing. */
static void test_add_many(void **state)
{
    (void)state;
    struct cv_catalog c;
    cv_catalog_init(&c);
    for (int i = 0; i < 500; i++) {
        char id[32], family[32];
        struct cv_standard s = {0};
        snprintf(id, sizeof id, "ISO %d:2020", 30000 + i);
        snprintf(family, sizeof family, "ISO %d", 30000 + i);
        s.id = id;
        s.family = family;
        s.valid_until = CV_DATE_NONE;
        assert_int_equal(cv_catalog_add(&c, &s, NULL), CV_OK);
    }
    for (int i = 0; i < 500; i++) {
        char printed[32], want[32];
        snprintf(printed, sizeof printed, "iso%d:2020", 30000 + i);
        snprintf(want, sizeof want, "ISO %d:2020", 30000 + i);
        const struct cv_standard *s = cv_catalog_find(&c, printed);
        assert_non_null(s);
        assert_string_equal(s->id, want);
    }
    cv_catalog_cleanup(&c);
}

/* ---- cv_catalog_find ------------------------------------------------------------------------ */

struct find_case {
    const char *printed;
    const char *id; /* NULL: unknown */
};

static const struct find_case find_cases[] = {
    {"ISO 9001:2015", "ISO 9001:2015"},
    {"ISO9001:2015", "ISO 9001:2015"},
    {"iso 9001:2015", "ISO 9001:2015"},
    {"Iso 9001:2015", "ISO 9001:2015"},
    {" ISO 9001:2015 ", "ISO 9001:2015"},
    {"EN ISO 9001:2015", "ISO 9001:2015"},
    {"BS EN ISO 9001:2015", "ISO 9001:2015"},
    {"ISO 9001:2008", "ISO 9001:2008"},
    {"ISO9001:2008", "ISO 9001:2008"},
    {"ISO/IEC 27001:2022", "ISO/IEC 27001:2022"},
    {"ISO 27001:2022", "ISO/IEC 27001:2022"},
    {"ISO/IEC27001:2022", "ISO/IEC 27001:2022"},
    {"iso/iec 27001:2013", "ISO/IEC 27001:2013"},
    {"ISO 27001:2013", "ISO/IEC 27001:2013"},
    {"EN ISO 13485:2016", "ISO 13485:2016"},
    {"ISO 8124-1:2018", "ISO 8124-1:2018"},
    {"ISO 8124-3:2020", "ISO 8124-3:2020"},
    /* a national adoption followed by the ISO edition: found through the ISO part, no alias */
    {"GB/T 19001-2016/ISO 9001:2015", "ISO 9001:2015"},
    {"GB/T 45001-2020/ISO 45001:2018", "ISO 45001:2018"},
    /* explicit alias */
    {"GB/T 45001-2020", "ISO 45001:2018"},
    {"gb/t 45001-2020", "ISO 45001:2018"},
    /* unknown editions */
    {"ISO 9001", NULL}, /* a family without its year is not an edition */
    {"ISO/IEC 27001", NULL},
    {"ISO 9001:2016", NULL},
    {"ISO 9001:2000", NULL},
    {"ISO 99999:2015", NULL},
    {"ISO 90011:2015", NULL},
    {"ISO 900:2015", NULL},
    {"ISO 8124:2018", NULL}, /* a series is not an edition */
    {"ISO 8124-2:2018", NULL},
    {"ISO 14001:2015", NULL},
    {"GB/T 19001-2016", NULL}, /* no alias for it in this catalog (see test_alias_added) */
    {"GB/T 24001-2016/ISO 14001:2015", NULL},
    {"", NULL},
    {"   ", NULL},
    {"2015", NULL},
};

static void test_find_table(void **state)
{
    const struct cv_catalog *c = *state;
    int fails = 0;
    for (size_t i = 0; i < N_ELEMS(find_cases); i++) {
        const struct find_case *t = &find_cases[i];
        const struct cv_standard *s = cv_catalog_find(c, t->printed);
        const char *got = s ? s->id : NULL;
        EXPECT(fails, same(got, t->id), "find(\"%s\") = %s, want %s\n", t->printed,
               got ? got : "NULL", t->id ? t->id : "NULL");
    }
    assert_int_equal(fails, 0);
}

/* The edition found carries the fields it was added with. */
static void test_find_returns_fields(void **state)
{
    const struct cv_catalog *c = *state;
    const struct cv_standard *s = cv_catalog_find(c, "ISO9001:2008");
    assert_non_null(s);
    assert_string_equal(s->family, "ISO 9001");
    assert_true(s->withdrawn);
    assert_int_equal(s->valid_until, cv_date_from_ymd(2018, 9, 15));
    assert_string_equal(s->superseded_by, "ISO 9001:2015");
    assert_int_equal(s->subscope, CV_SUB_QMS);
    s = cv_catalog_find(c, "ISO 8124-1:2018");
    assert_non_null(s);
    assert_int_equal(s->route, CV_ROUTE_17025);
    assert_int_equal(s->subscope, CV_SUB_NONE);
    assert_false(s->withdrawn);
}

static void test_alias_added(void **state)
{
    (void)state;
    struct cv_catalog c;
    build_catalog(&c);
    assert_null(cv_catalog_find(&c, "GB/T 19001-2016"));
    assert_int_equal(cv_catalog_add_alias(&c, 0, "GB/T 19001-2016"), CV_OK);
    const struct cv_standard *s = cv_catalog_find(&c, "GB/T 19001-2016");
    assert_non_null(s);
    assert_string_equal(s->id, "ISO 9001:2015");
    s = cv_catalog_find(&c, "GB/T19001-2016");
    assert_non_null(s);
    assert_string_equal(s->id, "ISO 9001:2015");
    s = cv_catalog_find(&c, "GB/T 19001-2016/ISO 9001:2015");
    assert_non_null(s);
    assert_string_equal(s->id, "ISO 9001:2015");
    cv_catalog_cleanup(&c);
}

/* ---- cv_catalog_family ---------------------------------------------------------------------- */

static const struct find_case family_cases[] = {
    {"ISO/IEC 27001", "ISO/IEC 27001"},
    {"ISO 27001", "ISO/IEC 27001"},
    {"iso 27001", "ISO/IEC 27001"},
    {"ISO 27001:2022", "ISO/IEC 27001"},
    {"ISO/IEC 27001:2013", "ISO/IEC 27001"},
    {"ISO 9001", "ISO 9001"},
    {"ISO9001", "ISO 9001"},
    {"EN ISO 9001", "ISO 9001"},
    {"ISO 9001:2008", "ISO 9001"},
    {"ISO9001:2015", "ISO 9001"},
    {"ISO 8124-1", "ISO 8124-1"},
    {"ISO 8124-1:2018", "ISO 8124-1"},
    {"ISO 45001", "ISO 45001"},
    {"ISO 12345", NULL},
    {"ISO 900", NULL},
    {"ISO 90011", NULL},
    {"ISO 27002", NULL},
    {"", NULL},
};

static void test_family_table(void **state)
{
    const struct cv_catalog *c = *state;
    int fails = 0;
    for (size_t i = 0; i < N_ELEMS(family_cases); i++) {
        const struct find_case *t = &family_cases[i];
        const char *got = cv_catalog_family(c, t->printed);
        EXPECT(fails, same(got, t->id), "family(\"%s\") = %s, want %s\n", t->printed,
               got ? got : "NULL", t->id ? t->id : "NULL");
    }
    assert_int_equal(fails, 0);
}

/* ---- cv_standard_key ------------------------------------------------------------------------ */

static const struct find_case key_cases[] = {
    {"iso 9001:2015", "ISO9001:2015"},       {"ISO 9001:2015", "ISO9001:2015"},
    {"ISO/IEC 27001:2022", "ISO27001:2022"}, {"ISO/IEC 27001", "ISO27001"},
    {"EN ISO 13485:2016", "ISO13485:2016"},  {"ISO 8124-1:2018", "ISO8124-1:2018"},
};

static void test_standard_key(void **state)
{
    (void)state;
    int fails = 0;
    for (size_t i = 0; i < N_ELEMS(key_cases); i++) {
        char out[64];
        cv_standard_key(key_cases[i].printed, out, sizeof out);
        EXPECT(fails, strcmp(out, key_cases[i].id) == 0,
               "standard_key(\"%s\") = \"%s\", want \"%s\"\n", key_cases[i].printed, out,
               key_cases[i].id);
    }
    /* two spellings of one edition share a key */
    char a[64], b[64];
    cv_standard_key("BS EN ISO 9001:2015", a, sizeof a);
    cv_standard_key("ISO9001:2015", b, sizeof b);
    EXPECT(fails, strcmp(a, b) == 0, "standard_key: \"%s\" != \"%s\"\n", a, b);
    /* a small buffer is filled and terminated, never overrun */
    char small[8];
    memset(small, 'x', sizeof small);
    cv_standard_key("ISO/IEC 27001:2022", small, 5);
    assert_true(strlen(small) <= 4);
    assert_int_equal(small[5], 'x');
    assert_int_equal(fails, 0);
}

/* ---- cv_standard_covered_by ----------------------------------------------------------------- */

struct cover_case {
    const char *id, *family; /* the edition */
    const char *scope_entry; /* a CB accreditation's 'standards' entry */
    bool covered;
};

static const struct cover_case cover_cases[] = {
    {"ISO/IEC 27001:2022", "ISO/IEC 27001", "ISO/IEC 27001", true},
    {"ISO/IEC 27001:2022", "ISO/IEC 27001", "ISO 27001", true},
    {"ISO/IEC 27001:2022", "ISO/IEC 27001", "iso/iec 27001", true},
    {"ISO/IEC 27001:2022", "ISO/IEC 27001", "ISO27001", true},
    {"ISO/IEC 27001:2022", "ISO/IEC 27001", "ISO 27002", false},
    {"ISO/IEC 27001:2022", "ISO/IEC 27001", "ISO 2700", false},
    {"ISO/IEC 27001:2022", "ISO/IEC 27001", "ISO 9001", false},
    {"ISO 9001:2015", "ISO 9001", "ISO 9001", true},
    {"ISO 9001:2015", "ISO 9001", "EN ISO 9001", true},
    {"ISO 9001:2015", "ISO 9001", "iso 9001", true},
    {"ISO 9001:2015", "ISO 9001", "ISO 900", false},
    {"ISO 9001:2015", "ISO 9001", "ISO 14001", false},
    {"ISO 9001:2015", "ISO 9001", "", false},
    {"ISO 90011:2020", "ISO 90011", "ISO 9001", false},
    {"ISO 90011:2020", "ISO 90011", "ISO 90011", true},
    /* a series covers its parts; a part covers only itself */
    {"ISO 8124-1:2018", "ISO 8124-1", "ISO 8124", true},
    {"ISO 8124-1:2018", "ISO 8124-1", "ISO 8124-1", true},
    {"ISO 8124-1:2018", "ISO 8124-1", "ISO 8124-3", false},
    {"ISO 8124-1:2018", "ISO 8124-1", "ISO 812", false},
    {"ISO 8124-1:2018", "ISO 8124-1", "ISO 81245", false},
    {"ISO 8124-10:2021", "ISO 8124-10", "ISO 8124-1", false},
    {"ISO 8124-10:2021", "ISO 8124-10", "ISO 8124", true},
    {"ISO 8124-3:2020", "ISO 8124-3", "ISO 8124", true},
    /* the same, when the catalog files the parts under the series as their family */
    {"ISO 8124-1:2018", "ISO 8124", "ISO 8124", true},
    {"ISO 8124-1:2018", "ISO 8124", "ISO 8124-1", true},
    {"ISO 8124-1:2018", "ISO 8124", "ISO 8124-3", false},
};

static void test_covered_by_table(void **state)
{
    (void)state;
    int fails = 0;
    for (size_t i = 0; i < N_ELEMS(cover_cases); i++) {
        const struct cover_case *t = &cover_cases[i];
        struct cv_standard s = {0};
        s.id = (char *)t->id;
        s.family = (char *)t->family;
        s.valid_until = CV_DATE_NONE;
        bool got = cv_standard_covered_by(&s, t->scope_entry);
        EXPECT(fails, got == t->covered, "covered_by(%s [family %s], \"%s\") = %d, want %d\n",
               t->id, t->family, t->scope_entry, got, t->covered);
    }
    assert_int_equal(fails, 0);
}

/* ---- route and sub-scope names -------------------------------------------------------------- */

static void test_route_names(void **state)
{
    (void)state;
    static const struct {
        enum cv_route r;
        const char *name;
    } rows[] = {
        {CV_ROUTE_17021_1, "ISO/IEC 17021-1"},
        {CV_ROUTE_17065, "ISO/IEC 17065"},
        {CV_ROUTE_17025, "ISO/IEC 17025"},
        {CV_ROUTE_GUIDELINE, "guideline"},
    };
    for (size_t i = 0; i < N_ELEMS(rows); i++) {
        assert_string_equal(cv_route_name(rows[i].r), rows[i].name);
        assert_int_equal(cv_route_parse(rows[i].name), rows[i].r);
    }
    assert_null(cv_route_name(CV_ROUTE_NONE));
    assert_int_equal(cv_route_parse("ISO/IEC 17024"), CV_ROUTE_NONE);
    assert_int_equal(cv_route_parse("bogus"), CV_ROUTE_NONE);
    assert_int_equal(cv_route_parse(""), CV_ROUTE_NONE);
}

static void test_subscope_names(void **state)
{
    (void)state;
    static const struct {
        unsigned bit;
        const char *name;
    } rows[] = {
        {CV_SUB_QMS, "QMS"},   {CV_SUB_EMS, "EMS"},   {CV_SUB_OHSMS, "OHSMS"},
        {CV_SUB_ISMS, "ISMS"}, {CV_SUB_FSMS, "FSMS"}, {CV_SUB_ENMS, "EnMS"},
        {CV_SUB_MDMS, "MDMS"},
    };
    for (size_t i = 0; i < N_ELEMS(rows); i++) {
        assert_string_equal(cv_subscope_name(rows[i].bit), rows[i].name);
        assert_int_equal(cv_subscope_parse(rows[i].name), rows[i].bit);
    }
    assert_null(cv_subscope_name(CV_SUB_NONE));
    assert_int_equal(cv_subscope_parse("XYZ"), CV_SUB_NONE);
    assert_int_equal(cv_subscope_parse(""), CV_SUB_NONE);
}

/* ---- the shipped catalog -------------------------------------------------------------------- */

struct fact {
    const char *printed;
    const char *id;
    bool withdrawn;
    const char *valid_until; /* NULL: none expected (only checked for withdrawn rows) */
};

/* domain-facts.md section 3 (transition ends) and the national adoptions named in SPEC 3.2. */
static const struct fact facts[] = {
    {"ISO 9001:2008", "ISO 9001:2008", true, "2018-09-15"},
    {"ISO 14001:2004", "ISO 14001:2004", true, "2018-09-15"},
    {"OHSAS 18001:2007", "OHSAS 18001:2007", true, "2021-09-30"},
    {"ISO/IEC 27001:2013", "ISO/IEC 27001:2013", true, "2025-10-31"},
    {"ISO 27001:2013", "ISO/IEC 27001:2013", true, "2025-10-31"},
    {"ISO 22000:2005", "ISO 22000:2005", true, "2021-12-31"},
    {"ISO 22301:2012", "ISO 22301:2012", true, "2023-04-30"},
    {"ISO 9001:2015", "ISO 9001:2015", false, NULL},
    {"GB/T 19001-2016", "ISO 9001:2015", false, NULL},
    {"GB/T 19001-2016/ISO 9001:2015", "ISO 9001:2015", false, NULL},
    {"GB/T 45001-2020", "ISO 45001:2018", false, NULL},
    {"EN ISO 13485:2016", "ISO 13485:2016", false, NULL},
    {"ISO 14001:2015", "ISO 14001:2015", false, NULL},
    {"ISO 45001:2018", "ISO 45001:2018", false, NULL},
    {"ISO/IEC 27001:2022", "ISO/IEC 27001:2022", false, NULL},
    {"ISO 22000:2018", "ISO 22000:2018", false, NULL},
    {"ISO 50001:2018", "ISO 50001:2018", false, NULL},
    {"ISO 28000:2022", "ISO 28000:2022", false, NULL},
    {"ISO 22301:2019", "ISO 22301:2019", false, NULL},
    {"ISO 22716:2007", "ISO 22716:2007", false, NULL},
    {"ISO 21469:2006", "ISO 21469:2006", false, NULL},
};

/* Route and IAF MLA sub-scope per domain-facts.md sections 4 and 5. */
static const struct {
    const char *id;
    enum cv_route route;
    unsigned subscope;
} routes[] = {
    {"ISO 9001:2015", CV_ROUTE_17021_1, CV_SUB_QMS},
    {"ISO 14001:2015", CV_ROUTE_17021_1, CV_SUB_EMS},
    {"ISO 45001:2018", CV_ROUTE_17021_1, CV_SUB_OHSMS},
    {"ISO/IEC 27001:2022", CV_ROUTE_17021_1, CV_SUB_ISMS},
    {"ISO 22000:2018", CV_ROUTE_17021_1, CV_SUB_FSMS},
    {"ISO 13485:2016", CV_ROUTE_17021_1, CV_SUB_MDMS},
    {"ISO 50001:2018", CV_ROUTE_17021_1, CV_SUB_ENMS},
    {"ISO 28000:2022", CV_ROUTE_17021_1, CV_SUB_NONE}, /* not an MLA sub-scope */
    {"ISO 22301:2019", CV_ROUTE_17021_1, CV_SUB_NONE},
    {"ISO 21469:2006", CV_ROUTE_17065, CV_SUB_NONE},
    {"ISO 8124-1:2018", CV_ROUTE_17025, CV_SUB_NONE},
    {"ISO 22716:2007", CV_ROUTE_GUIDELINE, CV_SUB_NONE},
};

static void test_shipped_catalog(void **state)
{
    (void)state;
    struct cv_catalog c;
    char err[256] = "";
    cv_catalog_init(&c);
    int rc = cv_catalog_load_json(&c, CERTVET_SOURCE_DIR "/config/standards.json", err, sizeof err);
    if (rc)
        print_error("loading config/standards.json: %s\n", err);
    assert_int_equal(rc, CV_OK);
    for (size_t i = 0; i < N_ELEMS(facts); i++) {
        const struct fact *f = &facts[i];
        const struct cv_standard *s = cv_catalog_find(&c, f->printed);
        if (!s || strcmp(s->id, f->id) != 0)
            print_error("find(\"%s\") = %s, want %s\n", f->printed, s ? s->id : "NULL", f->id);
        assert_non_null(s);
        assert_string_equal(s->id, f->id);
        assert_true(s->withdrawn == f->withdrawn);
        if (f->withdrawn) {
            char buf[CV_DATE_STRLEN];
            cv_date_format(s->valid_until, buf);
            if (strcmp(buf, f->valid_until) != 0)
                print_error("%s valid_until %s, want %s\n", f->id, buf, f->valid_until);
            assert_string_equal(buf, f->valid_until);
        } else {
            assert_non_null(s->family);
        }
    }
    for (size_t i = 0; i < N_ELEMS(routes); i++) {
        const struct cv_standard *s = cv_catalog_find(&c, routes[i].id);
        if (!s)
            print_error("%s missing\n", routes[i].id);
        assert_non_null(s);
        if (s->route != routes[i].route || s->subscope != routes[i].subscope)
            print_error("%s: route %d subscope %u, want %d %u\n", routes[i].id, s->route,
                        s->subscope, routes[i].route, routes[i].subscope);
        assert_int_equal(s->route, routes[i].route);
        assert_int_equal(s->subscope, routes[i].subscope);
    }
    /* management systems run 3-year cycles */
    const struct cv_standard *s = cv_catalog_find(&c, "ISO 9001:2015");
    assert_int_equal(s->cycle_years, 3);
    /* families in their two spellings */
    assert_string_equal(cv_catalog_family(&c, "ISO 27001"), "ISO/IEC 27001");
    assert_string_equal(cv_catalog_family(&c, "ISO/IEC 27001"), "ISO/IEC 27001");
    assert_string_equal(cv_catalog_family(&c, "OHSAS 18001"), "OHSAS 18001");
    cv_catalog_cleanup(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_copies_strings),
        cmocka_unit_test(test_add_refuses_missing_id_or_family),
        cmocka_unit_test(test_add_many),
        cmocka_unit_test_setup_teardown(test_find_table, setup_catalog, teardown_catalog),
        cmocka_unit_test_setup_teardown(test_find_returns_fields, setup_catalog, teardown_catalog),
        cmocka_unit_test(test_alias_added),
        cmocka_unit_test_setup_teardown(test_family_table, setup_catalog, teardown_catalog),
        cmocka_unit_test(test_standard_key),
        cmocka_unit_test(test_covered_by_table),
        cmocka_unit_test(test_route_names),
        cmocka_unit_test(test_subscope_names),
        cmocka_unit_test(test_shipped_catalog),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

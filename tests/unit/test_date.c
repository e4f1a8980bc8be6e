/* Unit tests for src/core/date.c: day numbers, calendar validity, parsing, formatting and month
 * arithmetic. Every expected value below was worked out by hand from the proleptic Gregorian
 * calendar (SPEC 3.1 for the accepted date shapes, SPEC 4 for "+ N months" clamping). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "test_util.h"

#include "certvet/date.h"
#include "certvet/error.h"

/* ---- day numbers ---------------------------------------------------------------------------- */

struct ymd_case {
    int y, m, d;
    cv_date days; /* days since 1970-01-01 */
};

static const struct ymd_case ymd_cases[] = {
    {1970, 1, 1, 0},      {1969, 12, 31, -1},      {1970, 1, 2, 1},      {1971, 1, 1, 365},
    {2000, 1, 1, 10957},  {2000, 2, 29, 11016}, /* 2000 is a leap year (divisible by 400) */
    {2000, 3, 1, 11017},  {1900, 2, 28, -25509},   {1900, 3, 1, -25508}, /* 1900 is not: 02-28 is
                                                                            followed by 03-01 */
    {2100, 2, 28, 47540}, {2100, 3, 1, 47541},                           /* nor 2100 */
    {2024, 2, 29, 19782}, {2025, 3, 1, 20148},     {2038, 1, 19, 24855}, {1600, 2, 29, -135081},
    {1, 1, 1, -719162},   {9999, 12, 31, 2932896},
};

static void test_from_to_ymd_table(void **state)
{
    (void)state;
    int fails = 0;
    for (size_t i = 0; i < N_ELEMS(ymd_cases); i++) {
        const struct ymd_case *t = &ymd_cases[i];
        int y = 0, m = 0, d = 0;
        cv_date got = cv_date_from_ymd(t->y, t->m, t->d);
        EXPECT(fails, got == t->days, "from_ymd(%04d-%02d-%02d) = %ld, want %ld\n", t->y, t->m,
               t->d, (long)got, (long)t->days);
        cv_date_to_ymd(t->days, &y, &m, &d);
        EXPECT(fails, y == t->y && m == t->m && d == t->d,
               "to_ymd(%ld) = %d-%d-%d, want %d-%d-%d\n", (long)t->days, y, m, d, t->y, t->m, t->d);
    }
    assert_int_equal(fails, 0);
}

static int days_in_month(int y, int m)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : mdays[m - 1];
}

/* Walks every day of 1899..2101 (both century rules, 1900 and 2000, and 2100) with an
 * independent calendar counter and checks both directions. */
static void test_round_trip_range(void **state)
{
    (void)state;
    int y = 1899, m = 1, d = 1;
    cv_date expect = cv_date_from_ymd(1899, 1, 1);
    assert_int_equal(expect, -25932); /* 1899-01-01: 71 years of which 17 leap before 1970 */
    while (y <= 2101) {
        int gy = 0, gm = 0, gd = 0;
        assert_int_equal(cv_date_from_ymd(y, m, d), expect);
        cv_date_to_ymd(expect, &gy, &gm, &gd);
        if (gy != y || gm != m || gd != d)
            print_error("to_ymd(%ld) = %d-%d-%d, want %d-%d-%d\n", (long)expect, gy, gm, gd, y, m,
                        d);
        assert_int_equal(gy, y);
        assert_int_equal(gm, m);
        assert_int_equal(gd, d);
        expect++;
        if (++d > days_in_month(y, m)) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }
}

/* ---- cv_date_valid_ymd ---------------------------------------------------------------------- */

struct valid_case {
    int y, m, d;
    bool valid;
};

static const struct valid_case valid_cases[] = {
    {2025, 1, 1, true},   {2025, 12, 31, true},  {2024, 2, 29, true},  {2023, 2, 29, false},
    {2000, 2, 29, true},  {1900, 2, 29, false},  {2100, 2, 29, false}, {2025, 2, 28, true},
    {2025, 2, 30, false}, {2025, 4, 30, true},   {2025, 4, 31, false}, {2025, 6, 31, false},
    {2025, 9, 31, false}, {2025, 11, 31, false}, {2025, 7, 31, true},  {2025, 0, 10, false},
    {2025, 13, 1, false}, {2025, 1, 0, false},   {2025, 1, 32, false}, {1, 1, 1, true},
    {9999, 12, 31, true}, {0, 1, 1, false},      {10000, 1, 1, false}, {-1, 1, 1, false},
};

static void test_valid_ymd(void **state)
{
    (void)state;
    int fails = 0;
    for (size_t i = 0; i < N_ELEMS(valid_cases); i++) {
        const struct valid_case *t = &valid_cases[i];
        bool got = cv_date_valid_ymd(t->y, t->m, t->d);
        EXPECT(fails, got == t->valid, "valid_ymd(%d, %d, %d) = %d, want %d\n", t->y, t->m, t->d,
               got, t->valid);
    }
    assert_int_equal(fails, 0);
}

/* ---- cv_date_parse -------------------------------------------------------------------------- */

struct parse_case {
    const char *in;
    size_t len;       /* (size_t)-1: strlen(in) */
    int rc;           /* CV_OK or CV_ERR_INVALID */
    const char *want; /* YYYY-MM-DD when rc is CV_OK */
};

#define WHOLE ((size_t)-1)

static const struct parse_case parse_cases[] = {
    {"2025-01-05", WHOLE, CV_OK, "2025-01-05"},
    {"20250105", WHOLE, CV_OK, "2025-01-05"}, /* IAF CertSearch upload form */
    {"2024-02-29", WHOLE, CV_OK, "2024-02-29"},
    {"20240229", WHOLE, CV_OK, "2024-02-29"},
    {"2000-02-29", WHOLE, CV_OK, "2000-02-29"},
    {"1970-01-01", WHOLE, CV_OK, "1970-01-01"},
    {"0001-01-01", WHOLE, CV_OK, "0001-01-01"},
    {"9999-12-31", WHOLE, CV_OK, "9999-12-31"},
    {"2025-12-31", WHOLE, CV_OK, "2025-12-31"},
    /* only the first 'len' bytes count */
    {"2025-01-05xyz", 10, CV_OK, "2025-01-05"},
    {"20250105,next", 8, CV_OK, "2025-01-05"},
    {"2025-01-05", 9, CV_ERR_INVALID, NULL},
    {"2025-01-05", 0, CV_ERR_INVALID, NULL},
    /* impossible days */
    {"2025-02-30", WHOLE, CV_ERR_INVALID, NULL},
    {"2023-02-29", WHOLE, CV_ERR_INVALID, NULL},
    {"1900-02-29", WHOLE, CV_ERR_INVALID, NULL},
    {"20250230", WHOLE, CV_ERR_INVALID, NULL},
    {"20230229", WHOLE, CV_ERR_INVALID, NULL},
    {"2025-13-01", WHOLE, CV_ERR_INVALID, NULL},
    {"20251301", WHOLE, CV_ERR_INVALID, NULL},
    {"2025-00-10", WHOLE, CV_ERR_INVALID, NULL},
    {"2025-01-00", WHOLE, CV_ERR_INVALID, NULL},
    {"2025-04-31", WHOLE, CV_ERR_INVALID, NULL},
    {"2025-01-32", WHOLE, CV_ERR_INVALID, NULL},
    {"0000-01-01", WHOLE, CV_ERR_INVALID, NULL},
    /* other shapes are never guessed */
    {"03/04/2025", WHOLE, CV_ERR_INVALID, NULL},
    {"2025/01/05", WHOLE, CV_ERR_INVALID, NULL},
    {"05.01.2025", WHOLE, CV_ERR_INVALID, NULL},
    {"2025-1-5", WHOLE, CV_ERR_INVALID, NULL},
    {"2025-01-5", WHOLE, CV_ERR_INVALID, NULL},
    {"25-01-05", WHOLE, CV_ERR_INVALID, NULL},
    {"250105", WHOLE, CV_ERR_INVALID, NULL},
    {"2025010", WHOLE, CV_ERR_INVALID, NULL},
    {"202501051", WHOLE, CV_ERR_INVALID, NULL},
    {"2025-0105", WHOLE, CV_ERR_INVALID, NULL},
    {"202501-05", WHOLE, CV_ERR_INVALID, NULL},
    {"2025_01_05", WHOLE, CV_ERR_INVALID, NULL},
    {"", WHOLE, CV_ERR_INVALID, NULL},
    {" 2025-01-01", WHOLE, CV_ERR_INVALID, NULL}, /* the parser itself trims nothing */
    {"2025-01-01 ", WHOLE, CV_ERR_INVALID, NULL},
    {"2025-01-01x", WHOLE, CV_ERR_INVALID, NULL},
    {"2025-01-01T00:00:00Z", WHOLE, CV_ERR_INVALID, NULL},
    {"20250101x", WHOLE, CV_ERR_INVALID, NULL},
    {"+2025-01-01", WHOLE, CV_ERR_INVALID, NULL},
    {"-2025-01-01", WHOLE, CV_ERR_INVALID, NULL},
    {"2025-+1-01", WHOLE, CV_ERR_INVALID, NULL},
    {"2025- 1-01", WHOLE, CV_ERR_INVALID, NULL},
    {"2025-01-0a", WHOLE, CV_ERR_INVALID, NULL},
    {"abcd-ef-gh", WHOLE, CV_ERR_INVALID, NULL},
    {"2025\xe2\x80\x92"
     "01\xe2\x80\x92"
     "05",
     WHOLE, CV_ERR_INVALID, NULL}, /* figure dashes */
};

static void test_parse_table(void **state)
{
    (void)state;
    int fails = 0;
    for (size_t i = 0; i < N_ELEMS(parse_cases); i++) {
        const struct parse_case *t = &parse_cases[i];
        size_t len = t->len == WHOLE ? strlen(t->in) : t->len;
        cv_date out = CV_DATE_NONE;
        int rc = cv_date_parse(t->in, len, &out);
        EXPECT(fails, rc == t->rc, "parse(\"%s\", %zu) = %d, want %d\n", t->in, len, rc, t->rc);
        if (rc == CV_OK && t->rc == CV_OK) {
            char buf[CV_DATE_STRLEN];
            cv_date_format(out, buf);
            EXPECT(fails, strcmp(buf, t->want) == 0, "parse(\"%s\") = %s, want %s\n", t->in, buf,
                   t->want);
        }
    }
    assert_int_equal(fails, 0);
}

/* A parser given a buffer that is not NUL-terminated must not read past 'len'. */
static void test_parse_unterminated(void **state)
{
    (void)state;
    char buf[8];
    cv_date out = CV_DATE_NONE;
    memcpy(buf, "20260301", 8);
    assert_int_equal(cv_date_parse(buf, sizeof buf, &out), CV_OK);
    assert_int_equal(out, cv_date_from_ymd(2026, 3, 1));
}

/* ---- cv_date_format ------------------------------------------------------------------------- */

struct format_case {
    cv_date d;
    const char *want;
};

static const struct format_case format_cases[] = {
    {0, "1970-01-01"},       {-1, "1969-12-31"},      {11016, "2000-02-29"},
    {-25508, "1900-03-01"},  {47540, "2100-02-28"},   {20148, "2025-03-01"},
    {-719162, "0001-01-01"}, {2932896, "9999-12-31"}, {CV_DATE_NONE, ""},
};

static void test_format_table(void **state)
{
    (void)state;
    int fails = 0;
    for (size_t i = 0; i < N_ELEMS(format_cases); i++) {
        char buf[CV_DATE_STRLEN];
        memset(buf, 'x', sizeof buf);
        cv_date_format(format_cases[i].d, buf);
        if (!memchr(buf, '\0', sizeof buf)) {
            print_error("format(%ld): no terminating NUL\n", (long)format_cases[i].d);
            fails++;
            continue;
        }
        EXPECT(fails, strcmp(buf, format_cases[i].want) == 0, "format(%ld) = \"%s\", want \"%s\"\n",
               (long)format_cases[i].d, buf, format_cases[i].want);
    }
    assert_int_equal(fails, 0);
}

/* ---- month and year arithmetic -------------------------------------------------------------- */

struct add_case {
    const char *from;
    int n;
    const char *want;
};

static const struct add_case add_month_cases[] = {
    {"2024-01-31", 1, "2024-02-29"}, /* clamped to the leap day */
    {"2025-01-31", 1, "2025-02-28"},
    {"2024-02-29", 12, "2025-02-28"},
    {"2024-02-29", 48, "2028-02-29"},
    {"2025-08-31", 42, "2029-02-28"}, /* 3 years 6 months, clamped */
    {"2025-03-01", 42, "2028-09-01"},
    {"2025-03-01", 12, "2026-03-01"},
    {"2025-03-01", 0, "2025-03-01"},
    {"2025-05-31", 1, "2025-06-30"},
    {"2025-12-15", 1, "2026-01-15"},
    {"2025-12-31", 2, "2026-02-28"},
    {"2025-06-30", 6, "2025-12-30"},
    {"2028-02-28", 6, "2028-08-28"},
    {"2025-04-30", 6, "2025-10-30"},
    {"2000-01-31", 1, "2000-02-29"},
    {"1900-01-31", 1, "1900-02-28"},
    {"2100-01-31", 1, "2100-02-28"},
    {"2025-01-10", 1200, "2125-01-10"},
    /* negative months */
    {"2025-03-31", -1, "2025-02-28"},
    {"2024-03-31", -1, "2024-02-29"},
    {"2025-01-15", -1, "2024-12-15"},
    {"2025-01-31", -2, "2024-11-30"},
    {"2025-01-10", -13, "2023-12-10"},
    {"2025-10-31", -20, "2024-02-29"},
    {"2025-02-28", -12, "2024-02-28"},
    {"2025-03-01", -42, "2021-09-01"},
};

static const struct add_case add_year_cases[] = {
    {"2024-02-29", 1, "2025-02-28"},   {"2024-02-29", 4, "2028-02-29"},
    {"2024-02-29", -1, "2023-02-28"},  {"2024-02-29", -4, "2020-02-29"},
    {"2000-02-29", 100, "2100-02-28"}, {"2025-03-01", 3, "2028-03-01"},
    {"2025-12-31", 1, "2026-12-31"},   {"2025-01-01", 0, "2025-01-01"},
    {"2025-06-15", -25, "2000-06-15"},
};

static cv_date parse_or_fail(const char *s)
{
    cv_date d = CV_DATE_NONE;
    assert_int_equal(cv_date_parse(s, strlen(s), &d), CV_OK);
    return d;
}

static void run_add_table(const struct add_case *cases, size_t n, bool months)
{
    int fails = 0;
    for (size_t i = 0; i < n; i++) {
        char buf[CV_DATE_STRLEN];
        cv_date from = parse_or_fail(cases[i].from);
        cv_date got =
            months ? cv_date_add_months(from, cases[i].n) : cv_date_add_years(from, cases[i].n);
        cv_date_format(got, buf);
        EXPECT(fails, strcmp(buf, cases[i].want) == 0, "%s %+d %s = %s, want %s\n", cases[i].from,
               cases[i].n, months ? "months" : "years", buf, cases[i].want);
    }
    assert_int_equal(fails, 0);
}

static void test_add_months_table(void **state)
{
    (void)state;
    run_add_table(add_month_cases, N_ELEMS(add_month_cases), true);
}

static void test_add_years_table(void **state)
{
    (void)state;
    run_add_table(add_year_cases, N_ELEMS(add_year_cases), false);
}

/* + 12 months and + 1 year agree on every day of a leap cycle. */
static void test_add_years_matches_months(void **state)
{
    (void)state;
    cv_date from = cv_date_from_ymd(2023, 1, 1), to = cv_date_from_ymd(2027, 1, 1);
    for (cv_date d = from; d < to; d++)
        assert_int_equal(cv_date_add_years(d, 1), cv_date_add_months(d, 12));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_from_to_ymd_table),
        cmocka_unit_test(test_round_trip_range),
        cmocka_unit_test(test_valid_ymd),
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_parse_unterminated),
        cmocka_unit_test(test_format_table),
        cmocka_unit_test(test_add_months_table),
        cmocka_unit_test(test_add_years_table),
        cmocka_unit_test(test_add_years_matches_months),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

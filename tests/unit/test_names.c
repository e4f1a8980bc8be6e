/* Unit tests for src/core/names.c: the one name normalizer (SPEC 3.2: case-fold, strip
 * punctuation, collapse spaces, drop legal-form words, compare token sets). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "test_util.h"

#include "certvet/names.h"

/* ---- exact keys ----------------------------------------------------------------------------- */

struct key_case {
    const char *in;
    const char *key; /* tokens sorted (byte order), de-duplicated, one space between */
};

static const struct key_case key_cases[] = {
    {"Ningbo Harbour Plastics Co., Ltd.", "harbour ningbo plastics"},
    {"Plastics Ningbo Harbour", "harbour ningbo plastics"},
    {"  EXAMPLE   Certification LIMITED ", "certification example"},
    {"Example\tCertification\nLtd", "certification example"},
    {"Acme Acme Trading", "acme trading"},
    {"Smith & Sons", "smith sons"},
    {"ABC (Shenzhen) Co., Ltd", "abc shenzhen"},
    {"3M Company", "3m"},
    {"Acme 2000 Ltd", "2000 acme"},
    {"Zeta Alpha Mu", "alpha mu zeta"},
    {"Société Générale", "g\xc3\xa9n\xc3\xa9rale soci\xc3\xa9t\xc3\xa9"},
    {"\xe5\xae\x81\xe6\xb3\xa2\xe6\xb8\xaf", "\xe5\xae\x81\xe6\xb3\xa2\xe6\xb8\xaf"},
    {"Ltd.", ""},
    {"Co., Ltd.", ""},
    {"...", ""},
    {"   ", ""},
    {"", ""},
};

static void test_key_table(void **state)
{
    (void)state;
    int fails = 0;
    for (size_t i = 0; i < N_ELEMS(key_cases); i++) {
        char out[CV_NAME_KEY_MAX];
        memset(out, 'x', sizeof out);
        size_t n = cv_name_key(key_cases[i].in, out);
        out[sizeof out - 1] = '\0';
        EXPECT(fails, strcmp(out, key_cases[i].key) == 0 && n == strlen(key_cases[i].key),
               "key(\"%s\") = \"%s\" (%zu), want \"%s\"\n", key_cases[i].in, out, n,
               key_cases[i].key);
    }
    assert_int_equal(fails, 0);
}

/* ---- matching ------------------------------------------------------------------------------- */

struct match_case {
    const char *a, *b;
    bool match;
};

static const struct match_case match_cases[] = {
    /* case folding, punctuation, spacing */
    {"Example Certification Ltd", "EXAMPLE CERTIFICATION LIMITED", true},
    {"example certification", "Example  Certification", true},
    {"Example Certification Ltd.", "Example Certification, Ltd", true},
    {"  Example Certification  ", "Example Certification", true},
    {"Smith & Sons", "Smith Sons", true},
    /* token order is irrelevant */
    {"Plastics Ningbo Harbour Co., Ltd.", "Ningbo Harbour Plastics", true},
    {"Ningbo Harbour Plastics Co.,Ltd.", "Ningbo Harbour Plastics", true},
    {"NINGBO HARBOUR PLASTICS CO LTD", "Ningbo Harbour Plastics Co., Ltd.", true},
    /* each legal-form word from SPEC 3.2 is dropped */
    {"Acme Co", "Acme", true},
    {"Acme Ltd", "Acme", true},
    {"Acme Limited", "Acme", true},
    {"Acme Inc", "Acme", true},
    {"Acme Inc.", "Acme", true},
    {"Acme LLC", "Acme", true},
    {"Acme GmbH", "Acme", true},
    {"Acme AG", "Acme", true},
    {"Acme SA", "Acme", true},
    {"Acme SRL", "Acme", true},
    {"Acme SpA", "Acme", true},
    {"Acme BV", "Acme", true},
    {"Acme Pvt Ltd", "Acme", true},
    {"Acme Pvt. Ltd.", "ACME", true},
    {"Acme Corp", "Acme", true},
    {"Acme Corp.", "Acme", true},
    {"Acme Company", "Acme", true},
    {"Acme Corporation", "Acme", true},
    {"Acme PLC", "Acme", true},
    {"Acme Company Limited", "Acme Corporation", true},
    /* a legal-form word is only dropped as a whole token */
    {"Acme Cola", "Acme", false},
    {"Acme Inch", "Acme", false},
    /* duplicates collapse (token sets) */
    {"Acme Acme Trading", "Trading Acme", true},
    /* different names, subsets, supersets */
    {"Ningbo Harbour Plastics", "Ningbo Harbour Rubber", false},
    {"Ningbo Harbour", "Ningbo Harbour Plastics", false},
    {"Ningbo Harbour Plastics Group", "Ningbo Harbour Plastics", false},
    {"Example Certification", "Sample Certification", false},
    /* nothing left after stripping never matches, not even itself */
    {"Co., Ltd.", "Limited", false},
    {"Ltd", "Ltd", false},
    {"", "", false},
    {"...", "", false},
    {"Acme", "", false},
    /* UTF-8 bytes are kept as they are; ASCII around them still folds */
    {"Société Générale", "SOCIéTé GéNéRALE", true},
    {"Société Générale", "Societe Generale", false},
    {"\xe5\xae\x81\xe6\xb3\xa2\xe6\xb8\xaf Co., Ltd.", "\xe5\xae\x81\xe6\xb3\xa2\xe6\xb8\xaf",
     true},
    {"\xe5\xae\x81\xe6\xb3\xa2\xe6\xb8\xaf", "\xe5\xae\x81\xe6\xb3\xa2", false},
};

static void test_match_table(void **state)
{
    (void)state;
    int fails = 0;
    for (size_t i = 0; i < N_ELEMS(match_cases); i++) {
        const struct match_case *t = &match_cases[i];
        bool ab = cv_names_match(t->a, t->b), ba = cv_names_match(t->b, t->a); /* symmetric */
        EXPECT(fails, ab == t->match && ba == t->match, "match(\"%s\", \"%s\") = %d/%d, want %d\n",
               t->a, t->b, ab, ba, t->match);
    }
    assert_int_equal(fails, 0);
}

/* A very long name is cut to the key buffer and stays NUL-terminated. */
static void test_long_name(void **state)
{
    (void)state;
    char name[2000], out[CV_NAME_KEY_MAX + 16];
    size_t pos = 0;
    for (int i = 0; pos + 12 < sizeof name; i++)
        pos += (size_t)snprintf(name + pos, sizeof name - pos, "word%04d ", i);
    memset(out, 'x', sizeof out);
    size_t n = cv_name_key(name, out);
    assert_true(n < CV_NAME_KEY_MAX);
    assert_int_equal(strlen(out), n);
    for (size_t i = CV_NAME_KEY_MAX; i < sizeof out; i++)
        assert_int_equal(out[i], 'x'); /* nothing written past CV_NAME_KEY_MAX bytes */
    assert_true(cv_names_match(name, name));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_table),
        cmocka_unit_test(test_match_table),
        cmocka_unit_test(test_long_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

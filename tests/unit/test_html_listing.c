/* Unit tests of src/formats/html_listing.c: web directory pages mapped onto certification bodies
 * through XPath, all-or-nothing, with hostile pages bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certvet/date.h"
#include "certvet/error.h"
#include "certvet/html_listing.h"

#include "test_util.h"

#define FIXTURE CERTVET_SOURCE_DIR "/fixtures/listings/ab-directory.html"

/* The mapping config/sources.json ships for the fixture page. */
static const struct cv_html_mapping directory_map = {
    .row_xpath = "//table[@id='cb-directory']/tbody/tr",
    .id = "@data-cb",
    .name = "td[@class='name']/a",
    .aliases = "td[@class='name']/span[@class='aka']",
    .country = "td[@class='country']",
    .accreditation_body = "'NVAS'",
    .number = "td[@class='number']",
    .standards = "td[@class='scope']//li",
    .status = "td[@class='status']",
    .status_date = "td[@class='status-date']",
    .valid_from = "td[@class='from']",
    .valid_until = "td[@class='until']",
};

/* A small table for the inline cases: id, name, standards, valid_from. */
static const struct cv_html_mapping small_map = {
    .row_xpath = "//table/tbody/tr",
    .id = "td[1]",
    .name = "td[2]",
    .accreditation_body = "'XAB'",
    .standards = "td[3]",
    .status = "td[4]",
    .valid_from = "td[5]",
};

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static cv_date D(const char *s)
{
    cv_date d = CV_DATE_NONE;
    if (s != NULL)
        assert_int_equal(cv_date_parse(s, strlen(s), &d), CV_OK);
    return d;
}

static void join(char *out, size_t cap, char *const *v, size_t n)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(out + used, cap - used, "%s%s", i ? "|" : "", v[i]);
}

/* What the fixture page maps to: one line per accreditation, in page order per CB. */
static const struct {
    const char *id, *name, *country, *aliases; /* aliases joined by '|' */
    size_t acc;                                /* index among the CB's accreditations */
    const char *number, *standards, *status, *status_date, *valid_from, *valid_until;
} expected[] = {
    {"lumen-cert", "Lumen Certification Oy", "FI", "Lumen Cert|LC Nordic", 0, "NVAS 1021",
     "ISO 9001|ISO 14001|ISO/IEC 27001", "active", NULL, "2012-05-14", "2028-05-13"},
    {"lumen-cert", "Lumen Certification Oy", "FI", "Lumen Cert|LC Nordic", 1, "NVAS 1021-P",
     "ISO 13485", "active", NULL, "2021-01-04", "2029-01-03"},
    {"fjord-audit", "Fjord Audit AS", "NO", "", 0, "NVAS 1047", "ISO 45001|ISO 50001", "suspended",
     "2026-03-02", "2016-09-01", "2027-08-31"},
    {"birch-qa", "Birch Quality Assurance Ltd", "SE", "", 0, "NVAS 1102", "ISO 22000", "withdrawn",
     "2025-11-20", "2019-02-11", NULL},
};

static void fixture_page_maps_to_expected_cbs(void **state)
{
    struct cv_bodies b;
    char err[512] = "", got[256];
    size_t len;
    char *page = read_all(FIXTURE, &len);
    int fails = 0;

    (void)state;
    cv_bodies_init(&b);
    assert_int_equal(
        cv_html_listing_load_mem(&b, page, len, "nvas", &directory_map, err, sizeof err), CV_OK);
    assert_int_equal(b.n_cbs, 3); /* the two lumen-cert rows merged */
    for (size_t i = 0; i < N_ELEMS(expected); i++) {
        const struct cv_cb *cb = cv_bodies_find_cb(&b, expected[i].id, NULL);
        EXPECT(fails, cb != NULL, "row %zu: %s not found\n", i, expected[i].id);
        if (cb == NULL)
            continue;
        EXPECT(fails, strcmp(cb->name, expected[i].name) == 0, "row %zu: name '%s'\n", i, cb->name);
        EXPECT(fails, cb->country && strcmp(cb->country, expected[i].country) == 0,
               "row %zu: country\n", i);
        join(got, sizeof got, cb->aliases, cb->n_aliases);
        EXPECT(fails, strcmp(got, expected[i].aliases) == 0, "row %zu: aliases '%s'\n", i, got);
        EXPECT(fails, expected[i].acc < cb->n_accreditations, "row %zu: %zu accreditations\n", i,
               cb->n_accreditations);
        if (expected[i].acc >= cb->n_accreditations)
            continue;
        const struct cv_cb_accreditation *a = &cb->accreditations[expected[i].acc];
        EXPECT(fails, strcmp(a->accreditation_body, "NVAS") == 0, "row %zu: ab '%s'\n", i,
               a->accreditation_body);
        EXPECT(fails, a->number && strcmp(a->number, expected[i].number) == 0,
               "row %zu: number '%s'\n", i, a->number ? a->number : "(null)");
        join(got, sizeof got, a->standards, a->n_standards);
        EXPECT(fails, strcmp(got, expected[i].standards) == 0, "row %zu: standards '%s'\n", i, got);
        EXPECT(fails, strcmp(cv_listing_status_name(a->status), expected[i].status) == 0,
               "row %zu: status %s\n", i, cv_listing_status_name(a->status));
        EXPECT(fails, a->status_date == D(expected[i].status_date), "row %zu: status_date\n", i);
        EXPECT(fails, a->valid_from == D(expected[i].valid_from), "row %zu: valid_from\n", i);
        EXPECT(fails, a->valid_until == D(expected[i].valid_until), "row %zu: valid_until\n", i);
    }
    /* Found by name too, through the name normalizer (the alias span is not part of the name). */
    EXPECT(fails, cv_bodies_find_cb(&b, NULL, "Lumen Cert") != NULL, "alias lookup\n");
    cv_bodies_cleanup(&b);
    free(page);
    assert_int_equal(fails, 0);
}

#define PAGE(rows)                                                                                 \
    "<html><body><table><thead><tr><th>id</th></tr></thead><tbody>" rows                           \
    "</tbody></table></body></html>"

/* Pages or mappings that are refused: the error names the source, the row and the field, and
 * nothing is merged (the good rows before the bad one included). */
static const struct {
    const char *html;
    const struct cv_html_mapping *map;
    int rc;
    const char *in_message;
} refused[] = {
    {PAGE("<tr><td>ok</td><td>Good Cert</td><td>ISO 9001</td><td>active</td><td>2020-01-01</td>"
          "</tr><tr><td>acme</td><td>Acme Cert</td><td>ISO 9001</td><td>Active</td>"
          "<td>31/02/2025</td></tr><tr><td>x</td></tr>"),
     &small_map, CV_ERR_INVALID, "src: row 2 (id 'acme'): valid_from: '31/02/2025' is not a date"},
    {PAGE("<tr><td>acme</td><td>Acme</td><td>ISO 9001</td><td>Active</td><td>2025-02-30</td>"
          "</tr>"),
     &small_map, CV_ERR_INVALID, "row 1 (id 'acme'): valid_from: '2025-02-30'"},
    {PAGE("<tr><td>acme</td><td>Acme</td><td>ISO 9001</td><td>revoked</td><td></td></tr>"),
     &small_map, CV_ERR_INVALID, "row 1 (id 'acme'): status: 'revoked'"},
    {PAGE("<tr><td>acme</td><td>Acme</td><td> ; , </td><td></td><td></td></tr>"), &small_map,
     CV_ERR_INVALID, "row 1 (id 'acme'): standards: at least one"},
    {PAGE("<tr><td>acme</td><td>  </td><td>ISO 9001</td></tr>"), &small_map, CV_ERR_INVALID,
     "row 1 (id 'acme'): name: required value is empty"},
    {PAGE("<tr><td>ok</td><td>A</td><td>ISO 9001</td></tr><tr><td></td><td>B</td></tr>"),
     &small_map, CV_ERR_INVALID, "src: row 2: id: required value is empty"},
    {"<html><body><p>No table here</p></body></html>", &small_map, CV_ERR_INVALID,
     "src: row_xpath: '//table/tbody/tr' matched no rows"},
    {PAGE("<tr><td>a</td></tr>"),
     &(const struct cv_html_mapping){.row_xpath = "//tr[",
                                     .id = "td[1]",
                                     .name = "td[1]",
                                     .accreditation_body = "'X'",
                                     .standards = "td[1]"},
     CV_ERR_USAGE, "src: mapping: row_xpath: '//tr[' is not a valid XPath"},
    {PAGE("<tr><td>a</td></tr>"),
     &(const struct cv_html_mapping){.row_xpath = "//tr",
                                     .id = "td[1]",
                                     .name = "td[1]",
                                     .accreditation_body = "'X'",
                                     .standards = "td[1]",
                                     .valid_from = "td[)"},
     CV_ERR_USAGE, "src: mapping: valid_from: 'td[)' is not a valid XPath"},
    {PAGE("<tr><td>a</td></tr>"),
     &(const struct cv_html_mapping){
         .row_xpath = "//tr", .id = "td[1]", .name = "td[1]", .standards = "td[1]"},
     CV_ERR_USAGE, "src: mapping: field 'accreditation_body' is required"},
    {PAGE("<tr><td>a</td></tr>"),
     &(const struct cv_html_mapping){.row_xpath = "count(//tr)",
                                     .id = "td[1]",
                                     .name = "td[1]",
                                     .accreditation_body = "'X'",
                                     .standards = "td[1]"},
     CV_ERR_USAGE, "does not select nodes"},
    {"", &small_map, CV_ERR_PARSE, "src: not an HTML page"},
};

static void refused_pages_name_row_and_field_and_merge_nothing(void **state)
{
    int fails = 0;

    (void)state;
    for (size_t i = 0; i < N_ELEMS(refused); i++) {
        struct cv_bodies b;
        char err[512] = "";
        cv_bodies_init(&b);
        int rc = cv_html_listing_load_mem(&b, refused[i].html, strlen(refused[i].html), "src",
                                          refused[i].map, err, sizeof err);
        EXPECT(fails, rc == refused[i].rc, "case %zu: rc %d, want %d (%s)\n", i, rc, refused[i].rc,
               err);
        EXPECT(fails, strstr(err, refused[i].in_message) != NULL,
               "case %zu: message '%s' lacks '%s'\n", i, err, refused[i].in_message);
        EXPECT(fails, b.n_cbs == 0, "case %zu: %zu CBs merged\n", i, b.n_cbs);
        cv_bodies_cleanup(&b);
    }
    assert_int_equal(fails, 0);
}

/* Valid inline pages: how texts are trimmed, split and merged. */
static void texts_are_trimmed_split_and_merged(void **state)
{
    const char *html = PAGE(
        "<tr><td>\n  a1 </td><td> Alpha\n\t Cert&nbsp;Ltd </td><td>ISO 9001;ISO 14001 ,, "
        "ISO/IEC 27001</td><td></td><td>20200102</td></tr>"
        "<tr><td>a1</td><td>Other name</td><td>ISO 45001</td><td>SUSPENDED</td><td></td></tr>");
    struct cv_bodies b;
    char err[512] = "";

    (void)state;
    cv_bodies_init(&b);
    assert_int_equal(
        cv_html_listing_load_mem(&b, html, strlen(html), "src", &small_map, err, sizeof err),
        CV_OK);
    assert_int_equal(b.n_cbs, 1);
    const struct cv_cb *cb = &b.cbs[0];
    assert_string_equal(cb->id, "a1");
    assert_string_equal(cb->name, "Alpha Cert Ltd"); /* the first row of an id names it */
    assert_int_equal(cb->n_accreditations, 2);
    assert_int_equal(cb->accreditations[0].n_standards, 3);
    assert_string_equal(cb->accreditations[0].standards[2], "ISO/IEC 27001");
    assert_int_equal(cb->accreditations[0].status, CV_LS_ACTIVE);
    assert_int_equal(cb->accreditations[0].valid_from, D("2020-01-02"));
    assert_int_equal(cb->accreditations[1].status, CV_LS_SUSPENDED);
    assert_string_equal(cb->accreditations[1].accreditation_body, "XAB");
    cv_bodies_cleanup(&b);
}

/* Builds a page of 'n' repetitions of 'unit' between 'head' and 'tail'. */
static char *repeat(const char *head, const char *unit, size_t n, const char *tail, size_t *len)
{
    size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
    char *buf = malloc(hl + ul * n + tl + 1), *p;

    assert_non_null(buf);
    memcpy(buf, head, hl);
    p = buf + hl;
    for (size_t i = 0; i < n; i++, p += ul)
        memcpy(p, unit, ul);
    memcpy(p, tail, tl + 1);
    *len = hl + ul * n + tl;
    return buf;
}

static const struct {
    const char *what, *head, *unit, *tail;
    size_t n;
    int rc;
    const char *in_message;
} hostile[] = {
    {"over 16 MiB", "<html><body><p>", "xxxxxxxxxxxxxxxx", "</p></body></html>",
     CV_HTML_LISTING_MAX_BYTES / 16 + 1, CV_ERR_TOO_LARGE, "larger than the limit"},
    {"deep nesting", "<html><body>", "<div>", "</body></html>", 100000, CV_ERR_TOO_LARGE,
     "nested deeper than"},
    {"too many tags", "<html><body>", "<b></b>", "</body></html>", 600000, CV_ERR_TOO_LARGE,
     "more than 1000000 tags"},
    {"too many rows", "<html><body><table><tbody>", "<tr><td>a</td></tr>",
     "</tbody></table></body></html>", CV_HTML_LISTING_MAX_ROWS + 1, CV_ERR_TOO_LARGE,
     "more than the limit"},
    {"scripts in cells are dropped",
     "<html><head><script>var rows = '<tr><td>evil</td></tr>';</script></head><body><table>"
     "<tbody>",
     "<tr><td><script>document.write('x')</script>s1</td><td>S "
     "<style>td{}</style>One</td><td>ISO 9001<script>,ISO 666</script></td></tr>",
     "</tbody></table></body></html>", 1, CV_OK, ""},
};

static void hostile_pages_are_bounded(void **state)
{
    int fails = 0;

    (void)state;
    for (size_t i = 0; i < N_ELEMS(hostile); i++) {
        struct cv_bodies b;
        char err[512] = "";
        size_t len;
        char *page = repeat(hostile[i].head, hostile[i].unit, hostile[i].n, hostile[i].tail, &len);
        clock_t t0 = clock();
        cv_bodies_init(&b);
        int rc = cv_html_listing_load_mem(&b, page, len, "src", &small_map, err, sizeof err);
        double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
        EXPECT(fails, rc == hostile[i].rc, "%s: rc %d (%s)\n", hostile[i].what, rc, err);
        EXPECT(fails, strstr(err, hostile[i].in_message) != NULL, "%s: message '%s'\n",
               hostile[i].what, err);
        EXPECT(fails, secs < 30, "%s: took %.1f s\n", hostile[i].what, secs);
        if (rc == CV_OK) {
            const struct cv_cb *cb = cv_bodies_find_cb(&b, "s1", NULL);
            EXPECT(fails, b.n_cbs == 1 && cb != NULL, "%s: not mapped\n", hostile[i].what);
            if (cb != NULL) {
                EXPECT(fails, strcmp(cb->name, "S One") == 0, "%s: name '%s'\n", hostile[i].what,
                       cb->name);
                EXPECT(fails, cb->accreditations[0].n_standards == 1, "%s: %zu standards\n",
                       hostile[i].what, cb->accreditations[0].n_standards);
            }
        } else {
            EXPECT(fails, b.n_cbs == 0, "%s: merged\n", hostile[i].what);
        }
        cv_bodies_cleanup(&b);
        free(page);
    }
    assert_int_equal(fails, 0);
}

/* A page loaded over an existing registry replaces same-id CBs and keeps the others; a refused
 * page leaves the registry as it was. */
static void merge_is_all_or_nothing_over_existing(void **state)
{
    const char *good = PAGE("<tr><td>a</td><td>A</td><td>ISO 9001</td></tr>");
    const char *bad = PAGE("<tr><td>b</td><td>B</td><td>ISO 9001</td><td></td><td>2020-13-01</td>"
                           "</tr>");
    struct cv_bodies b;
    char err[512];

    (void)state;
    cv_bodies_init(&b);
    assert_int_equal(
        cv_html_listing_load_mem(&b, good, strlen(good), "src", &small_map, err, sizeof err),
        CV_OK);
    assert_int_equal(
        cv_html_listing_load_mem(&b, bad, strlen(bad), "src", &small_map, err, sizeof err),
        CV_ERR_INVALID);
    assert_int_equal(b.n_cbs, 1);
    assert_non_null(cv_bodies_find_cb(&b, "a", NULL));
    assert_null(cv_bodies_find_cb(&b, "b", NULL));
    cv_bodies_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fixture_page_maps_to_expected_cbs),
        cmocka_unit_test(refused_pages_name_row_and_field_and_merge_nothing),
        cmocka_unit_test(texts_are_trimmed_split_and_merged),
        cmocka_unit_test(hostile_pages_are_bounded),
        cmocka_unit_test(merge_is_all_or_nothing_over_existing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

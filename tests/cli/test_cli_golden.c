/* Golden tests of `certvet verify`: the real binary runs over fixtures/sample and its results are
 * compared with tests/cli/expected/portfolio.expected.json, written by hand from SPEC 4 and
 * docs/RULES.md (fixtures/README.md has the computation). Every disagreement is printed before
 * the test fails, so one run lists them all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../unit/test_util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CERTVET_BINARY
#error "CERTVET_BINARY must name the certvet executable"
#endif
#ifndef CERTVET_SOURCE_DIR
#error "CERTVET_SOURCE_DIR must name the source tree"
#endif

extern char **environ;

#define EXPECTED_FILE "tests/cli/expected/portfolio.expected.json"
#define AS_OF         "2026-11-22"
#define OUTPUT_MAX    (16 * 1024 * 1024) /* bytes of stdout or stderr we are willing to read */
#define MAX_ARGS      32

static const char *const check_names[] = {"validity",      "edition", "surveillance",
                                          "accreditation", "holder",  "registry"};

/* What one run of the binary produced. */
struct run {
    int status; /* exit status, or -1 when killed by a signal */
    int signal; /* the signal, when killed */
    char *out;  /* stdout, NUL-terminated, owned */
    size_t out_len;
    char *err; /* stderr, NUL-terminated, owned */
    size_t err_len;
};

static void run_cleanup(struct run *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof(*r));
}

/* Reads all of 'fd' from its start into a new NUL-terminated buffer. */
static char *slurp_fd(int fd, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    for (;;) {
        if (n + 1 >= cap) {
            assert_true(cap < OUTPUT_MAX);
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        ssize_t k = read(fd, buf + n, cap - n - 1);
        if (k < 0 && errno == EINTR)
            continue;
        assert_true(k >= 0);
        if (k == 0)
            break;
        n += (size_t)k;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static char *slurp_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        print_error("cannot open %s: %s\n", path, strerror(errno));
        fail();
    }
    char *buf = slurp_fd(fileno(f), len);
    fclose(f);
    return buf;
}

/* Runs certvet with 'args' (NULL-terminated, without argv[0]); stdout and stderr go to
 * temporary files so that neither can block the child. The working directory is the source
 * tree (main() changes to it), so fixture paths are relative. */
static void run_certvet(const char *const *args, struct run *r)
{
    char *argv[MAX_ARGS + 2];
    size_t n = 0;
    argv[n++] = (char *)CERTVET_BINARY;
    for (; args[n - 1]; n++) {
        assert_true(n <= MAX_ARGS);
        argv[n] = (char *)args[n - 1];
    }
    argv[n] = NULL;

    char out_path[] = "/tmp/certvet-golden-out-XXXXXX";
    char err_path[] = "/tmp/certvet-golden-err-XXXXXX";
    int out_fd = mkstemp(out_path);
    int err_fd = mkstemp(err_path);
    assert_true(out_fd >= 0 && err_fd >= 0);
    unlink(out_path);
    unlink(err_path);

    posix_spawn_file_actions_t fa;
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    assert_int_equal(posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0), 0);
    assert_int_equal(posix_spawn_file_actions_adddup2(&fa, out_fd, 1), 0);
    assert_int_equal(posix_spawn_file_actions_adddup2(&fa, err_fd, 2), 0);
    pid_t pid;
    int rc = posix_spawn(&pid, CERTVET_BINARY, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        print_error("cannot run %s: %s\n", CERTVET_BINARY, strerror(rc));
        fail();
    }
    int ws;
    while (waitpid(pid, &ws, 0) < 0)
        assert_int_equal(errno, EINTR);

    memset(r, 0, sizeof(*r));
    if (WIFEXITED(ws)) {
        r->status = WEXITSTATUS(ws);
    } else {
        r->status = -1;
        r->signal = WIFSIGNALED(ws) ? WTERMSIG(ws) : 0;
    }
    r->out = slurp_fd(out_fd, &r->out_len);
    r->err = slurp_fd(err_fd, &r->err_len);
    close(out_fd);
    close(err_fd);
}

/* Fails with the command's stderr when the exit status is not 'want'. */
static void expect_status(const struct run *r, int want, const char *what)
{
    if (r->status == want)
        return;
    if (r->status < 0)
        print_error("%s: killed by signal %d\n", what, r->signal);
    else
        print_error("%s: exit status %d, expected %d\n", what, r->status, want);
    print_error("--- stderr ---\n%.4000s\n--- stdout (start) ---\n%.2000s\n", r->err, r->out);
    fail();
}

static json_t *load_json_text(const char *text, size_t len, const char *what)
{
    json_error_t e;
    json_t *j = json_loadb(text, len, 0, &e);
    if (!j) {
        print_error("%s: not JSON: %s (line %d, column %d)\n--- start ---\n%.2000s\n", what, e.text,
                    e.line, e.column, text);
        fail();
    }
    return j;
}

static json_t *load_expected(void)
{
    size_t len;
    char *text = slurp_file(EXPECTED_FILE, &len);
    json_t *j = load_json_text(text, len, EXPECTED_FILE);
    free(text);
    json_t *results = json_object_get(j, "results");
    assert_true(json_is_array(results));
    assert_true(json_array_size(results) > 0);
    return j;
}

static json_t *expected_results(json_t *expected)
{
    return json_object_get(expected, "results");
}

/* Prints one disagreement: a result field whose value differs. */
static void report_field(const char *run, size_t i, const char *number, const char *field,
                         json_t *want, json_t *got)
{
    char *w = want ? json_dumps(want, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    char *g = got ? json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    print_error("[%s] #%zu %s: %s: expected %s, got %s\n", run, i, number, field,
                w ? w : "<missing>", g ? g : "<missing>");
    free(w);
    free(g);
}

/* Projects one verification of the JSON output onto the fields of the expected file: findings
 * become [[code, severity], ...], checks keep the six names. Missing members stay missing. */
static json_t *project_result(json_t *r)
{
    static const char *const scalars[] = {
        "certificate_number", "standard",       "verdict",
        "effective_expiry",   "days_to_expiry", "surveillance_due"};
    json_t *p = json_object();
    for (size_t k = 0; k < sizeof(scalars) / sizeof(scalars[0]); k++) {
        json_t *v = json_object_get(r, scalars[k]);
        if (v)
            json_object_set(p, scalars[k], v);
    }
    json_t *checks = json_object_get(r, "checks");
    if (json_is_object(checks)) {
        json_t *c = json_object();
        for (size_t k = 0; k < sizeof(check_names) / sizeof(check_names[0]); k++) {
            json_t *v = json_object_get(checks, check_names[k]);
            if (v)
                json_object_set(c, check_names[k], v);
        }
        json_object_set_new(p, "checks", c);
    }
    json_t *findings = json_object_get(r, "findings");
    if (json_is_array(findings)) {
        json_t *f = json_array();
        size_t idx;
        json_t *item;
        json_array_foreach(findings, idx, item)
        {
            json_t *pair = json_array();
            json_t *code = json_object_get(item, "code");
            json_t *sev = json_object_get(item, "severity");
            json_array_append(pair, code ? code : json_null());
            json_array_append(pair, sev ? sev : json_null());
            json_array_append_new(f, pair);
        }
        json_object_set_new(p, "findings", f);
    }
    return p;
}

/* Compares the results of a JSON run with the expected file; returns the number of
 * disagreements, each printed. */
static int compare_results(const char *run, json_t *results, json_t *expected)
{
    json_t *want = expected_results(expected);
    int bad = 0;
    if (json_array_size(results) != json_array_size(want)) {
        print_error("[%s] %zu results, expected %zu\n", run, json_array_size(results),
                    json_array_size(want));
        bad++;
    }
    size_t n = json_array_size(results) < json_array_size(want) ? json_array_size(results)
                                                                : json_array_size(want);
    for (size_t i = 0; i < n; i++) {
        json_t *w = json_array_get(want, i);
        json_t *got = project_result(json_array_get(results, i));
        const char *number = json_string_value(json_object_get(w, "certificate_number"));
        const char *key;
        json_t *wv;
        json_object_foreach(w, key, wv)
        {
            json_t *gv = json_object_get(got, key);
            if (!gv || !json_equal(wv, gv)) {
                report_field(run, i + 1, number, key, wv, gv);
                bad++;
            }
        }
        json_decref(got);
    }
    return bad;
}

/* Compares the SPEC 9 summary keys (valid, warning, unverified, invalid, errors); further keys
 * the program may add are not part of the contract checked here. */
static int compare_summary(const char *run, json_t *summary, json_t *expected)
{
    json_t *want = json_object_get(expected, "summary");
    const char *key;
    json_t *wv;
    int bad = 0;
    json_object_foreach(want, key, wv)
    {
        json_t *gv = json_object_get(summary, key);
        if (!gv || !json_equal(wv, gv)) {
            char field[64];
            snprintf(field, sizeof(field), "summary.%s", key);
            report_field(run, 0, "-", field, wv, gv);
            bad++;
        }
    }
    return bad;
}

/* Checks the SPEC 9 envelope: {"as_of", "results", "summary", "errors"}. */
static void check_envelope(json_t *doc)
{
    assert_true(json_is_object(doc));
    assert_string_equal(json_string_value(json_object_get(doc, "as_of")), AS_OF);
    assert_true(json_is_array(json_object_get(doc, "results")));
    json_t *s = json_object_get(doc, "summary");
    assert_true(json_is_object(s));
    static const char *const keys[] = {"valid", "warning", "unverified", "invalid", "errors"};
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        if (!json_is_integer(json_object_get(s, keys[k]))) {
            print_error("summary.%s is missing or not an integer\n", keys[k]);
            fail();
        }
    }
    assert_true(json_is_array(json_object_get(doc, "errors")));
}

/* Runs the golden command on 'portfolio' with 'listing' in JSON and compares everything. */
static void golden_json_run(const char *run_name, const char *listing, const char *portfolio)
{
    const char *args[] = {"verify",
                          "--as-of",
                          AS_OF,
                          "--listing",
                          listing,
                          "--suppliers",
                          "fixtures/sample/suppliers.json",
                          "--max-report-age",
                          "365",
                          "--format",
                          "json",
                          portfolio,
                          NULL};
    struct run r;
    run_certvet(args, &r);
    expect_status(&r, 1, run_name);
    json_t *doc = load_json_text(r.out, r.out_len, run_name);
    check_envelope(doc);
    json_t *expected = load_expected();

    int bad = compare_results(run_name, json_object_get(doc, "results"), expected);
    bad += compare_summary(run_name, json_object_get(doc, "summary"), expected);
    json_t *errors = json_object_get(doc, "errors");
    if (json_array_size(errors) != 0) {
        char *e = json_dumps(errors, JSON_COMPACT);
        print_error("[%s] errors should be empty: %s\n", run_name, e);
        free(e);
        bad++;
    }

    /* SPEC 4: the CERT_EXPIRED message says whether it is still restorable (<= 6 months after
     * expiry). RULES: only when E is the printed expiry, so not for NW-IS-23102, whose edition
     * ended first although D <= expiry + 6 months. */
    static const struct {
        const char *number;
        bool restorable;
    } expired[] = {
        {"HQ-E-23071", true},   {"HQ-Q-22145", false},  {"HQ-Q-17009", false},
        {"NW-OH-19044", false}, {"NW-IS-23102", false},
    };
    size_t i;
    json_t *res;
    json_array_foreach(json_object_get(doc, "results"), i, res)
    {
        const char *num = json_string_value(json_object_get(res, "certificate_number"));
        for (size_t x = 0; num && x < sizeof(expired) / sizeof(expired[0]); x++) {
            if (strcmp(num, expired[x].number) != 0)
                continue;
            size_t k;
            json_t *f;
            json_array_foreach(json_object_get(res, "findings"), k, f)
            {
                const char *code = json_string_value(json_object_get(f, "code"));
                const char *msg = json_string_value(json_object_get(f, "message"));
                if (!code || strcmp(code, "CERT_EXPIRED") != 0)
                    continue;
                bool says = msg && strstr(msg, "restorable") && !strstr(msg, "not restorable") &&
                            !strstr(msg, "no longer restorable");
                if (says != expired[x].restorable) {
                    print_error("[%s] %s CERT_EXPIRED message should %ssay restorable: %s\n",
                                run_name, num, expired[x].restorable ? "" : "not ",
                                msg ? msg : "<none>");
                    bad++;
                }
            }
        }
    }

    json_decref(expected);
    json_decref(doc);
    run_cleanup(&r);
    if (bad) {
        print_error("[%s] %d disagreement(s) with %s\n", run_name, bad, EXPECTED_FILE);
        fail();
    }
}

static void test_json_input(void **state)
{
    (void)state;
    golden_json_run("json", "fixtures/sample/listing.json", "fixtures/sample/portfolio.json");
}

static void test_csv_input(void **state)
{
    (void)state;
    golden_json_run("csv-in", "fixtures/sample/listing.json", "fixtures/sample/portfolio.csv");
}

static void test_xml_input(void **state)
{
    (void)state;
    golden_json_run("xml-in", "fixtures/sample/listing.xml", "fixtures/sample/portfolio.xml");
}

/* Joins the codes of an expected findings array with 'sep' into 'out'; "" when none. */
static void join_codes(json_t *findings, char sep, char *out, size_t cap)
{
    size_t used = 0, i;
    json_t *pair;
    out[0] = '\0';
    json_array_foreach(findings, i, pair)
    {
        const char *code = json_string_value(json_array_get(pair, 0));
        char sep_str[2] = {i ? sep : '\0', '\0'};
        int n = snprintf(out + used, cap - used, "%s%s", sep_str, code ? code : "?");
        assert_true(n > 0 && (size_t)n < cap - used);
        used += (size_t)n;
    }
}

/* An RFC 4180 parser: fills 'rows' with records, each a NULL-terminated array of owned fields.
 * Accepts CRLF or LF line ends; a quoted field may hold commas, quotes ("") and newlines. */
struct csv_doc {
    char ***rows;
    size_t n_rows;
};

static void csv_doc_free(struct csv_doc *d)
{
    for (size_t i = 0; i < d->n_rows; i++) {
        for (char **f = d->rows[i]; *f; f++)
            free(*f);
        free(d->rows[i]);
    }
    free(d->rows);
}

static bool csv_parse(const char *s, size_t len, struct csv_doc *d)
{
    memset(d, 0, sizeof(*d));
    size_t pos = 0;
    while (pos < len) {
        char **fields = NULL;
        size_t nf = 0;
        for (;;) {
            char *buf = malloc(len - pos + 1);
            size_t bl = 0;
            if (pos < len && s[pos] == '"') {
                pos++;
                for (;;) {
                    if (pos >= len) {
                        free(buf);
                        return false; /* unterminated quote */
                    }
                    if (s[pos] == '"') {
                        if (pos + 1 < len && s[pos + 1] == '"') {
                            buf[bl++] = '"';
                            pos += 2;
                            continue;
                        }
                        pos++;
                        break;
                    }
                    buf[bl++] = s[pos++];
                }
            } else {
                while (pos < len && s[pos] != ',' && s[pos] != '\n' && s[pos] != '\r')
                    buf[bl++] = s[pos++];
            }
            buf[bl] = '\0';
            fields = realloc(fields, (nf + 2) * sizeof(*fields));
            fields[nf++] = buf;
            fields[nf] = NULL;
            if (pos < len && s[pos] == ',') {
                pos++;
                continue;
            }
            if (pos < len && s[pos] == '\r')
                pos++;
            if (pos < len && s[pos] == '\n')
                pos++;
            break;
        }
        d->rows = realloc(d->rows, (d->n_rows + 1) * sizeof(*d->rows));
        d->rows[d->n_rows++] = fields;
    }
    return true;
}

static size_t csv_nfields(char **row)
{
    size_t n = 0;
    while (row[n])
        n++;
    return n;
}

static void test_format_csv(void **state)
{
    (void)state;
    const char *args[] = {"verify",
                          "--as-of",
                          AS_OF,
                          "--listing",
                          "fixtures/sample/listing.json",
                          "--suppliers",
                          "fixtures/sample/suppliers.json",
                          "--max-report-age",
                          "365",
                          "--format",
                          "csv",
                          "fixtures/sample/portfolio.json",
                          NULL};
    static const char header[] = "source,certificate_number,standard,family,holder,"
                                 "certification_body,verdict,effective_expiry,days_to_expiry,"
                                 "surveillance_due,findings";
    struct run r;
    run_certvet(args, &r);
    expect_status(&r, 1, "format csv");

    const char *text = r.out;
    size_t len = r.out_len;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3;
        len -= 3;
    }
    const char *eol = strpbrk(text, "\r\n");
    size_t hl = eol ? (size_t)(eol - text) : len;
    if (hl != strlen(header) || memcmp(text, header, hl) != 0) {
        print_error("CSV header is\n  %.*s\nexpected\n  %s\n", (int)hl, text, header);
        fail();
    }
    struct csv_doc d;
    if (!csv_parse(text, len, &d)) {
        print_error("CSV output does not parse (unterminated quote)\n");
        fail();
    }

    json_t *expected = load_expected();
    json_t *want = expected_results(expected);
    int bad = 0;
    size_t n_rows = d.n_rows - 1;
    while (n_rows > 0 && csv_nfields(d.rows[n_rows]) == 1 && d.rows[n_rows][0][0] == '\0')
        n_rows--; /* a trailing blank line, if any */
    if (n_rows != json_array_size(want)) {
        print_error("[csv-out] %zu rows, expected %zu\n", n_rows, json_array_size(want));
        bad++;
    }
    for (size_t i = 0; i < n_rows && i < json_array_size(want); i++) {
        char **row = d.rows[i + 1];
        json_t *w = json_array_get(want, i);
        const char *number = json_string_value(json_object_get(w, "certificate_number"));
        if (csv_nfields(row) != 11) {
            print_error("[csv-out] row %zu has %zu fields, expected 11\n", i + 1, csv_nfields(row));
            bad++;
            continue;
        }
        char days[32] = "", findings[1024];
        json_t *wd = json_object_get(w, "days_to_expiry");
        if (json_is_integer(wd))
            snprintf(days, sizeof(days), "%lld", (long long)json_integer_value(wd));
        join_codes(json_object_get(w, "findings"), ';', findings, sizeof(findings));
        const char *ee = json_string_value(json_object_get(w, "effective_expiry"));
        const char *sd = json_string_value(json_object_get(w, "surveillance_due"));
        struct {
            const char *name;
            size_t col;
            const char *want;
        } cols[] = {
            {"certificate_number", 1, number},
            {"standard", 2, json_string_value(json_object_get(w, "standard"))},
            {"verdict", 6, json_string_value(json_object_get(w, "verdict"))},
            {"effective_expiry", 7, ee ? ee : ""},
            {"days_to_expiry", 8, days},
            {"surveillance_due", 9, sd ? sd : ""},
            {"findings", 10, findings},
        };
        for (size_t k = 0; k < sizeof(cols) / sizeof(cols[0]); k++) {
            if (strcmp(row[cols[k].col], cols[k].want) != 0) {
                print_error("[csv-out] row %zu %s: %s: expected \"%s\", got \"%s\"\n", i + 1,
                            number, cols[k].name, cols[k].want, row[cols[k].col]);
                bad++;
            }
        }
    }
    csv_doc_free(&d);
    json_decref(expected);
    run_cleanup(&r);
    if (bad) {
        print_error("[csv-out] %d disagreement(s)\n", bad);
        fail();
    }
}

/* Splits 'line' into fields separated by runs of two or more spaces; returns the count.
 * Writes into 'line'. */
static size_t split_columns(char *line, char **fields, size_t max)
{
    size_t n = 0;
    char *p = line;
    while (*p == ' ')
        p++;
    while (*p && n < max) {
        fields[n++] = p;
        char *sep = strstr(p, "  ");
        if (!sep)
            break;
        *sep = '\0';
        p = sep + 2;
        while (*p == ' ')
            p++;
    }
    /* trim trailing blanks of the last field */
    if (n) {
        char *last = fields[n - 1];
        size_t l = strlen(last);
        while (l && (last[l - 1] == ' ' || last[l - 1] == '\r'))
            last[--l] = '\0';
    }
    return n;
}

static bool is_rule_line(const char *s)
{
    bool any = false;
    for (; *s; s++) {
        if (*s == '-' || *s == '=' || *s == '+' || *s == '|')
            any = true;
        else if (*s != ' ' && *s != '\r')
            return false;
    }
    return any;
}

static void test_format_text(void **state)
{
    (void)state;
    const char *args[] = {"verify",
                          "--as-of",
                          AS_OF,
                          "--listing",
                          "fixtures/sample/listing.json",
                          "--suppliers",
                          "fixtures/sample/suppliers.json",
                          "--max-report-age",
                          "365",
                          "--format",
                          "text",
                          "fixtures/sample/portfolio.json",
                          NULL};
    static const char *const columns[] = {"CERTIFICATE", "STANDARD", "HOLDER",  "VERDICT",
                                          "EXPIRES",     "DAYS",     "FINDINGS"};
    struct run r;
    run_certvet(args, &r);
    expect_status(&r, 1, "format text");

    json_t *expected = load_expected();
    json_t *want = expected_results(expected);
    int bad = 0;
    char *save = NULL;
    char *line = strtok_r(r.out, "\n", &save);
    /* The title line, then the header. */
    bool header_seen = false;
    size_t row = 0;
    bool summary_seen = false;
    char want_summary[160];
    json_t *s = json_object_get(expected, "summary");
    snprintf(want_summary, sizeof(want_summary),
             "summary: %lld valid, %lld warning, %lld unverified, %lld invalid, %lld errors",
             (long long)json_integer_value(json_object_get(s, "valid")),
             (long long)json_integer_value(json_object_get(s, "warning")),
             (long long)json_integer_value(json_object_get(s, "unverified")),
             (long long)json_integer_value(json_object_get(s, "invalid")),
             (long long)json_integer_value(json_object_get(s, "errors")));
    size_t line_no = 0;
    for (; line; line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        size_t l = strlen(line);
        if (l && line[l - 1] == '\r')
            line[--l] = '\0';
        if (strncmp(line, "summary:", 8) == 0) {
            summary_seen = true;
            if (strcmp(line, want_summary) != 0) {
                print_error("[text] summary line is\n  %s\nexpected\n  %s\n", line, want_summary);
                bad++;
            }
            continue;
        }
        if (!header_seen) {
            if (line_no == 1 || !strstr(line, "CERTIFICATE"))
                continue; /* the title */
            char *fields[16];
            size_t n = split_columns(line, fields, 16);
            if (n != 7) {
                print_error("[text] header has %zu columns, expected 7\n", n);
                bad++;
            }
            for (size_t k = 0; k < n && k < 7; k++) {
                if (strcmp(fields[k], columns[k]) != 0) {
                    print_error("[text] header column %zu is \"%s\", expected \"%s\"\n", k + 1,
                                fields[k], columns[k]);
                    bad++;
                }
            }
            header_seen = true;
            continue;
        }
        if (summary_seen || line[0] == '\0' || is_rule_line(line))
            continue;
        char *fields[16];
        size_t n = split_columns(line, fields, 16);
        if (row >= json_array_size(want)) {
            print_error("[text] extra row: %s\n", line);
            bad++;
            continue;
        }
        json_t *w = json_array_get(want, row++);
        const char *number = json_string_value(json_object_get(w, "certificate_number"));
        if (n != 7) {
            print_error("[text] row for %s has %zu columns, expected 7\n", number, n);
            bad++;
            continue;
        }
        char days[32] = "-", findings[1024];
        json_t *wd = json_object_get(w, "days_to_expiry");
        if (json_is_integer(wd))
            snprintf(days, sizeof(days), "%lld", (long long)json_integer_value(wd));
        join_codes(json_object_get(w, "findings"), ',', findings, sizeof(findings));
        if (!findings[0])
            strcpy(findings, "-");
        const char *ee = json_string_value(json_object_get(w, "effective_expiry"));
        struct {
            const char *name;
            size_t col;
            const char *want;
        } cols[] = {
            {"CERTIFICATE", 0, number},
            {"VERDICT", 3, json_string_value(json_object_get(w, "verdict"))},
            {"EXPIRES", 4, ee ? ee : "-"},
            {"DAYS", 5, days},
            {"FINDINGS", 6, findings},
        };
        for (size_t k = 0; k < sizeof(cols) / sizeof(cols[0]); k++) {
            if (strcmp(fields[cols[k].col], cols[k].want) != 0) {
                print_error("[text] row %zu %s: %s: expected \"%s\", got \"%s\"\n", row, number,
                            cols[k].name, cols[k].want, fields[cols[k].col]);
                bad++;
            }
        }
    }
    if (!header_seen) {
        print_error("[text] no header line with CERTIFICATE ... FINDINGS\n");
        bad++;
    }
    if (row != json_array_size(want)) {
        print_error("[text] %zu rows, expected %zu\n", row, json_array_size(want));
        bad++;
    }
    if (!summary_seen) {
        print_error("[text] no summary line\n");
        bad++;
    }
    json_decref(expected);
    run_cleanup(&r);
    if (bad) {
        print_error("[text] %d disagreement(s)\n", bad);
        fail();
    }
}

/* True when 's' holds 'n' as a whole number (a maximal run of digits equal to it). */
static bool has_number(const char *s, long n)
{
    char want[24];
    snprintf(want, sizeof(want), "%ld", n);
    size_t wl = strlen(want);
    for (const char *p = s; *p;) {
        if (!isdigit((unsigned char)*p)) {
            p++;
            continue;
        }
        const char *q = p;
        while (isdigit((unsigned char)*q))
            q++;
        if ((size_t)(q - p) == wl && memcmp(p, want, wl) == 0)
            return true;
        p = q;
    }
    return false;
}

/* Broken records are refused with an error naming the file, the record and the field; the
 * good records of the same files are still verified (SPEC 3.1, 9). */
static void test_broken_records(void **state)
{
    (void)state;
    const char *args[] = {"verify",
                          "--as-of",
                          AS_OF,
                          "--listing",
                          "fixtures/sample/listing.json",
                          "--format",
                          "json",
                          "fixtures/sample-broken/good.json",
                          "fixtures/sample-broken/bad-records.json",
                          "fixtures/sample-broken/missing-field.csv",
                          "fixtures/sample-broken/bad-date.xml",
                          NULL};
    static const char *const good[] = {"NW-Q-26101", "NW-Q-26102", "NW-E-26105",
                                       "NW-Q-26106", "NW-E-26108", "NW-Q-26109"};
    /* file, field, acceptable record numbers (line where the record or the error is, 0-based
     * index, 1-based index) */
    static const struct {
        const char *file;
        const char *field;
        long nums[4];
    } refused[] = {
        {"bad-records.json", "issue_date", {3, 1, 2, -1}},
        {"bad-records.json", "expiry_date", {4, 2, 3, -1}},
        {"missing-field.csv", "standard", {3, 1, 2, -1}},
        {"bad-date.xml", "issue_date", {12, 17, 1, 2}},
    };
    struct run r;
    run_certvet(args, &r);
    expect_status(&r, 2, "broken records");
    json_t *doc = load_json_text(r.out, r.out_len, "broken records");
    check_envelope(doc);
    int bad = 0;

    json_t *results = json_object_get(doc, "results");
    size_t n_good = sizeof(good) / sizeof(good[0]);
    if (json_array_size(results) != n_good) {
        print_error("[broken] %zu results, expected %zu\n", json_array_size(results), n_good);
        bad++;
    }
    for (size_t i = 0; i < n_good && i < json_array_size(results); i++) {
        json_t *res = json_array_get(results, i);
        const char *num = json_string_value(json_object_get(res, "certificate_number"));
        const char *verdict = json_string_value(json_object_get(res, "verdict"));
        if (!num || strcmp(num, good[i]) != 0) {
            print_error("[broken] result %zu is %s, expected %s\n", i, num ? num : "?", good[i]);
            bad++;
        } else if (!verdict || strcmp(verdict, "valid") != 0) {
            print_error("[broken] %s: verdict %s, expected valid\n", num, verdict ? verdict : "?");
            bad++;
        }
    }

    json_t *errors = json_object_get(doc, "errors");
    size_t n_refused = sizeof(refused) / sizeof(refused[0]);
    if (json_array_size(errors) != n_refused) {
        print_error("[broken] %zu errors, expected %zu\n", json_array_size(errors), n_refused);
        bad++;
    }
    json_t *summary = json_object_get(doc, "summary");
    if (json_integer_value(json_object_get(summary, "errors")) != (json_int_t)n_refused) {
        print_error("[broken] summary.errors is %lld, expected %zu\n",
                    (long long)json_integer_value(json_object_get(summary, "errors")), n_refused);
        bad++;
    }
    for (size_t k = 0; k < n_refused; k++) {
        bool found = false;
        size_t i;
        json_t *e;
        json_array_foreach(errors, i, e)
        {
            const char *src = json_string_value(json_object_get(e, "source"));
            const char *msg = json_string_value(json_object_get(e, "message"));
            if (!src || !msg || !strstr(src, refused[k].file))
                continue;
            char both[1200];
            snprintf(both, sizeof(both), "%s %s", src, msg);
            if (!strstr(both, refused[k].field))
                continue;
            for (size_t m = 0; m < 4 && !found; m++)
                found = refused[k].nums[m] >= 0 && has_number(both, refused[k].nums[m]);
            if (found)
                break;
        }
        if (!found) {
            print_error("[broken] no error names %s, the record (line or index) and field %s\n",
                        refused[k].file, refused[k].field);
            bad++;
        }
    }
    if (bad) {
        char *e = json_dumps(errors, JSON_INDENT(2));
        print_error("[broken] errors[] was:\n%s\n", e ? e : "?");
        free(e);
    }
    json_decref(doc);
    run_cleanup(&r);
    if (bad)
        fail();
}

/* More records than the reader hands to the verifier thread at once (batches of 256, four in
 * flight), refused ones among them, then a second file with a warning: every result and every
 * error comes out once, in input order, with its own index and field. */
static void test_long_input_keeps_order(void **state)
{
    (void)state;
    enum { N_JSON = 3000, N_CSV = 600 };
    char dir[] = "/tmp/certvet-golden-long-XXXXXX", json_path[64], csv_path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(json_path, sizeof(json_path), "%s/certs.jsonl", dir);
    snprintf(csv_path, sizeof(csv_path), "%s/certs.csv", dir);
    FILE *j = fopen(json_path, "w"), *c = fopen(csv_path, "w");
    assert_non_null(j);
    assert_non_null(c);
    for (int i = 0; i < N_JSON; i++) /* every 7th lacks its standard */
        fprintf(j,
                "{\"certificate_number\": \"J-%05d\", %s\"holder\": {\"name\": \"Acme %d Ltd\"}, "
                "\"certification_body\": {\"name\": \"Northwind Assurance Ltd\"}, "
                "\"issue_date\": \"2025-01-01\", \"expiry_date\": \"2028-01-01\"}\n",
                i, i % 7 ? "\"standard\": \"ISO 9001:2015\", " : "", i);
    fprintf(c, "certificate_number,standard,holder_name,certification_body,issue_date,"
               "expiry_date,paper_colour_of_the_original_certificate\n");
    for (int i = 0; i < N_CSV; i++)
        fprintf(c,
                "C-%05d,ISO 9001:2015,Acme %d Ltd,Northwind Assurance Ltd,2025-01-01,2028-01-01,"
                "blue\n",
                i, i);
    assert_int_equal(fclose(j), 0);
    assert_int_equal(fclose(c), 0);
    const char *args[] = {
        "verify",   "--as-of", AS_OF,     "--listing", "fixtures/sample/listing.json",
        "--format", "json",    json_path, csv_path,    NULL};
    struct run r;
    run_certvet(args, &r);
    unlink(json_path);
    unlink(csv_path);
    rmdir(dir);
    expect_status(&r, 2, "long input");
    json_t *doc = load_json_text(r.out, r.out_len, "long input");
    json_t *results = json_object_get(doc, "results"), *errors = json_object_get(doc, "errors");
    int bad = 0;
    size_t k = 0;
    for (int i = 0; i < N_JSON + N_CSV; i++) {
        if (i < N_JSON && i % 7 == 0)
            continue;
        char want[16];
        snprintf(want, sizeof(want), i < N_JSON ? "J-%05d" : "C-%05d", i < N_JSON ? i : i - N_JSON);
        const char *got =
            json_string_value(json_object_get(json_array_get(results, k++), "certificate_number"));
        if (!got || strcmp(got, want) != 0) {
            print_error("[long] result %zu is %s, expected %s\n", k - 1, got ? got : "none", want);
            bad++;
            break;
        }
    }
    if (json_array_size(results) != k) {
        print_error("[long] %zu results, expected %zu\n", json_array_size(results), k);
        bad++;
    }
    size_t n_refused = (N_JSON + 6) / 7;
    if (json_array_size(errors) != n_refused + 1) {
        print_error("[long] %zu errors, expected %zu and a warning\n", json_array_size(errors),
                    n_refused);
        bad++;
    }
    for (size_t e = 0; e < n_refused && e < json_array_size(errors); e++) {
        json_t *err = json_array_get(errors, e);
        if (json_integer_value(json_object_get(err, "index")) != (json_int_t)(7 * e) ||
            !json_is_string(json_object_get(err, "field")) ||
            strcmp(json_string_value(json_object_get(err, "field")), "standard") != 0) {
            print_error("[long] error %zu does not name record %zu and field standard\n", e, 7 * e);
            bad++;
            break;
        }
    }
    json_t *warning = json_array_get(errors, n_refused);
    const char *field = json_string_value(json_object_get(warning, "field"));
    if (!field || strcmp(field, "paper_colour_of_the_original_certificate") != 0) {
        print_error("[long] the last error is not the CSV file's unknown-column warning\n");
        bad++;
    }
    json_decref(doc);
    run_cleanup(&r);
    if (bad)
        fail();
}

/* A CSV file of exactly 16 full batches (the reader well ahead of the verifier): the end of input
 * comes with no partial batch, while the verifier still works through the last ones; all of them
 * are reported. */
static void test_input_of_whole_batches(void **state)
{
    (void)state;
    enum { N = 16 * 256 };
    char dir[] = "/tmp/certvet-golden-whole-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/certs.csv", dir);
    FILE *c = fopen(path, "w");
    assert_non_null(c);
    fprintf(c,
            "certificate_number,standard,holder_name,certification_body,issue_date,expiry_date\n");
    for (int i = 0; i < N; i++)
        fprintf(c,
                "W-%05d,ISO 9001:2015,Acme %d Ltd,Northwind Assurance Ltd,2025-01-01,2028-01-01\n",
                i, i);
    assert_int_equal(fclose(c), 0);
    const char *args[] = {"verify",   "--as-of", AS_OF, "--listing", "fixtures/sample/listing.json",
                          "--format", "json",    path,  NULL};
    int bad = 0;
    for (int round = 0; round < 5 && !bad; round++) {
        struct run r;
        run_certvet(args, &r);
        json_t *doc = load_json_text(r.out, r.out_len, "whole batches");
        json_t *results = json_object_get(doc, "results");
        const char *last = json_string_value(
            json_object_get(json_array_get(results, N - 1), "certificate_number"));
        if (json_array_size(results) != N || !last || strcmp(last, "W-04095") != 0) {
            print_error("[whole] run %d: %zu results, the last %s (expected %d, W-04095)\n", round,
                        json_array_size(results), last ? last : "none", N);
            bad++;
        }
        json_decref(doc);
        run_cleanup(&r);
    }
    unlink(path);
    rmdir(dir);
    if (bad)
        fail();
}

/* Nothing invalid (one valid, one warning) exits 0. */
static void test_clean_run_exits_zero(void **state)
{
    (void)state;
    const char *args[] = {"verify",
                          "--as-of",
                          AS_OF,
                          "--listing",
                          "fixtures/sample/listing.json",
                          "--format",
                          "json",
                          "fixtures/sample/clean.json",
                          NULL};
    struct run r;
    run_certvet(args, &r);
    expect_status(&r, 0, "clean run");
    json_t *doc = load_json_text(r.out, r.out_len, "clean run");
    check_envelope(doc);
    json_t *s = json_object_get(doc, "summary");
    assert_int_equal(json_integer_value(json_object_get(s, "valid")), 1);
    assert_int_equal(json_integer_value(json_object_get(s, "warning")), 1);
    assert_int_equal(json_integer_value(json_object_get(s, "invalid")), 0);
    assert_int_equal(json_integer_value(json_object_get(s, "errors")), 0);
    json_decref(doc);
    run_cleanup(&r);
}

/* Usage errors exit 2 with a message on stderr. */
static void test_usage_errors(void **state)
{
    (void)state;
    static const char *const cases[][8] = {
        {"verify", "--no-such-option", "fixtures/sample/clean.json", NULL},
        {"verify", "--as-of", "03/04/2025", "fixtures/sample/clean.json", NULL},
        {"verify", "--as-of", "2025-02-30", "fixtures/sample/clean.json", NULL},
        {"verify", "--listing", "fixtures/sample/listing.json", "fixtures/sample/no-such-file.json",
         NULL},
        {"no-such-command", NULL},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct run r;
        run_certvet(cases[i], &r);
        if (r.status != 2 || r.err_len == 0) {
            print_error("usage case %zu (certvet %s %s %s): status %d, stderr \"%.200s\"; "
                        "expected 2 and a message\n",
                        i, cases[i][0], cases[i][1] ? cases[i][1] : "",
                        cases[i][1] && cases[i][2] ? cases[i][2] : "", r.status, r.err);
            bad++;
        }
        run_cleanup(&r);
    }
    if (bad)
        fail();
}

static void test_help_and_version(void **state)
{
    (void)state;
    struct run r;

    const char *help[] = {"--help", NULL};
    run_certvet(help, &r);
    expect_status(&r, 0, "certvet --help");
    assert_true(r.out_len > 0);
    run_cleanup(&r);

    const char *verify_help[] = {"verify", "--help", NULL};
    run_certvet(verify_help, &r);
    expect_status(&r, 0, "certvet verify --help");
    if (!strstr(r.out, "--as-of")) {
        print_error("certvet verify --help does not mention --as-of:\n%s\n", r.out);
        fail();
    }
    run_cleanup(&r);

    const char *version[] = {"--version", NULL};
    run_certvet(version, &r);
    expect_status(&r, 0, "certvet --version");
#ifdef CERTVET_VERSION
    if (!strstr(r.out, CERTVET_VERSION)) {
        print_error("certvet --version prints \"%s\", expected %s in it\n", r.out, CERTVET_VERSION);
        fail();
    }
#else
    assert_non_null(strpbrk(r.out, "0123456789"));
#endif
    run_cleanup(&r);
}

int main(void)
{
    if (chdir(CERTVET_SOURCE_DIR) != 0) {
        fprintf(stderr, "cannot change to %s: %s\n", CERTVET_SOURCE_DIR, strerror(errno));
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_input),
        cmocka_unit_test(test_csv_input),
        cmocka_unit_test(test_xml_input),
        cmocka_unit_test(test_format_csv),
        cmocka_unit_test(test_format_text),
        cmocka_unit_test(test_broken_records),
        cmocka_unit_test(test_long_input_keeps_order),
        cmocka_unit_test(test_input_of_whole_batches),
        cmocka_unit_test(test_clean_run_exits_zero),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_help_and_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

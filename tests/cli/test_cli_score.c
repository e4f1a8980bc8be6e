/* CLI tests of `certvet score` through the real binary over fixtures/sample (D = 2026-11-22).
 * Every expectation is computed by hand from SPEC 5 and the per-certificate verdicts in
 * fixtures/README.md ("Per certificate" table, rows #N below), grouped by supplier_id in
 * fixtures/sample/portfolio.json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../unit/test_util.h"

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

#define MAX_ARGS 32

struct run {
    int status;
    char *out, *err; /* owned, NUL-terminated */
};

static char *slurp_fd(int fd)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    for (;;) {
        if (n + 1 >= cap) {
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
    return buf;
}

/* Runs certvet with 'args' (NULL-terminated) in the source tree; stdout/stderr to temp files. */
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
    char out_path[] = "/tmp/certvet-score-out-XXXXXX", err_path[] = "/tmp/certvet-score-err-XXXXXX";
    int out_fd = mkstemp(out_path), err_fd = mkstemp(err_path);
    assert_true(out_fd >= 0 && err_fd >= 0);
    unlink(out_path);
    unlink(err_path);
    posix_spawn_file_actions_t fa;
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    assert_int_equal(posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0), 0);
    assert_int_equal(posix_spawn_file_actions_adddup2(&fa, out_fd, 1), 0);
    assert_int_equal(posix_spawn_file_actions_adddup2(&fa, err_fd, 2), 0);
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, CERTVET_BINARY, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    int ws;
    while (waitpid(pid, &ws, 0) < 0)
        assert_int_equal(errno, EINTR);
    r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
    r->out = slurp_fd(out_fd);
    r->err = slurp_fd(err_fd);
    close(out_fd);
    close(err_fd);
}

static void expect_status(const struct run *r, int want)
{
    if (r->status == want)
        return;
    print_error("exit status %d, expected %d\n--- stderr ---\n%.4000s\n--- stdout ---\n%.4000s\n",
                r->status, want, r->err, r->out);
    fail();
}

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
}

/* ---- a small RFC 4180 reader ---------------------------------------------------------------- */

#define MAX_COLS 16
#define MAX_ROWS 32

struct csv {
    char cells[MAX_ROWS][MAX_COLS][128];
    size_t n_rows, n_cols[MAX_ROWS];
};

static void csv_parse(const char *s, struct csv *c)
{
    memset(c, 0, sizeof(*c));
    size_t row = 0, col = 0, len = 0;
    bool quoted = false, any = false;
    for (; *s; s++) {
        char ch = *s;
        if (quoted) {
            if (ch == '"' && s[1] == '"') {
                ch = '"';
                s++;
            } else if (ch == '"') {
                quoted = false;
                continue;
            }
        } else if (ch == '"') {
            quoted = true;
            any = true;
            continue;
        } else if (ch == ',' || ch == '\n') {
            assert_true(row < MAX_ROWS && col < MAX_COLS);
            c->cells[row][col][len] = '\0';
            len = 0;
            col++;
            if (ch == '\n') {
                c->n_cols[row] = col;
                row++;
                col = 0;
                any = false;
            }
            continue;
        } else if (ch == '\r') {
            continue;
        }
        any = true;
        assert_true(row < MAX_ROWS && col < MAX_COLS && len + 1 < sizeof(c->cells[0][0]));
        c->cells[row][col][len++] = ch;
    }
    assert_false(any); /* output ends with a line break */
    c->n_rows = row;
}

/* ---- expectations -----------------------------------------------------------------------------
 */

#define SAMPLE "fixtures/sample/"
#define COMMON                                                                                     \
    "--as-of", "2026-11-22", "--config-dir", CERTVET_SOURCE_DIR "/config", "--listing",            \
        SAMPLE "listing.json", "--suppliers", SAMPLE "suppliers.json"

struct portfolio_row {
    const char *id, *decision, *score, *coverage;
    const char *why; /* the hand computation */
};

/* Profile general: ISO 9001 recommended, weight 5, approve_at 80. One requirement, so the score
 * is the best 9001 certificate's points x 10 and coverage 1 unless there is none. Sorted
 * approved, conditional, rejected; then score descending; then id. */
static const struct portfolio_row general[] = {
    {"SUP-001", "approved", "100", "1.0000",
     "9001: #1 NW-Q-24001 valid (2027-05-05), #2 HQ-Q-25118 valid (2028-03-02, later: best), "
     "#12/#17/#23 invalid, #41 unverified -> 10 points"},
    {"SUP-003", "approved", "100", "1.0000", "#3 KC-25-0412 valid beats #19 KC-Q-25031 warning"},
    {"SUP-007", "approved", "100", "1.0000", "#36 AMC-Q-25090 valid"},
    {"SUP-005", "conditional", "70", "1.0000",
     "#38 NW-Q-26019 warning beats #25 unverified and #33 invalid -> 7 points; 70 < 80"},
    {"SUP-011", "conditional", "70", "1.0000", "#37 NW-Q-25203 warning -> 70"},
    {"SUP-002", "conditional", "0", "1.0000",
     "#20 NW-Q-25160 invalid -> 0; recommended only: not rejected; Northwind listed: covered"},
    {"SUP-004", "conditional", "0", "1.0000", "#29 MR-Q-26044 invalid -> 0"},
    {"SUP-006", "conditional", "0", "1.0000", "#34 ZAP-Q-26011 invalid (Zenith listed) -> 0"},
    {"SUP-008", "conditional", "0", "0.0000", "no 9001 certificate -> 0, coverage 0"},
    {"SUP-009", "conditional", "0", "0.0000", "no 9001 certificate"},
    {"SUP-010", "conditional", "0", "0.0000", "no 9001 certificate (#41 belongs to SUP-001)"},
};

static void test_all_csv(void **state)
{
    (void)state;
    const char *args[] = {"score",    "--all", "--profile", "general",
                          "--format", "csv",   COMMON,      SAMPLE "portfolio.json",
                          NULL};
    struct run r;
    run_certvet(args, &r);
    expect_status(&r, 0);
    struct csv *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    csv_parse(r.out, c);
    assert_int_equal(c->n_rows, 1 + N_ELEMS(general));
    assert_string_equal(c->cells[0][0], "supplier_id");
    assert_string_equal(c->cells[0][4], "decision");
    assert_string_equal(c->cells[0][5], "score");
    assert_string_equal(c->cells[0][6], "coverage");
    int fails = 0;
    for (size_t i = 0; i < N_ELEMS(general); i++) {
        const char(*row)[128] = c->cells[i + 1];
        EXPECT(fails, c->n_cols[i + 1] == 8, "row %zu: %zu columns\n", i, c->n_cols[i + 1]);
        EXPECT(fails, strcmp(row[0], general[i].id) == 0, "row %zu: supplier %s, expected %s\n", i,
               row[0], general[i].id);
        EXPECT(fails, strcmp(row[2], "general") == 0 && strcmp(row[3], "2026-11-22") == 0,
               "row %zu: profile/as_of %s %s\n", i, row[2], row[3]);
        EXPECT(fails,
               strcmp(row[4], general[i].decision) == 0 && strcmp(row[5], general[i].score) == 0 &&
                   strcmp(row[6], general[i].coverage) == 0,
               "%s: %s %s %s, expected %s %s %s (%s)\n", general[i].id, row[4], row[5], row[6],
               general[i].decision, general[i].score, general[i].coverage, general[i].why);
    }
    /* A name with a comma comes back whole (RFC 4180 quoting). */
    EXPECT(fails, strcmp(c->cells[1][1], "Ningbo Qianhe Moulding Co., Ltd.") == 0, "name '%s'\n",
           c->cells[1][1]);
    free(c);
    run_free(&r);
    assert_int_equal(fails, 0);
}

struct req_expect {
    const char *family, *number, *verdict;
    int points;
    const char *findings; /* space-separated codes */
};

static void expect_requirements(json_t *reqs, const struct req_expect *want, size_t n)
{
    assert_int_equal(json_array_size(reqs), n);
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_array_get(reqs, i);
        assert_string_equal(json_string_value(json_object_get(r, "family")), want[i].family);
        assert_string_equal(json_string_value(json_object_get(r, "level")), "required");
        assert_int_equal(json_integer_value(json_object_get(r, "weight")), 10);
        json_t *cert = json_object_get(r, "certificate");
        assert_string_equal(json_string_value(json_object_get(cert, "number")), want[i].number);
        assert_true(strlen(json_string_value(json_object_get(cert, "id"))) > 2);
        assert_string_equal(json_string_value(json_object_get(r, "verdict")), want[i].verdict);
        assert_int_equal(json_integer_value(json_object_get(r, "points")), want[i].points);
        char codes[256] = "";
        json_t *f;
        size_t k;
        json_array_foreach(json_object_get(r, "findings"), k, f)
        {
            if (k)
                strcat(codes, " ");
            strcat(codes, json_string_value(f));
        }
        assert_string_equal(codes, want[i].findings);
    }
}

/* SUP-001 against government (9001, 14001, 45001 required, weight 10 each):
 * 9001 best #2 HQ-Q-25118 valid (latest expiry of the two valid) 10; 14001 only #16 HQ-E-23071,
 * CERT_EXPIRED 2026-08-31, invalid 0; 45001 #18 HQ-OH-24015 CERT_EXPIRING_SOON warning 7.
 * Score round(100 * 170 / 300) = 57; 14001 only invalid -> rejected (exit 1); all three CBs
 * listed (Harbour) -> coverage 1. */
static void test_one_json(void **state)
{
    (void)state;
    const char *args[] = {"score",    "SUP-001", "--profile", "government",
                          "--format", "json",    COMMON,      SAMPLE "portfolio.json",
                          NULL};
    struct run r;
    run_certvet(args, &r);
    expect_status(&r, 1);
    json_error_t je;
    json_t *j = json_loads(r.out, 0, &je);
    if (!j)
        fail_msg("not JSON: %s\n%s", je.text, r.out);
    assert_string_equal(json_string_value(json_object_get(j, "scoring")), "certvet-score/1");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "supplier"), "id")),
                        "SUP-001");
    assert_string_equal(json_string_value(json_object_get(j, "profile")), "government");
    assert_string_equal(json_string_value(json_object_get(j, "as_of")), "2026-11-22");
    assert_int_equal(json_integer_value(json_object_get(j, "score")), 57);
    assert_string_equal(json_string_value(json_object_get(j, "decision")), "rejected");
    assert_true(json_number_value(json_object_get(j, "coverage")) > 0.999);
    static const struct req_expect want[] = {
        {"ISO 9001", "HQ-Q-25118", "valid", 10, ""},
        {"ISO 14001", "HQ-E-23071", "invalid", 0, "CERT_EXPIRED"},
        {"ISO 45001", "HQ-OH-24015", "warning", 7, "CERT_EXPIRING_SOON"},
    };
    expect_requirements(json_object_get(j, "requirements"), want, N_ELEMS(want));
    json_t *reasons = json_object_get(j, "reasons");
    assert_int_equal(json_array_size(reasons), 3);
    assert_string_equal(json_string_value(json_array_get(reasons, 1)),
                        "ISO 14001 is required by the government profile; the supplier's "
                        "certificate HQ-E-23071 expired on 2026-08-31");
    json_decref(j);
    run_free(&r);
}

/* SUP-009 against toys-au-nz (ISO 8124 required, reports at most 365 days old): #6
 * OTL-2026-05117 valid (205 days old), #7 OTL-2025-03088 warning (REPORT_TOO_OLD, in transition),
 * #15 OTL-MS-8124-01 warning (route mismatch): best valid -> 100, approved (exit 0). */
static void test_toys_replay(void **state)
{
    (void)state;
    const char *now[] = {"score",
                         "SUP-009",
                         "--profile",
                         "toys-au-nz",
                         "--format",
                         "json",
                         "--as-of",
                         "2026-11-22",
                         "--config-dir",
                         CERTVET_SOURCE_DIR "/config",
                         "--listing",
                         SAMPLE "listing.json",
                         SAMPLE "portfolio.json",
                         NULL};
    struct run r;
    run_certvet(now, &r);
    expect_status(&r, 0);
    json_t *j = json_loads(r.out, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "score")), 100);
    assert_string_equal(json_string_value(json_object_get(j, "decision")), "approved");
    json_t *req = json_array_get(json_object_get(j, "requirements"), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(req, "certificate"), "number")),
        "OTL-2026-05117");
    json_decref(j);
    run_free(&r);
}

/* The terminal table of --all: one line per supplier, in the order of the CSV above; the first
 * data line is SUP-001 approved with 100 and nothing below valid ("-"). */
static void test_all_text(void **state)
{
    (void)state;
    const char *args[] = {"score", "--all", "--profile", "general", COMMON, SAMPLE "portfolio.json",
                          NULL};
    struct run r;
    run_certvet(args, &r);
    expect_status(&r, 0);
    size_t lines = 0;
    for (const char *p = r.out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 3 + N_ELEMS(general)); /* title, blank, header, suppliers */
    const char *first = strstr(r.out, "\napproved ");
    assert_non_null(first);
    assert_non_null(strstr(first, "100"));
    assert_non_null(strstr(first, "SUP-001"));
    assert_non_null(strstr(r.out, "SUP-008"));
    run_free(&r);
}

int main(void)
{
    if (chdir(CERTVET_SOURCE_DIR) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_csv),
        cmocka_unit_test(test_all_text),
        cmocka_unit_test(test_one_json),
        cmocka_unit_test(test_toys_replay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

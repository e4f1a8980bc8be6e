/* `certvet scan` against a real redis-server: a store seeded with certificates whose expiries sit
 * across the thresholds, scanned day by day over 41 simulated days, announces each event exactly
 * once on the day computed by hand (expiry thresholds, expiry, surveillance overdue and lapsed,
 * verdict changes); a second run on the same day announces nothing; a held lock
 * makes a scan exit 2; --fail-on; the CSV report reads back. */
#define _GNU_SOURCE /* strcasestr */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness.h"

#include "certvet/date.h"
#include "certvet/notify.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static struct it_redis redis;
/* Children a failed test would leave behind (they hold ctest's output pipe open): teardown kills
 * them. */
static pid_t month_hook, month_sink;
static struct it_redis month_store;

/* Days counted from 2026-06-01 (day 0). The index horizon is as_of + 90 days, so D (101 days
 * out on day 0) is first read on day 11; E never is. Thresholds: 90/60/30/7/0. */
static const char certs_csv[] =
    "certificate_number,type,standard,holder_name,holder_country,supplier_id,certification_body,"
    "accreditation_body,accreditation_number,scope,issue_date,expiry_date,"
    "original_certification_date,last_audit_type,last_audit_date,declared_status\n"
    "SCAN-A,management_system,ISO 9001:2015,Alpha Ltd,GB,,Northwind Assurance "
    "Ltd,UKAS,UKAS-0101,Moulding,2024-01-10,2026-06-05,,surveillance,2026-01-15,active\n"
    "SCAN-B,management_system,ISO 9001:2015,\"Bravo, Ltd\",GB,,Northwind Assurance "
    "Ltd,UKAS,UKAS-0101,Moulding,2024-01-10,2026-07-01,,surveillance,2026-01-15,active\n"
    "SCAN-C,management_system,ISO 9001:2015,Charlie Ltd,GB,,Northwind Assurance "
    "Ltd,UKAS,UKAS-0101,Moulding,2024-01-10,2026-08-10,,surveillance,2026-01-15,active\n"
    "SCAN-D,management_system,ISO 9001:2015,Delta Ltd,GB,,Northwind Assurance "
    "Ltd,UKAS,UKAS-0101,Moulding,2024-01-10,2026-09-10,,surveillance,2026-01-15,active\n"
    "SCAN-E,management_system,ISO 9001:2015,Echo Ltd,GB,,Northwind Assurance "
    "Ltd,UKAS,UKAS-0101,Moulding,2025-01-10,2027-12-31,,surveillance,2026-01-15,active\n"
    "SCAN-F,management_system,ISO 9001:2015,Foxtrot Ltd,GB,,Northwind Assurance "
    "Ltd,UKAS,UKAS-0101,Moulding,2024-06-05,2027-06-01,,surveillance,2025-06-10,active\n"
    "SCAN-G,management_system,ISO 9001:2015,Golf Ltd,GB,,Northwind Assurance "
    "Ltd,UKAS,UKAS-0101,Moulding,2024-03-25,2027-03-24,,surveillance,2025-03-22,active\n";

/* The expected events, by hand from the dates above ("" when the event has no such field). */
static const struct expected {
    int day;
    const char *number, *type, *detail; /* detail: threshold, or "from>to" */
} expected[] = {
    {0, "SCAN-A", "expiring", "7"},  /* 4 days left: the lowest threshold reached is 7 */
    {0, "SCAN-B", "expiring", "30"}, /* 30 days left */
    {0, "SCAN-C", "expiring", "90"}, /* 70 days left */
    {4, "SCAN-A", "expiring", "0"},  /* 2026-06-05: expires today */
    {5, "SCAN-A", "expired", ""},    /* the day after */
    {5, "SCAN-A", "verdict_changed", "warning>invalid"},
    {10, "SCAN-C", "expiring", "60"}, /* 2026-06-11: 60 days left */
    {11, "SCAN-D", "expiring", "90"}, /* 2026-06-12: 90 days left, first read */
    {23, "SCAN-B", "expiring", "7"},  /* 2026-06-24 */
    {30, "SCAN-B", "expiring", "0"},  /* 2026-07-01 */
    {31, "SCAN-B", "expired", ""},
    {31, "SCAN-B", "verdict_changed", "warning>invalid"},
    {40, "SCAN-C", "expiring", "30"}, /* 2026-07-11 */
    /* Surveillance is due 12 months after the last audit; lapsed past 90 days' grace. F is due
     * 2026-06-10 (day 9, first read then from the surveillance index, on time); G was due
     * 2026-03-22, so it is 71 days late on day 0 and past the grace on 2026-06-21 (day 20). */
    {0, "SCAN-G", "surveillance_overdue", ""},
    {10, "SCAN-F", "surveillance_overdue", ""},
    {10, "SCAN-F", "verdict_changed", "valid>warning"},
    {20, "SCAN-G", "surveillance_lapsed", ""},
    {20, "SCAN-G", "verdict_changed", "warning>invalid"},
};
#define N_EXPECTED (sizeof(expected) / sizeof(expected[0]))
#define N_DAYS     41

struct run {
    int status; /* exit status, or 128 + signal */
    char *out;  /* captured stdout, malloc'd */
    char *err;  /* captured stderr, malloc'd */
};

/* Runs `certvet CMD ARGS...` with cwd = the source tree; captures both streams. */
static void run_certvet(struct run *r, const char *cmd, const char *const *args)
{
    char out_path[IT_PATH_MAX], err_path[IT_PATH_MAX];
    const char *argv[32] = {CERTVET_BINARY, cmd};
    int n = 2;
    for (; args[n - 2] && n < 31; n++)
        argv[n] = args[n - 2];
    argv[n] = NULL;
    snprintf(out_path, sizeof(out_path), "%s/run.out", it_tmpdir());
    snprintf(err_path, sizeof(err_path), "%s/run.err", it_tmpdir());
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0 || chdir(CERTVET_SOURCE_DIR))
            _exit(127);
        execv(CERTVET_BINARY, (char *const *)argv);
        _exit(127);
    }
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    r->out = it_read_file(out_path, NULL);
    r->err = it_read_file(err_path, NULL);
}

static void run_cleanup(struct run *r)
{
    free(r->out);
    free(r->err);
}

/* 2026-06-01 + 'day' as YYYY-MM-DD (June has 30 days; the test stays within June and July). */
static void day_date(int day, char out[16])
{
    cv_date_format(cv_date_from_ymd(2026, 6, 1) + day, out);
}

/* Runs a scan as of 'day' with 'extra' options; returns the parsed JSON report (or NULL when
 * the output is not JSON) and the exit status in '*status'. */
static json_t *scan_on(const char *url, const char *date, const char *const *extra, int *status,
                       struct run *keep)
{
    const char *args[24] = {"--redis", url, "--listing", "fixtures/sample/listing.json",
                            "--as-of", date};
    size_t n = 6;
    struct run r;
    for (; extra && *extra && n < 23; extra++)
        args[n++] = *extra;
    args[n] = NULL;
    run_certvet(&r, "scan", args);
    *status = r.status;
    json_t *doc = json_loads(r.out, 0, NULL);
    if (keep)
        *keep = r;
    else
        run_cleanup(&r);
    return doc;
}

static json_t *scan(int day, const char *const *extra, int *status, struct run *keep)
{
    char date[16];
    day_date(day, date);
    return scan_on(redis.url, date, extra, status, keep);
}

static void seed(void)
{
    char path[IT_PATH_MAX];
    snprintf(path, sizeof(path), "%s/certs.csv", it_tmpdir());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(certs_csv, f);
    fclose(f);
    const char *args[] = {"--redis", redis.url,    "--listing", "fixtures/sample/listing.json",
                          "--as-of", "2026-06-01", path,        NULL};
    struct run r;
    run_certvet(&r, "import", args);
    if (r.status != 0)
        fail_msg("import: exit %d; stderr: %s", r.status, r.err);
    run_cleanup(&r);
}

static int setup(void **state)
{
    (void)state;
    it_redis_start(&redis, it_tmpdir(), false);
    seed();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < 2; i++) {
        pid_t *p = i ? &month_sink : &month_hook;
        if (*p > 0) {
            kill(*p, SIGKILL);
            waitpid(*p, NULL, 0);
            *p = 0;
        }
    }
    if (month_store.pid)
        it_redis_stop(&month_store);
    it_redis_stop(&redis);
    it_cleanup_all();
    return 0;
}

static const char *field(json_t *o, const char *name)
{
    const char *s = json_string_value(json_object_get(o, name));
    return s ? s : "";
}

/* Matches one night's events against 'table' ('n' rows): each must be there for that night,
 * else the test fails; returns how many matched. */
static size_t match_events(const struct expected *table, size_t n, int night, json_t *events)
{
    size_t i, matched = 0;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        char detail[64];
        if (!strcmp(field(ev, "type"), "verdict_changed"))
            snprintf(detail, sizeof(detail), "%s>%s", field(ev, "from"), field(ev, "to"));
        else
            snprintf(detail, sizeof(detail), "%s", field(ev, "threshold"));
        size_t k;
        for (k = 0; k < n; k++)
            if (table[k].day == night &&
                !strcmp(table[k].number, field(ev, "certificate_number")) &&
                !strcmp(table[k].type, field(ev, "type")) && !strcmp(table[k].detail, detail))
                break;
        if (k == n)
            fail_msg("night %d: unexpected event %s %s %s", night, field(ev, "certificate_number"),
                     field(ev, "type"), detail);
        matched++;
    }
    return matched;
}

/* Runs first: the whole simulated month. Each night's events match the table exactly; a
 * second run the same night announces nothing. */
static void test_events_once_day_by_day(void **state)
{
    (void)state;
    size_t seen = 0, total = 0;
    for (int day = 0; day < N_DAYS; day++) {
        int status;
        json_t *report = scan(day, NULL, &status, NULL);
        if (status != 0 || !report)
            fail_msg("day %d: exit %d", day, status);
        json_t *events = json_object_get(report, "events");
        seen += match_events(expected, N_EXPECTED, day, events);
        total += json_array_size(events);
        json_decref(report);

        /* The same night again: nothing new, and the attention list is still there. */
        report = scan(day, NULL, &status, NULL);
        assert_int_equal(status, 0);
        assert_int_equal(json_array_size(json_object_get(report, "events")), 0);
        json_decref(report);
    }
    assert_int_equal(seen, N_EXPECTED); /* each expected event appeared, none twice */
    char out[64];
    assert_int_equal(it_redis_cli(&redis, "XLEN 'certvet:{cv}:stream:events'", out, sizeof(out)),
                     0);
    assert_int_equal(atol(out), (long)total);
}

/* Expired items stay on the attention list every night, critical first. */
static void test_attention_and_fail_on(void **state)
{
    (void)state;
    int status;
    const char *warn[] = {"--fail-on", "warning", NULL};
    const char *crit[] = {"--fail-on", "critical", NULL};
    json_t *report = scan(40, warn, &status, NULL);
    assert_int_equal(status, 1);
    json_t *att = json_object_get(report, "attention");
    /* Critical first (A, B expired; G lapsed), then warnings (C expiring, F overdue), each by
     * days to expiry. */
    static const char *const order[][2] = {{"SCAN-A", "critical"},
                                           {"SCAN-B", "critical"},
                                           {"SCAN-G", "critical"},
                                           {"SCAN-C", "warning"},
                                           {"SCAN-F", "warning"}};
    assert_int_equal(json_array_size(att), 5);
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(field(json_array_get(att, i), "certificate_number"), order[i][0]);
        assert_string_equal(field(json_array_get(att, i), "severity"), order[i][1]);
    }
    json_decref(report);
    report = scan(40, crit, &status, NULL);
    assert_int_equal(status, 1);
    json_decref(report);

    /* Day 3: only warnings (A and B expiring within 30 days): critical passes, warning fails. */
    const char *crit_early[] = {"--fail-on", "critical", NULL};
    report = scan(3, crit_early, &status, NULL);
    assert_int_equal(status, 0);
    json_decref(report);
    report = scan(3, warn, &status, NULL);
    assert_int_equal(status, 1);
    json_decref(report);
}

static void test_csv_report(void **state)
{
    (void)state;
    char path[IT_PATH_MAX];
    int status;
    snprintf(path, sizeof(path), "%s/report.csv", it_tmpdir());
    const char *extra[] = {"--format", "csv", "--output", path, NULL};
    json_t *none = scan(40, extra, &status, NULL);
    assert_int_equal(status, 0);
    assert_null(none); /* nothing on stdout */
    char *text = it_read_file(path, NULL);
    assert_non_null(text);
    /* Header, then A, B (holder quoted: it has a comma), G, C, F. */
    char *save = NULL, *line = strtok_r(text, "\r\n", &save);
    assert_non_null(line);
    assert_string_equal(line, "certificate_id,certificate_number,holder,severity,reason,verdict,"
                              "effective_expiry,days_to_expiry,findings");
    const char *rows[][2] = {
        {",SCAN-A,Alpha Ltd,critical,expired,invalid,2026-06-05,-36,", NULL},
        {",SCAN-B,\"Bravo, Ltd\",critical,expired,invalid,2026-07-01,-10,", NULL},
        {",SCAN-G,Golf Ltd,critical,surveillance_lapsed,invalid,2027-03-24,256,", NULL},
        {",SCAN-C,Charlie Ltd,warning,expiring,warning,2026-08-10,30,", NULL},
        {",SCAN-F,Foxtrot Ltd,warning,surveillance_overdue,warning,2027-06-01,325,", NULL}};
    for (size_t i = 0; i < 5; i++) {
        line = strtok_r(NULL, "\r\n", &save);
        assert_non_null(line);
        if (!strstr(line, rows[i][0]))
            fail_msg("row %zu: %s", i, line);
    }
    assert_null(strtok_r(NULL, "\r\n", &save));
    free(text);
}

/* Another holder has the lock: the scan refuses (exit 2) and leaves it alone. */
static void test_lock_held(void **state)
{
    (void)state;
    char out[64];
    struct run r;
    int status;
    assert_int_equal(
        it_redis_cli(&redis, "SET 'certvet:{cv}:lock:scan' other-host PX 60000", out, sizeof(out)),
        0);
    json_t *doc = scan(40, NULL, &status, &r);
    assert_int_equal(status, 2);
    assert_null(doc);
    if (!strstr(r.err, "another scan is running"))
        fail_msg("stderr: %s", r.err);
    run_cleanup(&r);
    assert_int_equal(it_redis_cli(&redis, "GET 'certvet:{cv}:lock:scan'", out, sizeof(out)), 0);
    assert_string_equal(out, "other-host");
    assert_int_equal(it_redis_cli(&redis, "DEL 'certvet:{cv}:lock:scan'", out, sizeof(out)), 0);
    /* Released: a scan runs again, and leaves no lock behind. */
    doc = scan(40, NULL, &status, NULL);
    assert_int_equal(status, 0);
    json_decref(doc);
    assert_int_equal(it_redis_cli(&redis, "EXISTS 'certvet:{cv}:lock:scan'", out, sizeof(out)), 0);
    assert_string_equal(out, "0");
}

/* Wrong options are usage errors (exit 2) that name the option; nothing is scanned. */
static void test_usage_errors(void **state)
{
    (void)state;
    static const char *const cases[][3] = {{"--fail-on", "sometimes", "--fail-on"},
                                           {"--format", "xml", "--format"},
                                           {"--thresholds", "90,x", "--thresholds"},
                                           {"--within", "-1", "--within"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *extra[] = {cases[i][0], cases[i][1], NULL};
        struct run r;
        int status;
        json_t *doc = scan(40, extra, &status, &r);
        assert_int_equal(status, 2);
        assert_null(doc);
        if (!strstr(r.err, cases[i][2]))
            fail_msg("%s %s: stderr: %s", cases[i][0], cases[i][1], r.err);
        run_cleanup(&r);
    }
}

/* A webhook receiver in a child: answers 200 to each of up to 'max' requests on 127.0.0.1 and
 * saves request k (from 1) to '<dir>/hook-<k>.txt', then exits 0 (or is killed). Returns its
 * pid; '*port' is where it listens. */
static pid_t receiver_start(const char *dir, int max, unsigned *port)
{
    int ls = it_listen_loopback(port);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid != 0) {
        close(ls);
        return pid;
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives the test */
    for (int k = 1; k <= max; k++) {
        static char buf[1 << 20];
        char path[IT_PATH_MAX + 32], tmp[IT_PATH_MAX + 32];
        size_t len = 0;
        int c = accept(ls, NULL, NULL);
        if (c < 0)
            _exit(1);
        for (;;) {
            ssize_t n = read(c, buf + len, sizeof(buf) - 1 - len);
            if (n <= 0)
                break;
            len += (size_t)n;
            buf[len] = '\0';
            char *end = strstr(buf, "\r\n\r\n"), *cl = strcasestr(buf, "content-length:");
            if (end && cl && len >= (size_t)(end + 4 - buf) + (size_t)atol(cl + 15))
                break;
        }
        snprintf(tmp, sizeof(tmp), "%s/.hook-%d", dir, k);
        snprintf(path, sizeof(path), "%s/hook-%d.txt", dir, k);
        FILE *f = fopen(tmp, "w");
        if (f) {
            fwrite(buf, 1, len, f);
            fclose(f);
            rename(tmp, path); /* whole files only */
        }
        static const char ok[] =
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        if (write(c, ok, sizeof(ok) - 1) < 0)
            _exit(1);
        close(c);
    }
    _exit(0);
}

/* The body of a saved webhook request 'req', parsed, after checking its X-Certvet-Signature
 * header: the HMAC-SHA256 of the body under 'secret'. The caller decrefs it. */
static json_t *signed_body(const char *req, const char *secret)
{
    char hex[65], sig[128];
    const char *body = strstr(req, "\r\n\r\n");
    assert_non_null(body);
    body += 4;
    cv_hmac_sha256_hex(secret, body, strlen(body), hex);
    snprintf(sig, sizeof(sig), "X-Certvet-Signature: sha256=%s", hex);
    if (!strcasestr(req, sig))
        fail_msg("no %s in %s", sig, req);
    json_t *doc = json_loads(body, 0, NULL);
    assert_non_null(doc);
    return doc;
}

/* --notify POSTs the night's events, signed, to the webhook. Day 41 (2026-07-12): D has 60 days
 * left. */
static void test_notify_webhook(void **state)
{
    (void)state;
    char dir[IT_PATH_MAX], path[IT_PATH_MAX + 16], url[64];
    unsigned port;
    int status, ws;
    snprintf(dir, sizeof(dir), "%s/webhook", it_tmpdir());
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/hook-1.txt", dir);
    pid_t pid = receiver_start(dir, 1, &port);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", port);
    setenv("CERTVET_WEBHOOK_URL", url, 1);
    setenv("CERTVET_WEBHOOK_SECRET", "test-secret", 1);
    const char *extra[] = {"--notify", NULL};
    struct run r;
    json_t *report = scan(41, extra, &status, &r);
    unsetenv("CERTVET_WEBHOOK_URL");
    unsetenv("CERTVET_WEBHOOK_SECRET");
    if (status != 0)
        fail_msg("exit %d; stderr: %s", status, r.err);
    run_cleanup(&r);
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    char *req = it_read_file(path, NULL);
    assert_non_null(req);
    assert_non_null(strstr(req, "POST /hook"));
    json_t *doc = signed_body(req, "test-secret");
    assert_non_null(strstr(json_string_value(json_object_get(doc, "text")), "2026-07-12"));
    json_t *ev;
    size_t i;
    bool found = false;
    json_array_foreach(json_object_get(doc, "events"), i, ev) found |=
        !strcmp(field(ev, "certificate_number"), "SCAN-D") && !strcmp(field(ev, "threshold"), "60");
    assert_true(found);
    assert_int_equal(json_array_size(json_object_get(doc, "events")),
                     json_array_size(json_object_get(report, "events")));
    json_decref(doc);
    json_decref(report);
    free(req);
}

/* --notify with CERTVET_SMTP_URL e-mails the night's summary to the loopback SMTP sink. Day 71
 * (2026-08-11): D, announced at 60 days on day 41, now has 30 days left. */
static void test_notify_email(void **state)
{
    (void)state;
    char dir[IT_PATH_MAX], port_file[IT_PATH_MAX + 16], url[64], msg_path[IT_PATH_MAX + 16];
    int status;
    snprintf(dir, sizeof(dir), "%s/mail", it_tmpdir());
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(port_file, sizeof(port_file), "%s/port", dir);
    pid_t sink = fork();
    assert_true(sink >= 0);
    if (sink == 0) {
        execl(CERTVET_SMTP_SINK, CERTVET_SMTP_SINK, port_file, dir, (char *)NULL);
        _exit(127);
    }
    char *port = NULL;
    for (int i = 0; i < 500 && access(port_file, R_OK) != 0; i++) /* published by rename */
        it_sleep_ms(10);
    port = it_read_file(port_file, NULL);
    assert_true(atoi(port) > 0);
    snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", atoi(port));
    free(port);
    setenv("CERTVET_SMTP_URL", url, 1);
    setenv("CERTVET_SMTP_FROM", "certvet@example.com", 1);
    setenv("CERTVET_SMTP_TO", "buyer@example.com, quality@example.com", 1);
    const char *extra[] = {"--notify", NULL};
    struct run r;
    json_t *report = scan(71, extra, &status, &r);
    unsetenv("CERTVET_SMTP_URL");
    unsetenv("CERTVET_SMTP_FROM");
    unsetenv("CERTVET_SMTP_TO");
    if (status != 0)
        fail_msg("exit %d; stderr: %s", status, r.err);
    run_cleanup(&r);
    kill(sink, SIGTERM);
    waitpid(sink, NULL, 0);
    snprintf(msg_path, sizeof(msg_path), "%s/msg-1.eml", dir);
    char *msg = it_read_file(msg_path, NULL);
    assert_non_null(msg);
    assert_non_null(strstr(msg, "Subject: certvet scan 2026-08-11: "));
    assert_non_null(strstr(msg, "To: <buyer@example.com>"));
    assert_non_null(strstr(msg, "- expiring: SCAN-D (30 days to expiry)"));
    assert_true(json_array_size(json_object_get(report, "events")) > 0);
    free(msg);
    json_decref(report);
}

/* Writes 'text' to 'path'. */
static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static size_t count_type(json_t *report, const char *type)
{
    size_t i, n = 0;
    json_t *ev;
    json_array_foreach(json_object_get(report, "events"), i, ev) n +=
        !strcmp(field(ev, "type"), type);
    return n;
}

/* A listing refresh that withdraws Northwind's accreditation (more than six months ago, so the
 * findings are critical): the next scan announces cb_accreditation_changed once, re-verifies all
 * seven of Northwind's certificates (also E, never due), and announces the verdicts that
 * changed. Day 71 (2026-08-11), after test_notify_email's scan of that day: A, B and C are
 * expired (invalid), G lapsed (invalid), D expiring (warning), F overdue (warning). */
static void test_cb_withdrawn_by_refresh(void **state)
{
    (void)state;
    char sources[IT_PATH_MAX], listing[IT_PATH_MAX], src_listing[IT_PATH_MAX + 64];
    int status;
    snprintf(sources, sizeof(sources), "%s/sources.json", it_tmpdir());
    snprintf(listing, sizeof(listing), "%s/northwind.json", it_tmpdir());
    snprintf(src_listing, sizeof(src_listing), "%s/fixtures/sample/listing.json",
             CERTVET_SOURCE_DIR);
    char *original = it_read_file(src_listing, NULL);
    assert_non_null(original);
    write_file(listing, original);
    write_file(sources, "{\"sources\": [{\"name\": \"northwind\", \"kind\": \"file\", \"path\": "
                        "\"northwind.json\", \"format\": \"json\", \"refresh_s\": 0}]}");
    const char *refresh[] = {"--redis", redis.url, "--sources", sources, NULL};
    const char *with_sources[] = {"--sources", sources, NULL};
    struct run r;

    /* The kept copy is the same listing: nothing changes. */
    run_certvet(&r, "refresh", refresh);
    if (r.status != 0)
        fail_msg("refresh: exit %d; stderr: %s", r.status, r.err);
    run_cleanup(&r);
    json_t *report = scan(71, with_sources, &status, NULL);
    assert_int_equal(status, 0);
    assert_int_equal(json_array_size(json_object_get(report, "events")), 0);
    json_decref(report);

    /* Withdrawn on 2025-12-01: the source changes, the refresh keeps the new copy. */
    static const char active[] = "\"status\": \"active\", \"valid_from\": \"2010-01-01\"";
    char *at = strstr(original, active);
    assert_non_null(at);
    char *changed = malloc(strlen(original) + 64);
    assert_non_null(changed);
    sprintf(changed,
            "%.*s\"status\": \"withdrawn\", \"status_date\": \"2025-12-01\", "
            "\"valid_from\": \"2010-01-01\"%s",
            (int)(at - original), original, at + strlen(active));
    write_file(listing, changed);
    run_certvet(&r, "refresh", refresh);
    if (r.status != 0)
        fail_msg("refresh: exit %d; stderr: %s", r.status, r.err);
    run_cleanup(&r);

    report = scan(71, with_sources, &status, NULL);
    assert_int_equal(status, 0);
    json_t *events = json_object_get(report, "events"), *ev;
    size_t i, cb_events = 0;
    json_array_foreach(events, i, ev)
    {
        const char *type = field(ev, "type");
        if (!strcmp(type, "cb_accreditation_changed")) {
            cb_events++;
            assert_string_equal(field(ev, "certification_body_id"), "northwind-assurance");
            assert_string_equal(field(ev, "certification_body"), "Northwind Assurance Ltd");
            assert_non_null(strstr(field(ev, "from"), "UKAS UKAS-0101: ISO 9001"));
            assert_non_null(strstr(field(ev, "from"), "(active from 2010-01-01)"));
            assert_non_null(strstr(field(ev, "to"), "(withdrawn 2025-12-01 from 2010-01-01)"));
            assert_string_equal(field(ev, "certificates"), "7");
            assert_int_equal(i, 0); /* the CB first, then what it changed */
        } else if (!strcmp(type, "verdict_changed")) {
            const char *number = field(ev, "certificate_number");
            if (strcmp(number, "SCAN-D") && strcmp(number, "SCAN-F"))
                fail_msg("unexpected verdict_changed for %s", number);
            assert_string_equal(field(ev, "from"), "warning");
            assert_string_equal(field(ev, "to"), "invalid");
            assert_non_null(strstr(field(ev, "findings"), "CB_ACCREDITATION_WITHDRAWN"));
        } else {
            fail_msg("unexpected %s for %s", type, field(ev, "certificate_number"));
        }
    }
    assert_int_equal(cb_events, 1);
    assert_int_equal(count_type(report, "verdict_changed"), 2);
    /* E (expiring in 2027, never due) was re-verified too and now needs attention. */
    bool e_listed = false;
    json_array_foreach(json_object_get(report, "attention"), i, ev) e_listed |=
        !strcmp(field(ev, "certificate_number"), "SCAN-E") &&
        !strcmp(field(ev, "reason"), "invalid");
    assert_true(e_listed);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(report, "summary"),
                                                        "certification_bodies_changed")),
                     1);
    json_decref(report);

    /* Once: the same night again announces nothing. */
    report = scan(71, with_sources, &status, NULL);
    assert_int_equal(status, 0);
    assert_int_equal(json_array_size(json_object_get(report, "events")), 0);
    json_decref(report);
    free(changed);
    free(original);
}

/* --notify with the config file's "notify" section: the webhook URL from the file, its secret from
 * the environment variable the file names; the signature is the HMAC-SHA256 of the body under
 * that secret. Day 100 (2026-09-09): D has one day left, so 7 is the lowest threshold reached. A
 * missing secret is refused before anything is scanned, naming the variable. */
static void test_notify_from_config(void **state)
{
    (void)state;
    char dir[IT_PATH_MAX], path[IT_PATH_MAX + 16], conf[IT_PATH_MAX], text[512];
    unsigned port;
    int status, ws;
    snprintf(dir, sizeof(dir), "%s/webhook-config", it_tmpdir());
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/hook-1.txt", dir);
    snprintf(conf, sizeof(conf), "%s/certvet.json", it_tmpdir());
    pid_t pid = receiver_start(dir, 1, &port);
    snprintf(text, sizeof(text),
             "{\"notify\": {\"webhook_url\": \"http://127.0.0.1:%u/from-config\", "
             "\"webhook_secret_env\": \"SCAN_TEST_HOOK_SECRET\"}}",
             port);
    write_file(conf, text);
    const char *extra[] = {"--config", conf, "--notify", NULL};
    struct run r;

    json_t *report = scan(100, extra, &status, &r); /* the secret is not set */
    assert_int_equal(status, 2);
    assert_null(report);
    if (!strstr(r.err, "SCAN_TEST_HOOK_SECRET"))
        fail_msg("stderr: %s", r.err);
    run_cleanup(&r);

    setenv("SCAN_TEST_HOOK_SECRET", "from-the-environment", 1);
    report = scan(100, extra, &status, &r);
    unsetenv("SCAN_TEST_HOOK_SECRET");
    if (status != 0)
        fail_msg("exit %d; stderr: %s", status, r.err);
    run_cleanup(&r);
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    char *req = it_read_file(path, NULL);
    assert_non_null(req);
    assert_non_null(strstr(req, "POST /from-config"));
    json_t *doc = signed_body(req, "from-the-environment");
    bool found = false;
    json_t *ev;
    size_t i;
    json_array_foreach(json_object_get(doc, "events"), i, ev) found |=
        !strcmp(field(ev, "certificate_number"), "SCAN-D") && !strcmp(field(ev, "threshold"), "7");
    assert_true(found);
    json_decref(doc);
    json_decref(report);
    free(req);
}

/* ---- a month of nights over the sample portfolio ------------------------------------------ */

/* The sample portfolio (fixtures/sample/portfolio.json, 43 certificates) scanned every night from
 * 2026-11-22 (night 0) to 2026-12-21 (night 29), expected events worked out by hand from the
 * effective expiries and surveillance due dates of fixtures/README.md (the golden run's hand
 * computation as of 2026-11-22). The scan reads the expiry index up to as_of + 90 and the
 * surveillance index up to as_of, so it sees the five expired certificates, HQ-OH-24015 (E
 * 2027-01-31), NW-SEC-24019 (E 2027-02-28, read from night 8), KC-E-24088 (due 2026-10-01),
 * HQ-Q-24060 (due 2025-06-01), KC-FS-25066 (due 2026-07-01, no audits: SURVEILLANCE_UNKNOWN,
 * nothing to announce) and KC-25-0412 (due 2026-12-10, read from night 18). */
static const struct expected month[] = {
    {0, "HQ-Q-17009", "expired", ""},              /* E 2018-09-15 (edition end) */
    {0, "NW-OH-19044", "expired", ""},             /* E 2021-09-30 */
    {0, "NW-IS-23102", "expired", ""},             /* E 2025-10-31 */
    {0, "HQ-E-23071", "expired", ""},              /* E 2026-08-31 */
    {0, "HQ-Q-22145", "expired", ""},              /* E 2025-11-30 */
    {0, "HQ-OH-24015", "expiring", "90"},          /* 70 days left */
    {0, "KC-E-24088", "surveillance_overdue", ""}, /* 52 days late, within the 90 days' grace */
    {0, "HQ-Q-24060", "surveillance_lapsed", ""},  /* due 2025-06-01, past the grace */
    {8, "NW-SEC-24019", "expiring", "90"},         /* 2026-11-30: 90 days left, first read */
    {10, "HQ-OH-24015", "expiring", "60"},         /* 2026-12-02: 60 days left */
    /* 2026-12-10 is the due day itself (SURVEILLANCE_DUE, info: still valid); late the day after.
     */
    {19, "KC-25-0412", "surveillance_overdue", ""},
    {19, "KC-25-0412", "verdict_changed", "valid>warning"},
};
#define N_MONTH      (sizeof(month) / sizeof(month[0]))
#define MONTH_NIGHTS 30
#define NIGHT_RACED  19 /* two scans start at once that night */

/* Starts a scan of 'date' in the background with stdout to 'out'; returns its pid. */
static pid_t scan_spawn(const char *url, const char *date, const char *out)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open("/dev/null", O_WRONLY);
        if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0 || chdir(CERTVET_SOURCE_DIR))
            _exit(127);
        execl(CERTVET_BINARY, CERTVET_BINARY, "scan", "--redis", url, "--listing",
              "fixtures/sample/listing.json", "--as-of", date, "--notify", (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int wait_status(pid_t pid)
{
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

/* Matches one night's events against the table; returns how many matched. */
static size_t check_night(int night, json_t *events)
{
    return match_events(month, N_MONTH, night, events);
}

static size_t expected_on(int night)
{
    size_t n = 0;
    for (size_t k = 0; k < N_MONTH; k++)
        n += month[k].day == night;
    return n;
}

/* The 15 invalid certificates of the golden run (fixtures/README.md), due or not: all on the
 * attention list, critical. Ten of them are neither expired nor overdue (a status, a date not yet
 * reached, an accreditation problem), so only the invalid index brings them in. */
static void check_invalid_listed(json_t *report)
{
    static const char *const invalid[] = {
        "HQ-Q-17009",  "NW-OH-19044", "NW-IS-23102", "HQ-E-23071",    "HQ-Q-22145",
        "NW-Q-25160",  "NW-EN-26140", "HQ-Q-24060",  "GSC-14001-778", "HQ-IS-26007",
        "KC-MD-25019", "MR-Q-26044",  "VC-OH-25009", "QH-Q-24051",    "ZAP-Q-26011"};
    json_t *att = json_object_get(report, "attention"), *item;
    size_t i, found = 0;
    for (size_t k = 0; k < sizeof(invalid) / sizeof(invalid[0]); k++) {
        bool listed = false;
        json_array_foreach(att, i, item) listed |=
            !strcmp(field(item, "certificate_number"), invalid[k]) &&
            !strcmp(field(item, "severity"), "critical") &&
            !strcmp(field(item, "verdict"), "invalid");
        if (!listed)
            fail_msg("%s is not on the attention list as invalid", invalid[k]);
        found++;
    }
    assert_int_equal(found, 15);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(report, "summary"), "invalid")), 15);
}

/* Every night with --notify: each expected event exactly once, on its night, in the report, the
 * event stream, the webhook's POST and the e-mail; a night without events sends nothing; on
 * night 19 two scans start at once and the events still come once. */
static void test_sample_month(void **state)
{
    (void)state;
    struct it_redis *store = &month_store;
    char dir[IT_PATH_MAX], port_file[IT_PATH_MAX + 16], url[64], path[IT_PATH_MAX + 32];
    unsigned hook_port;
    size_t seen = 0;
    int posts = 0, mails = 0;

    it_redis_start(store, it_tmpdir(), false);
    const char *import[] = {"--redis",
                            store->url,
                            "--listing",
                            "fixtures/sample/listing.json",
                            "--as-of",
                            "2026-11-22",
                            "fixtures/sample/portfolio.json",
                            NULL};
    struct run r;
    run_certvet(&r, "import", import);
    if (r.status != 0)
        fail_msg("import: exit %d; stderr: %s", r.status, r.err);
    run_cleanup(&r);

    snprintf(dir, sizeof(dir), "%s/month", it_tmpdir());
    assert_int_equal(mkdir(dir, 0700), 0);
    month_hook = receiver_start(dir, 1000, &hook_port);
    snprintf(port_file, sizeof(port_file), "%s/smtp-port", dir);
    month_sink = fork();
    assert_true(month_sink >= 0);
    if (month_sink == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives the test */
        execl(CERTVET_SMTP_SINK, CERTVET_SMTP_SINK, port_file, dir, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500 && access(port_file, R_OK) != 0; i++)
        it_sleep_ms(10);
    char *smtp_port = it_read_file(port_file, NULL);
    assert_non_null(smtp_port);
    snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", atoi(smtp_port));
    free(smtp_port);
    setenv("CERTVET_SMTP_URL", url, 1);
    setenv("CERTVET_SMTP_FROM", "certvet@example.com", 1);
    setenv("CERTVET_SMTP_TO", "buyer@example.com", 1);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/night", hook_port);
    setenv("CERTVET_WEBHOOK_URL", url, 1);
    setenv("CERTVET_WEBHOOK_SECRET", "month-secret", 1);

    for (int night = 0; night < MONTH_NIGHTS; night++) {
        char date[16];
        cv_date_format(cv_date_from_ymd(2026, 11, 22) + night, date);
        size_t got = 0;
        if (night == NIGHT_RACED) {
            char out1[IT_PATH_MAX + 32], out2[IT_PATH_MAX + 32];
            snprintf(out1, sizeof(out1), "%s/race-1.json", dir);
            snprintf(out2, sizeof(out2), "%s/race-2.json", dir);
            pid_t a = scan_spawn(store->url, date, out1), b = scan_spawn(store->url, date, out2);
            int sa = wait_status(a), sb = wait_status(b);
            /* Each either ran (0) or found the lock taken (2); at least one ran. */
            assert_true((sa == 0 || sa == 2) && (sb == 0 || sb == 2) && (sa == 0 || sb == 0));
            for (int k = 0; k < 2; k++) {
                if ((k ? sb : sa) != 0)
                    continue;
                char *text = it_read_file(k ? out2 : out1, NULL);
                json_t *rep = json_loads(text ? text : "", 0, NULL);
                assert_non_null(rep);
                got += check_night(night, json_object_get(rep, "events"));
                json_decref(rep);
                free(text);
            }
        } else {
            const char *extra[] = {"--notify", NULL};
            int status;
            json_t *rep = scan_on(store->url, date, extra, &status, &r);
            if (status != 0 || !rep)
                fail_msg("night %d: exit %d; stderr: %s", night, status, r.err);
            run_cleanup(&r);
            got = check_night(night, json_object_get(rep, "events"));
            if (night == 0)
                check_invalid_listed(rep);
            json_decref(rep);
        }
        if (got != expected_on(night))
            fail_msg("night %d: %zu events, expected %zu", night, got, expected_on(night));
        seen += got;
        if (got == 0)
            continue;
        /* This night's events reached the webhook (one POST) and the SMTP sink (one message). */
        posts++;
        mails++;
        snprintf(path, sizeof(path), "%s/hook-%d.txt", dir, posts);
        char *req = NULL;
        for (int i = 0; i < 500 && !(req = it_read_file(path, NULL)); i++)
            it_sleep_ms(10);
        if (!req)
            fail_msg("night %d: no webhook POST", night);
        json_t *doc = signed_body(req, "month-secret");
        assert_string_equal(field(doc, "as_of"), date);
        assert_int_equal(check_night(night, json_object_get(doc, "events")), got);
        json_decref(doc);
        free(req);
        snprintf(path, sizeof(path), "%s/msg-%d.eml", dir, mails);
        char *msg = it_read_file(path, NULL);
        if (!msg)
            fail_msg("night %d: no e-mail", night);
        char subject[128];
        snprintf(subject, sizeof(subject), "Subject: certvet scan %s: %zu new event", date, got);
        assert_non_null(strstr(msg, subject));
        free(msg);
    }
    assert_int_equal(seen, N_MONTH);
    snprintf(path, sizeof(path), "%s/hook-%d.txt", dir, posts + 1);
    assert_int_equal(access(path, F_OK), -1); /* nothing sent on a night without events */
    snprintf(path, sizeof(path), "%s/msg-%d.eml", dir, mails + 1);
    assert_int_equal(access(path, F_OK), -1);
    char cmd[IT_PATH_MAX * 3], out[64];
    snprintf(cmd, sizeof(cmd), "redis-cli -s '%s' XLEN 'certvet:{cv}:stream:events'",
             store->socket);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(out, sizeof(out), p));
    pclose(p);
    assert_int_equal(atol(out), (long)N_MONTH);

    unsetenv("CERTVET_SMTP_URL");
    unsetenv("CERTVET_SMTP_FROM");
    unsetenv("CERTVET_SMTP_TO");
    unsetenv("CERTVET_WEBHOOK_URL");
    unsetenv("CERTVET_WEBHOOK_SECRET");
    kill(month_hook, SIGTERM);
    waitpid(month_hook, NULL, 0);
    kill(month_sink, SIGTERM);
    waitpid(month_sink, NULL, 0);
    month_hook = month_sink = 0;
    it_redis_stop(store);
}

/* A notify section whose smtp_to is 'to' (a JSON string's contents), written to 'path'. */
static void write_recipients(const char *path, const char *to)
{
    size_t cap = strlen(to) + 256;
    char *text = malloc(cap);
    assert_non_null(text);
    snprintf(text, cap,
             "{\"notify\": {\"smtp_url\": \"smtp://127.0.0.1:1\", \"smtp_from\": "
             "\"certvet@example.com\", \"smtp_to\": \"%s\"}}",
             to);
    write_file(path, text);
    free(text);
}

/* 'n' addresses "b0@example.com, b1@..." whose names are padded to 'pad' characters. */
static char *recipient_list(int n, int pad)
{
    size_t cap = (size_t)n * ((size_t)pad + 32) + 1, len = 0;
    char *to = malloc(cap);
    assert_non_null(to);
    to[0] = '\0';
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(to + len, cap - len, "%s%0*d@example.com", i ? ", " : "", pad, i);
    return to;
}

/* A config file or sources file that is wrong, or recipients past the SMTP limit or the list's 4 KB
 * (or none), are refused (exit 2) naming what is wrong, and nothing is scanned (no event written).
 */
static void test_bad_config_and_sources(void **state)
{
    (void)state;
    char conf[IT_PATH_MAX], sources[IT_PATH_MAX], many[IT_PATH_MAX], none[IT_PATH_MAX];
    char longest[IT_PATH_MAX], before[64], after[64];
    snprintf(conf, sizeof(conf), "%s/bad-scan.json", it_tmpdir());
    snprintf(sources, sizeof(sources), "%s/bad-sources.json", it_tmpdir());
    snprintf(many, sizeof(many), "%s/many-recipients.json", it_tmpdir());
    snprintf(none, sizeof(none), "%s/no-recipient.json", it_tmpdir());
    snprintf(longest, sizeof(longest), "%s/long-recipients.json", it_tmpdir());
    write_file(conf, "{\"scan\": {\"thresholds\": \"90,x\"}}");
    write_file(sources, "{\"sources\": [{\"name\": \"no-kind\"}]}");
    char *to = recipient_list(CV_SMTP_RCPT_MAX + 1, 1); /* one more than a message takes */
    write_recipients(many, to);
    free(to);
    to = recipient_list(40, 100); /* 40 addresses, over 4 KB */
    write_recipients(longest, to);
    free(to);
    write_recipients(none, " , ,");
    static const char *const want[] = {"scan.thresholds", "sources[0]", "more than 64 recipients",
                                       "over 4095 bytes", "no recipient"};
    const char *cases[][4] = {{"--config", conf, NULL},
                              {"--sources", sources, NULL},
                              {"--config", many, "--notify", NULL},
                              {"--config", longest, "--notify", NULL},
                              {"--config", none, "--notify", NULL}};
    assert_int_equal(
        it_redis_cli(&redis, "XLEN 'certvet:{cv}:stream:events'", before, sizeof(before)), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct run r;
        int status;
        json_t *doc = scan(120, cases[i], &status, &r);
        assert_int_equal(status, 2);
        assert_null(doc);
        if (!strstr(r.err, want[i]))
            fail_msg("%s %s: stderr: %s", cases[i][0], cases[i][1], r.err);
        run_cleanup(&r);
    }
    assert_int_equal(
        it_redis_cli(&redis, "XLEN 'certvet:{cv}:stream:events'", after, sizeof(after)), 0);
    assert_string_equal(before, after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_once_day_by_day),
        cmocka_unit_test(test_attention_and_fail_on),
        cmocka_unit_test(test_csv_report),
        cmocka_unit_test(test_lock_held),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_notify_webhook),
        cmocka_unit_test(test_notify_email),
        cmocka_unit_test(test_cb_withdrawn_by_refresh),
        cmocka_unit_test(test_notify_from_config),
        cmocka_unit_test(test_bad_config_and_sources),
        cmocka_unit_test(test_sample_month),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

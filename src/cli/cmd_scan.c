/* certvet scan: the nightly job (SPEC 10). Takes the Redis scan lock, runs the scan engine and
 * writes its report as JSON or CSV. docs/SCAN.md describes a run, its state and exit codes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "certvet/error.h"
#include "certvet/buf.h"
#include "certvet/notify.h"
#include "certvet/refdata.h"
#include "certvet/scan.h"
#include "certvet/service.h"
#include "certvet/sources.h"
#include "certvet/store.h"
#include "commands.h"
#include "options.h"

#define MAX_LISTINGS 64

enum opt_id {
    OPT_WITHIN = 1000,
    OPT_AS_OF,
    OPT_FORMAT,
    OPT_OUTPUT,
    OPT_FAIL_ON,
    OPT_THRESHOLDS,
    OPT_NOTIFY,
    OPT_REDIS,
    OPT_CONFIG,
    OPT_DATA_DIR,
    OPT_LISTING,
    OPT_CONFIG_DIR,
    OPT_SOURCES,
    OPT_HELP,
};

/* The options table: the single source of truth for flags and their help. */
static const struct cv_cli_option options[] = {
    {"within", 1, OPT_WITHIN, "N", "list what expires within N days (default: scan.within, 30)"},
    {"as-of", 1, OPT_AS_OF, "D", "the scan's date (default: today, UTC)"},
    {"format", 1, OPT_FORMAT, "F", "json (default) or csv"},
    {"output", 1, OPT_OUTPUT, "FILE", "write the report to FILE (default: standard output)"},
    {"fail-on", 1, OPT_FAIL_ON, "LEVEL",
     "exit 1 when the attention list has an item at or above warning|critical"},
    {"thresholds", 1, OPT_THRESHOLDS, "LIST",
     "days before expiry to announce (default: scan.thresholds, 90,60,30,7,0)"},
    {"notify", 0, OPT_NOTIFY, NULL,
     "announce this run's events to the webhook and/or SMTP server of the config's \"notify\" "
     "section ($CERTVET_WEBHOOK_URL, $CERTVET_SMTP_URL, $CERTVET_SMTP_FROM, $CERTVET_SMTP_TO "
     "override it; the webhook's secret is in $CERTVET_WEBHOOK_SECRET)"},
    {"redis", 1, OPT_REDIS, "URL",
     "Redis to scan (default: $CERTVET_REDIS_URL, the config's, or the embedded server's socket)"},
    {"config", 1, OPT_CONFIG, "FILE", "service configuration file (JSON)"},
    {"data-dir", 1, OPT_DATA_DIR, "DIR", "data directory of the embedded Redis (default ./var)"},
    {"listing", 1, OPT_LISTING, "FILE", "extra listing of bodies (JSON or XML); repeatable"},
    {"config-dir", 1, OPT_CONFIG_DIR, "DIR", "reference data directory"},
    {"sources", 1, OPT_SOURCES, "FILE",
     "listing sources whose last good copies (kept in Redis by `certvet refresh`) are layered over "
     "the reference data (default: sources.json of the reference data directory, when present)"},
    {"help", 0, OPT_HELP, NULL, "show this help"},
};
#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

static void usage(FILE *out)
{
    cv_cli_usage(out,
                 "usage: certvet scan [OPTIONS]\n\n"
                 "Re-verifies the certificates the due-date indexes return, emits each new event\n"
                 "(expiring, expired, surveillance_overdue, surveillance_lapsed, verdict_changed)\n"
                 "once to the events stream and writes a report. Exit status: 0 it ran, 1 with\n"
                 "--fail-on when an item at or above that level is listed, 2 on error or when\n"
                 "another scan is running.\n\noptions:\n",
                 options, N_OPTIONS);
}

static void progress(void *ctx, size_t done, size_t total)
{
    (void)ctx;
    fprintf(stderr, "\rscan: %zu/%zu certificates%s", done, total, done == total ? "\n" : "");
    fflush(stderr);
}

static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* The attention list as CSV, one row per item, with a header. */
static void write_csv(FILE *f, json_t *report)
{
    static const char *const cols[] = {
        "certificate_id", "certificate_number", "holder",         "severity", "reason",
        "verdict",        "effective_expiry",   "days_to_expiry", "findings"};
    size_t i, c;
    json_t *item;
    for (c = 0; c < sizeof(cols) / sizeof(cols[0]); c++)
        fprintf(f, "%s%s", c ? "," : "", cols[c]);
    fputs("\r\n", f);
    json_array_foreach(json_object_get(report, "attention"), i, item)
    {
        for (c = 0; c < sizeof(cols) / sizeof(cols[0]); c++) {
            json_t *v = json_object_get(item, cols[c]);
            if (c)
                fputc(',', f);
            if (json_is_integer(v))
                fprintf(f, "%lld", (long long)json_integer_value(v));
            else if (json_is_string(v))
                csv_field(f, json_string_value(v));
        }
        fputs("\r\n", f);
    }
}

/* Exit 1 when the attention list has an item at or above 'level' ("warning" or "critical"). */
static int found_at(json_t *report, const char *level)
{
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(report, "attention"), i, item)
    {
        const char *sev = json_string_value(json_object_get(item, "severity"));
        if (!strcmp(level, "warning") || (sev && !strcmp(sev, "critical")))
            return 1;
    }
    return 0;
}

/* Where --notify sends: the environment over the config file's "notify" section. */
#define RECIPIENTS_MAX 4096 /* bytes of the comma-separated list (CV_SMTP_RCPT_MAX addresses) */

struct notify_to {
    const char *webhook_url, *webhook_secret;
    const char *smtp_url, *smtp_from, *smtp_to, *smtp_user, *smtp_password;
    char to_buf[RECIPIENTS_MAX]; /* smtp_to split by notify_check: 'to' points into it */
    const char *to[CV_SMTP_RCPT_MAX];
    size_t n_to;
};

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = name ? getenv(name) : NULL;
    return v && *v ? v : fallback;
}

static void notify_resolve(const struct cv_service_config *cfg, struct notify_to *n)
{
    n->webhook_url = env_or("CERTVET_WEBHOOK_URL", cfg->webhook_url);
    n->webhook_secret = env_or(cfg->webhook_secret_env, NULL);
    n->smtp_url = env_or("CERTVET_SMTP_URL", cfg->smtp_url);
    n->smtp_from = env_or("CERTVET_SMTP_FROM", cfg->smtp_from);
    n->smtp_to = env_or("CERTVET_SMTP_TO", cfg->smtp_to);
    n->smtp_user = env_or("CERTVET_SMTP_USER", cfg->smtp_user);
    n->smtp_password = env_or(cfg->smtp_password_env, NULL);
}

/* Splits the comma-separated recipients into n->to. Refuses (returns 1, saying why) a list that
 * is too long, holds more than CV_SMTP_RCPT_MAX addresses, or none: never sends to part of it. */
static int recipients_split(struct notify_to *n)
{
    n->n_to = 0;
    if (strlen(n->smtp_to) >= sizeof(n->to_buf)) {
        fprintf(stderr, "certvet scan: the recipients (notify.smtp_to) are over %d bytes\n",
                RECIPIENTS_MAX - 1);
        return 1;
    }
    snprintf(n->to_buf, sizeof(n->to_buf), "%s", n->smtp_to);
    char *save = NULL;
    for (char *p = strtok_r(n->to_buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        while (*p == ' ')
            p++;
        if (!*p)
            continue;
        if (n->n_to == CV_SMTP_RCPT_MAX) {
            fprintf(stderr, "certvet scan: more than %d recipients in notify.smtp_to\n",
                    CV_SMTP_RCPT_MAX);
            return 1;
        }
        n->to[n->n_to++] = p;
    }
    if (n->n_to == 0) {
        fprintf(stderr, "certvet scan: no recipient in notify.smtp_to\n");
        return 1;
    }
    return 0;
}

/* Says what is missing for --notify; returns 0 when it can go ahead. */
static int notify_check(const struct cv_service_config *cfg, struct notify_to *n)
{
    if (n->webhook_url && !n->webhook_secret) {
        fprintf(stderr, "certvet scan: the webhook %s needs its secret in $%s\n", n->webhook_url,
                cfg->webhook_secret_env);
        return 1;
    }
    if (n->smtp_url && (!n->smtp_from || !n->smtp_to)) {
        fprintf(stderr,
                "certvet scan: e-mail through %s needs a sender and recipients "
                "(notify.smtp_from and notify.smtp_to, or CERTVET_SMTP_FROM and "
                "CERTVET_SMTP_TO)\n",
                n->smtp_url);
        return 1;
    }
    if (n->smtp_url && recipients_split(n))
        return 1;
    if (!n->webhook_url && !n->smtp_url) {
        fprintf(stderr, "certvet scan: --notify needs a webhook (notify.webhook_url or "
                        "CERTVET_WEBHOOK_URL, with its secret) and/or an SMTP server "
                        "(notify.smtp_url or CERTVET_SMTP_URL, with a sender and recipients)\n");
        return 1;
    }
    return 0;
}

/* POSTs this run's events (when there are any) to the configured webhook: a
 * "text" line (what Slack and Teams incoming webhooks show) plus the summary and the events. */
static int send_webhook(struct cv_store *store, json_t *report, const char *token,
                        const struct notify_to *to)
{
    json_t *events = json_object_get(report, "events");
    char text[160], delivery[128], err[512];
    size_t n = json_array_size(events);
    int rc;

    if (n == 0)
        return CV_OK;
    snprintf(text, sizeof(text), "certvet scan %s: %zu new event%s, %zu item%s need attention",
             json_string_value(json_object_get(report, "as_of")), n, n == 1 ? "" : "s",
             json_array_size(json_object_get(report, "attention")),
             json_array_size(json_object_get(report, "attention")) == 1 ? "" : "s");
    snprintf(delivery, sizeof(delivery), "scan-%s-%s",
             json_string_value(json_object_get(report, "as_of")), token);
    json_t *payload =
        json_pack("{s:s, s:O, s:O, s:O}", "text", text, "as_of", json_object_get(report, "as_of"),
                  "summary", json_object_get(report, "summary"), "events", events);
    char *body = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
    struct cv_webhook_config wc = {to->webhook_url, to->webhook_secret, 0, 0};
    rc = body ? cv_webhook_send(&wc, store, delivery, body, err, sizeof(err)) : CV_ERR_NOMEM;
    if (rc)
        fprintf(stderr, "certvet scan: notifying failed: %s\n",
                rc == CV_ERR_NOMEM ? "out of memory" : err);
    free(body);
    json_decref(payload);
    return rc;
}

/* E-mails a plain-text summary of this run (when there are events) through the configured SMTP
 * server: one line per event, then the attention list. */
static int send_email(json_t *report, const struct notify_to *dest)
{
    json_t *events = json_object_get(report, "events"), *attention;
    size_t n = json_array_size(events), i;
    json_t *e;
    char subject[200], err[512];
    int rc;

    if (n == 0)
        return CV_OK;
    attention = json_object_get(report, "attention");
    snprintf(subject, sizeof(subject), "certvet scan %s: %zu new event%s, %zu need attention",
             json_string_value(json_object_get(report, "as_of")), n, n == 1 ? "" : "s",
             json_array_size(attention));
    struct cv_buf body;
    cv_buf_init(&body, 4 * 1024 * 1024);
    char line[512];
    int len = snprintf(line, sizeof(line), "%s\n\nNew events:\n", subject);
    cv_buf_append(&body, line, (size_t)len);
    json_array_foreach(events, i, e)
    {
        const char *type = json_string_value(json_object_get(e, "type"));
        const char *number = json_string_value(json_object_get(e, "certificate_number"));
        const char *days = json_string_value(json_object_get(e, "days_to_expiry"));
        const char *from = json_string_value(json_object_get(e, "from"));
        const char *tov = json_string_value(json_object_get(e, "to"));
        if (from && tov)
            len = snprintf(line, sizeof(line), "- %s: %s, verdict %s -> %s\n", type, number, from,
                           tov);
        else if (days)
            len =
                snprintf(line, sizeof(line), "- %s: %s (%s days to expiry)\n", type, number, days);
        else
            len = snprintf(line, sizeof(line), "- %s: %s\n", type, number);
        cv_buf_append(&body, line, len > 0 && (size_t)len < sizeof(line) ? (size_t)len : 0);
    }
    len = snprintf(line, sizeof(line), "\nNeeding attention (%zu):\n", json_array_size(attention));
    cv_buf_append(&body, line, (size_t)len);
    json_array_foreach(attention, i, e)
    {
        len = snprintf(line, sizeof(line), "- [%s] %s (%s): %s\n",
                       json_string_value(json_object_get(e, "severity")),
                       json_string_value(json_object_get(e, "certificate_number")),
                       json_string_value(json_object_get(e, "holder")),
                       json_string_value(json_object_get(e, "reason")));
        cv_buf_append(&body, line, len > 0 && (size_t)len < sizeof(line) ? (size_t)len : 0);
    }
    cv_buf_append(&body, "", 1); /* NUL */
    struct cv_smtp_config sc = {dest->smtp_url,  dest->smtp_from,     dest->to, dest->n_to,
                                dest->smtp_user, dest->smtp_password, 0};
    rc = body.data && !body.overflow ? cv_smtp_send(&sc, subject, body.data, err, sizeof(err))
                                     : CV_ERR_NOMEM;
    if (rc)
        fprintf(stderr, "certvet scan: e-mailing failed: %s\n",
                rc == CV_ERR_NOMEM ? "out of memory" : err);
    cv_buf_cleanup(&body);
    return rc;
}

/* Loads the reference data into the empty '*refs': the shipped data, the configured listings and
 * each --listing, then the last good copies of the listing sources (what the last `certvet
 * refresh` or POST /v1/reference/refresh kept in Redis), so that the scan sees the CBs the
 * service sees; nothing is fetched. Without a sources file, the first three only. Returns 0, or
 * 1 after saying why. */
static int load_reference(struct cv_store *store, const struct cv_service_config *cfg,
                          const char *config_dir, const char *sources_path,
                          const char *const *listings, int n_listings, struct cv_reference *refs)
{
    char path[4200], err[512];
    const char *dir = cv_cli_config_dir(config_dir ? config_dir : cfg->config_dir);
    struct cv_sources sources = {0};
    size_t n = 0, unusable = 0;
    int rc;
    const char **all = cv_cli_all_listings(cfg, listings, n_listings, &n);

    if (!all) {
        fprintf(stderr, "certvet scan: out of memory\n");
        return 1;
    }
    if (!sources_path) {
        snprintf(path, sizeof(path), "%s/sources.json", dir);
        sources_path = access(path, F_OK) == 0 ? path : NULL;
    }
    if (!sources_path) {
        rc = cv_reference_load(refs, dir, all, n, err, sizeof(err));
    } else {
        rc = cv_sources_load(&sources, sources_path, err, sizeof(err));
        struct cv_source_keeper keeper = {store, cv_service_keeper_get, NULL};
        struct cv_refresh_env env = {.config_dir = dir,
                                     .keeper = &keeper,
                                     .now = (long long)time(NULL),
                                     .listings = all,
                                     .n_listings = n,
                                     .kept_only = true};
        if (!rc)
            rc = cv_sources_refresh(&sources, &env, refs, &unusable, err, sizeof(err));
        cv_sources_cleanup(&sources);
    }
    free(all);
    if (rc)
        fprintf(stderr, "certvet scan: %s\n", err);
    return rc ? 1 : 0;
}

int cv_cmd_scan(int argc, char **argv)
{
    struct cv_cli_parser parser;
    struct cv_scan_options so;
    const char *listings[MAX_LISTINGS];
    int n_listings = 0;
    const char *redis = NULL, *config = NULL, *data_dir = NULL, *config_dir = NULL;
    const char *output = NULL, *fail_on = NULL, *sources_path = NULL;
    bool csv = false, locked = false, notify = false, within_set = false, thresholds_set = false;
    struct notify_to dest;
    struct cv_service_config cfg;
    struct cv_reference refs;
    struct cv_store *store = NULL;
    json_t *report = NULL;
    char err[512], url[4200], token[64];
    int status = CV_EXIT_USAGE, c, rc;

    memset(&refs, 0, sizeof(refs));
    cv_scan_options_init(&so);
    cv_service_config_init(&cfg);
    cv_cli_parser_init(&parser, options, N_OPTIONS);
    while ((c = cv_cli_next(&parser, argc, argv)) != -1) {
        switch (c) {
        case OPT_WITHIN: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || end == optarg || v < 0 || v > 3650) {
                fprintf(stderr, "certvet scan: --within: '%s' is not 0 to 3650\n", optarg);
                goto out;
            }
            so.within = (int)v;
            within_set = true;
            break;
        }
        case OPT_AS_OF:
            if (cv_cli_date("scan", "as-of", optarg, &so.as_of))
                goto out;
            break;
        case OPT_FORMAT:
            if (strcmp(optarg, "json") && strcmp(optarg, "csv")) {
                fprintf(stderr, "certvet scan: --format: '%s' is not json or csv\n", optarg);
                goto out;
            }
            csv = !strcmp(optarg, "csv");
            break;
        case OPT_OUTPUT:
            output = optarg;
            break;
        case OPT_FAIL_ON:
            if (strcmp(optarg, "warning") && strcmp(optarg, "critical")) {
                fprintf(stderr, "certvet scan: --fail-on: '%s' is not warning or critical\n",
                        optarg);
                goto out;
            }
            fail_on = optarg;
            break;
        case OPT_THRESHOLDS:
            if (cv_scan_parse_thresholds(&so, optarg)) {
                fprintf(stderr, "certvet scan: --thresholds: '%s' is not a list of 0 to 3650\n",
                        optarg);
                goto out;
            }
            thresholds_set = true;
            break;
        case OPT_NOTIFY:
            notify = true;
            break;
        case OPT_REDIS:
            redis = optarg;
            break;
        case OPT_CONFIG:
            config = optarg;
            break;
        case OPT_DATA_DIR:
            data_dir = optarg;
            break;
        case OPT_LISTING:
            if (cv_cli_append("scan", "listing", listings, &n_listings, MAX_LISTINGS, optarg))
                goto out;
            break;
        case OPT_CONFIG_DIR:
            config_dir = optarg;
            break;
        case OPT_SOURCES:
            sources_path = optarg;
            break;
        case OPT_HELP:
        case 'h':
            usage(stdout);
            status = CV_EXIT_OK;
            goto out;
        default:
            cv_cli_bad_option("scan", argv);
            usage(stderr);
            goto out;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "certvet scan: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        goto out;
    }
    if (cv_cli_store_setup("scan", config, config_dir, data_dir, listings, n_listings, &cfg, NULL,
                           &redis, url, sizeof(url)))
        goto out;
    notify_resolve(&cfg, &dest);
    if (notify && notify_check(&cfg, &dest))
        goto out;
    if (!within_set)
        so.within = cfg.scan_within;
    if (!thresholds_set && cfg.scan_thresholds &&
        cv_scan_parse_thresholds(&so, cfg.scan_thresholds)) {
        fprintf(stderr, "certvet scan: scan.thresholds: '%s' is not a list of 0 to 3650\n",
                cfg.scan_thresholds);
        goto out;
    }
    struct cv_store_config sc = {redis, cfg.redis_prefix, cfg.redis_timeout_ms};
    if (cv_store_open(&sc, &store, err, sizeof(err))) {
        fprintf(stderr, "certvet scan: cannot reach Redis at %s: %s\n", redis, err);
        goto out;
    }
    if (load_reference(store, &cfg, config_dir, sources_path, listings, n_listings, &refs))
        goto out;
    snprintf(token, sizeof(token), "%ld-%ld-%ld", (long)getpid(), (long)time(NULL), (long)clock());
    rc = cv_store_lock(store, CV_SCAN_LOCK_NAME, token, CV_SCAN_LOCK_TTL_MS);
    if (rc == CV_ERR_CONFLICT) {
        fprintf(stderr, "certvet scan: another scan is running (lock held)\n");
        goto out;
    }
    if (rc) {
        fprintf(stderr, "certvet scan: taking the lock failed: %s (%s)\n", cv_strerror(rc),
                cv_store_errstr(store));
        goto out;
    }
    locked = true;
    if (isatty(STDERR_FILENO))
        so.progress = progress;
    rc = cv_scan_run(store, &refs.ref, &so, &report, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "certvet scan: %s\n", err);
        goto out;
    }
    json_object_set_new(report, "reference_version", json_string(refs.version));
    FILE *f = output ? fopen(output, "w") : stdout;
    if (!f) {
        fprintf(stderr, "certvet scan: cannot write %s\n", output);
        goto out;
    }
    if (csv) {
        write_csv(f, report);
    } else {
        json_dumpf(report, f, JSON_INDENT(2));
        fputc('\n', f);
    }
    if ((output ? fclose(f) : fflush(f)) != 0) {
        fprintf(stderr, "certvet scan: writing the report failed\n");
        goto out;
    }
    if (notify && dest.webhook_url && send_webhook(store, report, token, &dest))
        goto out;
    if (notify && dest.smtp_url && send_email(report, &dest))
        goto out;
    status = fail_on && found_at(report, fail_on) ? CV_EXIT_FINDINGS : CV_EXIT_OK;
out:
    if (locked && cv_store_unlock(store, CV_SCAN_LOCK_NAME, token))
        fprintf(stderr, "certvet scan: releasing the lock failed (%s); it expires by itself\n",
                cv_store_errstr(store));
    json_decref(report);
    cv_store_close(store);
    cv_reference_cleanup(&refs);
    cv_service_config_cleanup(&cfg);
    return status;
}

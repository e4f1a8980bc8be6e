/* certvet import: streams certificate files into the store in atomic batches (MULTI/EXEC). A
 * record is acknowledged (counted as imported) only once its batch has been written. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "certvet/error.h"
#include "certvet/ingest.h"
#include "certvet/report.h"
#include "certvet/service.h"
#include "certvet/store.h"
#include "commands.h"
#include "options.h"

#define MAX_LISTINGS        64
#define SUPPLIERS_MAX_BYTES (64 * 1024 * 1024) /* a suppliers file past this is refused */

enum opt_id {
    OPT_REDIS = 1000,
    OPT_CONFIG,
    OPT_DATA_DIR,
    OPT_LISTING,
    OPT_SUPPLIERS,
    OPT_BATCH,
    OPT_AS_OF,
    OPT_INPUT_FORMAT,
    OPT_CONFIG_DIR,
    OPT_HELP,
};

/* The options table: the single source of truth for flags and their help. */
static const struct cv_cli_option options[] = {
    {"redis", 1, OPT_REDIS, "URL",
     "Redis to import into (default: $CERTVET_REDIS_URL, the config's, or the embedded "
     "server's socket under the data directory)"},
    {"config", 1, OPT_CONFIG, "FILE", "service configuration file (JSON)"},
    {"data-dir", 1, OPT_DATA_DIR, "DIR", "data directory of the embedded Redis (default ./var)"},
    {"listing", 1, OPT_LISTING, "FILE", "extra listing of bodies (JSON or XML); repeatable"},
    {"suppliers", 1, OPT_SUPPLIERS, "FILE",
     "also load suppliers ({\"suppliers\": [...]} or an array), validated as PUT "
     "/v1/suppliers does"},
    {"batch", 1, OPT_BATCH, "N", "records per atomic batch (default 1000)"},
    {"as-of", 1, OPT_AS_OF, "D", "date for the index entries (default: today, UTC)"},
    {"input-format", 1, OPT_INPUT_FORMAT, "F", "auto (default), json, csv or xml"},
    {"config-dir", 1, OPT_CONFIG_DIR, "DIR", "reference data directory"},
    {"help", 0, OPT_HELP, NULL, "show this help"},
};
#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

static void usage(FILE *out)
{
    cv_cli_usage(out,
                 "usage: certvet import [OPTIONS] FILE...\n\n"
                 "Loads certificates (JSON, JSON lines, CSV or XML) into the store, streaming, in\n"
                 "atomic batches. Refused records are reported with file, line and field; the\n"
                 "rest is imported. Exit status: 0 all imported, 2 a record was refused or the\n"
                 "store failed (what was reported as imported is stored).\n\noptions:\n",
                 options, N_OPTIONS);
}

struct import_run {
    struct cv_ingest ingest;
    long accepted, refused;
    int store_failed;
    int progress; /* standard error is a terminal */
    time_t last_progress;
    const char *file;
};

static void show_progress(struct import_run *run, int final)
{
    if (!run->progress)
        return;
    time_t now = time(NULL);
    if (!final && now == run->last_progress)
        return;
    run->last_progress = now;
    fprintf(stderr, "\r%s: %zu imported, %ld refused%s", run->file, run->ingest.written,
            run->refused, final ? "\n" : "");
    fflush(stderr);
}

static int on_certificate(void *ctx, struct cv_certificate *cert, const struct cv_record_loc *loc)
{
    struct import_run *run = ctx;
    (void)loc;
    int rc = cv_ingest_add(&run->ingest, cert, NULL);
    if (rc) {
        run->store_failed = 1;
        fprintf(stderr, "%scertvet import: writing to the store failed: %s (%s)\n",
                run->progress ? "\n" : "", cv_strerror(rc), cv_store_errstr(run->ingest.store));
        return CV_ERR_STOP;
    }
    run->accepted++;
    show_progress(run, 0);
    return CV_OK;
}

static void on_error(void *ctx, const struct cv_record_error *e)
{
    struct import_run *run = ctx;
    if (!e->is_warning)
        run->refused++;
    if (run->progress)
        fputc('\n', stderr);
    if (e->line > 0)
        fprintf(stderr, "%s:%ld: %s: %s\n", e->source, e->line,
                e->is_warning ? "warning" : "refused", e->message);
    else
        fprintf(stderr, "%s: %s: %s\n", e->source, e->is_warning ? "warning" : "refused",
                e->message);
}

/* Loads suppliers from 'path': every entry is validated first, then each is stored. */
static int import_suppliers(struct cv_store *store, const char *path)
{
    json_error_t jerr;
    struct stat st;
    if (stat(path, &st) == 0 && st.st_size > SUPPLIERS_MAX_BYTES) {
        fprintf(stderr, "certvet import: %s: larger than %d bytes\n", path, SUPPLIERS_MAX_BYTES);
        return CV_ERR_TOO_LARGE;
    }
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    json_t *list = json_is_array(root) ? root : json_object_get(root, "suppliers");
    json_t **docs = NULL;
    size_t n = json_array_size(list), i;
    int rc = CV_ERR_INVALID;
    char msg[300];

    if (!root) {
        fprintf(stderr, "certvet import: %s:%d: %s\n", path, jerr.line, jerr.text);
        return CV_ERR_PARSE;
    }
    if (!json_is_array(list)) {
        fprintf(stderr, "certvet import: %s: expected {\"suppliers\": [...]} or an array\n", path);
        goto out;
    }
    docs = calloc(n ? n : 1, sizeof(*docs));
    if (!docs)
        goto out;
    for (i = 0; i < n; i++) {
        json_t *id = json_object_get(json_array_get(list, i), "id");
        if (!json_is_string(id)) {
            fprintf(stderr, "certvet import: %s: suppliers[%zu].id: required string\n", path, i);
            goto out;
        }
        docs[i] =
            cv_supplier_document(json_array_get(list, i), json_string_value(id), msg, sizeof(msg));
        if (!docs[i]) {
            fprintf(stderr, "certvet import: %s: suppliers[%zu].%s\n", path, i, msg);
            goto out;
        }
    }
    for (i = 0; i < n; i++) {
        char *text = json_dumps(docs[i], JSON_COMPACT);
        rc = text ? cv_store_put_supplier(store, json_string_value(json_object_get(docs[i], "id")),
                                          text, "cli:import")
                  : CV_ERR_NOMEM;
        free(text);
        if (rc) {
            fprintf(stderr, "certvet import: storing suppliers failed: %s (%s)\n", cv_strerror(rc),
                    cv_store_errstr(store));
            goto out;
        }
    }
    printf("imported %zu suppliers\n", n);
    rc = CV_OK;
out:
    for (i = 0; docs && i < n; i++)
        json_decref(docs[i]);
    free(docs);
    json_decref(root);
    return rc;
}

int cv_cmd_import(int argc, char **argv)
{
    struct cv_cli_parser parser;
    const char *listings[MAX_LISTINGS];
    size_t batch = 1000;
    int n_listings = 0;
    const char *redis = NULL, *config = NULL, *data_dir = NULL, *config_dir = NULL;
    const char *suppliers = NULL;
    enum cv_format in_fmt = CV_FORMAT_AUTO;
    cv_date as_of = (cv_date)(time(NULL) / 86400);
    struct cv_service_config cfg;
    struct cv_reference refs;
    struct cv_store *store = NULL;
    struct import_run run;
    char err[512], url[4200];
    int status = CV_EXIT_USAGE, c;

    memset(&run, 0, sizeof(run));
    memset(&refs, 0, sizeof(refs));
    cv_service_config_init(&cfg);
    cv_cli_parser_init(&parser, options, N_OPTIONS);
    while ((c = cv_cli_next(&parser, argc, argv)) != -1) {
        switch (c) {
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
            if (cv_cli_append("import", "listing", listings, &n_listings, MAX_LISTINGS, optarg))
                goto out;
            break;
        case OPT_SUPPLIERS:
            suppliers = optarg;
            break;
        case OPT_BATCH: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 100000) {
                fprintf(stderr, "certvet import: --batch: '%s' is not 1 to 100000\n", optarg);
                goto out;
            }
            batch = (size_t)v;
            break;
        }
        case OPT_AS_OF:
            if (cv_cli_date("import", "as-of", optarg, &as_of))
                goto out;
            break;
        case OPT_INPUT_FORMAT:
            if (cv_cli_input_format("import", optarg, &in_fmt))
                goto out;
            break;
        case OPT_CONFIG_DIR:
            config_dir = optarg;
            break;
        case OPT_HELP:
        case 'h':
            usage(stdout);
            status = CV_EXIT_OK;
            goto out;
        default:
            cv_cli_bad_option("import", argv);
            usage(stderr);
            goto out;
        }
    }
    if (optind >= argc && !suppliers) {
        fprintf(stderr, "certvet import: no input file\n");
        usage(stderr);
        goto out;
    }
    if (cv_cli_store_setup("import", config, config_dir, data_dir, listings, n_listings, &cfg,
                           &refs, &redis, url, sizeof(url)))
        goto out;
    struct cv_store_config sc = {redis, cfg.redis_prefix, cfg.redis_timeout_ms};
    if (cv_store_open(&sc, &store, err, sizeof(err))) {
        fprintf(stderr,
                "certvet import: cannot reach Redis at %s: %s\n(start `certvet serve`, which "
                "runs an embedded Redis, or pass --redis URL)\n",
                redis, err);
        goto out;
    }
    if (suppliers && import_suppliers(store, suppliers))
        goto out;
    cv_ingest_init(&run.ingest, store, &refs, "cli:import", as_of, batch);
    cv_ingest_background(&run.ingest); /* Redis writes one batch while the next is read */
    run.progress = isatty(STDERR_FILENO);
    struct cv_reader_sink sink = {on_certificate, on_error, &run, refs.schema};
    for (int i = optind; i < argc && !run.store_failed; i++) {
        run.file = argv[i];
        cv_read_certificates_file(argv[i], in_fmt, &sink);
        if (!run.store_failed && cv_ingest_flush(&run.ingest)) {
            run.store_failed = 1;
            fprintf(stderr, "certvet import: writing to the store failed: %s\n",
                    cv_store_errstr(store));
        }
        show_progress(&run, 1);
    }
    printf("imported %zu certificates, refused %ld\n", run.ingest.written, run.refused);
    status = run.store_failed || run.refused ? CV_EXIT_USAGE : CV_EXIT_OK;
out:
    cv_ingest_cleanup(&run.ingest);
    cv_store_close(store);
    cv_reference_cleanup(&refs);
    cv_service_config_cleanup(&cfg);
    return status;
}

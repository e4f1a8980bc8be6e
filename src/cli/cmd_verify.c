/* certvet verify: verification of certificate files, offline (no Redis, no network) unless
 * --online also asks the registries of registries.json (docs/REGISTRIES.md). */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certvet/error.h"
#include "certvet/refdata.h"
#include "certvet/registry.h"
#include "certvet/report.h"
#include "certvet/supplier.h"
#include "certvet/verify.h"
#include "certvet/xml.h"
#include "commands.h"
#include "options.h"

#define MAX_LISTINGS 64

enum opt_id {
    OPT_AS_OF = 1000,
    OPT_WITHIN,
    OPT_GRACE,
    OPT_LISTING,
    OPT_SUPPLIERS,
    OPT_MAX_REPORT_AGE,
    OPT_FORMAT,
    OPT_INPUT_FORMAT,
    OPT_CONFIG_DIR,
    OPT_ONLINE,
    OPT_REGISTRIES,
    OPT_HELP,
};

/* The options table: the single source of truth for flags and their help. */
static const struct cv_cli_option options[] = {
    {"as-of", 1, OPT_AS_OF, "D", "verify as of date D (YYYY-MM-DD; default: today, UTC)"},
    {"within", 1, OPT_WITHIN, "N", "warn of expiry within N days (default 90)"},
    {"grace", 1, OPT_GRACE, "N",
     "days a surveillance audit may be overdue before it lapses "
     "(default 90)"},
    {"listing", 1, OPT_LISTING, "FILE",
     "load a listing of certification/accreditation bodies "
     "(JSON or XML); repeatable"},
    {"suppliers", 1, OPT_SUPPLIERS, "FILE", "load suppliers (JSON) to check holder names"},
    {"max-report-age", 1, OPT_MAX_REPORT_AGE, "N",
     "test reports older than N days get "
     "REPORT_TOO_OLD (default: no limit)"},
    {"format", 1, OPT_FORMAT, "F", "output: text (default), json or csv"},
    {"input-format", 1, OPT_INPUT_FORMAT, "F",
     "input: auto (default, by extension), json, csv, "
     "xml"},
    {"config-dir", 1, OPT_CONFIG_DIR, "DIR",
     "reference data directory (default: "
     "$CERTVET_CONFIG_DIR or the built-in one)"},
    {"online", 0, OPT_ONLINE, NULL,
     "also look each certificate up in its CB's registry (network; "
     "docs/REGISTRIES.md)"},
    {"registries", 1, OPT_REGISTRIES, "FILE",
     "registry connectors (implies --online; default: "
     "<config-dir>/registries.json)"},
    {"help", 0, OPT_HELP, NULL, "show this help"},
};
#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

static void usage(FILE *out)
{
    cv_cli_usage(out,
                 "usage: certvet verify [OPTIONS] FILE...\n\n"
                 "Verifies certificates (JSON, JSON lines, CSV or XML; '-' reads standard input)\n"
                 "against the reference data (offline unless --online) and prints a verdict per\n"
                 "certificate.\n"
                 "Exit status: 0 nothing invalid, 1 something invalid, 2 usage error or a record\n"
                 "was refused (the other records are still verified and reported).\n",
                 options, N_OPTIONS);
}

struct verify_run {
    struct cv_reference refs;
    struct cv_suppliers suppliers;
    struct cv_verify_options opt;
    struct cv_report *report;
    struct cv_registry_set *registries; /* --online, else NULL */
    cv_date as_of;
    int failed_io;
};

static int on_certificate(void *ctx, struct cv_certificate *cert, const struct cv_record_loc *loc)
{
    struct verify_run *run = ctx;
    struct cv_verification v;
    struct cv_verify_options opt = run->opt;
    const struct cv_supplier *sup = cv_suppliers_find(&run->suppliers, cert->supplier_id);
    if (sup) {
        opt.supplier_name = sup->name;
        opt.supplier_aliases = (const char *const *)sup->aliases;
        opt.n_supplier_aliases = sup->n_aliases;
    }
    struct cv_registry_result reg;
    char reg_buf[CV_REGISTRY_BUF_MIN];
    if (run->registries &&
        cv_registry_lookup(run->registries, NULL, cert, &reg, reg_buf, sizeof(reg_buf)) == CV_OK &&
        reg.status != CV_REG_NOT_CONSULTED)
        opt.registry = &reg;
    cv_verify(cert, &run->refs.ref, run->as_of, &opt, &v);
    if (cv_report_add(run->report, &v, cert, loc)) {
        run->failed_io = 1;
        return CV_ERR_STOP;
    }
    return CV_OK;
}

static void on_error(void *ctx, const struct cv_record_error *e)
{
    struct verify_run *run = ctx;
    cv_report_error(run->report, e);
}

/* ---- reading and verifying on two threads ----------------------------------------------------
 * The reader (the calling thread) hands certificates and refused records, in their order, to a
 * verifier thread that runs the rules and writes the report, so that parsing and the rules run
 * on two cores at once. PIPE_DEPTH batches of PIPE_BATCH records at most are in flight: memory
 * stays bounded whatever the input's size. */

#define PIPE_BATCH 256
#define PIPE_DEPTH 4

struct pipe_item {
    bool is_error;
    struct cv_certificate cert; /* swapped with the reader's: its memory moves, nothing is copied */
    struct cv_record_loc loc;
    struct cv_record_error err;
    char *err_field; /* err.field copied (malloc'd; a CSV column name lives in the reader) */
};

struct pipe_batch {
    struct pipe_item items[PIPE_BATCH];
    size_t n; /* set when the batch is handed over */
};

struct verify_pipe {
    struct verify_run *run;
    struct pipe_batch batches[PIPE_DEPTH]; /* batch k in slot k % PIPE_DEPTH */
    size_t handed, done;                   /* batches handed to the verifier, and verified */
    size_t fill;                           /* items in the batch being filled (the reader's) */
    bool closed;                           /* the reader is done: nothing after 'handed' */
    atomic_bool stop;                      /* the report could not be written: stop reading */
    pthread_mutex_t lock;                  /* guards handed, done, closed */
    pthread_cond_t handed_cond, done_cond;
};

static void *pipe_verifier(void *arg)
{
    struct verify_pipe *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (p->done == p->handed && !p->closed)
            pthread_cond_wait(&p->handed_cond, &p->lock);
        bool finished = p->done == p->handed;
        pthread_mutex_unlock(&p->lock);
        if (finished)
            return NULL;
        struct pipe_batch *b = &p->batches[p->done % PIPE_DEPTH];
        size_t n = b->n;
        for (size_t i = 0; i < n; i++) {
            struct pipe_item *it = &b->items[i];
            if (!atomic_load(&p->stop)) { /* after a failed write, what is left is released */
                if (it->is_error)
                    cv_report_error(p->run->report, &it->err);
                else if (on_certificate(p->run, &it->cert, &it->loc))
                    atomic_store(&p->stop, true);
            }
            cv_certificate_reset(&it->cert);
            free(it->err_field);
            it->err_field = NULL;
        }
        pthread_mutex_lock(&p->lock);
        p->done++;
        pthread_cond_signal(&p->done_cond);
        pthread_mutex_unlock(&p->lock);
    }
}

/* The next item to fill, in the batch being filled; waits for its slot to be free first. */
static struct pipe_item *pipe_next(struct verify_pipe *p)
{
    if (p->fill == 0) {
        pthread_mutex_lock(&p->lock);
        while (p->handed - p->done >= PIPE_DEPTH)
            pthread_cond_wait(&p->done_cond, &p->lock);
        pthread_mutex_unlock(&p->lock);
    }
    return &p->batches[p->handed % PIPE_DEPTH].items[p->fill];
}

/* Counts the item pipe_next gave, and hands the batch being filled to the verifier when it is full
 * (or, with 'last', whatever it holds, and says that nothing follows). */
static void pipe_hand(struct verify_pipe *p, bool last)
{
    if (!last)
        p->fill++;
    if (p->fill < PIPE_BATCH && !last)
        return;
    pthread_mutex_lock(&p->lock);
    if (p->fill) { /* (an empty last batch has no slot: the verifier may be in that one) */
        p->batches[p->handed % PIPE_DEPTH].n = p->fill;
        p->handed++;
    }
    p->fill = 0;
    p->closed = last;
    pthread_cond_signal(&p->handed_cond);
    pthread_mutex_unlock(&p->lock);
}

static int pipe_on_certificate(void *ctx, struct cv_certificate *cert,
                               const struct cv_record_loc *loc)
{
    struct verify_pipe *p = ctx;
    if (atomic_load(&p->stop))
        return CV_ERR_STOP;
    struct pipe_item *it = pipe_next(p);
    it->is_error = false;
    cv_certificate_swap(&it->cert, cert);
    it->loc = *loc;
    pipe_hand(p, false);
    return CV_OK;
}

static void pipe_on_error(void *ctx, const struct cv_record_error *e)
{
    struct verify_pipe *p = ctx;
    struct pipe_item *it = pipe_next(p);
    it->is_error = true;
    it->err = *e;
    it->err_field = e->field ? strdup(e->field) : NULL;
    it->err.field = it->err_field ? it->err_field : (e->field ? "?" : NULL);
    pipe_hand(p, false);
}

/* Reads every file of argv[first..argc) into the report through the verifier thread; inline when
 * the thread cannot be started. */
static void read_and_verify(struct verify_run *run, int first, int argc, char **argv,
                            enum cv_format in_fmt)
{
    struct verify_pipe *p = calloc(1, sizeof(*p));
    pthread_t verifier;
    if (p) {
        p->run = run;
        atomic_init(&p->stop, false);
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->handed_cond, NULL);
        pthread_cond_init(&p->done_cond, NULL);
        for (size_t k = 0; k < PIPE_DEPTH; k++)
            for (size_t i = 0; i < PIPE_BATCH; i++)
                cv_certificate_init(&p->batches[k].items[i].cert, 0);
    }
    if (!p || pthread_create(&verifier, NULL, pipe_verifier, p)) {
        struct cv_reader_sink sink = {on_certificate, on_error, run, run->refs.schema};
        for (int i = first; i < argc && !run->failed_io; i++)
            cv_read_certificates_file(argv[i], in_fmt, &sink);
    } else {
        struct cv_reader_sink sink = {pipe_on_certificate, pipe_on_error, p, run->refs.schema};
        for (int i = first; i < argc && !atomic_load(&p->stop); i++)
            cv_read_certificates_file(argv[i], in_fmt, &sink);
        pipe_hand(p, true);
        pthread_join(verifier, NULL);
    }
    if (!p)
        return;
    for (size_t k = 0; k < PIPE_DEPTH; k++)
        for (size_t i = 0; i < PIPE_BATCH; i++)
            cv_certificate_cleanup(&p->batches[k].items[i].cert);
    pthread_cond_destroy(&p->handed_cond);
    pthread_cond_destroy(&p->done_cond);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

static int parse_days(const char *name, const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > 100000) {
        fprintf(stderr, "certvet verify: --%s: '%s' is not a number of days (0 to 100000)\n", name,
                s);
        return CV_ERR_USAGE;
    }
    *out = (int)v;
    return CV_OK;
}

static cv_date today_utc(void)
{
    return (cv_date)(time(NULL) / 86400);
}

static int load_reference(struct verify_run *run, const char *config_dir, const char **listings,
                          int n_listings, const char *suppliers)
{
    char err[512];
    int rc =
        cv_reference_load(&run->refs, config_dir, listings, (size_t)n_listings, err, sizeof(err));
    if (!rc && suppliers)
        rc = cv_suppliers_load_json(&run->suppliers, suppliers, err, sizeof(err));
    if (rc)
        fprintf(stderr, "certvet verify: %s\n", err);
    return rc;
}

/* --online: the connectors of 'path', or of <config_dir>/registries.json. */
static int load_registries(struct verify_run *run, const char *config_dir, const char *path)
{
    char err[512], def[4096];
    if (!path) {
        snprintf(def, sizeof(def), "%s/registries.json", config_dir);
        path = def;
    }
    int rc = cv_registry_set_load(path, &run->registries, err, sizeof(err));
    if (rc)
        fprintf(stderr, "certvet verify: %s\n", err);
    return rc;
}

int cv_cmd_verify(int argc, char **argv)
{
    struct cv_cli_parser parser;
    const char *listings[MAX_LISTINGS];
    int n_listings = 0;
    const char *suppliers = NULL, *config_dir = NULL, *registries = NULL;
    int online = 0;
    enum cv_output_format out_fmt = CV_OUTPUT_TEXT;
    enum cv_format in_fmt = CV_FORMAT_AUTO;
    struct verify_run run;
    int status = CV_EXIT_USAGE;

    memset(&run, 0, sizeof(run));
    cv_suppliers_init(&run.suppliers);
    cv_verify_options_init(&run.opt);
    run.as_of = today_utc();

    cv_cli_parser_init(&parser, options, N_OPTIONS);
    int c;
    while ((c = cv_cli_next(&parser, argc, argv)) != -1) {
        switch (c) {
        case OPT_AS_OF:
            if (cv_cli_date("verify", "as-of", optarg, &run.as_of))
                goto out;
            break;
        case OPT_WITHIN:
            if (parse_days("within", optarg, &run.opt.expiring_within))
                goto out;
            break;
        case OPT_GRACE:
            if (parse_days("grace", optarg, &run.opt.surveillance_grace))
                goto out;
            break;
        case OPT_MAX_REPORT_AGE:
            if (parse_days("max-report-age", optarg, &run.opt.max_report_age_days))
                goto out;
            break;
        case OPT_LISTING:
            if (cv_cli_append("verify", "listing", listings, &n_listings, MAX_LISTINGS, optarg))
                goto out;
            break;
        case OPT_SUPPLIERS:
            suppliers = optarg;
            break;
        case OPT_FORMAT:
            if (cv_output_format_parse(optarg, &out_fmt)) {
                fprintf(stderr, "certvet verify: --format: '%s' is not text, json or csv\n",
                        optarg);
                goto out;
            }
            break;
        case OPT_INPUT_FORMAT:
            if (cv_cli_input_format("verify", optarg, &in_fmt))
                goto out;
            break;
        case OPT_CONFIG_DIR:
            config_dir = optarg;
            break;
        case OPT_ONLINE:
            online = 1;
            break;
        case OPT_REGISTRIES:
            registries = optarg;
            online = 1;
            break;
        case OPT_HELP:
        case 'h':
            usage(stdout);
            status = CV_EXIT_OK;
            goto out;
        default:
            cv_cli_bad_option("verify", argv);
            usage(stderr);
            goto out;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "certvet verify: no input file (give FILE..., or - for standard input)\n");
        usage(stderr);
        goto out;
    }
    if (load_reference(&run, cv_cli_config_dir(config_dir), listings, n_listings, suppliers))
        goto out;
    if (online && load_registries(&run, cv_cli_config_dir(config_dir), registries))
        goto out;
    if (cv_report_new(stdout, stderr, out_fmt, run.as_of, &run.report))
        goto out;

    read_and_verify(&run, optind, argc, argv, in_fmt);
    if (cv_report_finish(run.report) || run.failed_io) {
        fprintf(stderr, "certvet verify: writing the report failed\n");
        goto out;
    }
    long verdicts[4], errors, warnings;
    cv_report_counts(run.report, verdicts, &errors, &warnings);
    if (errors)
        status = CV_EXIT_USAGE;
    else if (verdicts[CV_VERDICT_INVALID])
        status = CV_EXIT_FINDINGS;
    else
        status = CV_EXIT_OK;
out:
    cv_report_free(run.report);
    cv_registry_set_free(run.registries);
    cv_suppliers_cleanup(&run.suppliers);
    cv_reference_cleanup(&run.refs);
    return status;
}

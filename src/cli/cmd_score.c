/* certvet score: offline supplier scoring (SPEC 5) of certificate files against a profile, for
 * one supplier or the whole portfolio (--all). No Redis, no network. */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certvet/error.h"
#include "certvet/profiles.h"
#include "certvet/reader.h"
#include "certvet/refdata.h"
#include "certvet/report.h"
#include "certvet/score.h"
#include "certvet/supplier.h"
#include "certvet/verify.h"
#include "certvet/xml.h"
#include "commands.h"
#include "options.h"

#define MAX_LISTINGS 64
#define MAX_CERTS    100000 /* certificates held in memory for one run */

enum opt_id {
    OPT_PROFILE = 1000,
    OPT_ALL,
    OPT_AS_OF,
    OPT_LISTING,
    OPT_SUPPLIERS,
    OPT_PROFILES,
    OPT_FORMAT,
    OPT_INPUT_FORMAT,
    OPT_CONFIG_DIR,
    OPT_HELP,
};

/* The options table: the single source of truth for flags and their help. */
static const struct cv_cli_option options[] = {
    {"profile", 1, OPT_PROFILE, "P",
     "score against profile P (required; see config/profiles.json)"},
    {"all", 0, OPT_ALL, NULL, "score every supplier (portfolio) instead of one SUPPLIER"},
    {"as-of", 1, OPT_AS_OF, "D", "score as of date D (YYYY-MM-DD; default: today, UTC)"},
    {"listing", 1, OPT_LISTING, "FILE",
     "load a listing of certification/accreditation bodies (JSON or XML); repeatable"},
    {"suppliers", 1, OPT_SUPPLIERS, "FILE", "load suppliers (JSON): names, aliases, the portfolio"},
    {"profiles", 1, OPT_PROFILES, "FILE", "profiles file (default: CONFIG_DIR/profiles.json)"},
    {"format", 1, OPT_FORMAT, "F", "output: text (default), json or csv"},
    {"input-format", 1, OPT_INPUT_FORMAT, "F",
     "input: auto (default, by extension), json, csv, xml"},
    {"config-dir", 1, OPT_CONFIG_DIR, "DIR",
     "reference data directory (default: $CERTVET_CONFIG_DIR or the built-in one)"},
    {"help", 0, OPT_HELP, NULL, "show this help"},
};
#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

static void usage(FILE *out)
{
    cv_cli_usage(out,
                 "usage: certvet score SUPPLIER --profile P [OPTIONS] FILE...\n"
                 "       certvet score --all --profile P [OPTIONS] FILE...\n\n"
                 "Scores a supplier (certvet-score/1, SPEC 5) from its certificates in FILE...\n"
                 "(linked by supplier_id), verified offline as of the date: the decision\n"
                 "(approved / conditional / rejected), the score 0-100, each requirement and the\n"
                 "reasons. --all lists every supplier, sorted by decision then score.\n"
                 "Exit status: 0 scored (not rejected), 1 the supplier is rejected (one\n"
                 "supplier only), 2 usage error or a record was refused.\n",
                 options, N_OPTIONS);
}

/* One certificate kept for scoring: a copy of the fields scoring reads and its verification. */
struct kept {
    struct cv_certificate cert;
    struct cv_verification v;
};

struct score_run {
    struct cv_reference refs;
    struct cv_suppliers suppliers;
    struct cv_profiles profiles;
    const struct cv_profile *profile;
    cv_date as_of;
    struct kept **certs; /* owned */
    size_t n_certs, cap;
    long refused;
    int failed;
};

static int copy_field(struct cv_certificate *dst, const char *name, const char *value)
{
    char msg[128];
    if (!value)
        return CV_OK;
    return cv_certificate_set_text(dst, name, value, strlen(value), msg, sizeof(msg));
}

static int keep(struct score_run *run, const struct cv_certificate *cert)
{
    if (run->n_certs == MAX_CERTS)
        return CV_ERR_TOO_LARGE;
    if (run->n_certs == run->cap) {
        size_t cap = run->cap ? run->cap * 2 : 64;
        struct kept **a = realloc(run->certs, cap * sizeof(*a));
        if (!a)
            return CV_ERR_NOMEM;
        run->certs = a;
        run->cap = cap;
    }
    struct kept *k = calloc(1, sizeof(*k));
    if (!k)
        return CV_ERR_NOMEM;
    cv_certificate_init(&k->cert, 0);
    int rc = copy_field(&k->cert, "certificate_number", cert->certificate_number);
    if (!rc)
        rc = copy_field(&k->cert, "standard", cert->standard);
    if (!rc)
        rc = copy_field(&k->cert, "certification_body", cert->cb_name);
    if (!rc)
        rc = copy_field(&k->cert, "supplier_id", cert->supplier_id);
    if (!rc)
        rc = copy_field(&k->cert, "type", cv_cert_type_name(cert->type));
    if (rc) {
        cv_certificate_cleanup(&k->cert);
        free(k);
        return rc;
    }
    k->cert.issue_date = cert->issue_date;
    k->cert.expiry_date = cert->expiry_date;
    run->certs[run->n_certs++] = k;
    return CV_OK;
}

static int on_certificate(void *ctx, struct cv_certificate *cert, const struct cv_record_loc *loc)
{
    struct score_run *run = ctx;
    (void)loc;
    if (!cert->supplier_id)
        return CV_OK; /* linked to no supplier: nothing to score it for */
    struct cv_verify_options opt;
    cv_verify_options_init(&opt);
    opt.max_report_age_days = run->profile->max_report_age_days;
    const struct cv_supplier *sup = cv_suppliers_find(&run->suppliers, cert->supplier_id);
    if (sup) {
        opt.supplier_name = sup->name;
        opt.supplier_aliases = (const char *const *)sup->aliases;
        opt.n_supplier_aliases = sup->n_aliases;
    }
    if (keep(run, cert)) {
        fprintf(stderr, "certvet score: too many certificates or out of memory\n");
        run->failed = 1;
        return CV_ERR_STOP;
    }
    struct kept *k = run->certs[run->n_certs - 1];
    cv_verify(cert, &run->refs.ref, run->as_of, &opt, &k->v);
    k->v.certificate_number = k->cert.certificate_number; /* the copy outlives 'cert' */
    return CV_OK;
}

static void on_error(void *ctx, const struct cv_record_error *e)
{
    struct score_run *run = ctx;
    if (!e->is_warning)
        run->refused++;
    if (e->index >= 0)
        fprintf(stderr, "%s: %s %ld (line %ld)%s%s: %s\n", e->source,
                e->is_warning ? "warning, record" : "refused record", e->index, e->line,
                e->field ? ", field " : "", e->field ? e->field : "", e->message);
    else
        fprintf(stderr, "%s%s%s: %s\n", e->source, e->field ? ": " : "", e->field ? e->field : "",
                e->message);
}

/* A supplier's score, for the portfolio. */
struct scored {
    const char *id, *name; /* borrowed */
    struct cv_score score;
    struct cv_scored_cert *input; /* owned; the score borrows it */
};

static int score_supplier(struct score_run *run, const char *id, const char *name,
                          struct scored *out)
{
    memset(out, 0, sizeof(*out));
    out->id = id;
    out->name = name;
    out->input = calloc(run->n_certs ? run->n_certs : 1, sizeof(*out->input));
    if (!out->input)
        return CV_ERR_NOMEM;
    size_t n = 0;
    for (size_t i = 0; i < run->n_certs; i++)
        if (strcmp(run->certs[i]->cert.supplier_id, id) == 0) {
            out->input[n].cert = &run->certs[i]->cert;
            out->input[n].v = &run->certs[i]->v;
            n++;
        }
    return cv_score(run->profile, out->input, n, &run->refs.catalog, run->as_of, &out->score);
}

static void scored_cleanup(struct scored *s)
{
    cv_score_cleanup(&s->score);
    free(s->input);
}

/* Approved first, then conditional, then rejected; higher score first (null last); then id. */
static int cmp_scored(const void *a, const void *b)
{
    const struct scored *x = a, *y = b;
    if (x->score.decision != y->score.decision)
        return (int)x->score.decision - (int)y->score.decision;
    int sx = x->score.has_score ? x->score.score : -1,
        sy = y->score.has_score ? y->score.score : -1;
    if (sx != sy)
        return sy - sx;
    return strcmp(x->id, y->id);
}

/* RFC 4180: quotes a field when it holds a comma, quote or line break. */
static void csv_field(FILE *out, const char *s)
{
    if (!s)
        s = "";
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void print_codes(FILE *out, const struct cv_score_row *r, const char *sep)
{
    if (!r->best)
        return;
    for (size_t k = 0; k < r->best->v->n_findings; k++)
        fprintf(out, "%s%s", k ? sep : "", cv_finding_code_name(r->best->v->findings[k].code));
}

static void print_one_text(FILE *out, const struct scored *s)
{
    const struct cv_score *sc = &s->score;
    char as_of[CV_DATE_STRLEN];
    cv_date_format(sc->as_of, as_of);
    fprintf(out, "supplier  %s%s%s%s\n", s->id, s->name ? " (" : "", s->name ? s->name : "",
            s->name ? ")" : "");
    fprintf(out, "profile   %s, as of %s (%s)\n", sc->profile->name, as_of, CV_SCORE_VERSION);
    if (sc->has_score)
        fprintf(out, "decision  %s\nscore     %d / 100 (approve at %d)\ncoverage  %.0f%%\n\n",
                cv_decision_name(sc->decision), sc->score, sc->profile->approve_at,
                sc->coverage * 100);
    else
        fprintf(out, "decision  %s\nscore     -\ncoverage  -\n\n", cv_decision_name(sc->decision));
    fprintf(out, "%-14s %-11s %6s  %-18s %-10s %6s  %s\n", "family", "level", "weight",
            "certificate", "verdict", "points", "findings");
    for (size_t i = 0; i < sc->n_rows; i++) {
        const struct cv_score_row *r = &sc->rows[i];
        fprintf(out, "%-14s %-11s %6d  %-18s %-10s %6d  ", r->family,
                cv_req_level_name(r->req->level), r->req->weight,
                r->best ? r->best->cert->certificate_number : "-",
                r->best ? cv_verdict_name(r->best->v->verdict) : "none", r->points);
        print_codes(out, r, ", ");
        fputc('\n', out);
    }
    fprintf(out, "\nreasons:\n");
    for (size_t i = 0; i < sc->n_reasons; i++)
        fprintf(out, "  - %s\n", sc->reasons[i]);
}

static void print_one_csv(FILE *out, const struct scored *s)
{
    fprintf(out, "supplier_id,profile,as_of,decision,score,coverage,family,level,weight,"
                 "certificate_number,certificate_id,verdict,points,covered,findings\n");
    const struct cv_score *sc = &s->score;
    char as_of[CV_DATE_STRLEN];
    cv_date_format(sc->as_of, as_of);
    for (size_t i = 0; i < sc->n_rows; i++) {
        const struct cv_score_row *r = &sc->rows[i];
        csv_field(out, s->id);
        fprintf(out, ",%s,%s,%s,", sc->profile->name, as_of, cv_decision_name(sc->decision));
        if (sc->has_score)
            fprintf(out, "%d,%.4f", sc->score, sc->coverage);
        else
            fputc(',', out);
        fputc(',', out);
        csv_field(out, r->family);
        fprintf(out, ",%s,%d,", cv_req_level_name(r->req->level), r->req->weight);
        csv_field(out, r->best ? r->best->cert->certificate_number : "");
        fprintf(out, ",%s,%s,%d,%s,", r->cert_id,
                r->best ? cv_verdict_name(r->best->v->verdict) : "", r->points,
                r->covered ? "yes" : "no");
        print_codes(out, r, " ");
        fputc('\n', out);
    }
}

static int print_json(FILE *out, json_t *j)
{
    if (!j)
        return CV_ERR_NOMEM;
    int rc = json_dumpf(j, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', out);
    json_decref(j);
    return rc ? CV_ERR_IO : CV_OK;
}

/* The requirements a supplier falls short on, for the portfolio table: "ISO 14001 none". */
static void weak_rows(const struct cv_score *sc, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sc->n_rows && len < cap; i++) {
        const struct cv_score_row *r = &sc->rows[i];
        if (r->best && r->best->v->verdict == CV_VERDICT_VALID)
            continue;
        int w = snprintf(buf + len, cap - len, "%s%s %s", len ? "; " : "", r->family,
                         r->best ? cv_verdict_name(r->best->v->verdict) : "none");
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

static int print_all(FILE *out, enum cv_output_format fmt, struct scored *all, size_t n,
                     const struct cv_profile *prof, cv_date as_of)
{
    char d[CV_DATE_STRLEN], weak[256];
    cv_date_format(as_of, d);
    if (fmt == CV_OUTPUT_JSON) {
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < n; i++)
            json_array_append_new(arr, cv_score_to_json(&all[i].score, all[i].id, all[i].name));
        return print_json(out, json_pack("{s:s, s:s, s:s, s:o*}", "scoring", CV_SCORE_VERSION,
                                         "profile", prof->name, "as_of", d, "suppliers", arr));
    }
    if (fmt == CV_OUTPUT_CSV) {
        fprintf(out, "supplier_id,supplier_name,profile,as_of,decision,score,coverage,"
                     "not_valid\n");
        for (size_t i = 0; i < n; i++) {
            const struct cv_score *sc = &all[i].score;
            csv_field(out, all[i].id);
            fputc(',', out);
            csv_field(out, all[i].name);
            fprintf(out, ",%s,%s,%s,", prof->name, d, cv_decision_name(sc->decision));
            if (sc->has_score)
                fprintf(out, "%d,%.4f,", sc->score, sc->coverage);
            else
                fprintf(out, ",,");
            weak_rows(sc, weak, sizeof(weak));
            csv_field(out, weak);
            fputc('\n', out);
        }
        return CV_OK;
    }
    fprintf(out, "profile %s (%s), as of %s, approve at %d\n\n", prof->name,
            prof->title ? prof->title : "", d, prof->approve_at);
    fprintf(out, "%-12s %5s %8s  %-9s %-34s %s\n", "decision", "score", "coverage", "supplier",
            "name", "not valid");
    for (size_t i = 0; i < n; i++) {
        const struct cv_score *sc = &all[i].score;
        char score[8] = "-", cov[8] = "-";
        if (sc->has_score) {
            snprintf(score, sizeof(score), "%d", sc->score);
            snprintf(cov, sizeof(cov), "%.0f%%", sc->coverage * 100);
        }
        weak_rows(sc, weak, sizeof(weak));
        if (!*weak)
            snprintf(weak, sizeof(weak), "-");
        fprintf(out, "%-12s %5s %8s  %-9s %-34.34s %s\n", cv_decision_name(sc->decision), score,
                cov, all[i].id, all[i].name ? all[i].name : "", weak);
    }
    return CV_OK;
}

/* The portfolio: every supplier of --suppliers, then any other supplier_id the certificates
 * name, in that order before sorting. Returns an exit status. */
static int run_all(struct score_run *run, enum cv_output_format fmt)
{
    size_t cap = run->suppliers.count + run->n_certs, n = 0;
    struct scored *all = calloc(cap ? cap : 1, sizeof(*all));
    int status = CV_EXIT_USAGE;
    if (!all)
        return status;
    for (size_t i = 0; i < run->suppliers.count; i++)
        if (score_supplier(run, run->suppliers.items[i].id, run->suppliers.items[i].name,
                           &all[n++]))
            goto out;
    for (size_t i = 0; i < run->n_certs; i++) {
        const char *id = run->certs[i]->cert.supplier_id;
        bool seen = cv_suppliers_find(&run->suppliers, id) != NULL;
        for (size_t k = 0; !seen && k < n; k++)
            seen = strcmp(all[k].id, id) == 0;
        if (!seen && score_supplier(run, id, NULL, &all[n++]))
            goto out;
    }
    qsort(all, n, sizeof(*all), cmp_scored);
    if (print_all(stdout, fmt, all, n, run->profile, run->as_of))
        goto out;
    status = run->refused ? CV_EXIT_USAGE : CV_EXIT_OK;
out:
    for (size_t i = 0; i < n; i++)
        scored_cleanup(&all[i]);
    free(all);
    return status;
}

static int run_one(struct score_run *run, const char *id, enum cv_output_format fmt)
{
    const struct cv_supplier *sup = cv_suppliers_find(&run->suppliers, id);
    struct scored s;
    int status = CV_EXIT_USAGE;
    bool named = sup != NULL;
    for (size_t i = 0; !named && i < run->n_certs; i++)
        named = strcmp(run->certs[i]->cert.supplier_id, id) == 0;
    if (!named) {
        fprintf(stderr,
                "certvet score: no supplier '%s': not in --suppliers and no certificate names it "
                "as its supplier_id\n",
                id);
        return CV_EXIT_USAGE;
    }
    if (score_supplier(run, id, sup ? sup->name : NULL, &s))
        goto out;
    if (fmt == CV_OUTPUT_JSON) {
        if (print_json(stdout, cv_score_to_json(&s.score, s.id, s.name)))
            goto out;
    } else if (fmt == CV_OUTPUT_CSV) {
        print_one_csv(stdout, &s);
    } else {
        print_one_text(stdout, &s);
    }
    if (run->refused)
        status = CV_EXIT_USAGE;
    else
        status = s.score.decision == CV_DECISION_REJECTED ? CV_EXIT_FINDINGS : CV_EXIT_OK;
out:
    scored_cleanup(&s);
    return status;
}

static int load(struct score_run *run, const char *config_dir, const char **listings,
                int n_listings, const char *suppliers, const char *profiles, const char *name)
{
    char err[512], path[4096];
    int rc =
        cv_reference_load(&run->refs, config_dir, listings, (size_t)n_listings, err, sizeof(err));
    if (!rc && suppliers)
        rc = cv_suppliers_load_json(&run->suppliers, suppliers, err, sizeof(err));
    if (!rc) {
        if (!profiles) {
            snprintf(path, sizeof(path), "%s/profiles.json", config_dir);
            profiles = path;
        }
        rc = cv_profiles_load_json(&run->profiles, profiles, &run->refs.catalog, err, sizeof(err));
    }
    if (rc) {
        fprintf(stderr, "certvet score: %s\n", err);
        return rc;
    }
    run->profile = cv_profiles_find(&run->profiles, name);
    if (!run->profile) {
        fprintf(stderr, "certvet score: --profile: no profile '%s' in %s (profiles:", name,
                profiles);
        for (size_t i = 0; i < run->profiles.count; i++)
            fprintf(stderr, " %s", run->profiles.items[i].name);
        fprintf(stderr, ")\n");
        return CV_ERR_USAGE;
    }
    return CV_OK;
}

int cv_cmd_score(int argc, char **argv)
{
    struct cv_cli_parser parser;
    const char *listings[MAX_LISTINGS];
    int n_listings = 0, all = 0;
    const char *suppliers = NULL, *config_dir = NULL, *profiles = NULL, *profile = NULL;
    enum cv_output_format out_fmt = CV_OUTPUT_TEXT;
    enum cv_format in_fmt = CV_FORMAT_AUTO;
    struct score_run run;
    int status = CV_EXIT_USAGE;

    memset(&run, 0, sizeof(run));
    cv_suppliers_init(&run.suppliers);
    cv_profiles_init(&run.profiles);
    run.as_of = (cv_date)(time(NULL) / 86400);

    cv_cli_parser_init(&parser, options, N_OPTIONS);
    int c;
    while ((c = cv_cli_next(&parser, argc, argv)) != -1) {
        switch (c) {
        case OPT_PROFILE:
            profile = optarg;
            break;
        case OPT_ALL:
            all = 1;
            break;
        case OPT_AS_OF:
            if (cv_cli_date("score", "as-of", optarg, &run.as_of))
                goto out;
            break;
        case OPT_LISTING:
            if (cv_cli_append("score", "listing", listings, &n_listings, MAX_LISTINGS, optarg))
                goto out;
            break;
        case OPT_SUPPLIERS:
            suppliers = optarg;
            break;
        case OPT_PROFILES:
            profiles = optarg;
            break;
        case OPT_FORMAT:
            if (cv_output_format_parse(optarg, &out_fmt)) {
                fprintf(stderr, "certvet score: --format: '%s' is not text, json or csv\n", optarg);
                goto out;
            }
            break;
        case OPT_INPUT_FORMAT:
            if (cv_cli_input_format("score", optarg, &in_fmt))
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
            cv_cli_bad_option("score", argv);
            usage(stderr);
            goto out;
        }
    }
    const char *supplier = NULL;
    if (!all) {
        if (optind >= argc) {
            fprintf(stderr, "certvet score: give SUPPLIER (an id) or --all\n");
            usage(stderr);
            goto out;
        }
        supplier = argv[optind++];
    }
    if (!profile) {
        fprintf(stderr, "certvet score: --profile P is required\n");
        usage(stderr);
        goto out;
    }
    if (optind >= argc) {
        fprintf(stderr, "certvet score: no certificate file (give FILE..., or - for standard "
                        "input)\n");
        usage(stderr);
        goto out;
    }
    if (load(&run, cv_cli_config_dir(config_dir), listings, n_listings, suppliers, profiles,
             profile))
        goto out;

    struct cv_reader_sink sink = {on_certificate, on_error, &run, run.refs.schema};
    for (int i = optind; i < argc && !run.failed; i++)
        cv_read_certificates_file(argv[i], in_fmt, &sink);
    if (run.failed)
        goto out;
    status = all ? run_all(&run, out_fmt) : run_one(&run, supplier, out_fmt);
out:
    for (size_t i = 0; i < run.n_certs; i++) {
        cv_certificate_cleanup(&run.certs[i]->cert);
        free(run.certs[i]);
    }
    free(run.certs);
    cv_profiles_cleanup(&run.profiles);
    cv_suppliers_cleanup(&run.suppliers);
    cv_reference_cleanup(&run.refs);
    return status;
}

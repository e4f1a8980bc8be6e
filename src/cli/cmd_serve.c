/* certvet serve: the HTTP service. Configuration comes from defaults, then --config FILE, then the
 * environment, then the flags; with no Redis URL an embedded redis-server is started under the
 * data directory and stopped on exit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certvet/error.h"
#include "certvet/service.h"
#include "certvet/store.h"
#include "commands.h"
#include "options.h"

#define MAX_FLAG_LISTINGS 64

enum opt_id {
    OPT_CONFIG = 1000,
    OPT_LISTEN,
    OPT_REDIS,
    OPT_DATA_DIR,
    OPT_LISTING,
    OPT_READY_FILE,
    OPT_CONFIG_DIR,
    OPT_HELP,
};

/* The options table: the single source of truth for flags and their help. */
static const struct cv_cli_option options[] = {
    {"config", 1, OPT_CONFIG, "FILE", "JSON configuration (every key: config/certvet.sample.json)"},
    {"listen", 1, OPT_LISTEN, "HOST:PORT",
     "address to listen on (default 127.0.0.1:8080; port 0 picks a free one)"},
    {"redis", 1, OPT_REDIS, "URL",
     "redis://[:password@]host[:port][/db] or unix:///path; default: start an embedded "
     "redis-server under the data directory"},
    {"data-dir", 1, OPT_DATA_DIR, "DIR", "data directory (default ./var)"},
    {"listing", 1, OPT_LISTING, "FILE",
     "load a listing of certification/accreditation bodies (JSON or XML); repeatable, added to "
     "the configured ones"},
    {"ready-file", 1, OPT_READY_FILE, "FILE",
     "write HOST:PORT to FILE once listening (removed on exit)"},
    {"config-dir", 1, OPT_CONFIG_DIR, "DIR",
     "reference data directory (default: $CERTVET_CONFIG_DIR or the built-in one)"},
    {"help", 0, OPT_HELP, NULL, "show this help"},
};
#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

static void usage(FILE *out)
{
    cv_cli_usage(out,
                 "usage: certvet serve [OPTIONS]\n\n"
                 "Runs the HTTP API (docs/API.md) until SIGTERM or SIGINT, then lets in-flight\n"
                 "requests finish. Logs are JSON lines on standard error. Precedence: defaults,\n"
                 "--config FILE, CERTVET_LISTEN / CERTVET_REDIS_URL / CERTVET_DATA_DIR, flags.\n"
                 "Exit status: 0 after a clean shutdown, 2 when it cannot start.\n",
                 options, N_OPTIONS);
}

/* Replaces an owned string of the configuration. */
static int replace(char **field, const char *value)
{
    char *copy = strdup(value);
    if (!copy)
        return CV_ERR_NOMEM;
    free(*field);
    *field = copy;
    return CV_OK;
}

struct flags {
    const char *config, *listen, *redis, *data_dir, *ready_file, *config_dir;
    const char *listings[MAX_FLAG_LISTINGS];
    int n_listings;
};

/* Returns CV_OK, CV_ERR_STOP after --help, or CV_ERR_USAGE (reported). */
static int parse_flags(int argc, char **argv, struct flags *f)
{
    struct cv_cli_parser parser;
    cv_cli_parser_init(&parser, options, N_OPTIONS);
    int c;
    while ((c = cv_cli_next(&parser, argc, argv)) != -1) {
        switch (c) {
        case OPT_CONFIG:
            f->config = optarg;
            break;
        case OPT_LISTEN:
            f->listen = optarg;
            break;
        case OPT_REDIS:
            f->redis = optarg;
            break;
        case OPT_DATA_DIR:
            f->data_dir = optarg;
            break;
        case OPT_LISTING:
            if (f->n_listings == MAX_FLAG_LISTINGS) {
                fprintf(stderr, "certvet serve: at most %d --listing flags\n", MAX_FLAG_LISTINGS);
                return CV_ERR_USAGE;
            }
            f->listings[f->n_listings++] = optarg;
            break;
        case OPT_READY_FILE:
            f->ready_file = optarg;
            break;
        case OPT_CONFIG_DIR:
            f->config_dir = optarg;
            break;
        case OPT_HELP:
        case 'h':
            usage(stdout);
            return CV_ERR_STOP;
        default:
            cv_cli_bad_option("serve", argv);
            usage(stderr);
            return CV_ERR_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "certvet serve: unexpected argument '%s'\n", argv[optind]);
        return CV_ERR_USAGE;
    }
    return CV_OK;
}

/* The flags over what the file and the environment gave. */
static int apply_flags(struct cv_service_config *c, const struct flags *f)
{
    char err[400];
    int rc = CV_OK;
    if (f->listen && cv_service_config_set_listen(c, f->listen, err, sizeof(err))) {
        fprintf(stderr, "certvet serve: --listen: %s\n", err);
        return CV_ERR_USAGE;
    }
    if (f->redis)
        rc = replace(&c->redis_url, f->redis);
    if (!rc && f->data_dir)
        rc = replace(&c->data_dir, f->data_dir);
    if (!rc && f->ready_file)
        rc = replace(&c->ready_file, f->ready_file);
    if (!rc && f->config_dir)
        rc = replace(&c->config_dir, f->config_dir);
    for (int i = 0; !rc && i < f->n_listings; i++)
        rc = cv_service_config_add_listing(c, f->listings[i]);
    if (rc)
        fprintf(stderr, "certvet serve: %s\n", cv_strerror(rc));
    return rc;
}

int cv_cmd_serve(int argc, char **argv)
{
    struct cv_service_config c;
    struct flags f = {0};
    struct cv_embedded_redis *embedded = NULL;
    char err[512], url[512];
    int status = CV_EXIT_USAGE;

    cv_service_config_init(&c);
    int rc = parse_flags(argc, argv, &f);
    if (rc == CV_ERR_STOP) {
        status = CV_EXIT_OK;
        goto out;
    }
    if (rc)
        goto out;
    if (cv_service_config_load(&c, f.config, err, sizeof(err))) {
        fprintf(stderr, "certvet serve: %s\n", err);
        goto out;
    }
    if (apply_flags(&c, &f))
        goto out;
    if (!c.redis_url) {
        rc = cv_embedded_redis_start(c.data_dir, c.redis_server, &embedded, url, sizeof(url), err,
                                     sizeof(err));
        if (rc) {
            fprintf(stderr, "certvet serve: cannot start the embedded redis-server: %s\n", err);
            goto out;
        }
        printf("certvet: embedded redis-server at %s\n", url);
        fflush(stdout);
        if (replace(&c.redis_url, url))
            goto out;
    }
    status = cv_service_run(&c);
out:
    cv_embedded_redis_stop(embedded);
    cv_service_config_cleanup(&c);
    return status;
}

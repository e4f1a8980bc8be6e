/* certvet refresh: fetches every listing source of sources.json, keeps the last good copies in
 * Redis, and reports per source (ok / not modified / failed, using the copy from T) and the new
 * reference-data version. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certvet/error.h"
#include "certvet/http_client.h"
#include "certvet/service.h"
#include "certvet/sources.h"
#include "certvet/store.h"
#include "commands.h"
#include "options.h"

enum opt_id {
    OPT_CONFIG = 1000,
    OPT_REDIS,
    OPT_SOURCES,
    OPT_DATA_DIR,
    OPT_CONFIG_DIR,
    OPT_HELP,
};

/* The options table: the single source of truth for flags and their help. */
static const struct cv_cli_option options[] = {
    {"config", 1, OPT_CONFIG, "FILE", "service configuration file (JSON)"},
    {"redis", 1, OPT_REDIS, "URL",
     "Redis keeping the last good copies (default: $CERTVET_REDIS_URL, the config's, or the "
     "embedded server's socket under the data directory); without it, failing sources have no "
     "fallback"},
    {"sources", 1, OPT_SOURCES, "FILE",
     "listing sources (default: sources.json of the "
     "reference data directory)"},
    {"data-dir", 1, OPT_DATA_DIR, "DIR", "data directory of the embedded Redis (default ./var)"},
    {"config-dir", 1, OPT_CONFIG_DIR, "DIR", "reference data directory"},
    {"help", 0, OPT_HELP, NULL, "show this help"},
};
#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

static void usage(FILE *out)
{
    cv_cli_usage(out,
                 "usage: certvet refresh [OPTIONS]\n\n"
                 "Fetches every listing source (SPEC 6), keeps the last good copy of each in\n"
                 "Redis, and prints per source: ok, not modified, or failed (and the copy used\n"
                 "instead), then the new reference-data version. Exit status: 0 when every source\n"
                 "was usable, 2 otherwise.\n\noptions:\n",
                 options, N_OPTIONS);
}

/* The store's keeper, saying so when keeping a copy fails. */
static int keeper_put(void *ctx, const char *name, const struct cv_source_copy *c)
{
    int rc = cv_service_keeper_put(ctx, name, c);
    if (rc)
        fprintf(stderr, "certvet refresh: %s: keeping the copy in Redis failed: %s\n", name,
                cv_store_errstr(ctx));
    return rc;
}

int cv_cmd_refresh(int argc, char **argv)
{
    struct cv_service_config cfg;
    struct cv_cli_parser parser;
    struct cv_sources sources = {0};
    struct cv_reference ref;
    struct cv_store *store = NULL;
    struct cv_http_client *http = NULL;
    const char *config = NULL, *redis = NULL, *sources_path = NULL, *data_dir = NULL;
    const char *config_dir = NULL;
    char err[1024], url[4200], path[4096], line[1024];
    size_t unusable = 0;
    int status = CV_EXIT_USAGE, opt;

    memset(&ref, 0, sizeof(ref));
    cv_service_config_init(&cfg);
    cv_cli_parser_init(&parser, options, N_OPTIONS);
    while ((opt = cv_cli_next(&parser, argc, argv)) != -1) {
        switch (opt) {
        case OPT_CONFIG:
            config = optarg;
            break;
        case OPT_REDIS:
            redis = optarg;
            break;
        case OPT_SOURCES:
            sources_path = optarg;
            break;
        case OPT_DATA_DIR:
            data_dir = optarg;
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
            cv_cli_bad_option("refresh", argv);
            usage(stderr);
            goto out;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "certvet refresh: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        goto out;
    }
    if (cv_service_config_load(&cfg, config, err, sizeof(err))) {
        fprintf(stderr, "certvet refresh: %s\n", err);
        goto out;
    }
    config_dir = cv_cli_config_dir(config_dir ? config_dir : cfg.config_dir);
    if (!sources_path) {
        snprintf(path, sizeof(path), "%s/sources.json", config_dir);
        sources_path = path;
    }
    if (cv_sources_load(&sources, sources_path, err, sizeof(err))) {
        fprintf(stderr, "certvet refresh: %s\n", err);
        goto out;
    }
    if (cv_sources_http_client_new(&sources, NULL, &http, err, sizeof(err))) {
        fprintf(stderr, "certvet refresh: %s\n", err);
        goto out;
    }
    redis = cv_cli_redis_url(redis, cfg.redis_url, data_dir ? data_dir : cfg.data_dir, url,
                             sizeof(url));
    struct cv_store_config sc = {redis, cfg.redis_prefix, cfg.redis_timeout_ms};
    if (cv_store_open(&sc, &store, err, sizeof(err))) {
        fprintf(stderr,
                "certvet refresh: warning: cannot reach Redis at %s (%s): last good copies are "
                "neither read nor kept\n",
                redis, err);
        store = NULL;
    }
    struct cv_source_keeper keeper = {store, cv_service_keeper_get, keeper_put};
    struct cv_refresh_env env = {config_dir, http, store ? &keeper : NULL, (long long)time(NULL)};
    if (cv_sources_refresh(&sources, &env, &ref, &unusable, err, sizeof(err))) {
        fprintf(stderr, "certvet refresh: %s\n", err);
        goto out;
    }
    for (size_t i = 0; i < sources.n; i++) {
        cv_source_describe(&sources.items[i], env.now, line, sizeof(line));
        printf("%s\n", line);
    }
    printf("reference version %s (%zu certification bodies, %zu accreditation bodies)\n",
           ref.version, ref.bodies.n_cbs, ref.bodies.n_abs);
    status = unusable ? CV_EXIT_USAGE : CV_EXIT_OK;
out:
    cv_reference_cleanup(&ref);
    cv_http_client_free(http);
    cv_store_close(store);
    cv_sources_cleanup(&sources);
    cv_service_config_cleanup(&cfg);
    return status;
}

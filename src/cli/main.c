/* certvet: one binary, one subcommand per file; this file dispatches from the command table. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certvet/refdata.h"
#include "certvet/service.h"
#include "commands.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

/* The command table: the single source of truth for subcommands and their one-line help. */
static const struct command commands[] = {
    {"verify", cv_cmd_verify, "verify certificate files offline and print verdicts"},
    {"import", cv_cmd_import, "load certificate files into the store (Redis)"},
    {"serve", cv_cmd_serve, "run the HTTP API (embedded redis-server unless --redis is given)"},
    {"keygen", cv_cmd_keygen, "make a new API key and its configuration entry"},
    {"score", cv_cmd_score, "score suppliers against a procurement profile (SPEC 5)"},
    {"refresh", cv_cmd_refresh, "fetch the listing sources and report the new reference version"},
    {"scan", cv_cmd_scan, "nightly scan: emit due events once and report what needs attention"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: certvet COMMAND [OPTIONS] [ARGS]\n\n"
                 "certvet checks suppliers' ISO certificates: validity, edition, surveillance\n"
                 "audits and the accreditation chain.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'certvet COMMAND --help' describes a command; 'certvet --version' prints the "
                 "version.\n");
}

const char *cv_cli_config_dir(const char *option)
{
    if (option)
        return option;
    const char *env = getenv("CERTVET_CONFIG_DIR");
    return env && *env ? env : CERTVET_DEFAULT_CONFIG_DIR;
}

const char *cv_cli_redis_url(const char *flag, const char *config_url, const char *data_dir,
                             char *buf, size_t cap)
{
    if (flag)
        return flag;
    if (config_url)
        return config_url;
    char *abs = realpath(data_dir, NULL);
    snprintf(buf, cap, "unix://%s/redis.sock", abs ? abs : data_dir);
    free(abs);
    return buf;
}

const char **cv_cli_all_listings(const struct cv_service_config *cfg, const char *const *listings,
                                 int n_listings, size_t *n)
{
    const char **all = malloc((cfg->n_listings + (size_t)n_listings + 1) * sizeof(*all));
    *n = 0;
    if (!all)
        return NULL;
    for (size_t i = 0; i < cfg->n_listings; i++)
        all[(*n)++] = cfg->listings[i];
    for (int i = 0; i < n_listings; i++)
        all[(*n)++] = listings[i];
    return all;
}

int cv_cli_store_setup(const char *cmd, const char *config, const char *config_dir,
                       const char *data_dir, const char *const *listings, int n_listings,
                       struct cv_service_config *cfg, struct cv_reference *refs, const char **redis,
                       char *url, size_t url_cap)
{
    char err[512];
    size_t n;
    if (cv_service_config_load(cfg, config, err, sizeof(err))) {
        fprintf(stderr, "certvet %s: %s\n", cmd, err);
        return 1;
    }
    *redis =
        cv_cli_redis_url(*redis, cfg->redis_url, data_dir ? data_dir : cfg->data_dir, url, url_cap);
    if (!refs)
        return 0;
    const char **all = cv_cli_all_listings(cfg, listings, n_listings, &n);
    if (!all) {
        fprintf(stderr, "certvet %s: out of memory\n", cmd);
        return 1;
    }
    int rc = cv_reference_load(refs, cv_cli_config_dir(config_dir ? config_dir : cfg->config_dir),
                               all, n, err, sizeof(err));
    free(all);
    if (rc)
        fprintf(stderr, "certvet %s: %s\n", cmd, err);
    return rc;
}

int main(int argc, char **argv)
{
    /* A peer that closes a socket (Redis, an HTTP client) must give an error, not kill us. */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        usage(stderr);
        return CV_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return CV_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("certvet %s\n", CERTVET_VERSION);
        return CV_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "certvet: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return CV_EXIT_USAGE;
}

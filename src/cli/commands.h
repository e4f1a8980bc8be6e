/* The subcommands of the certvet binary; each returns the process exit status. */
#ifndef CERTVET_CLI_COMMANDS_H
#define CERTVET_CLI_COMMANDS_H

#include <stddef.h>

#define CV_EXIT_OK       0 /* ran; nothing invalid */
#define CV_EXIT_FINDINGS 1 /* ran; something is invalid */
#define CV_EXIT_USAGE    2 /* usage error, or a record was refused */

int cv_cmd_verify(int argc, char **argv);
int cv_cmd_import(int argc, char **argv);
int cv_cmd_serve(int argc, char **argv);
int cv_cmd_keygen(int argc, char **argv);
int cv_cmd_score(int argc, char **argv);
int cv_cmd_refresh(int argc, char **argv);
int cv_cmd_scan(int argc, char **argv);

/* The configuration directory: --config-dir, else $CERTVET_CONFIG_DIR, else the build's. */
const char *cv_cli_config_dir(const char *option);

/* The Redis URL a command uses: --redis, else the config's redis.url, else the embedded server's
 * socket under the data directory (made absolute, as unix:// URLs need). May return 'buf'. */
const char *cv_cli_redis_url(const char *flag, const char *config_url, const char *data_dir,
                             char *buf, size_t cap);

struct cv_service_config;
struct cv_reference;

/* For commands that work on the store: loads the service configuration 'config' (NULL: defaults
 * and environment) into 'cfg', resolves the Redis URL ('*redis', which may point into 'url'), and
 * (unless 'refs' is NULL) loads the reference data with cv_cli_all_listings' listings. Prints
 * "certvet CMD: ..." and returns nonzero on error. */
/* The listings to merge, in order: the configuration's, then the flags' 'listings' (so a flag's
 * listing replaces a configured body of the same id). A malloc'd array of borrowed strings (free
 * the array only), '*n' of them; NULL when out of memory. */
const char **cv_cli_all_listings(const struct cv_service_config *cfg, const char *const *listings,
                                 int n_listings, size_t *n);

int cv_cli_store_setup(const char *cmd, const char *config, const char *config_dir,
                       const char *data_dir, const char *const *listings, int n_listings,
                       struct cv_service_config *cfg, struct cv_reference *refs, const char **redis,
                       char *url, size_t url_cap);

#endif

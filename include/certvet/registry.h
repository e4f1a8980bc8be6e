/* Registry connectors (SPEC 6): look a certificate up by number (and CB) at a configured
 * registry, a generic JSON endpoint or one shaped like the IAF CertSearch verification API, and
 * turn the answer into a struct cv_registry_result for the REGISTRY_* rules. Results are cached
 * through the store; each connector has a circuit breaker, a concurrency limit and a rate limit.
 * Configuration: config/registries.json, described in docs/REGISTRIES.md. */
#ifndef CERTVET_REGISTRY_H
#define CERTVET_REGISTRY_H

#include <stddef.h>

#include "certvet/certificate.h"
#include "certvet/store.h"
#include "certvet/verify.h"

#define CV_REGISTRY_MAX          64          /* connectors in one set */
#define CV_REGISTRY_CONFIG_MAX   (1 << 20)   /* bytes of registries.json */
#define CV_REGISTRY_BUF_MIN      1024        /* a lookup's 'buf' should hold at least this */
#define CV_REGISTRY_TTL_FOUND    (3 * 86400) /* default ttl_found_s: any status, found */
#define CV_REGISTRY_TTL_NOTFOUND (6 * 3600)  /* default ttl_not_found_s */

struct cv_registry_set; /* opaque; immutable after load except per-connector counters (locked) */

/* Loads a connector set from the JSON text 'json' ('len' bytes), or from the file 'path'.
 * Environment variables named in the config (auth_env, api_key_env) are read here, once; a
 * missing variable is not an error (the connector answers CV_REG_UNAVAILABLE "API key not
 * set" when used). Returns CV_OK and '*out' (free with cv_registry_set_free), or CV_ERR_IO,
 * CV_ERR_PARSE, CV_ERR_INVALID, CV_ERR_TOO_LARGE with a message naming the connector and the
 * field in 'err' ('cap' bytes). */
int cv_registry_set_parse(const char *json, size_t len, struct cv_registry_set **out, char *err,
                          size_t cap);
int cv_registry_set_load(const char *path, struct cv_registry_set **out, char *err, size_t cap);
void cv_registry_set_free(struct cv_registry_set *set);

/* The origins ("scheme://host[:port]") the set's connectors talk to, for an HTTP client's
 * allow-list; borrowed from the set. */
size_t cv_registry_set_origins(const struct cv_registry_set *set, const char *const **origins);

/* Looks 'cert' up at the first connector whose "cbs" names the certificate's CB (by
 * certification_body_id, by normalized CB name, or "*"), and fills 'out':
 * - CV_REG_NOT_CONSULTED when no connector is mapped to the CB (or 'set' is NULL);
 * - a status from the registry (found: active, suspended, withdrawn (also cancelled), expired)
 *   with holder_name / standard / expiry_date as the registry has them;
 * - CV_REG_NOT_FOUND (404 or an empty answer);
 * - CV_REG_UNAVAILABLE with 'error' saying why (timeout, 5xx, garbage, circuit open, rate
 *   limited, no API key, insufficient_credit, ...).
 * 'store' (may be NULL: no cache) is consulted first under
 * "reg:<connector>:<normalized number>:<cb key>"; found and not-found answers are written back
 * (ttl_found_s / ttl_not_found_s), failures never. Cache errors are ignored (the lookup goes on
 * without the cache). A 'store' is one connection: pass each thread's own.
 * Every string of 'out' (registry, holder_name, standard, error) points into 'buf' ('cap' bytes,
 * CV_REGISTRY_BUF_MIN recommended; long strings are cut), so 'out' lives as long as 'buf'.
 * Thread-safe: several threads may look up through one set at once. Makes the requests through
 * cv_http_do with a client of its own. Returns CV_OK whenever 'out' is filled (whatever the
 * status), CV_ERR_USAGE for a NULL 'cert' / 'out' or a 'buf' under 64 bytes. */
int cv_registry_lookup(struct cv_registry_set *set, struct cv_store *store,
                       const struct cv_certificate *cert, struct cv_registry_result *out, char *buf,
                       size_t cap);

/* The name of a registry status ("active", "not_found", ...); never NULL. */
const char *cv_registry_status_name(enum cv_registry_status s);

/* Counters of one connector, for /metrics and tests. */
struct cv_registry_stats {
    unsigned long lookups;        /* cv_registry_lookup calls routed to this connector */
    unsigned long cache_hits;     /* answered from the cache */
    unsigned long requests;       /* lookups that went to the network (one or more HTTP requests) */
    unsigned long failures;       /* lookups answered CV_REG_UNAVAILABLE, circuit-open included */
    unsigned long short_circuits; /* answered "circuit open" without a request */
    int breaker_open;             /* 1 while the breaker is open (or half-open), else 0 */
};

/* Fills 'out' for the connector named 'name'. CV_OK or CV_ERR_NOT_FOUND. */
int cv_registry_stats(struct cv_registry_set *set, const char *name, struct cv_registry_stats *out);

#endif

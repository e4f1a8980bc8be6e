/* The integration-test harness: a private redis-server on a unix socket, the real `certvet serve`
 * as a child process with a generated config and API keys, and libcurl helpers that return the
 * status, the headers and the body of each exchange. Include after <cmocka.h>: failures are
 * cmocka failures. Every child gets PR_SET_PDEATHSIG, so a failed test leaves no process behind. */
#ifndef CERTVET_IT_HARNESS_H
#define CERTVET_IT_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#ifndef CERTVET_BINARY
#error "CERTVET_BINARY must name the certvet executable"
#endif
#ifndef CERTVET_SOURCE_DIR
#error "CERTVET_SOURCE_DIR must name the source tree"
#endif

#define IT_DIR_MAX  256 /* bytes of a directory path */
#define IT_PATH_MAX 512 /* bytes of a file path (a directory and a name) */
#define IT_KEY_LEN  65  /* 64 hex digits and a NUL */

/* A redis-server child listening only on 'socket' (no TCP), its files in 'dir'. */
struct it_redis {
    pid_t pid; /* 0 when not running */
    bool appendonly;
    char dir[IT_DIR_MAX];
    char socket[IT_PATH_MAX];
    char url[IT_PATH_MAX + 16]; /* "unix:///.../redis.sock", the form certvet accepts */
};

/* Starts redis-server in a new directory under 'parent' and waits until it answers PING. */
void it_redis_start(struct it_redis *r, const char *parent, bool appendonly);
/* Stops it (SIGTERM: the append-only file is flushed) and waits for it; the directory stays. */
void it_redis_stop(struct it_redis *r);
/* Starts it again on the same socket and directory (data persists when appendonly). */
void it_redis_restart(struct it_redis *r);
/* Runs `redis-cli -s SOCKET ARGS` (ARGS as a shell would split them): its exit status, the first
 * line of its output in 'out' (without the newline). */
int it_redis_cli(const struct it_redis *r, const char *args, char *out, size_t cap);
/* How many keys the Redis on unix socket 'socket' has that match the glob 'pattern' (redis-cli
 * --scan): a test's it_redis, or the service's embedded one. */
long it_redis_count_keys(const char *socket, const char *pattern);

/* What the generated config sets; zero fields keep the service defaults. */
struct it_service_options {
    const char *redis_url;  /* NULL: embedded redis-server under 'data_dir' */
    const char *data_dir;   /* for the embedded mode (paths.data_dir) */
    bool no_listing;        /* default: --listing fixtures/sample/listing.json */
    size_t body_bytes;      /* limits.body_bytes */
    size_t batch_records;   /* limits.batch_records */
    bool no_keys;           /* configure no API key (every request is admin, loopback only) */
    const char *listen;     /* --listen, default "127.0.0.1:0" */
    const char *registries; /* paths.registries (a registries.json), NULL: none */
    int refresh_s;          /* reference.refresh_s: the periodic refresh, 0: off */
};

/* The keys, in the order of their roles. */
enum it_key {
    IT_KEY_NONE = 0, /* no Authorization header */
    IT_KEY_READ,
    IT_KEY_WRITE,
    IT_KEY_ADMIN,
    IT_KEY_BOGUS, /* well-formed but unknown */
    IT_N_KEYS
};

struct it_service {
    pid_t pid; /* 0 when not running */
    struct it_service_options opt;
    char dir[IT_DIR_MAX]; /* config, ready file, captured stdout and stderr */
    char config_path[IT_PATH_MAX];
    char ready_path[IT_PATH_MAX];
    char stderr_path[IT_PATH_MAX];
    char stdout_path[IT_PATH_MAX];
    char base_url[128];               /* "http://127.0.0.1:PORT" */
    char keys[IT_N_KEYS][IT_KEY_LEN]; /* plaintext keys (generated); keys[IT_KEY_NONE] is "" */
    char key_names[IT_N_KEYS][16];    /* "it-read", ... as configured */
};

/* The temporary directory of this test executable (created on first use, removed by
 * it_cleanup_all). */
const char *it_tmpdir(void);
/* Removes the temporary directory tree. Call from the group teardown, after the children stop. */
void it_cleanup_all(void);

/* Generates keys, writes the config and starts `certvet serve` in a new directory under the
 * temporary directory; returns once the ready file names the address. Fails the test (printing
 * the service's stderr) when the service exits or is not ready in time. */
void it_service_start(struct it_service *s, const struct it_service_options *o);
/* Starts the same service again (same config, keys and data), on a new port. */
void it_service_restart(struct it_service *s);
/* Sends SIGTERM (unless 'signal_sent') and waits: returns the exit status, or 128 + signal.
 * Checks that no key (plaintext or hash) appears in the captured stderr. */
int it_service_stop(struct it_service *s, bool signal_sent);
/* A TCP connection to the running service (its base_url), for requests written by hand. */
int it_service_connect(const struct it_service *s);
/* Prints the tail of the service's stderr through cmocka's print_error. */
void it_service_dump_stderr(const struct it_service *s);
/* The captured stderr, malloc'd. */
char *it_service_stderr(const struct it_service *s);

/* One HTTP exchange. */
struct it_response {
    long status;   /* 0 when no response came (see 'curl_code') */
    int curl_code; /* CURLcode */
    char *headers; /* the final header block, raw, NUL-terminated */
    char *body;    /* NUL-terminated (binary-safe through 'len') */
    size_t len;
};

void it_response_cleanup(struct it_response *r);

/* Request headers beyond auth and Content-Type, "Name: value" each, NULL-terminated. */
struct it_request {
    const char *method; /* "GET" when NULL */
    const char *path;   /* with query string */
    enum it_key key;
    const char *content_type; /* NULL: none */
    const void *body;         /* NULL: no body */
    size_t body_len;
    const char *const *extra_headers; /* NULL or NULL-terminated */
    long timeout_ms;                  /* 0: a generous hang guard */
};

/* Performs the request against 's' and fills 'r' (which the caller cleans up). Fails the test on
 * a transport error unless 'allow_transport_error'. */
void it_do(const struct it_service *s, const struct it_request *q, struct it_response *r,
           bool allow_transport_error);

/* Shorthands for the common cases. */
void it_get(const struct it_service *s, const char *path, enum it_key key, struct it_response *r);
void it_send(const struct it_service *s, const char *method, const char *path, enum it_key key,
             const char *content_type, const void *body, size_t len, struct it_response *r);
/* POSTs/PUTs a JSON value (serialized compactly). */
void it_send_json(const struct it_service *s, const char *method, const char *path, enum it_key key,
                  const json_t *v, struct it_response *r);

/* The value of header 'name' (case-insensitive) copied into 'out', or NULL when absent. */
const char *it_header(const struct it_response *r, const char *name, char *out, size_t cap);
/* The body parsed as JSON (the caller decrefs); fails the test when it does not parse. */
json_t *it_json(const struct it_response *r);

/* Fails the test unless the status is 'want', printing the exchange. */
#define it_expect_status(r, want, what) it_expect_status_((r), (want), (what), __FILE__, __LINE__)
void it_expect_status_(const struct it_response *r, long want, const char *what, const char *file,
                       int line);
/* Checks an error response: the status, Content-Type application/problem+json, and the members
 * type (ending in '/' 'slug' when slug is not NULL), title, status, detail. Returns the parsed
 * body (the caller decrefs). */
#define it_expect_problem(r, want, slug, what)                                                     \
    it_expect_problem_((r), (want), (slug), (what), __FILE__, __LINE__)
json_t *it_expect_problem_(const struct it_response *r, long want, const char *slug,
                           const char *what, const char *file, int line);

/* Whether 'word' occurs in 's' as a whole word (not inside a longer identifier). */
bool it_has_word(const char *s, const char *word);
/* Whether a problem body names 'field': an errors[].field equal to it, or the word in detail or
 * in an errors[].message. */
bool it_problem_names(const json_t *problem, const char *field);

/* 's' percent-encoded for a query string (unreserved characters kept), malloc'd. */
char *it_url_escape(const char *s);

/* The absolute path of a file under the source tree, in 'out'. */
const char *it_source_path(const char *rel, char *out, size_t cap);
/* Reads a whole file (malloc'd, NUL-terminated); fails the test when it cannot. */
char *it_read_file(const char *path, size_t *len);
/* Reads a fixture (path relative to the source tree). */
char *it_read_fixture(const char *rel, size_t *len);
/* Loads a JSON fixture; fails the test when it cannot. */
json_t *it_load_json_fixture(const char *rel);

/* The value of a Prometheus sample family: the sum over every sample named exactly 'name'
 * (whatever its labels), or -1 when there is none. */
double it_metric(const char *text, const char *name);
/* GET /metrics and it_metric() in one. */
double it_get_metric(const struct it_service *s, const char *name);

/* Polls GET 'path' until it answers 'status' (bounded: fails after ~60 s). */
void it_wait_status(const struct it_service *s, const char *path, long status);

/* PUTs every supplier of fixtures/sample/suppliers.json with the write key (each must answer
 * 200). */
void it_put_sample_suppliers(const struct it_service *s);
/* PUTs a minimal supplier {id, name} (200 expected). */
void it_put_supplier(const struct it_service *s, const char *id, const char *name);
/* A JSON array of 'n' valid ISO 9001 certificates numbered "<prefix>-000001"..., issued by a
 * listed CB, linked to 'supplier_id' (NULL: unlinked). */
json_t *it_synth_certificates(size_t n, const char *prefix, const char *supplier_id);
/* POSTs 'body' to /v1/certificates (write key), expects 200 with 'accepted' records accepted
 * and returns the parsed reply (the caller decrefs). */
json_t *it_ingest(const struct it_service *s, const char *content_type, const char *body,
                  size_t len, size_t accepted);
/* The ids of a supplier's certificates from GET /v1/suppliers/{id} (a JSON array of strings,
 * in the order given; the caller decrefs). */
json_t *it_supplier_certificate_ids(const struct it_service *s, const char *supplier_id);

/* Writes 'path': a registries.json with one generic connector, "fixture-registry", for every CB,
 * answering from '<origin>/{number}.json' as the fixture server serves fixtures/registry/generic
 * (status, holder, standard and expiry mapped; Active and Suspended statuses), no retries. */
void it_write_fixture_registries(const char *path, const char *origin);

/* A TCP socket listening on 127.0.0.1 at a port the kernel picked ('*port'), for the loopback
 * peers tests start (webhook receivers, traps); close it, or just take a free port. */
int it_listen_loopback(unsigned *port);

/* Sleeps 'ms' milliseconds (for polling loops only, never as an assertion). */
void it_sleep_ms(long ms);

#endif

/* Notifications (SPEC 10): a webhook POST (JSON, HMAC-SHA256 signature, retries, delivery log) and
 * an e-mail summary through SMTP (libcurl). Implemented in src/net/notify.c. */
#ifndef CERTVET_NOTIFY_H
#define CERTVET_NOTIFY_H

#include <stddef.h>

struct cv_store;

#define CV_SMTP_RCPT_MAX 64 /* recipients of one message */

struct cv_webhook_config {
    const char *url;    /* must be on the HTTP client's allow-list (it is added there) */
    const char *secret; /* HMAC-SHA256 key; the header X-Certvet-Signature: sha256=<hex> */
    int timeout_ms;     /* per attempt, default 5000 */
    int max_retries;    /* default 3, exponential backoff */
};

struct cv_smtp_config {
    const char *url;  /* "smtp://host:port" or "smtps://..." */
    const char *from; /* envelope and header From */
    const char *const *to;
    size_t n_to;
    const char *username, *password; /* optional */
    int timeout_ms;                  /* default 10000 */
};

/* Computes HMAC-SHA256 of 'len' bytes of 'data' with 'key' as 64 hex digits into 'hex'. */
void cv_hmac_sha256_hex(const char *key, const void *data, size_t len, char hex[65]);

/* POSTs 'json' (a JSON text) to the webhook with the signature header and an Idempotency-Key /
 * X-Certvet-Delivery header 'delivery_id'; retries on failure; logs the outcome (delivery_id,
 * status, attempts, at) in Redis when 'store' is given. Returns CV_OK when a 2xx came back.
 * The payload is sent as given: Slack and Teams incoming webhooks need a top-level "text" field,
 * which the caller puts in. The log is one entry per call in the store's "deliveries" stream with
 * fields delivery_id, outcome ("delivered" or "failed"), status (the last HTTP status, 0 when none
 * came), attempts, at (UTC, "YYYY-MM-DDTHH:MM:SSZ") and error. A final non-2xx answer is
 * CV_ERR_UNAVAILABLE; a bad URL, a delivery id with control characters or a missing argument is
 * CV_ERR_USAGE; 'err' then says why. */
int cv_webhook_send(const struct cv_webhook_config *cfg, struct cv_store *store,
                    const char *delivery_id, const char *json, char *err, size_t cap);

/* Sends a plain-text e-mail with 'subject' and 'body' (headers Date, From, To, Subject,
 * Message-ID; line endings become CRLF). Returns CV_OK when the server accepted it,
 * CV_ERR_UNAVAILABLE when it could not be reached, timed out or refused (STARTTLS when offered,
 * required with a password; TLS peers are verified), CV_ERR_USAGE for a missing argument or a
 * subject/address with control characters, CV_ERR_TOO_LARGE past 4 MiB; 'err' then says why. */
int cv_smtp_send(const struct cv_smtp_config *cfg, const char *subject, const char *body, char *err,
                 size_t cap);

#endif

/* Notifications (SPEC 10): the webhook POST (signed with HMAC-SHA256, sent through the HTTP client
 * with its retries, logged in the "deliveries" stream) and the e-mail summary over SMTP (libcurl).
 */
#include "certvet/notify.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "certvet/error.h"
#include "certvet/http_client.h"
#include "certvet/sha256.h"
#include "certvet/store.h"

#define DEFAULT_WEBHOOK_TIMEOUT_MS 5000
#define DEFAULT_WEBHOOK_RETRIES    3
#define WEBHOOK_RETRIES_MAX        8 /* keeps the budget (doubling waits) bounded */
#define WEBHOOK_TIMEOUT_MAX_MS     60000
#define WEBHOOK_BACKOFF_BASE_MS    200
#define WEBHOOK_RESPONSE_MAX       ((size_t)64 * 1024) /* a receiver's answer is only logged */
#define DEFAULT_SMTP_TIMEOUT_MS    10000
#define SMTP_MESSAGE_MAX           ((size_t)4 * 1024 * 1024) /* headers and body, bytes */
#define HEADER_FIELD_MAX           998 /* RFC 5322 line limit, for From/Subject/ids */
#define ORIGIN_MAX                 512

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- HMAC-SHA256 (RFC 2104) -------------------------------------------------------------- */

void cv_hmac_sha256_hex(const char *key, const void *data, size_t len, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char k[64] = {0}, pad[64], inner[CV_SHA256_LEN], mac[CV_SHA256_LEN];
    size_t klen = key ? strlen(key) : 0;
    struct cv_sha256 c;

    if (klen > sizeof(k)) { /* longer keys are hashed first */
        cv_sha256_init(&c);
        cv_sha256_update(&c, key, klen);
        cv_sha256_final(&c, k);
    } else if (klen) {
        memcpy(k, key, klen);
    }
    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = (unsigned char)(k[i] ^ 0x36);
    cv_sha256_init(&c);
    cv_sha256_update(&c, pad, sizeof(pad));
    cv_sha256_update(&c, data, len);
    cv_sha256_final(&c, inner);
    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = (unsigned char)(k[i] ^ 0x5c);
    cv_sha256_init(&c);
    cv_sha256_update(&c, pad, sizeof(pad));
    cv_sha256_update(&c, inner, sizeof(inner));
    cv_sha256_final(&c, mac);
    for (size_t i = 0; i < CV_SHA256_LEN; i++) {
        hex[2 * i] = digits[mac[i] >> 4];
        hex[2 * i + 1] = digits[mac[i] & 15];
    }
    hex[64] = '\0';
}

/* ---- webhook ----------------------------------------------------------------------------- */

static int has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* The origin ("scheme://host:port") of an http(s) URL, for the HTTP client's allow-list. */
static int url_origin(const char *url, char *out, size_t cap)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    int rc = CV_ERR_INVALID, n;

    if (!u)
        return CV_ERR_NOMEM;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
        goto out;
    if (strcmp(scheme, "http") && strcmp(scheme, "https"))
        goto out;
    n = snprintf(out, cap, "%s://%s:%s", scheme, host, port);
    if (n > 0 && (size_t)n < cap)
        rc = CV_OK;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

/* Appends the outcome of one delivery to the "deliveries" stream. A failure to log is reported
 * on stderr only: the delivery itself already happened (or failed) and that is what counts. */
static void log_delivery(struct cv_store *store, const char *delivery_id, const char *outcome,
                         long status, int attempts, const char *error)
{
    char status_s[24], attempts_s[24], at[32];
    time_t now = time(NULL);
    struct tm tm;
    const char *names[] = {"delivery_id", "outcome", "status", "attempts", "at", "error"};
    const char *values[6];

    if (!store)
        return;
    snprintf(status_s, sizeof(status_s), "%ld", status);
    snprintf(attempts_s, sizeof(attempts_s), "%d", attempts);
    gmtime_r(&now, &tm);
    strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
    values[0] = delivery_id;
    values[1] = outcome;
    values[2] = status_s;
    values[3] = attempts_s;
    values[4] = at;
    values[5] = error ? error : "";
    if (cv_store_stream_add(store, "deliveries", names, values, 6, NULL))
        fprintf(stderr, "certvet: delivery log: %s\n", cv_store_errstr(store));
}

/* Slack and Teams incoming webhooks need a top-level "text" field in the JSON; shaping the payload
 * is the caller's job (the scan builds it), this function sends it as given. */
int cv_webhook_send(const struct cv_webhook_config *cfg, struct cv_store *store,
                    const char *delivery_id, const char *json, char *err, size_t cap)
{
    char origin[ORIGIN_MAX], sig[65], sig_h[96], id_h[HEADER_FIELD_MAX + 32],
        idem_h[HEADER_FIELD_MAX + 32];
    const char *origins[1] = {origin};
    struct cv_http_client_config hc = {0};
    struct cv_http_client *client = NULL;
    struct cv_http_request req = {0};
    struct cv_http_response resp = {0};
    size_t json_len;
    int timeout_ms, retries, rc;

    if (!cfg || !cfg->url || !cfg->secret || !delivery_id || !json || !delivery_id[0]) {
        snprintf(err, cap, "webhook: url, secret, delivery id and payload are required");
        return CV_ERR_USAGE;
    }
    if (strlen(delivery_id) > HEADER_FIELD_MAX || has_ctl(delivery_id)) {
        snprintf(err, cap, "webhook: bad delivery id");
        return CV_ERR_USAGE;
    }
    rc = url_origin(cfg->url, origin, sizeof(origin));
    if (rc) {
        snprintf(err, cap, "webhook: not an http(s) URL");
        return rc == CV_ERR_NOMEM ? rc : CV_ERR_USAGE;
    }
    timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : DEFAULT_WEBHOOK_TIMEOUT_MS;
    if (timeout_ms > WEBHOOK_TIMEOUT_MAX_MS)
        timeout_ms = WEBHOOK_TIMEOUT_MAX_MS;
    retries = cfg->max_retries > 0 ? cfg->max_retries : DEFAULT_WEBHOOK_RETRIES;
    if (retries > WEBHOOK_RETRIES_MAX)
        retries = WEBHOOK_RETRIES_MAX;
    hc.connect_timeout_ms = timeout_ms;
    /* every attempt may take 'timeout_ms', plus the doubling waits between them */
    hc.total_timeout_ms = timeout_ms * (retries + 1) + WEBHOOK_BACKOFF_BASE_MS * 2 * (1 << retries);
    hc.max_response_bytes = WEBHOOK_RESPONSE_MAX;
    hc.max_retries = retries;
    hc.backoff_base_ms = WEBHOOK_BACKOFF_BASE_MS;
    hc.max_redirects = -1; /* a webhook that redirects is misconfigured */
    hc.allowed_origins = origins;
    hc.n_allowed_origins = 1;
    rc = cv_http_client_new(&hc, &client, err, cap);
    if (rc)
        return rc;

    json_len = strlen(json);
    cv_hmac_sha256_hex(cfg->secret, json, json_len, sig);
    snprintf(sig_h, sizeof(sig_h), "X-Certvet-Signature: sha256=%s", sig);
    snprintf(id_h, sizeof(id_h), "X-Certvet-Delivery: %s", delivery_id);
    snprintf(idem_h, sizeof(idem_h), "Idempotency-Key: %s", delivery_id);
    req.method = "POST";
    req.url = cfg->url;
    req.headers[0] = "Content-Type: application/json";
    req.headers[1] = sig_h;
    req.headers[2] = id_h;
    req.headers[3] = idem_h;
    req.body = json;
    req.body_len = json_len;

    rc = cv_http_do(client, &req, &resp);
    if (rc) {
        snprintf(err, cap, "webhook: %s",
                 resp.error[0] ? resp.error : cv_strerror((enum cv_err)rc));
        log_delivery(store, delivery_id, "failed", 0, resp.attempts, resp.error);
    } else if (resp.status < 200 || resp.status > 299) {
        snprintf(err, cap, "webhook: HTTP %ld after %d attempt(s)", resp.status, resp.attempts);
        log_delivery(store, delivery_id, "failed", resp.status, resp.attempts, err);
        rc = CV_ERR_UNAVAILABLE;
    } else {
        log_delivery(store, delivery_id, "delivered", resp.status, resp.attempts, NULL);
    }
    cv_http_response_cleanup(&resp);
    cv_http_client_free(client);
    return rc;
}

/* ---- SMTP -------------------------------------------------------------------------------- */

struct message {
    char *data;
    size_t len, cap, pos;
    int too_large;
};

static void msg_append(struct message *m, const char *s, size_t n)
{
    if (m->too_large || !m->data)
        return;
    if (n > SMTP_MESSAGE_MAX - m->len) {
        m->too_large = 1;
        return;
    }
    if (m->len + n + 1 > m->cap) {
        size_t cap = m->cap;
        char *p;
        while (cap < m->len + n + 1)
            cap *= 2;
        p = realloc(m->data, cap);
        if (!p) {
            free(m->data);
            m->data = NULL;
            return;
        }
        m->data = p;
        m->cap = cap;
    }
    memcpy(m->data + m->len, s, n);
    m->len += n;
    m->data[m->len] = '\0';
}

static void msg_puts(struct message *m, const char *s)
{
    msg_append(m, s, strlen(s));
}

/* Appends 'body' with every line ending turned into CRLF (SMTP's; curl dot-stuffs the lines). */
static void msg_body(struct message *m, const char *body)
{
    const char *p = body;
    while (*p) {
        size_t n = strcspn(p, "\r\n");
        msg_append(m, p, n);
        msg_append(m, "\r\n", 2);
        p += n;
        if (*p == '\r' && p[1] == '\n')
            p += 2;
        else if (*p)
            p++;
    }
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *userp)
{
    struct message *m = userp;
    size_t n = size * nitems, left = m->len - m->pos;
    if (n > left)
        n = left;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    return n;
}

/* Builds the RFC 5322 message (Date, From, To, Subject, Message-ID, a plain-text body). */
static int build_message(const struct cv_smtp_config *cfg, const char *subject, const char *body,
                         struct message *m)
{
    char date[64], line[HEADER_FIELD_MAX + 64];
    const char *at = strchr(cfg->from, '@');
    time_t now = time(NULL);
    struct tm tm;
    static const char *const wday[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct timespec ts;

    m->cap = 4096;
    m->data = malloc(m->cap);
    if (!m->data)
        return CV_ERR_NOMEM;
    m->data[0] = '\0';
    gmtime_r(&now, &tm); /* by hand: strftime's names follow the locale */
    snprintf(date, sizeof(date), "%s, %02d %s %04d %02d:%02d:%02d +0000", wday[tm.tm_wday % 7],
             tm.tm_mday, mon[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    snprintf(line, sizeof(line), "Date: %s\r\n", date);
    msg_puts(m, line);
    snprintf(line, sizeof(line), "From: <%s>\r\n", cfg->from);
    msg_puts(m, line);
    msg_puts(m, "To: ");
    for (size_t i = 0; i < cfg->n_to; i++) {
        snprintf(line, sizeof(line), "%s<%s>", i ? ",\r\n " : "", cfg->to[i]);
        msg_puts(m, line);
    }
    msg_puts(m, "\r\n");
    snprintf(line, sizeof(line), "Subject: %s\r\n", subject);
    msg_puts(m, line);
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(line, sizeof(line), "Message-ID: <%lld.%09ld.%ld.certvet@%s>\r\n",
             (long long)ts.tv_sec, ts.tv_nsec, (long)getpid(), at && at[1] ? at + 1 : "localhost");
    msg_puts(m, line);
    msg_puts(m, "MIME-Version: 1.0\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n"
                "Content-Transfer-Encoding: 8bit\r\n"
                "\r\n");
    msg_body(m, body);
    if (!m->data)
        return CV_ERR_NOMEM;
    if (m->too_large)
        return CV_ERR_TOO_LARGE;
    return CV_OK;
}

/* An address or header text that could end a header line early or break the envelope. */
static int bad_field(const char *s, size_t max)
{
    return !s || strlen(s) > max || has_ctl(s);
}

int cv_smtp_send(const struct cv_smtp_config *cfg, const char *subject, const char *body, char *err,
                 size_t cap)
{
    struct message m = {0};
    struct curl_slist *rcpt = NULL, *n;
    char errbuf[CURL_ERROR_SIZE] = "", from[HEADER_FIELD_MAX + 3];
    CURL *e = NULL;
    CURLcode cc = CURLE_OK;
    int timeout_ms, rc, is_smtps;

    if (!cfg || !cfg->url || bad_field(cfg->from, HEADER_FIELD_MAX - 16) || !cfg->n_to ||
        !cfg->to || cfg->n_to > CV_SMTP_RCPT_MAX || bad_field(subject, HEADER_FIELD_MAX - 16) ||
        !body) {
        snprintf(err, cap,
                 "smtp: url, from (one line), recipients (1..%d), subject (one line) "
                 "and body are required",
                 CV_SMTP_RCPT_MAX);
        return CV_ERR_USAGE;
    }
    is_smtps = !strncmp(cfg->url, "smtps://", 8);
    if (!is_smtps && strncmp(cfg->url, "smtp://", 7)) {
        snprintf(err, cap, "smtp: the URL must be smtp:// or smtps://");
        return CV_ERR_USAGE;
    }
    for (size_t i = 0; i < cfg->n_to; i++)
        if (bad_field(cfg->to[i], HEADER_FIELD_MAX - 16)) {
            snprintf(err, cap, "smtp: bad recipient address");
            return CV_ERR_USAGE;
        }
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK) {
        snprintf(err, cap, "curl_global_init: %s", curl_easy_strerror(curl_init_rc));
        return CV_ERR_UNAVAILABLE;
    }
    rc = build_message(cfg, subject, body, &m);
    if (rc) {
        snprintf(err, cap, "smtp: %s",
                 rc == CV_ERR_TOO_LARGE ? "message too large" : "out of memory");
        goto out;
    }
    for (size_t i = 0; i < cfg->n_to; i++) {
        snprintf(from, sizeof(from), "<%s>", cfg->to[i]);
        n = curl_slist_append(rcpt, from);
        if (!n) {
            snprintf(err, cap, "out of memory");
            rc = CV_ERR_NOMEM;
            goto out;
        }
        rcpt = n;
    }
    snprintf(from, sizeof(from), "<%s>", cfg->from);
    e = curl_easy_init();
    if (!e) {
        snprintf(err, cap, "out of memory");
        rc = CV_ERR_NOMEM;
        goto out;
    }
    timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : DEFAULT_SMTP_TIMEOUT_MS;
#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (cc == CURLE_OK)                                                                        \
            cc = curl_easy_setopt(e, opt, val);                                                    \
    } while (0)
    SET(CURLOPT_ERRORBUFFER, errbuf);
    SET(CURLOPT_URL, cfg->url);
    SET(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    SET(CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    /* STARTTLS when offered; required when a password would otherwise cross in clear */
    if (!is_smtps)
        SET(CURLOPT_USE_SSL, (long)(cfg->password ? CURLUSESSL_ALL : CURLUSESSL_TRY));
    if (cfg->username)
        SET(CURLOPT_USERNAME, cfg->username);
    if (cfg->password)
        SET(CURLOPT_PASSWORD, cfg->password);
    SET(CURLOPT_MAIL_FROM, from);
    SET(CURLOPT_MAIL_RCPT, rcpt);
    SET(CURLOPT_READFUNCTION, on_read);
    SET(CURLOPT_READDATA, &m);
    SET(CURLOPT_UPLOAD, 1L);
    SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)m.len);
#undef SET
    if (cc == CURLE_OK)
        cc = curl_easy_perform(e);
    if (cc != CURLE_OK) {
        snprintf(err, cap, "smtp: %s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
        rc = CV_ERR_UNAVAILABLE;
        goto out;
    }
    rc = CV_OK;
out:
    if (e)
        curl_easy_cleanup(e);
    curl_slist_free_all(rcpt);
    free(m.data);
    return rc;
}

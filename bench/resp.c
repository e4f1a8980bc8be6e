/* Ceiling (d) of SPEC 11: writes, as Redis protocol for `redis-cli --pipe`, the same records and
 * index entries that `certvet import` writes for a certificate file (src/store/store.c
 * cv_store_put_certificates, docs/STORAGE.md): per record SET of the record JSON, SADD to the
 * supplier's set, HSET of the link, ZADD in both due-date indexes, SADD or SREM in the invalid
 * index, SADD to the certification body's index (name key, and id key when given) and XADD of a
 * change entry; per
 * batch of 1,000 a MULTI ... EXEC around them and one XTRIM. Only the read before each batch
 * (HMGET of the links) is left out. Records are built as src/service/ingest.c builds them.
 * Usage: resp CONFIG_DIR LISTING AS_OF FILE > out.resp */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certvet/certificate.h"
#include "certvet/date.h"
#include "certvet/reader.h"
#include "certvet/refdata.h"
#include "certvet/report.h"
#include "certvet/standards.h"
#include "certvet/verify.h"

#define BATCH 1000
#define P     "certvet:{cv}:"

struct run {
    struct cv_reference refs;
    cv_date as_of;
    long in_batch, total;
    char now[32];
};

static void cmd(int argc, const char **argv)
{
    printf("*%d\r\n", argc);
    for (int i = 0; i < argc; i++)
        printf("$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
}

static void end_batch(struct run *r)
{
    const char *exec[] = {"EXEC"};
    const char *trim[] = {"XTRIM", P "stream:changes", "MAXLEN", "~", "1000000"};
    cmd(1, exec);
    cmd(5, trim);
    r->in_batch = 0;
}

static int on_cert(void *ctx, struct cv_certificate *cert, const struct cv_record_loc *loc)
{
    struct run *r = ctx;
    (void)loc;
    char family[128], id[CV_CERT_ID_LEN], k[512], score[16];
    const char *fam = cv_catalog_family(&r->refs.catalog, cert->standard);
    snprintf(family, sizeof(family), "%s", fam ? fam : cert->standard);
    if (!fam) {
        char *colon = strchr(family, ':');
        if (colon)
            *colon = '\0';
    }
    cv_certificate_id(cert, family, id);
    struct cv_verify_options opt;
    struct cv_verification v;
    cv_verify_options_init(&opt);
    cv_verify(cert, &r->refs.ref, r->as_of, &opt, &v);

    json_t *record = json_object();
    json_object_set_new(record, "id", json_string(id));
    json_object_set_new(record, "certificate", cv_certificate_to_json(cert));
    json_object_set_new(record, "ingested_at", json_string(r->now));
    json_object_set_new(record, "ingested_by", json_string("cli:import"));
    char *text = json_dumps(record, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(record);
    if (!text)
        return 1;

    if (r->in_batch == 0) {
        const char *multi[] = {"MULTI"};
        cmd(1, multi);
    }
    char kset[512];
    snprintf(kset, sizeof(kset), P "cert:%s", id);
    const char *set[] = {"SET", kset, text};
    cmd(3, set);
    if (cert->supplier_id) {
        snprintf(k, sizeof(k), P "supplier-certs:%s", cert->supplier_id);
        const char *sadd[] = {"SADD", k, id};
        const char *hset[] = {"HSET", P "cert-supplier", id, cert->supplier_id};
        cmd(3, sadd);
        cmd(4, hset);
    }
    cv_date days[2] = {v.effective_expiry, v.surveillance_due};
    const char *index[2] = {P "index:expiry", P "index:surveillance"};
    for (int i = 0; i < 2; i++) {
        if (days[i] == CV_DATE_NONE)
            continue;
        snprintf(score, sizeof(score), "%ld", (long)days[i]);
        const char *zadd[] = {"ZADD", index[i], score, id};
        cmd(4, zadd);
    }
    const char *mark[] = {v.verdict == CV_VERDICT_INVALID ? "SADD" : "SREM", P "index:invalid", id};
    cmd(3, mark);
    char cb_keys[2][CV_CB_KEY_LEN];
    bool has_key[2] = {cv_cb_name_key(cert->cb_name, cb_keys[0]),
                       cv_cb_id_key(cert->cb_id, cb_keys[1])};
    for (int i = 0; i < 2; i++) {
        if (!has_key[i] || !*cb_keys[i])
            continue;
        snprintf(k, sizeof(k), P "index:cb:%s", cb_keys[i]);
        const char *sadd[] = {"SADD", k, id};
        cmd(3, sadd);
    }
    const char *xadd[] = {
        "XADD",   P "stream:changes", "*",    "at",          r->now, "actor", "cli:import",
        "action", "upsert",           "kind", "certificate", "id",   id};
    cmd(13, xadd);
    free(text);
    r->total++;
    if (++r->in_batch == BATCH)
        end_batch(r);
    return 0;
}

static void on_error(void *ctx, const struct cv_record_error *e)
{
    (void)ctx;
    fprintf(stderr, "resp: %s:%ld: %s\n", e->source, e->line, e->message);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: resp CONFIG_DIR LISTING AS_OF FILE\n");
        return 2;
    }
    static struct run r;
    char err[512];
    const char *listings[] = {argv[2]};
    if (cv_reference_load(&r.refs, argv[1], listings, 1, err, sizeof(err))) {
        fprintf(stderr, "resp: %s\n", err);
        return 2;
    }
    if (cv_date_parse(argv[3], strlen(argv[3]), &r.as_of)) {
        fprintf(stderr, "resp: bad date %s\n", argv[3]);
        return 2;
    }
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(r.now, sizeof(r.now), "%Y-%m-%dT%H:%M:%SZ", &tm);
    static char out[1 << 16];
    setvbuf(stdout, out, _IOFBF, sizeof(out));
    struct cv_reader_sink sink = {.on_certificate = on_cert, .on_error = on_error, .ctx = &r};
    int rc = cv_read_certificates_file(argv[4], CV_FORMAT_AUTO, &sink);
    if (r.in_batch)
        end_batch(&r);
    cv_reference_cleanup(&r.refs);
    fprintf(stderr, "resp: %ld records\n", r.total);
    return rc ? 2 : 0;
}

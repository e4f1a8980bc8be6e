/* A verification (and a certificate) as a JSON object (Jansson), and the same written straight
 * to compact JSON text: the text writers produce byte for byte what json_dumps(JSON_COMPACT |
 * JSON_PRESERVE_ORDER) writes for the objects, without building them (the hot path of
 * `certvet verify`, the service's verify route and import; docs/BENCHMARKS.md). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certvet/error.h"
#include "certvet/report.h"

static json_t *date_or_null(cv_date d)
{
    char buf[CV_DATE_STRLEN];
    if (d == CV_DATE_NONE)
        return json_null();
    cv_date_format(d, buf);
    return json_string(buf);
}

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* Sets 'key' to a string when 'value' is given. */
static void put_str(json_t *o, const char *key, const char *value)
{
    if (value)
        json_object_set_new(o, key, json_string(value));
}

static void put_date(json_t *o, const char *key, cv_date d)
{
    if (d != CV_DATE_NONE)
        json_object_set_new(o, key, date_or_null(d));
}

json_t *cv_certificate_to_json(const struct cv_certificate *c)
{
    json_t *o = json_object(), *holder = json_object(), *ids = json_object(), *cb = json_object();
    if (!o || !holder || !ids || !cb)
        goto fail;
    put_str(o, "certificate_number", c->certificate_number);
    put_str(o, "type", cv_cert_type_name(c->type));
    put_str(o, "standard", c->standard);
    put_str(holder, "name", c->holder_name);
    put_str(holder, "country", c->holder_country);
    put_str(ids, "vat", c->holder_vat);
    put_str(ids, "duns", c->holder_duns);
    put_str(ids, "registration", c->holder_registration);
    if (json_object_size(ids))
        json_object_set(holder, "identifiers", ids);
    json_object_set(o, "holder", holder);
    put_str(o, "supplier_id", c->supplier_id);
    put_str(cb, "name", c->cb_name);
    put_str(cb, "id", c->cb_id);
    put_str(cb, "accreditation_number", c->cb_accreditation_number);
    json_object_set(o, "certification_body", cb);
    put_str(o, "accreditation_body", c->accreditation_body);
    put_str(o, "scope", c->scope);
    if (c->n_sites) {
        json_t *sites = json_array();
        for (size_t i = 0; i < c->n_sites; i++) {
            json_t *site = json_object();
            put_str(site, "name", c->sites[i].name);
            put_str(site, "address", c->sites[i].address);
            put_str(site, "country", c->sites[i].country);
            put_str(site, "scope", c->sites[i].scope);
            json_array_append_new(sites, site);
        }
        json_object_set_new(o, "sites", sites);
    }
    if (c->n_sectors) {
        json_t *sectors = json_array();
        for (size_t i = 0; i < c->n_sectors; i++)
            json_array_append_new(sectors, json_string(c->sectors[i]));
        json_object_set_new(o, "sectors", sectors);
    }
    put_date(o, "original_certification_date", c->original_certification_date);
    put_date(o, "issue_date", c->issue_date);
    put_date(o, "expiry_date", c->expiry_date);
    if (c->n_audits) {
        json_t *audits = json_array();
        for (size_t i = 0; i < c->n_audits; i++)
            json_array_append_new(audits, json_pack("{s:s, s:o}", "type",
                                                    cv_audit_type_name(c->audits[i].type), "date",
                                                    date_or_null(c->audits[i].date)));
        json_object_set_new(o, "audits", audits);
    }
    if (c->declared_status != CV_DECLARED_NONE)
        put_str(o, "declared_status", cv_declared_status_name(c->declared_status));
    json_decref(holder);
    json_decref(ids);
    json_decref(cb);
    return o;
fail:
    json_decref(o);
    json_decref(holder);
    json_decref(ids);
    json_decref(cb);
    return NULL;
}

static json_t *finding_to_json(const struct cv_finding *f)
{
    json_t *detail = json_object();
    for (int i = 0; i < CV_DETAIL_MAX && f->detail[i].key; i++) {
        const struct cv_detail *d = &f->detail[i];
        json_object_set_new(detail, d->key,
                            d->is_number ? json_integer(strtoll(d->value, NULL, 10))
                                         : json_string(d->value));
    }
    return json_pack("{s:s, s:s, s:s, s:o}", "code", cv_finding_code_name(f->code), "severity",
                     cv_severity_name(f->severity), "message", f->message, "detail", detail);
}

json_t *cv_verification_to_json(const struct cv_verification *v, const struct cv_certificate *c,
                                const struct cv_record_loc *loc)
{
    json_t *findings = json_array();
    json_t *checks = json_object();
    if (!findings || !checks)
        goto fail;
    for (size_t i = 0; i < v->n_findings; i++) {
        if (json_array_append_new(findings, finding_to_json(&v->findings[i])))
            goto fail;
    }
    for (int ch = 0; ch < CV_CHECK_COUNT; ch++) {
        if (json_object_set_new(checks, cv_check_name((enum cv_check)ch),
                                json_string(cv_check_result_name(v->checks[ch]))))
            goto fail;
    }
    json_t *o = json_pack("{s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o}",
                          "certificate_number", v->certificate_number, "standard", v->standard,
                          "family", string_or_null(v->family), "type", cv_cert_type_name(c->type),
                          "holder", string_or_null(c->holder_name), "certification_body",
                          string_or_null(c->cb_name), "supplier_id", string_or_null(c->supplier_id),
                          "as_of", date_or_null(v->as_of), "verdict", cv_verdict_name(v->verdict),
                          "effective_expiry", date_or_null(v->effective_expiry), "days_to_expiry",
                          v->has_days_to_expiry ? json_integer(v->days_to_expiry) : json_null(),
                          "surveillance_due", date_or_null(v->surveillance_due), "findings",
                          findings, "checks", checks);
    if (o && loc)
        json_object_set_new(o, "source",
                            json_pack("{s:s, s:I, s:I}", "file", loc->source, "line",
                                      (json_int_t)loc->line, "index", (json_int_t)loc->index));
    return o;
fail:
    json_decref(findings);
    json_decref(checks);
    return NULL;
}

/* ---- compact JSON text, without a tree ----------------------------------------------------- */

/* Length of the UTF-8 sequence at 's' (1-4) when it is valid as Jansson checks it (no overlong
 * forms, no surrogates, nothing past U+10FFFF), else 0. '*cp' gets the code point. */
static size_t utf8_seq(const unsigned char *s, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t v;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        v = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        v = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10FFFF)) ||
        (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return n;
}

/* cv_buf_append, with the common case (room left) inline: the writers append many short
 * pieces. */
static int put(struct cv_buf *b, const char *s, size_t n)
{
    if (!b->overflow && n <= b->cap - b->len) {
        memcpy(b->data + b->len, s, n);
        b->len += n;
        return CV_OK;
    }
    return cv_buf_append(b, s, n);
}

static int put_s(struct cv_buf *b, const char *s)
{
    return cv_buf_append(b, s, strlen(s));
}

/* A JSON string as Jansson writes it: '"', '\\' and control characters escaped, the rest
 * (UTF-8 included) as is. CV_ERR_INVALID when 's' is not UTF-8 (json_string refuses it). */
static int put_json_string(struct cv_buf *b, const char *s)
{
    /* 1 for the ASCII bytes written as they are: 0x20-0x7F but '"' (0x22) and '\\' (0x5C) */
    /* clang-format off */
    static const unsigned char plain[256] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    };
    /* clang-format on */
    const unsigned char *p = (const unsigned char *)s, *run = p;
    int rc = put(b, "\"", 1);
    while (!rc && *p) {
        while (plain[*p])
            p++;
        if (!*p)
            break;
        uint32_t cp;
        size_t n = utf8_seq(p, &cp);
        if (!n)
            return CV_ERR_INVALID;
        if (cp >= 0x20 && cp != '"' && cp != '\\') {
            p += n;
            continue;
        }
        rc = put(b, (const char *)run, (size_t)(p - run));
        char seq[16];
        const char *esc = seq;
        switch (cp) {
        case '\\':
            esc = "\\\\";
            break;
        case '"':
            esc = "\\\"";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        default:
            snprintf(seq, sizeof(seq), "\\u%04X", (unsigned)cp);
            break;
        }
        if (!rc)
            rc = put_s(b, esc);
        p += n;
        run = p;
    }
    if (!rc)
        rc = put(b, (const char *)run, (size_t)(p - run));
    return rc ? rc : put(b, "\"", 1);
}

int cv_json_string_append(struct cv_buf *b, const char *s)
{
    int rc = put_json_string(b, s);
    return rc ? rc : b->overflow ? CV_ERR_TOO_LARGE : CV_OK;
}

/* ,"key": — 'first' says whether a comma goes before it, and is cleared. */
static inline int put_key(struct cv_buf *b, int *first, const char *key)
{
    /* Keys are the code's own names (fields, detail keys, check names): plain ASCII identifiers
     * with nothing to escape, written as they are in one piece. */
    char tmp[72];
    size_t n = strlen(key);
    if (n + 4 > sizeof(tmp)) {
        int rc = *first ? CV_OK : put(b, ",", 1);
        *first = 0;
        if (!rc)
            rc = put_json_string(b, key);
        return rc ? rc : put(b, ":", 1);
    }
    size_t k = 0;
    if (!*first)
        tmp[k++] = ',';
    *first = 0;
    tmp[k++] = '"';
    memcpy(tmp + k, key, n);
    k += n;
    tmp[k++] = '"';
    tmp[k++] = ':';
    return put(b, tmp, k);
}

static int put_str_member(struct cv_buf *b, int *first, const char *key, const char *value)
{
    int rc = put_key(b, first, key);
    return rc ? rc : value ? put_json_string(b, value) : put_s(b, "null");
}

static int put_date_value(struct cv_buf *b, cv_date d)
{
    char buf[CV_DATE_STRLEN + 2];
    if (d == CV_DATE_NONE)
        return put_s(b, "null");
    buf[0] = '"';
    cv_date_format(d, buf + 1);
    size_t n = strlen(buf);
    buf[n] = '"';
    return put(b, buf, n + 1);
}

/* The integer as "%lld" writes it. */
static int put_int(struct cv_buf *b, long long v)
{
    char buf[24];
    size_t n = sizeof(buf);
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        buf[--n] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        buf[--n] = '-';
    return put(b, buf + n, sizeof(buf) - n);
}

/* A string member left out when absent (put_str above). */
#define OPT_STR(b, first, key, value) ((value) ? put_str_member(b, first, key, value) : CV_OK)

int cv_certificate_json_append(struct cv_buf *b, const struct cv_certificate *c)
{
    int first = 1, rc = put(b, "{", 1);
    if (!rc)
        rc = OPT_STR(b, &first, "certificate_number", c->certificate_number);
    if (!rc)
        rc = OPT_STR(b, &first, "type", cv_cert_type_name(c->type));
    if (!rc)
        rc = OPT_STR(b, &first, "standard", c->standard);
    if (!rc)
        rc = put_key(b, &first, "holder");
    int h = 1;
    if (!rc)
        rc = put(b, "{", 1);
    if (!rc)
        rc = OPT_STR(b, &h, "name", c->holder_name);
    if (!rc)
        rc = OPT_STR(b, &h, "country", c->holder_country);
    if (!rc && (c->holder_vat || c->holder_duns || c->holder_registration)) {
        int i = 1;
        rc = put_key(b, &h, "identifiers");
        if (!rc)
            rc = put(b, "{", 1);
        if (!rc)
            rc = OPT_STR(b, &i, "vat", c->holder_vat);
        if (!rc)
            rc = OPT_STR(b, &i, "duns", c->holder_duns);
        if (!rc)
            rc = OPT_STR(b, &i, "registration", c->holder_registration);
        if (!rc)
            rc = put(b, "}", 1);
    }
    if (!rc)
        rc = put(b, "}", 1);
    if (!rc)
        rc = OPT_STR(b, &first, "supplier_id", c->supplier_id);
    if (!rc)
        rc = put_key(b, &first, "certification_body");
    int k = 1;
    if (!rc)
        rc = put(b, "{", 1);
    if (!rc)
        rc = OPT_STR(b, &k, "name", c->cb_name);
    if (!rc)
        rc = OPT_STR(b, &k, "id", c->cb_id);
    if (!rc)
        rc = OPT_STR(b, &k, "accreditation_number", c->cb_accreditation_number);
    if (!rc)
        rc = put(b, "}", 1);
    if (!rc)
        rc = OPT_STR(b, &first, "accreditation_body", c->accreditation_body);
    if (!rc)
        rc = OPT_STR(b, &first, "scope", c->scope);
    if (!rc && c->n_sites) {
        rc = put_key(b, &first, "sites");
        if (!rc)
            rc = put(b, "[", 1);
        for (size_t i = 0; i < c->n_sites && !rc; i++) {
            int f = 1;
            rc = put_s(b, i ? ",{" : "{");
            if (!rc)
                rc = OPT_STR(b, &f, "name", c->sites[i].name);
            if (!rc)
                rc = OPT_STR(b, &f, "address", c->sites[i].address);
            if (!rc)
                rc = OPT_STR(b, &f, "country", c->sites[i].country);
            if (!rc)
                rc = OPT_STR(b, &f, "scope", c->sites[i].scope);
            if (!rc)
                rc = put(b, "}", 1);
        }
        if (!rc)
            rc = put(b, "]", 1);
    }
    if (!rc && c->n_sectors) {
        rc = put_key(b, &first, "sectors");
        if (!rc)
            rc = put(b, "[", 1);
        for (size_t i = 0; i < c->n_sectors && !rc; i++) {
            rc = i ? put(b, ",", 1) : CV_OK;
            if (!rc)
                rc = put_json_string(b, c->sectors[i]);
        }
        if (!rc)
            rc = put(b, "]", 1);
    }
    const struct {
        const char *key;
        cv_date d;
    } dates[] = {{"original_certification_date", c->original_certification_date},
                 {"issue_date", c->issue_date},
                 {"expiry_date", c->expiry_date}};
    for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]) && !rc; i++) {
        if (dates[i].d == CV_DATE_NONE)
            continue;
        rc = put_key(b, &first, dates[i].key);
        if (!rc)
            rc = put_date_value(b, dates[i].d);
    }
    if (!rc && c->n_audits) {
        rc = put_key(b, &first, "audits");
        if (!rc)
            rc = put(b, "[", 1);
        for (size_t i = 0; i < c->n_audits && !rc; i++) {
            const char *type = cv_audit_type_name(c->audits[i].type);
            if (!type)
                return CV_ERR_INVALID; /* json_pack refuses a NULL string too */
            int f = 1;
            rc = put_s(b, i ? ",{" : "{");
            if (!rc)
                rc = put_str_member(b, &f, "type", type);
            if (!rc)
                rc = put_key(b, &f, "date");
            if (!rc)
                rc = put_date_value(b, c->audits[i].date);
            if (!rc)
                rc = put(b, "}", 1);
        }
        if (!rc)
            rc = put(b, "]", 1);
    }
    if (!rc && c->declared_status != CV_DECLARED_NONE)
        rc = OPT_STR(b, &first, "declared_status", cv_declared_status_name(c->declared_status));
    if (!rc)
        rc = put(b, "}", 1);
    return rc ? rc : b->overflow ? CV_ERR_TOO_LARGE : CV_OK;
}

static int put_finding(struct cv_buf *b, const struct cv_finding *f)
{
    const char *code = cv_finding_code_name(f->code), *sev = cv_severity_name(f->severity);
    if (!code || !sev)
        return CV_ERR_INVALID;
    int first = 1, rc = put(b, "{", 1);
    if (!rc)
        rc = put_str_member(b, &first, "code", code);
    if (!rc)
        rc = put_str_member(b, &first, "severity", sev);
    if (!rc)
        rc = put_str_member(b, &first, "message", f->message);
    if (!rc)
        rc = put_key(b, &first, "detail");
    if (!rc)
        rc = put(b, "{", 1);
    int d = 1;
    for (int i = 0; i < CV_DETAIL_MAX && f->detail[i].key && !rc; i++) {
        /* A key set twice keeps its first place and its last value, as json_object_set does. */
        int seen = 0, last = i;
        for (int j = 0; j < i && !seen; j++)
            seen = strcmp(f->detail[j].key, f->detail[i].key) == 0;
        if (seen)
            continue;
        for (int j = i + 1; j < CV_DETAIL_MAX && f->detail[j].key; j++)
            if (strcmp(f->detail[j].key, f->detail[i].key) == 0)
                last = j;
        const struct cv_detail *x = &f->detail[last];
        rc = put_key(b, &d, x->key);
        if (!rc)
            rc = x->is_number ? put_int(b, strtoll(x->value, NULL, 10))
                              : put_json_string(b, x->value);
    }
    if (!rc)
        rc = put_s(b, "}}");
    return rc;
}

int cv_verification_json_append(struct cv_buf *b, const struct cv_verification *v,
                                const struct cv_certificate *c, const struct cv_record_loc *loc)
{
    const char *type = cv_cert_type_name(c->type), *verdict = cv_verdict_name(v->verdict);
    if (!v->certificate_number || !type || !verdict)
        return CV_ERR_INVALID; /* what json_pack's "s" refuses */
    int first = 1, rc = put(b, "{", 1);
    if (!rc)
        rc = put_str_member(b, &first, "certificate_number", v->certificate_number);
    if (!rc)
        rc = put_str_member(b, &first, "standard", v->standard);
    if (!rc)
        rc = put_str_member(b, &first, "family", v->family);
    if (!rc)
        rc = put_str_member(b, &first, "type", type);
    if (!rc)
        rc = put_str_member(b, &first, "holder", c->holder_name);
    if (!rc)
        rc = put_str_member(b, &first, "certification_body", c->cb_name);
    if (!rc)
        rc = put_str_member(b, &first, "supplier_id", c->supplier_id);
    if (!rc)
        rc = put_key(b, &first, "as_of");
    if (!rc)
        rc = put_date_value(b, v->as_of);
    if (!rc)
        rc = put_str_member(b, &first, "verdict", verdict);
    if (!rc)
        rc = put_key(b, &first, "effective_expiry");
    if (!rc)
        rc = put_date_value(b, v->effective_expiry);
    if (!rc)
        rc = put_key(b, &first, "days_to_expiry");
    if (!rc)
        rc = v->has_days_to_expiry ? put_int(b, v->days_to_expiry) : put_s(b, "null");
    if (!rc)
        rc = put_key(b, &first, "surveillance_due");
    if (!rc)
        rc = put_date_value(b, v->surveillance_due);
    if (!rc)
        rc = put_key(b, &first, "findings");
    if (!rc)
        rc = put(b, "[", 1);
    for (size_t i = 0; i < v->n_findings && !rc; i++) {
        rc = i ? put(b, ",", 1) : CV_OK;
        if (!rc)
            rc = put_finding(b, &v->findings[i]);
    }
    if (!rc)
        rc = put(b, "]", 1);
    if (!rc)
        rc = put_key(b, &first, "checks");
    if (!rc)
        rc = put(b, "{", 1);
    int k = 1;
    for (int ch = 0; ch < CV_CHECK_COUNT && !rc; ch++) {
        const char *name = cv_check_name((enum cv_check)ch);
        const char *result = cv_check_result_name(v->checks[ch]);
        if (!name || !result)
            return CV_ERR_INVALID;
        rc = put_str_member(b, &k, name, result);
    }
    if (!rc)
        rc = put(b, "}", 1);
    if (!rc && loc) {
        if (!loc->source)
            return CV_ERR_INVALID;
        rc = put_key(b, &first, "source");
        int s = 1;
        if (!rc)
            rc = put(b, "{", 1);
        if (!rc)
            rc = put_str_member(b, &s, "file", loc->source);
        if (!rc)
            rc = put_key(b, &s, "line");
        if (!rc)
            rc = put_int(b, loc->line);
        if (!rc)
            rc = put_key(b, &s, "index");
        if (!rc)
            rc = put_int(b, loc->index);
        if (!rc)
            rc = put(b, "}", 1);
    }
    if (!rc)
        rc = put(b, "}", 1);
    return rc ? rc : b->overflow ? CV_ERR_TOO_LARGE : CV_OK;
}

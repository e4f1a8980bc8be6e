/* The certificate model: field setters shared by every reader, and the record-level checks. */
#include "certvet/certificate.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "certvet/error.h"
#include "certvet/names.h"
#include "certvet/sha256.h"

enum field_kind { FK_STRING, FK_DATE, FK_TYPE, FK_STATUS };

struct field_def {
    const char *name;
    enum field_kind kind;
    size_t offset; /* of the const char * or cv_date or enum in struct cv_certificate */
};

#define F(name, kind, member)                                                                      \
    {                                                                                              \
        name, kind, offsetof(struct cv_certificate, member)                                        \
    }
/* The flat field names, as in the CSV header. */
static const struct field_def fields[] = {
    F("certificate_number", FK_STRING, certificate_number),
    F("type", FK_TYPE, type),
    F("standard", FK_STRING, standard),
    F("holder_name", FK_STRING, holder_name),
    F("holder_country", FK_STRING, holder_country),
    F("holder_vat", FK_STRING, holder_vat),
    F("holder_duns", FK_STRING, holder_duns),
    F("holder_registration", FK_STRING, holder_registration),
    F("supplier_id", FK_STRING, supplier_id),
    F("certification_body", FK_STRING, cb_name),
    F("certification_body_id", FK_STRING, cb_id),
    F("accreditation_number", FK_STRING, cb_accreditation_number),
    F("accreditation_body", FK_STRING, accreditation_body),
    F("scope", FK_STRING, scope),
    F("issue_date", FK_DATE, issue_date),
    F("expiry_date", FK_DATE, expiry_date),
    F("original_certification_date", FK_DATE, original_certification_date),
    F("declared_status", FK_STATUS, declared_status),
};
#undef F

static void set_msg(char *msg, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_msg(char *msg, size_t cap, const char *fmt, ...)
{
    if (!msg || !cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
}

void cv_certificate_init(struct cv_certificate *c, size_t arena_limit)
{
    memset(c, 0, sizeof(*c));
    cv_arena_init(&c->arena, arena_limit);
    c->original_certification_date = CV_DATE_NONE;
    c->issue_date = CV_DATE_NONE;
    c->expiry_date = CV_DATE_NONE;
}

void cv_certificate_reset(struct cv_certificate *c)
{
    struct cv_arena arena = c->arena;
    cv_arena_reset(&arena);
    memset(c, 0, sizeof(*c));
    c->arena = arena;
    c->original_certification_date = CV_DATE_NONE;
    c->issue_date = CV_DATE_NONE;
    c->expiry_date = CV_DATE_NONE;
}

void cv_certificate_swap(struct cv_certificate *a, struct cv_certificate *b)
{
    struct cv_certificate t = *a;
    size_t limit_a = a->arena.limit, limit_b = b->arena.limit;
    *a = *b;
    *b = t;
    a->arena.limit = limit_a;
    b->arena.limit = limit_b;
}

void cv_certificate_cleanup(struct cv_certificate *c)
{
    if (!c)
        return;
    cv_arena_cleanup(&c->arena);
}

static void trim(const char **s, size_t *len)
{
    while (*len && (**s == ' ' || **s == '\t' || **s == '\r' || **s == '\n')) {
        (*s)++;
        (*len)--;
    }
    while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t' || (*s)[*len - 1] == '\r' ||
                    (*s)[*len - 1] == '\n'))
        (*len)--;
}

/* Copies at most 'cap' - 1 bytes of a value into 'buf' for enum parsing and messages. */
static const char *bounded(const char *s, size_t len, char *buf, size_t cap)
{
    size_t n = len < cap - 1 ? len : cap - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return buf;
}

/* Quotes a value for a message, cutting long ones and keeping control bytes out. */
static const char *shown(const char *s, size_t len, char *buf, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 4 < cap; i++)
        buf[n++] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
    if (len > n && n + 4 <= cap) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = '\0';
    return buf;
}

static int parse_date_field(const char *name, const char *value, size_t len, cv_date *out,
                            char *msg, size_t cap)
{
    char show[48];
    if (cv_date_parse(value, len, out) != CV_OK) {
        set_msg(msg, cap,
                "%s: '%s' is not a date (expected YYYY-MM-DD or YYYYMMDD, a real "
                "calendar day)",
                name, shown(value, len, show, sizeof(show)));
        return CV_ERR_INVALID;
    }
    return CV_OK;
}

int cv_certificate_field_id(const char *name)
{
    /* the first byte first: every reader calls this for each field of each record */
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (fields[i].name[0] == name[0] && strcmp(fields[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}

int cv_certificate_set_text(struct cv_certificate *c, const char *name, const char *value,
                            size_t len, char *msg, size_t cap)
{
    int id = cv_certificate_field_id(name);
    if (id < 0)
        return CV_ERR_NOT_FOUND;
    return cv_certificate_set_field(c, id, value, len, msg, cap);
}

int cv_certificate_set_field(struct cv_certificate *c, int id, const char *value, size_t len,
                             char *msg, size_t cap)
{
    if (id < 0 || (size_t)id >= sizeof(fields) / sizeof(fields[0]))
        return CV_ERR_NOT_FOUND;
    const struct field_def *f = &fields[id];
    const char *name = f->name;
    trim(&value, &len);
    if (len == 0)
        return CV_OK;
    if (memchr(value, '\0', len)) {
        set_msg(msg, cap, "%s: contains a NUL byte", name);
        return CV_ERR_INVALID;
    }
    char *base = (char *)c;
    char buf[32], show[48];
    switch (f->kind) {
    case FK_STRING: {
        const char *copy = cv_arena_strndup(&c->arena, value, len);
        if (!copy) {
            set_msg(msg, cap, "%s: record too large", name);
            return CV_ERR_TOO_LARGE;
        }
        *(const char **)(base + f->offset) = copy;
        return CV_OK;
    }
    case FK_DATE:
        return parse_date_field(name, value, len, (cv_date *)(base + f->offset), msg, cap);
    case FK_TYPE:
        if (cv_cert_type_parse(bounded(value, len, buf, sizeof(buf)), &c->type) != CV_OK ||
            len >= sizeof(buf)) {
            set_msg(msg, cap, "type: '%s' is not one of management_system, product, test_report",
                    shown(value, len, show, sizeof(show)));
            return CV_ERR_INVALID;
        }
        return CV_OK;
    case FK_STATUS:
        if (cv_declared_status_parse(bounded(value, len, buf, sizeof(buf)), &c->declared_status) !=
                CV_OK ||
            len >= sizeof(buf)) {
            set_msg(msg, cap,
                    "declared_status: '%s' is not one of active, suspended, withdrawn, "
                    "cancelled, expired",
                    shown(value, len, show, sizeof(show)));
            return CV_ERR_INVALID;
        }
        return CV_OK;
    }
    return CV_ERR_NOT_FOUND;
}

/* Grows an arena array of 'n' elements to hold one more; capacity doubles from 4. */
static void *grow_array(struct cv_arena *a, void *arr, size_t n, size_t elem)
{
    if (n != 0 && (n < 4 || (n & (n - 1)) != 0))
        return arr; /* room left: capacity is max(4, next power of two) */
    size_t cap = n == 0 ? 4 : n * 2;
    void *p = cv_arena_alloc(a, cap * elem);
    if (p && n)
        memcpy(p, arr, n * elem);
    return p;
}

int cv_certificate_add_audit(struct cv_certificate *c, const char *type, size_t type_len,
                             const char *date, size_t date_len, const char **field, char *msg,
                             size_t cap)
{
    struct cv_audit audit;
    char buf[32], show[48];
    trim(&type, &type_len);
    trim(&date, &date_len);
    if (type_len == 0 || type_len >= sizeof(buf) ||
        cv_audit_type_parse(bounded(type, type_len, buf, sizeof(buf)), &audit.type) != CV_OK) {
        *field = "audits.type";
        set_msg(msg, cap,
                "audits.type: '%s' is not one of initial, surveillance, recertification, "
                "special, transfer",
                shown(type, type_len, show, sizeof(show)));
        return CV_ERR_INVALID;
    }
    if (parse_date_field("audits.date", date, date_len, &audit.date, msg, cap) != CV_OK) {
        *field = "audits.date";
        return CV_ERR_INVALID;
    }
    struct cv_audit *arr = grow_array(&c->arena, c->audits, c->n_audits, sizeof(*arr));
    if (!arr) {
        *field = "audits";
        set_msg(msg, cap, "audits: record too large");
        return CV_ERR_TOO_LARGE;
    }
    arr[c->n_audits++] = audit;
    c->audits = arr;
    return CV_OK;
}

static const char *dup_opt(struct cv_arena *a, const char *s, int *failed)
{
    if (!s)
        return NULL;
    const char *p = cv_arena_strndup(a, s, strlen(s));
    if (!p)
        *failed = 1;
    return p;
}

int cv_certificate_add_site(struct cv_certificate *c, const char *name, const char *address,
                            const char *country, const char *scope)
{
    struct cv_site *arr = grow_array(&c->arena, c->sites, c->n_sites, sizeof(*arr));
    if (!arr)
        return CV_ERR_TOO_LARGE;
    c->sites = arr;
    int failed = 0;
    struct cv_site s = {dup_opt(&c->arena, name, &failed), dup_opt(&c->arena, address, &failed),
                        dup_opt(&c->arena, country, &failed), dup_opt(&c->arena, scope, &failed)};
    if (failed)
        return CV_ERR_TOO_LARGE;
    arr[c->n_sites++] = s;
    return CV_OK;
}

int cv_certificate_add_sector(struct cv_certificate *c, const char *sector, size_t len)
{
    trim(&sector, &len);
    if (!len)
        return CV_OK;
    const char **arr = grow_array(&c->arena, (void *)c->sectors, c->n_sectors, sizeof(*arr));
    if (!arr)
        return CV_ERR_TOO_LARGE;
    c->sectors = arr;
    const char *copy = cv_arena_strndup(&c->arena, sector, len);
    if (!copy)
        return CV_ERR_TOO_LARGE;
    arr[c->n_sectors++] = copy;
    return CV_OK;
}

/* Counts UTF-8 characters (continuation bytes are not counted). */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

int cv_certificate_check(const struct cv_certificate *c, const char **field, char *msg, size_t cap)
{
    static const struct {
        const char *name;
        size_t offset;
    } required[] = {
        {"certificate_number", offsetof(struct cv_certificate, certificate_number)},
        {"standard", offsetof(struct cv_certificate, standard)},
        {"holder_name", offsetof(struct cv_certificate, holder_name)},
        {"certification_body", offsetof(struct cv_certificate, cb_name)},
    };
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        if (!*(const char *const *)((const char *)c + required[i].offset)) {
            *field = required[i].name;
            set_msg(msg, cap, "%s: required field is missing", required[i].name);
            return CV_ERR_INVALID;
        }
    }
    if (utf8_chars(c->certificate_number) > CV_CERT_NUMBER_MAX) {
        *field = "certificate_number";
        set_msg(msg, cap, "certificate_number: longer than %d characters", CV_CERT_NUMBER_MAX);
        return CV_ERR_INVALID;
    }
    if (c->issue_date == CV_DATE_NONE) {
        *field = "issue_date";
        set_msg(msg, cap, "issue_date: required field is missing");
        return CV_ERR_INVALID;
    }
    if (c->expiry_date == CV_DATE_NONE) {
        if (c->type == CV_CERT_TEST_REPORT)
            return CV_OK;
        *field = "expiry_date";
        set_msg(msg, cap, "expiry_date: required field is missing (only test reports may omit it)");
        return CV_ERR_INVALID;
    }
    if (c->expiry_date <= c->issue_date) {
        char i[CV_DATE_STRLEN], e[CV_DATE_STRLEN];
        cv_date_format(c->issue_date, i);
        cv_date_format(c->expiry_date, e);
        *field = "expiry_date";
        set_msg(msg, cap, "expiry_date: %s is not after issue_date %s", e, i);
        return CV_ERR_INVALID;
    }
    return CV_OK;
}

static void cb_key(char tag, const char *text, char out[CV_CB_KEY_LEN])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char d[CV_SHA256_LEN];
    struct cv_sha256 h;
    cv_sha256_init(&h);
    cv_sha256_update(&h, text, strlen(text));
    cv_sha256_final(&h, d);
    out[0] = tag;
    out[1] = '_';
    for (int i = 0; i < 8; i++) {
        out[2 + 2 * i] = digits[d[i] >> 4];
        out[3 + 2 * i] = digits[d[i] & 15];
    }
    out[18] = '\0';
}

bool cv_cb_name_key(const char *name, char out[CV_CB_KEY_LEN])
{
    char nk[CV_NAME_KEY_MAX];
    out[0] = '\0';
    if (!name || !cv_name_key(name, nk))
        return false;
    cb_key('n', nk, out);
    return true;
}

bool cv_cb_id_key(const char *id, char out[CV_CB_KEY_LEN])
{
    out[0] = '\0';
    if (!id || !*id)
        return false;
    cb_key('i', id, out);
    return true;
}

void cv_certificate_id(const struct cv_certificate *c, const char *family, char out[CV_CERT_ID_LEN])
{
    char cb[CV_NAME_KEY_MAX], number[CV_CERT_NUMBER_MAX * 4 + 1], fam[128], hex[CV_SHA256_HEX_LEN];
    size_t n = 0, f = 0;
    struct cv_sha256 h;
    unsigned char d[CV_SHA256_LEN];

    cv_name_key(c->cb_name, cb);
    for (const char *p = c->certificate_number; p && *p && n + 1 < sizeof(number); p++) {
        unsigned char ch = (unsigned char)*p;
        if ((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || ch >= 0x80)
            number[n++] = (char)ch;
        else if (ch >= 'a' && ch <= 'z')
            number[n++] = (char)(ch - 32);
    }
    number[n] = '\0';
    for (const char *p = family; p && *p && f + 1 < sizeof(fam); p++) {
        if (*p != ' ')
            fam[f++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    }
    fam[f] = '\0';
    cv_sha256_init(&h);
    cv_sha256_update(&h, cb, strlen(cb) + 1);
    cv_sha256_update(&h, number, n + 1);
    cv_sha256_update(&h, fam, f + 1);
    cv_sha256_final(&h, d);
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 12; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    snprintf(out, CV_CERT_ID_LEN, "c_%.23s", hex);
}

static int parse_name(const char *s, const char *const *names, int n, int *out)
{
    for (int i = 0; i < n; i++) {
        if (names[i] && strcmp(s, names[i]) == 0) {
            *out = i;
            return CV_OK;
        }
    }
    return CV_ERR_INVALID;
}

static const char *const type_names[] = {"management_system", "product", "test_report"};
static const char *const status_names[] = {NULL,        "active",    "suspended",
                                           "withdrawn", "cancelled", "expired"};
static const char *const audit_names[] = {"initial", "surveillance", "recertification", "special",
                                          "transfer"};

const char *cv_cert_type_name(enum cv_cert_type t)
{
    return (unsigned)t < 3 ? type_names[t] : "unknown";
}

int cv_cert_type_parse(const char *s, enum cv_cert_type *out)
{
    int v, rc = parse_name(s, type_names, 3, &v);
    if (!rc)
        *out = (enum cv_cert_type)v;
    return rc;
}

const char *cv_declared_status_name(enum cv_declared_status s)
{
    return (unsigned)s < 6 && status_names[s] ? status_names[s] : "";
}

int cv_declared_status_parse(const char *s, enum cv_declared_status *out)
{
    int v, rc = parse_name(s, status_names, 6, &v);
    if (!rc)
        *out = (enum cv_declared_status)v;
    return rc;
}

const char *cv_audit_type_name(enum cv_audit_type t)
{
    return (unsigned)t < 5 ? audit_names[t] : "unknown";
}

int cv_audit_type_parse(const char *s, enum cv_audit_type *out)
{
    int v, rc = parse_name(s, audit_names, 5, &v);
    if (!rc)
        *out = (enum cv_audit_type)v;
    return rc;
}

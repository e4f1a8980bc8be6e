/* JSON certificate reader. A small framing scanner splits the input (one object, an array of
 * objects, or JSON lines / concatenated objects) into top-level records over a fixed read buffer;
 * each record is parsed with Jansson and mapped onto one reused struct cv_certificate, so memory
 * stays flat whatever the size of the input. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "certvet/buf.h"
#include "certvet/error.h"
#include "certvet/reader.h"

#define READ_CHUNK (64 * 1024)
/* The arena holds copies of a record's strings, which are never longer than the record. */
#define CERT_ARENA_LIMIT (CV_RECORD_MAX_BYTES + 64 * 1024)
#define REC_INITIAL_CAP  (16 * 1024)
/* Nesting levels whose bracket kind the scanner remembers to detect mismatched closers; deeper
 * levels are only counted (Jansson refuses anything past 2048 levels anyway). */
#define STACK_MAX 4096

/* Scanner and mapping state for one input. */
struct jr {
    FILE *f;
    const char *source;
    const struct cv_reader_sink *sink;
    char *rbuf; /* READ_CHUNK bytes */

    struct cv_buf rec; /* the current record, up to CV_RECORD_MAX_BYTES */

    long line;        /* 1-based line of the byte being scanned */
    long long pos;    /* absolute offset of the byte being scanned */
    long long bol;    /* absolute offset where the current line begins */
    bool line_blank;  /* only blanks seen so far on the current line */
    long index;       /* index of the next record */
    bool seen_value;  /* a top-level value has started */
    bool bom_checked; /* the first chunk was checked for a UTF-8 BOM */

    bool in_array;    /* inside a top-level array (the container, not a record) */
    long array_line;  /* line where that array opened */
    bool expect_elem; /* in the array, after '[' or ',' */
    bool first_elem;  /* in the array, right after '[' */

    bool in_elem; /* scanning a record */
    long elem_line, elem_col;
    size_t seg;          /* start in the current chunk of the bytes not yet copied to 'rec' */
    long depth;          /* brackets open inside the record */
    bool in_str, esc;    /* inside a string, after a backslash */
    unsigned char last;  /* the last byte outside strings and blanks, in the record */
    const char *pre_err; /* a framing problem found before the record started, or NULL */
    unsigned char stack[STACK_MAX / 8]; /* bit set: '[' at that level, clear: '{' */

    bool skipping; /* after a broken record: looking for a line starting with '{' */
    long skip_col; /* ... at this column or left of it */

    struct cv_certificate cert;
};

/* What the mapping found wrong with a record. */
struct map_err {
    const char *field; /* flat name, static */
    char msg[CV_RECORD_ERROR_MAX];
};

/* Refuses a record (index >= 0) or the file (index -1). */
#define report(r, line, index, field, ...)                                                         \
    cv_sink_report((r)->sink, (r)->source, (line), (index), (field), false, __VA_ARGS__)

static void map_fail(struct map_err *e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void map_fail(struct map_err *e, const char *field, const char *fmt, ...)
{
    va_list ap;

    e->field = field;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
}

/* Prefixes a core message with 'path' unless it already starts with the field's name. */
static void map_fail_core(struct map_err *e, const char *field, const char *path, const char *msg)
{
    size_t n = strlen(field);

    if (strncmp(msg, field, n) == 0 && msg[n] == ':')
        map_fail(e, field, "%s", msg);
    else if (strncmp(msg, path, strlen(path)) == 0 && msg[strlen(path)] == ':')
        map_fail(e, field, "%s", msg);
    else
        map_fail(e, field, "%s: %s", path, msg[0] ? msg : "invalid value");
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "a value";
}

/* Sets the flat field 'flat' from the string 'v' (JSON null: absent). */
static int set_str(struct cv_certificate *c, const json_t *v, const char *flat, const char *path,
                   struct map_err *e)
{
    char msg[CV_RECORD_ERROR_MAX];
    int rc;

    if (json_is_null(v))
        return CV_OK;
    if (!json_is_string(v)) {
        map_fail(e, flat, "%s: expected a string, got %s", path, json_kind(v));
        return CV_ERR_INVALID;
    }
    msg[0] = '\0';
    rc = cv_certificate_set_text(c, flat, json_string_value(v), json_string_length(v), msg,
                                 sizeof(msg));
    if (rc == CV_ERR_INVALID || rc == CV_ERR_NOT_FOUND)
        map_fail_core(e, flat, path, msg);
    if (rc == CV_ERR_NOT_FOUND)
        rc = CV_ERR_INVALID;
    return rc;
}

/* Returns the string in 'v' or NULL when 'v' is NULL or null; other types are an error. */
static int opt_str(const json_t *v, const char **out, size_t *len, const char *field,
                   const char *what, size_t i, struct map_err *e)
{
    *out = NULL;
    *len = 0;
    if (!v || json_is_null(v))
        return CV_OK;
    if (!json_is_string(v)) {
        map_fail(e, field, "%s[%zu].%s: expected a string, got %s", field, i, what, json_kind(v));
        return CV_ERR_INVALID;
    }
    *out = json_string_value(v);
    *len = json_string_length(v);
    return CV_OK;
}

static int map_identifiers(struct cv_certificate *c, const json_t *ids, struct map_err *e)
{
    static const char *const names[][3] = {
        {"vat", "holder_vat", "holder.identifiers.vat"},
        {"duns", "holder_duns", "holder.identifiers.duns"},
        {"registration", "holder_registration", "holder.identifiers.registration"},
    };
    const json_t *v;
    size_t i;
    int rc = CV_OK;

    if (json_is_null(ids))
        return CV_OK;
    if (!json_is_object(ids)) {
        map_fail(e, "holder_vat", "holder.identifiers: expected an object, got %s", json_kind(ids));
        return CV_ERR_INVALID;
    }
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        v = json_object_get(ids, names[i][0]);
        if (!v)
            continue;
        rc = set_str(c, v, names[i][1], names[i][2], e);
        if (rc)
            goto out;
    }
out:
    return rc;
}

static int map_holder(struct cv_certificate *c, const json_t *h, struct map_err *e)
{
    const char *key;
    json_t *v;
    int rc = CV_OK;

    if (json_is_null(h))
        return CV_OK;
    if (!json_is_object(h)) {
        map_fail(e, "holder_name", "holder: expected an object, got %s", json_kind(h));
        return CV_ERR_INVALID;
    }
    json_object_foreach((json_t *)h, key, v)
    {
        if (strcmp(key, "name") == 0) {
            rc = set_str(c, v, "holder_name", "holder.name", e);
        } else if (strcmp(key, "country") == 0) {
            rc = set_str(c, v, "holder_country", "holder.country", e);
        } else if (strcmp(key, "identifiers") == 0) {
            rc = map_identifiers(c, v, e);
        }
        if (rc)
            goto out;
    }
out:
    return rc;
}

static int map_cb(struct cv_certificate *c, const json_t *cb, struct map_err *e)
{
    const char *key;
    json_t *v;
    int rc = CV_OK;

    if (json_is_null(cb))
        return CV_OK;
    if (!json_is_object(cb)) {
        map_fail(e, "certification_body", "certification_body: expected an object, got %s",
                 json_kind(cb));
        return CV_ERR_INVALID;
    }
    json_object_foreach((json_t *)cb, key, v)
    {
        if (strcmp(key, "name") == 0)
            rc = set_str(c, v, "certification_body", "certification_body.name", e);
        else if (strcmp(key, "id") == 0)
            rc = set_str(c, v, "certification_body_id", "certification_body.id", e);
        else if (strcmp(key, "accreditation_number") == 0)
            rc =
                set_str(c, v, "accreditation_number", "certification_body.accreditation_number", e);
        if (rc)
            goto out;
    }
out:
    return rc;
}

static int map_audits(struct cv_certificate *c, const json_t *a, struct map_err *e)
{
    char msg[CV_RECORD_ERROR_MAX];
    const char *type, *date, *field;
    size_t type_len, date_len, i;
    json_t *v;
    int rc = CV_OK;

    if (json_is_null(a))
        return CV_OK;
    if (!json_is_array(a)) {
        map_fail(e, "audits", "audits: expected an array, got %s", json_kind(a));
        return CV_ERR_INVALID;
    }
    json_array_foreach(a, i, v)
    {
        if (!json_is_object(v)) {
            map_fail(e, "audits", "audits[%zu]: expected an object, got %s", i, json_kind(v));
            return CV_ERR_INVALID;
        }
        rc = opt_str(json_object_get(v, "type"), &type, &type_len, "audits", "type", i, e);
        if (rc)
            goto out;
        rc = opt_str(json_object_get(v, "date"), &date, &date_len, "audits", "date", i, e);
        if (rc)
            goto out;
        if (!type || !date) {
            map_fail(e, !type ? "audits.type" : "audits.date", "audits[%zu]: %s is missing", i,
                     !type ? "type" : "date");
            rc = CV_ERR_INVALID;
            goto out;
        }
        field = "audits";
        msg[0] = '\0';
        rc = cv_certificate_add_audit(c, type, type_len, date, date_len, &field, msg, sizeof(msg));
        if (rc == CV_ERR_INVALID)
            map_fail(e, field ? field : "audits", "audits[%zu]: %s", i,
                     msg[0] ? msg : "invalid audit");
        if (rc)
            goto out;
    }
out:
    return rc;
}

static int map_sites(struct cv_certificate *c, const json_t *a, struct map_err *e)
{
    const char *name, *address, *country, *scope;
    size_t len, i;
    json_t *v;
    int rc = CV_OK;

    if (json_is_null(a))
        return CV_OK;
    if (!json_is_array(a)) {
        map_fail(e, "sites", "sites: expected an array, got %s", json_kind(a));
        return CV_ERR_INVALID;
    }
    json_array_foreach(a, i, v)
    {
        if (!json_is_object(v)) {
            map_fail(e, "sites", "sites[%zu]: expected an object, got %s", i, json_kind(v));
            return CV_ERR_INVALID;
        }
        rc = opt_str(json_object_get(v, "name"), &name, &len, "sites", "name", i, e);
        if (rc)
            goto out;
        rc = opt_str(json_object_get(v, "address"), &address, &len, "sites", "address", i, e);
        if (rc)
            goto out;
        rc = opt_str(json_object_get(v, "country"), &country, &len, "sites", "country", i, e);
        if (rc)
            goto out;
        rc = opt_str(json_object_get(v, "scope"), &scope, &len, "sites", "scope", i, e);
        if (rc)
            goto out;
        rc = cv_certificate_add_site(c, name, address, country, scope);
        if (rc == CV_ERR_INVALID)
            map_fail(e, "sites", "sites[%zu]: invalid site", i);
        if (rc)
            goto out;
    }
out:
    return rc;
}

static int map_sectors(struct cv_certificate *c, const json_t *a, struct map_err *e)
{
    size_t i;
    json_t *v;
    int rc = CV_OK;

    if (json_is_null(a))
        return CV_OK;
    if (!json_is_array(a)) {
        map_fail(e, "sectors", "sectors: expected an array, got %s", json_kind(a));
        return CV_ERR_INVALID;
    }
    json_array_foreach(a, i, v)
    {
        if (!json_is_string(v)) {
            map_fail(e, "sectors", "sectors[%zu]: expected a string, got %s", i, json_kind(v));
            return CV_ERR_INVALID;
        }
        rc = cv_certificate_add_sector(c, json_string_value(v), json_string_length(v));
        if (rc == CV_ERR_INVALID)
            map_fail(e, "sectors", "sectors[%zu]: invalid sector", i);
        if (rc)
            goto out;
    }
out:
    return rc;
}

/* Top-level keys taken as plain strings: the flat name is the key. */
static const char *const text_keys[] = {
    "certificate_number",
    "type",
    "standard",
    "supplier_id",
    "accreditation_body",
    "scope",
    "issue_date",
    "expiry_date",
    "original_certification_date",
    "declared_status",
};

/* Fills r->cert from the object 'o'. Unknown keys are ignored. */
static int map_certificate(struct cv_certificate *c, const json_t *o, struct map_err *e)
{
    const char *key;
    json_t *v;
    size_t i;
    int rc = CV_OK;

    json_object_foreach((json_t *)o, key, v)
    {
        /* the first byte before strcmp: this runs for every key of every record */
        if (key[0] == 'h' && strcmp(key, "holder") == 0) {
            rc = map_holder(c, v, e);
        } else if (key[0] == 'c' && strcmp(key, "certification_body") == 0) {
            rc = map_cb(c, v, e);
        } else if (key[0] == 'a' && strcmp(key, "audits") == 0) {
            rc = map_audits(c, v, e);
        } else if (key[0] == 's' && strcmp(key, "sites") == 0) {
            rc = map_sites(c, v, e);
        } else if (key[0] == 's' && strcmp(key, "sectors") == 0) {
            rc = map_sectors(c, v, e);
        } else {
            for (i = 0; i < sizeof(text_keys) / sizeof(text_keys[0]); i++) {
                if (key[0] == text_keys[i][0] && strcmp(key, text_keys[i]) == 0) {
                    rc = set_str(c, v, text_keys[i], text_keys[i], e);
                    break;
                }
            }
        }
        if (rc)
            goto out;
    }
out:
    return rc;
}

/* Parses, maps, checks and delivers the record in r->rec. 'broken' is the scanner's reason when
 * the framing already showed the record to be malformed (Jansson's message is preferred). Returns
 * CV_OK to go on, or CV_ERR_STOP / CV_ERR_NOMEM / what the sink returned to stop. */
static int process_record(struct jr *r, const char *broken)
{
    struct map_err me = {0};
    json_error_t jerr;
    json_t *root = NULL;
    long index = r->index++;
    long line;
    int col;
    int rc = CV_OK;

    if (r->rec.overflow) {
        report(r, r->elem_line, index, NULL, "record too large (more than %d bytes)",
               CV_RECORD_MAX_BYTES);
        goto out;
    }
    root = json_loadb(r->rec.data, r->rec.len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root) {
        line = jerr.line > 0 ? r->elem_line + jerr.line - 1 : r->elem_line;
        col = jerr.column;
        if (jerr.line == 1 && col > 0)
            col += (int)r->elem_col;
        if (col > 0)
            report(r, line, index, NULL, "invalid JSON: %s (line %ld, column %d)", jerr.text, line,
                   col);
        else
            report(r, line, index, NULL, "invalid JSON: %s (line %ld)", jerr.text, line);
        goto out;
    }
    if (broken) {
        report(r, r->elem_line, index, NULL, "invalid JSON: %s", broken);
        goto out;
    }
    if (r->pre_err) {
        report(r, r->elem_line, index, NULL, "invalid JSON: %s", r->pre_err);
        goto out;
    }
    if (!json_is_object(root)) {
        report(r, r->elem_line, index, NULL, "record is %s, expected an object", json_kind(root));
        goto out;
    }
    rc = map_certificate(&r->cert, root, &me);
    if (rc == CV_ERR_INVALID) {
        report(r, r->elem_line, index, me.field, "%s", me.msg);
        rc = CV_OK;
        goto out;
    }
    if (rc == CV_ERR_TOO_LARGE) {
        report(r, r->elem_line, index, me.field, "record too large (its text exceeds %d bytes)",
               CERT_ARENA_LIMIT);
        rc = CV_OK;
        goto out;
    }
    if (rc)
        goto out;
    me.msg[0] = '\0';
    me.field = NULL;
    rc = cv_certificate_check(&r->cert, &me.field, me.msg, sizeof(me.msg));
    if (rc) {
        report(r, r->elem_line, index, me.field, "%s", me.msg[0] ? me.msg : "invalid certificate");
        rc = CV_OK;
        goto out;
    }
    if (r->sink->on_certificate) {
        struct cv_record_loc loc = {r->source, r->elem_line, index};

        rc = r->sink->on_certificate(r->sink->ctx, &r->cert, &loc);
    }
out:
    json_decref(root);
    cv_certificate_reset(&r->cert);
    r->pre_err = NULL;
    return rc;
}

/* Copies buf[r->seg, end) into the record, dropping what goes past the limit. */
static int flush_seg(struct jr *r, const char *buf, size_t end)
{
    size_t n = end - r->seg;

    r->seg = end;
    return cv_buf_append(&r->rec, buf + end - n, n);
}

static const char incomplete_msg[] = "record is incomplete (the next one starts on the next line)";

static bool is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void start_elem(struct jr *r, size_t i)
{
    r->in_elem = true;
    r->seen_value = true;
    cv_buf_clear(&r->rec);
    r->elem_line = r->line;
    r->elem_col = (long)(r->pos - r->bol);
    r->seg = i;
    r->depth = 0;
    r->in_str = false;
    r->esc = false;
    r->last = 0;
    r->skipping = false;
}

/* Ends the record at buf[end) and processes it. */
static int end_elem(struct jr *r, const char *buf, size_t end, const char *broken)
{
    int rc;

    rc = flush_seg(r, buf, end);
    if (rc)
        return rc;
    r->in_elem = false;
    if (broken == incomplete_msg) {
        /* so that Jansson's "end of input" points at the record, not at the next line */
        while (r->rec.len > 0 && is_blank((unsigned char)r->rec.data[r->rec.len - 1]))
            r->rec.len--;
    }
    if (broken) {
        r->skipping = true;
        r->skip_col = r->elem_col;
    }
    return process_record(r, broken);
}

static void push_bracket(struct jr *r, unsigned char c)
{
    if (r->depth < STACK_MAX) {
        if (c == '[')
            r->stack[r->depth / 8] |= (unsigned char)(1u << (r->depth % 8));
        else
            r->stack[r->depth / 8] &= (unsigned char)~(1u << (r->depth % 8));
    }
    r->depth++;
}

/* True when the closer 'c' does not match the innermost open bracket. */
static bool mismatched(const struct jr *r, unsigned char c)
{
    long d = r->depth - 1;
    bool is_array;

    if (d >= STACK_MAX)
        return false;
    is_array = (r->stack[d / 8] >> (d % 8)) & 1u;
    return is_array != (c == ']');
}

static void newline(struct jr *r)
{
    r->line++;
    r->bol = r->pos + 1;
    r->line_blank = true;
}

/* Handles byte c (at index i of the chunk) outside any record: top level, or between an array's
 * elements. Returns CV_OK, or a code that stops the reader. */
static int scan_outside(struct jr *r, size_t i, unsigned char c)
{
    char what[16];
    int rc = CV_OK;

    if (r->in_array) {
        if (c == ']' && (r->first_elem || !r->expect_elem)) {
            r->in_array = false;
            return CV_OK;
        }
        if (c == ',' && !r->expect_elem) {
            r->expect_elem = true;
            return CV_OK;
        }
        if (c == ',' || c == ']') {
            /* an empty element: "[1,,2]" or a trailing comma */
            r->elem_line = r->line;
            r->elem_col = (long)(r->pos - r->bol);
            report(r, r->line, r->index++, NULL, "invalid JSON: missing value before '%c'", c);
            r->first_elem = false;
            if (c == ']')
                r->in_array = false;
            return CV_OK;
        }
        r->pre_err = r->expect_elem ? NULL : "missing ',' before this array element";
        r->expect_elem = false;
        r->first_elem = false;
        start_elem(r, i);
        return CV_OK;
    }
    if (c == '{') {
        r->pre_err = NULL;
        start_elem(r, i);
        return CV_OK;
    }
    if (c == '[') {
        r->in_array = true;
        r->array_line = r->line;
        r->expect_elem = true;
        r->first_elem = true;
        r->seen_value = true;
        return CV_OK;
    }
    if (c >= 0x20 && c < 0x7f)
        snprintf(what, sizeof(what), "'%c'", c);
    else
        snprintf(what, sizeof(what), "byte 0x%02x", c);
    if (!r->seen_value) {
        report(r, r->line, -1, NULL,
               "the input is not a JSON object, an array of objects or JSON lines "
               "(it starts with %s)",
               what);
        return CV_ERR_PARSE;
    }
    report(r, r->line, r->index++, NULL, "invalid JSON: unexpected %s where a record should start",
           what);
    r->skipping = true;
    r->skip_col = LONG_MAX;
    return rc;
}

/* Scans one chunk. Returns CV_OK or a code that stops the reader. */
static int scan_chunk(struct jr *r, const char *buf, size_t n)
{
    size_t i;
    int rc = CV_OK;

    r->seg = 0;
    for (i = 0; i < n; i++, r->pos++) {
        unsigned char c = (unsigned char)buf[i];

        if (r->in_elem && r->in_str) {
            if (r->esc) {
                r->esc = false;
                if (c != '\n')
                    continue;
            } else {
                /* fast path through the body of a string: one table look-up per byte */
                static const unsigned char ends_run[256] = {['"'] = 1, ['\\'] = 1, ['\n'] = 1};
                size_t j = i;

                while (j < n && !ends_run[(unsigned char)buf[j]])
                    j++;
                r->pos += (long long)(j - i);
                i = j;
                if (i == n)
                    break;
                c = (unsigned char)buf[i];
                if (c == '\\') {
                    r->esc = true;
                    continue;
                }
                if (c == '"') {
                    r->in_str = false;
                    continue;
                }
            }
            /* a raw newline inside a string: the record cannot be valid */
            rc = end_elem(r, buf, i + 1, "newline inside a string");
            newline(r);
            if (rc)
                goto out;
            continue;
        }

        if (c == '\n') {
            newline(r);
            continue;
        }
        if (r->skipping) {
            if (c == '{' && r->line_blank && r->pos - r->bol <= r->skip_col) {
                r->skipping = false;
                r->pre_err = NULL;
                if (r->in_array) {
                    r->expect_elem = false;
                    r->first_elem = false;
                }
                start_elem(r, i);
                /* fall through to scan the '{' as the record's first byte */
            } else {
                if (!is_blank(c))
                    r->line_blank = false;
                continue;
            }
        }
        if (!r->in_elem) {
            if (!is_blank(c)) {
                rc = scan_outside(r, i, c);
                if (rc)
                    goto out;
                if (!r->in_elem) {
                    r->line_blank = false;
                    continue;
                }
            } else {
                continue;
            }
        }

        /* inside a record, outside strings */
        switch (c) {
        case '"':
            r->in_str = true;
            break;
        case '{':
        case '[':
            if (c == '{' && !r->in_array && r->depth > 0 && r->line_blank && r->last != ':' &&
                r->pos - r->bol <= r->elem_col) {
                /* JSON lines: a '{' at the start of a line, where no value is expected: a new
                 * record starts while the previous one is still open */
                rc = end_elem(r, buf, i, incomplete_msg);
                r->skipping = false;
                if (rc)
                    goto out;
                start_elem(r, i);
            }
            push_bracket(r, c);
            break;
        case '}':
        case ']':
            if (r->depth == 0) {
                if (c == ']' && r->in_array) {
                    rc = end_elem(r, buf, i, NULL);
                    if (rc)
                        goto out;
                    r->in_array = false;
                    break;
                }
                rc = end_elem(r, buf, i + 1, "unexpected '}'");
                if (rc)
                    goto out;
                break;
            }
            if (mismatched(r, c)) {
                rc = end_elem(r, buf, i + 1, "mismatched bracket");
                if (rc)
                    goto out;
                break;
            }
            r->depth--;
            if (r->depth == 0) {
                rc = end_elem(r, buf, i + 1, NULL);
                if (rc)
                    goto out;
            }
            break;
        case ',':
            if (r->depth == 0 && r->in_array) {
                rc = end_elem(r, buf, i, NULL);
                if (rc)
                    goto out;
                r->expect_elem = true;
            }
            break;
        default:
            break;
        }
        if (!is_blank(c)) {
            r->line_blank = false;
            r->last = c;
        }
    }
    if (r->in_elem)
        rc = flush_seg(r, buf, n);
out:
    return rc;
}

int cv_json_read_certificates(FILE *f, const char *source, const struct cv_reader_sink *sink)
{
    struct jr r;
    size_t n;
    int rc = CV_OK;

    memset(&r, 0, sizeof(r));
    r.f = f;
    r.source = source ? source : "-";
    r.sink = sink;
    r.line = 1;
    r.line_blank = true;
    cv_certificate_init(&r.cert, CERT_ARENA_LIMIT);
    r.rbuf = malloc(READ_CHUNK);
    cv_buf_init(&r.rec, CV_RECORD_MAX_BYTES);
    if (!r.rbuf || cv_buf_reserve(&r.rec, REC_INITIAL_CAP)) {
        rc = CV_ERR_NOMEM;
        goto out;
    }
    for (;;) {
        n = fread(r.rbuf, 1, READ_CHUNK, f);
        if (n == 0)
            break;
        if (!r.bom_checked) {
            r.bom_checked = true;
            if (n >= 3 && memcmp(r.rbuf, "\xEF\xBB\xBF", 3) == 0) {
                /* a UTF-8 byte order mark: skip it (position 0 stays its first byte) */
                r.pos = 3;
                r.bol = 3;
                rc = scan_chunk(&r, r.rbuf + 3, n - 3);
                if (rc)
                    goto out;
                continue;
            }
        }
        rc = scan_chunk(&r, r.rbuf, n);
        if (rc)
            goto out;
    }
    if (ferror(f)) {
        report(&r, r.line, -1, NULL, "read error: %s", strerror(errno));
        rc = CV_ERR_IO;
        goto out;
    }
    if (r.in_elem) {
        report(&r, r.elem_line, -1, NULL,
               "truncated input: the record starting at line %ld is incomplete", r.elem_line);
        rc = CV_ERR_PARSE;
    } else if (r.in_array && !r.skipping) {
        report(&r, r.line, -1, NULL, "truncated input: the array opened at line %ld is not closed",
               r.array_line);
        rc = CV_ERR_PARSE;
    }
out:
    if (rc == CV_ERR_NOMEM)
        report(&r, r.line, -1, NULL, "out of memory");
    cv_certificate_cleanup(&r.cert);
    free(r.rbuf);
    cv_buf_cleanup(&r.rec);
    return rc;
}

int cv_json_to_certificate(const json_t *o, struct cv_certificate *cert, const char **field,
                           char *msg, size_t cap)
{
    struct map_err me = {NULL, ""};
    int rc;

    if (!json_is_object(o)) {
        *field = NULL;
        snprintf(msg, cap, "a certificate must be a JSON object, not %s", json_kind(o));
        return CV_ERR_INVALID;
    }
    rc = map_certificate(cert, o, &me);
    if (rc == CV_OK)
        rc = cv_certificate_check(cert, &me.field, me.msg, sizeof(me.msg));
    if (rc) {
        *field = me.field;
        snprintf(msg, cap, "%s", me.msg);
    }
    return rc;
}

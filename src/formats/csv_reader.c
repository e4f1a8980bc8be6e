/* CSV certificate reader: an RFC 4180 state machine over a fixed read buffer. The header row names
 * the columns (any order, UTF-8 BOM tolerated); each following record is mapped onto one reused
 * struct cv_certificate, so memory stays flat whatever the size of the input. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "certvet/buf.h"
#include "certvet/error.h"
#include "certvet/reader.h"

#define READ_CHUNK (64 * 1024)
/* The arena holds copies of a record's cells, which are never longer than the record. */
#define CERT_ARENA_LIMIT (CV_RECORD_MAX_BYTES + 64 * 1024)
#define ROW_INITIAL_CAP  (16 * 1024)
#define MAX_COLUMNS      1024 /* columns a header may name */

enum col_kind {
    COL_IGNORED = 0, /* unknown column, warned about once */
    COL_TEXT,        /* passed to cv_certificate_set_text under its flat name */
    COL_AUDIT_TYPE,  /* last_audit_type */
    COL_AUDIT_DATE,  /* last_audit_date */
};

/* The columns we know; the name is also the field named in errors. */
static const struct {
    const char *name;
    enum col_kind kind;
    bool required;
} known_columns[] = {
    {"certificate_number", COL_TEXT, true},
    {"type", COL_TEXT, false},
    {"standard", COL_TEXT, true},
    {"holder_name", COL_TEXT, true},
    {"holder_country", COL_TEXT, false},
    {"holder_vat", COL_TEXT, false},
    {"holder_duns", COL_TEXT, false},
    {"holder_registration", COL_TEXT, false},
    {"supplier_id", COL_TEXT, false},
    {"certification_body", COL_TEXT, true},
    {"certification_body_id", COL_TEXT, false},
    {"accreditation_body", COL_TEXT, false},
    {"accreditation_number", COL_TEXT, false},
    {"scope", COL_TEXT, false},
    {"issue_date", COL_TEXT, true},
    {"expiry_date", COL_TEXT, false},
    {"original_certification_date", COL_TEXT, false},
    {"last_audit_type", COL_AUDIT_TYPE, false},
    {"last_audit_date", COL_AUDIT_DATE, false},
    {"declared_status", COL_TEXT, false},
};

#define N_KNOWN (sizeof(known_columns) / sizeof(known_columns[0]))

enum state {
    S_FIELD_START, /* before the first byte of a field */
    S_UNQUOTED,    /* in a field that did not start with a quote */
    S_QUOTED,      /* inside quotes */
    S_QUOTE_END,   /* after a quote inside quotes: a doubled quote or the closing one */
    S_CR,          /* after a CR that ended a record: a following LF belongs to it */
};

/* One cell of the current record: bytes row[off, off + len), NUL-terminated. */
struct fld {
    uint32_t off, len;
};

struct col {
    enum col_kind kind;
    const char *name; /* known: the static name; unknown: in 'header_names' */
    int field_id;     /* COL_TEXT: the certificate field, from cv_certificate_field_id */
};

struct cr {
    FILE *f;
    const char *source;
    const struct cv_reader_sink *sink;
    char *rbuf; /* READ_CHUNK bytes */

    struct cv_buf row; /* the current record's cells, up to CV_RECORD_MAX_BYTES */
    struct fld *fields;
    size_t fields_cap; /* cells stored; further ones are only counted */
    size_t nfields;    /* cells in the current record so far */
    size_t field_start;
    bool field_quoted;

    enum state st;
    long line;          /* 1-based physical line of the byte being scanned */
    long rec_line;      /* line where the current record starts */
    long quote_line;    /* line where the current quoted field opened */
    bool rec_started;   /* the current record has a byte */
    const char *broken; /* what is wrong with the current record, or NULL */
    size_t broken_col;  /* the cell where it went wrong */
    long broken_line;   /* the line where it went wrong */
    long broken_qline;  /* for a problem after a closing quote: where that quote opened */
    long index;         /* index of the next data record */

    bool have_header;
    struct col *cols;
    size_t ncols;
    char *header_names; /* copy of the header cells */

    struct cv_certificate cert;
};

/* Bytes that end the fast path through an unquoted field. */
static const bool special[256] = {[','] = true, ['"'] = true, ['\n'] = true, ['\r'] = true};

/* Refuses a record (index >= 0) or the file (index -1). */
#define report(r, line, index, field, ...)                                                         \
    cv_sink_report((r)->sink, (r)->source, (line), (index), (field), false, __VA_ARGS__)

/* Reports an ignored column as a warning (is_warning set, nothing refused). */
static void warn_unknown(struct cr *r, size_t col, const char *name)
{
    if (name[0])
        cv_sink_report(r->sink, r->source, r->rec_line, -1, name, true,
                       "unknown column '%s' ignored", name);
    else
        cv_sink_report(r->sink, r->source, r->rec_line, -1, name, true,
                       "column %zu has no name: ignored", col + 1);
}

/* Appends 'n' bytes to the row; past CV_RECORD_MAX_BYTES they are dropped (row.overflow). */
static int append(struct cr *r, const char *p, size_t n)
{
    return cv_buf_append(&r->row, p, n);
}

static int end_field(struct cr *r)
{
    int rc;

    if (r->nfields < r->fields_cap && !r->row.overflow) {
        r->fields[r->nfields].off = (uint32_t)r->field_start;
        r->fields[r->nfields].len = (uint32_t)(r->row.len - r->field_start);
    }
    r->nfields++;
    rc = append(r, "", 1);
    r->field_start = r->row.len;
    r->field_quoted = false;
    return rc;
}

/* Marks the record broken (first problem wins). */
static void set_broken(struct cr *r, const char *why)
{
    if (!r->broken) {
        r->broken = why;
        r->broken_col = r->nfields;
        r->broken_line = r->line;
        r->broken_qline = r->field_quoted ? r->quote_line : 0;
    }
}

/* The name of cell 'i' for messages: the column's name, or its position. */
static const char *col_name(const struct cr *r, size_t i, char *buf, size_t cap)
{
    if (r->have_header && i < r->ncols)
        return r->cols[i].name;
    snprintf(buf, cap, "column %zu", i + 1);
    return buf;
}

/* True for UTF-8 text without NUL bytes. */
static bool valid_text(const unsigned char *s, size_t n)
{
    size_t i = 0, k, need;
    uint32_t cp;

    while (i < n) {
        unsigned char c = s[i];

        /* fast path: eight ASCII bytes, none of them NUL */
        if (n - i >= 8) {
            uint64_t v;

            memcpy(&v, s + i, 8);
            if (!(v & 0x8080808080808080u) &&
                !((v - 0x0101010101010101u) & ~v & 0x8080808080808080u)) {
                i += 8;
                continue;
            }
        }
        if (c < 0x80) {
            if (c == 0)
                return false;
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
            cp = c & 0x1Fu;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            cp = c & 0x0Fu;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            cp = c & 0x07u;
        } else {
            return false;
        }
        if (need >= n - i)
            return false;
        for (k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0u) != 0x80u)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3Fu);
        }
        if ((need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return false;
        i += need + 1;
    }
    return true;
}

static void trim(const char **p, size_t *n)
{
    while (*n > 0 && (**p == ' ' || **p == '\t')) {
        (*p)++;
        (*n)--;
    }
    while (*n > 0 && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
        (*n)--;
}

/* Reads the header record into r->cols. Returns CV_OK or a file-level error (reported). */
static int take_header(struct cr *r)
{
    bool seen[N_KNOWN] = {false};
    size_t i, j, k, len;
    const char *p;
    char *q;
    int rc = CV_OK;

    if (r->row.overflow) {
        report(r, r->rec_line, -1, NULL, "header row too large (more than %d bytes)",
               CV_RECORD_MAX_BYTES);
        return CV_ERR_TOO_LARGE;
    }
    if (r->broken) {
        report(r, r->rec_line, -1, NULL, "header row: %s", r->broken);
        return CV_ERR_PARSE;
    }
    if (r->nfields > MAX_COLUMNS) {
        report(r, r->rec_line, -1, NULL, "header row has %zu columns (at most %d)", r->nfields,
               MAX_COLUMNS);
        return CV_ERR_TOO_LARGE;
    }
    r->ncols = r->nfields;
    r->cols = calloc(r->ncols, sizeof(*r->cols));
    r->header_names = malloc(r->row.len ? r->row.len : 1);
    if (!r->cols || !r->header_names)
        return CV_ERR_NOMEM;
    memcpy(r->header_names, r->row.data, r->row.len);
    for (i = 0; i < r->ncols; i++) {
        p = r->header_names + r->fields[i].off;
        len = r->fields[i].len;
        if (!valid_text((const unsigned char *)p, len)) {
            report(r, r->rec_line, -1, NULL, "header row: column %zu is not valid UTF-8", i + 1);
            return CV_ERR_PARSE;
        }
        trim(&p, &len);
        q = (char *)p;
        q[len] = '\0';
        r->cols[i].name = q;
        r->cols[i].kind = COL_IGNORED;
        for (k = 0; k < N_KNOWN; k++) {
            if (strcasecmp(q, known_columns[k].name) == 0)
                break;
        }
        if (k < N_KNOWN) {
            if (seen[k]) {
                report(r, r->rec_line, -1, known_columns[k].name,
                       "duplicate column '%s' in the header", known_columns[k].name);
                return CV_ERR_PARSE;
            }
            seen[k] = true;
            r->cols[i].kind = known_columns[k].kind;
            r->cols[i].name = known_columns[k].name;
            r->cols[i].field_id = cv_certificate_field_id(known_columns[k].name);
            continue;
        }
        for (j = 0; j < i; j++) {
            if (r->cols[j].kind == COL_IGNORED && strcasecmp(r->cols[j].name, q) == 0) {
                report(r, r->rec_line, -1, q, "duplicate column '%s' in the header", q);
                return CV_ERR_PARSE;
            }
        }
    }
    for (k = 0; k < N_KNOWN; k++) {
        if (known_columns[k].required && !seen[k]) {
            report(r, r->rec_line, -1, known_columns[k].name,
                   "missing required column '%s' in the header", known_columns[k].name);
            return CV_ERR_INVALID;
        }
    }
    for (i = 0; i < r->ncols; i++) {
        if (r->cols[i].kind == COL_IGNORED)
            warn_unknown(r, i, r->cols[i].name);
    }
    /* data records store one cell more than the header, to tell "too many" */
    r->fields_cap = r->ncols + 1;
    r->have_header = true;
    return rc;
}

/* Prefixes a core message with the column's name unless it already starts with it. */
static void core_msg(char *out, size_t cap, const char *col, const char *msg)
{
    size_t n = strlen(col);

    if (strncmp(msg, col, n) == 0 && msg[n] == ':')
        snprintf(out, cap, "%s", msg);
    else
        snprintf(out, cap, "%s: %s", col, msg[0] ? msg : "invalid value");
}

/* Maps, checks and delivers one data record. Refusals are reported; returns CV_OK to go on or a
 * code that stops the reader. */
static int take_record(struct cr *r)
{
    char msg[CV_RECORD_ERROR_MAX], out[CV_RECORD_ERROR_MAX], namebuf[32];
    const char *atype = NULL, *adate = NULL, *field = NULL, *p;
    size_t atype_len = 0, adate_len = 0, len, i;
    long index = r->index++;
    int rc = CV_OK;

    if (r->row.overflow) {
        report(r, r->rec_line, index, NULL, "record too large (more than %d bytes)",
               CV_RECORD_MAX_BYTES);
        goto out;
    }
    if (r->broken) {
        const char *name = col_name(r, r->broken_col, namebuf, sizeof(namebuf));

        if (r->broken_qline && r->broken_qline != r->broken_line)
            report(r, r->rec_line, index, r->broken_col < r->ncols ? name : NULL,
                   "%s in column '%s' at line %ld (the quote opened at line %ld: is a quote "
                   "missing?)",
                   r->broken, name, r->broken_line, r->broken_qline);
        else
            report(r, r->rec_line, index, r->broken_col < r->ncols ? name : NULL,
                   "%s in column '%s' at line %ld", r->broken, name, r->broken_line);
        goto out;
    }
    if (r->nfields != r->ncols) {
        report(r, r->rec_line, index, NULL, "line %ld: record has %zu fields, the header has %zu",
               r->rec_line, r->nfields, r->ncols);
        goto out;
    }
    for (i = 0; i < r->ncols; i++) {
        const struct col *c = &r->cols[i];

        p = r->row.data + r->fields[i].off;
        len = r->fields[i].len;
        if (c->kind == COL_IGNORED || len == 0)
            continue;
        if (!valid_text((const unsigned char *)p, len)) {
            report(r, r->rec_line, index, c->name, "%s: %s", c->name,
                   memchr(p, '\0', len) ? "contains a NUL byte" : "not valid UTF-8");
            goto out;
        }
        if (c->kind == COL_AUDIT_TYPE || c->kind == COL_AUDIT_DATE) {
            trim(&p, &len);
            if (c->kind == COL_AUDIT_TYPE) {
                atype = p;
                atype_len = len;
            } else {
                adate = p;
                adate_len = len;
            }
            continue;
        }
        msg[0] = '\0';
        rc = cv_certificate_set_field(&r->cert, c->field_id, p, len, msg, sizeof(msg));
        if (rc == CV_ERR_INVALID || rc == CV_ERR_NOT_FOUND) {
            core_msg(out, sizeof(out), c->name, msg);
            report(r, r->rec_line, index, c->name, "%s", out);
            rc = CV_OK;
            goto out;
        }
        if (rc == CV_ERR_TOO_LARGE) {
            report(r, r->rec_line, index, c->name, "record too large (its text exceeds %d bytes)",
                   CERT_ARENA_LIMIT);
            rc = CV_OK;
            goto out;
        }
        if (rc)
            goto out;
    }
    if (atype_len || adate_len) {
        if (!atype_len || !adate_len) {
            report(r, r->rec_line, index, atype_len ? "last_audit_date" : "last_audit_type",
                   "%s is set but %s is empty: give both or neither",
                   atype_len ? "last_audit_type" : "last_audit_date",
                   atype_len ? "last_audit_date" : "last_audit_type");
            goto out;
        }
        msg[0] = '\0';
        rc = cv_certificate_add_audit(&r->cert, atype, atype_len, adate, adate_len, &field, msg,
                                      sizeof(msg));
        if (rc == CV_ERR_INVALID) {
            const char *col =
                field && strcmp(field, "audits.type") == 0 ? "last_audit_type" : "last_audit_date";

            const char *m = msg;

            /* the core names the JSON field ("audits.date: ..."): name the column instead */
            if (strncmp(m, "audits.type:", 12) == 0 || strncmp(m, "audits.date:", 12) == 0)
                m += m[12] == ' ' ? 13 : 12;
            core_msg(out, sizeof(out), col, m);
            report(r, r->rec_line, index, col, "%s", out);
            rc = CV_OK;
            goto out;
        }
        if (rc == CV_ERR_TOO_LARGE) {
            report(r, r->rec_line, index, NULL, "record too large");
            rc = CV_OK;
            goto out;
        }
        if (rc)
            goto out;
    }
    msg[0] = '\0';
    field = NULL;
    rc = cv_certificate_check(&r->cert, &field, msg, sizeof(msg));
    if (rc) {
        report(r, r->rec_line, index, field, "%s", msg[0] ? msg : "invalid certificate");
        rc = CV_OK;
        goto out;
    }
    if (r->sink->on_certificate) {
        struct cv_record_loc loc = {r->source, r->rec_line, index};

        rc = r->sink->on_certificate(r->sink->ctx, &r->cert, &loc);
    }
out:
    cv_certificate_reset(&r->cert);
    return rc;
}

/* True for a record that is an empty or blank line. */
static bool blank_record(const struct cr *r)
{
    const char *p;
    size_t n;

    if (r->nfields != 1 || r->field_quoted || r->row.overflow || r->broken)
        return false;
    p = r->row.data + r->fields[0].off;
    n = r->fields[0].len;
    trim(&p, &n);
    return n == 0;
}

/* Ends the current record (its last cell already ended) and processes it. */
static int end_record(struct cr *r)
{
    int rc = CV_OK;

    if (blank_record(r))
        goto out;
    if (!r->have_header)
        rc = take_header(r);
    else
        rc = take_record(r);
out:
    cv_buf_clear(&r->row);
    r->field_start = 0;
    r->nfields = 0;
    r->broken = NULL;
    r->rec_started = false;
    r->field_quoted = false;
    return rc;
}

/* Handles a separator or line break 'c' after a cell. */
static int cell_end(struct cr *r, unsigned char c)
{
    int rc;

    rc = end_field(r);
    if (rc)
        return rc;
    if (c == ',') {
        r->st = S_FIELD_START;
        return CV_OK;
    }
    r->line++;
    r->st = c == '\r' ? S_CR : S_FIELD_START;
    return end_record(r);
}

static int scan_chunk(struct cr *r, const char *buf, size_t n)
{
    size_t i = 0, j;
    unsigned char c;
    int rc = CV_OK;

    while (i < n) {
        c = (unsigned char)buf[i];
        switch (r->st) {
        case S_CR:
            r->st = S_FIELD_START;
            if (c == '\n')
                i++;
            break;
        case S_FIELD_START:
            if (!r->rec_started) {
                r->rec_started = true;
                r->rec_line = r->line;
            }
            r->field_start = r->row.len;
            if (c == '"') {
                r->field_quoted = true;
                r->quote_line = r->line;
                r->st = S_QUOTED;
                i++;
            } else {
                r->field_quoted = false;
                r->st = S_UNQUOTED;
            }
            break;
        case S_UNQUOTED:
            for (j = i; j < n && !special[(unsigned char)buf[j]]; j++)
                ;
            rc = append(r, buf + i, j - i);
            if (rc)
                goto out;
            i = j;
            if (i == n)
                break;
            c = (unsigned char)buf[i++];
            if (c == '"') {
                set_broken(r, "stray quote in an unquoted field");
                rc = append(r, "\"", 1);
            } else {
                rc = cell_end(r, c);
            }
            if (rc)
                goto out;
            break;
        case S_QUOTED:
            for (j = i; j < n && buf[j] != '"' && buf[j] != '\n'; j++)
                ;
            rc = append(r, buf + i, j - i);
            if (rc)
                goto out;
            i = j;
            if (i == n)
                break;
            if (buf[i] == '\n') {
                r->line++;
                rc = append(r, "\n", 1);
                if (rc)
                    goto out;
            } else {
                r->st = S_QUOTE_END;
            }
            i++;
            break;
        case S_QUOTE_END:
            if (c == '"') {
                rc = append(r, "\"", 1);
                r->st = S_QUOTED;
                i++;
            } else if (c == ',' || c == '\n' || c == '\r') {
                rc = cell_end(r, c);
                i++;
            } else {
                set_broken(r, "unexpected text after a closing quote");
                r->st = S_UNQUOTED;
            }
            if (rc)
                goto out;
            break;
        }
    }
out:
    return rc;
}

/* Handles the end of input: the last record may lack its line break. */
static int scan_eof(struct cr *r)
{
    char namebuf[32];
    int rc;

    if (r->st == S_QUOTED) {
        const char *name;

        r->broken = NULL;
        set_broken(r, "unterminated quoted field");
        name = col_name(r, r->broken_col, namebuf, sizeof(namebuf));
        if (!r->have_header) {
            report(r, r->rec_line, -1, NULL,
                   "header row: unterminated quoted field in column %zu (opened at line %ld)",
                   r->broken_col + 1, r->quote_line);
            return CV_ERR_PARSE;
        }
        report(r, r->rec_line, r->index++, r->broken_col < r->ncols ? name : NULL,
               "unterminated quoted field in column '%s' (opened at line %ld, runs to the end "
               "of the input)",
               name, r->quote_line);
        return CV_OK;
    }
    if (!r->rec_started)
        return CV_OK;
    rc = end_field(r);
    if (rc)
        return rc;
    return end_record(r);
}

int cv_csv_read_certificates(FILE *f, const char *source, const struct cv_reader_sink *sink)
{
    struct cr r;
    size_t n, skip;
    int rc = CV_OK;

    memset(&r, 0, sizeof(r));
    r.f = f;
    r.source = source ? source : "-";
    r.sink = sink;
    r.line = 1;
    r.st = S_FIELD_START;
    cv_certificate_init(&r.cert, CERT_ARENA_LIMIT);
    r.rbuf = malloc(READ_CHUNK);
    cv_buf_init(&r.row, CV_RECORD_MAX_BYTES);
    r.fields_cap = MAX_COLUMNS + 1;
    r.fields = malloc(r.fields_cap * sizeof(*r.fields));
    if (!r.rbuf || cv_buf_reserve(&r.row, ROW_INITIAL_CAP) || !r.fields) {
        rc = CV_ERR_NOMEM;
        goto out;
    }
    for (bool first = true;; first = false) {
        n = fread(r.rbuf, 1, READ_CHUNK, f);
        if (n == 0)
            break;
        skip = first && n >= 3 && memcmp(r.rbuf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
        rc = scan_chunk(&r, r.rbuf + skip, n - skip);
        if (rc)
            goto out;
    }
    if (ferror(f)) {
        report(&r, r.line, -1, NULL, "read error: %s", strerror(errno));
        rc = CV_ERR_IO;
        goto out;
    }
    rc = scan_eof(&r);
    if (rc)
        goto out;
    if (!r.have_header) {
        report(&r, 0, -1, NULL, "no header row: the input is empty");
        rc = CV_ERR_PARSE;
    }
out:
    if (rc == CV_ERR_NOMEM)
        report(&r, r.line, -1, NULL, "out of memory");
    cv_certificate_cleanup(&r.cert);
    free(r.rbuf);
    cv_buf_cleanup(&r.row);
    free(r.fields);
    free(r.cols);
    free(r.header_names);
    return rc;
}

/* Streaming reports of verifications: an aligned text table, SPEC 9 JSON, or CSV. */
#include "certvet/report.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "certvet/error.h"

/* One result's JSON text: the record's fields (at most CV_RECORD_MAX_BYTES) and the findings. */
#define RESULT_TEXT_MAX (4 * CV_RECORD_MAX_BYTES)

struct cv_report {
    FILE *out;
    FILE *err;
    enum cv_output_format fmt;
    cv_date as_of;
    long verdicts[4];
    long errors, warnings;
    long results;
    json_t *kept_errors; /* JSON only: the first CV_REPORT_ERRORS_KEPT refusals */
    struct cv_buf line;  /* JSON only: one result's text, reused (limit RESULT_TEXT_MAX) */
    int io_failed;
};

/* Text table columns: name and width (the last one is unbounded). */
static const struct {
    const char *name;
    int width;
    int right; /* right-aligned */
} columns[] = {
    {"CERTIFICATE", 22, 0}, {"STANDARD", 24, 0}, {"HOLDER", 32, 0},  {"VERDICT", 12, 0},
    {"EXPIRES", 12, 0},     {"DAYS", 7, 1},      {"FINDINGS", 0, 0},
};
#define N_COLUMNS (sizeof(columns) / sizeof(columns[0]))

int cv_output_format_parse(const char *s, enum cv_output_format *out)
{
    static const char *const names[] = {"text", "json", "csv"};
    for (int i = 0; i < 3; i++) {
        if (strcasecmp(s, names[i]) == 0) {
            *out = (enum cv_output_format)i;
            return CV_OK;
        }
    }
    return CV_ERR_USAGE;
}

int cv_report_new(FILE *out, FILE *err, enum cv_output_format fmt, cv_date as_of,
                  struct cv_report **r)
{
    struct cv_report *p = calloc(1, sizeof(*p));
    if (!p)
        return CV_ERR_NOMEM;
    p->out = out;
    p->err = err;
    p->fmt = fmt;
    p->as_of = as_of;
    cv_buf_init(&p->line, RESULT_TEXT_MAX);
    char d[CV_DATE_STRLEN];
    cv_date_format(as_of, d);
    switch (fmt) {
    case CV_OUTPUT_JSON:
        p->kept_errors = json_array();
        if (!p->kept_errors) {
            free(p);
            return CV_ERR_NOMEM;
        }
        fprintf(out, "{\"as_of\": \"%s\",\n\"results\": [", d);
        break;
    case CV_OUTPUT_CSV:
        fputs("source,certificate_number,standard,family,holder,certification_body,verdict,"
              "effective_expiry,days_to_expiry,surveillance_due,findings\r\n",
              out);
        break;
    case CV_OUTPUT_TEXT:
        fprintf(out, "certvet verify: certificates as of %s\n\n", d);
        for (size_t i = 0; i < N_COLUMNS; i++) {
            if (columns[i].right)
                fprintf(out, "%*s  ", columns[i].width - 2, columns[i].name);
            else if (columns[i].width)
                fprintf(out, "%-*s", columns[i].width, columns[i].name);
            else
                fprintf(out, "%s\n", columns[i].name);
        }
        break;
    }
    *r = p;
    return CV_OK;
}

/* Copies 's' for a text cell: control bytes and runs of blanks become one space, and a value
 * longer than 'max' characters is cut (at a UTF-8 character boundary) and ends in "...".
 * Returns the cell's width in characters (UTF-8 continuation bytes take no column). */
static size_t cell(const char *s, char *buf, size_t cap, size_t max)
{
    size_t n = 0, chars = 0, cut = 0, cut_chars = 0;
    int blank = 0;
    if (!s || !*s)
        s = "-";
    for (; *s && n + 4 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        bool cont = (c & 0xC0) == 0x80;
        if (c <= ' ' || c == 0x7f) {
            if (blank || !n)
                continue;
            c = ' ';
            blank = 1;
        } else {
            blank = 0;
        }
        if (!cont) {
            if (chars == max)
                break; /* one character too many: cut */
            if (chars + 3 <= max) {
                cut = n;
                cut_chars = chars;
            }
            chars++;
        }
        buf[n++] = (char)c;
    }
    if (*s) {
        n = cut;
        chars = cut_chars;
        memcpy(buf + n, "...", 3);
        n += 3;
        chars += 3;
    }
    while (n && buf[n - 1] == ' ') {
        n--;
        chars--;
    }
    buf[n] = '\0';
    return chars;
}

static void findings_list(const struct cv_verification *v, char sep, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < v->n_findings; i++) {
        const char *name = cv_finding_code_name(v->findings[i].code);
        size_t l = strlen(name);
        if (n + l + 2 >= cap)
            break;
        if (n)
            buf[n++] = sep;
        memcpy(buf + n, name, l);
        n += l;
    }
    buf[n] = '\0';
}

static void csv_field(FILE *out, const char *s, int last)
{
    if (!s)
        s = "";
    if (strpbrk(s, ",\"\r\n")) {
        fputc('"', out);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', out);
            fputc(*s, out);
        }
        fputc('"', out);
    } else {
        fputs(s, out);
    }
    fputs(last ? "\r\n" : ",", out);
}

static void write_text(struct cv_report *r, const struct cv_verification *v,
                       const struct cv_certificate *c)
{
    char expires[CV_DATE_STRLEN], days[16], findings[1024], text[1100];
    cv_date_format(v->effective_expiry, expires);
    if (v->has_days_to_expiry)
        snprintf(days, sizeof(days), "%d", v->days_to_expiry);
    else
        strcpy(days, "-");
    findings_list(v, ',', findings, sizeof(findings));
    const char *values[N_COLUMNS] = {v->certificate_number,
                                     v->standard,
                                     c->holder_name,
                                     cv_verdict_name(v->verdict),
                                     expires,
                                     days,
                                     findings};
    for (size_t i = 0; i < N_COLUMNS; i++) {
        size_t w = (size_t)columns[i].width;
        size_t chars = cell(values[i], text, sizeof(text), w ? w - 2 : sizeof(text));
        size_t pad = w > chars ? w - chars : 0;
        if (!w)
            fprintf(r->out, "%s\n", text);
        else if (columns[i].right)
            fprintf(r->out, "%*s%s  ", (int)(pad - 2), "", text);
        else
            fprintf(r->out, "%s%*s", text, (int)pad, "");
    }
}

static void write_csv(struct cv_report *r, const struct cv_verification *v,
                      const struct cv_certificate *c, const struct cv_record_loc *loc)
{
    char source[512] = "", expires[CV_DATE_STRLEN], due[CV_DATE_STRLEN], days[16] = "";
    char findings[1024];
    if (loc)
        snprintf(source, sizeof(source), "%s:%ld", loc->source, loc->line);
    cv_date_format(v->effective_expiry, expires);
    cv_date_format(v->surveillance_due, due);
    if (v->has_days_to_expiry)
        snprintf(days, sizeof(days), "%d", v->days_to_expiry);
    findings_list(v, ';', findings, sizeof(findings));
    const char *values[] = {
        source,     v->certificate_number,       v->standard, v->family, c->holder_name,
        c->cb_name, cv_verdict_name(v->verdict), expires,     days,      due,
        findings};
    size_t n = sizeof(values) / sizeof(values[0]);
    for (size_t i = 0; i < n; i++)
        csv_field(r->out, values[i], i + 1 == n);
}

int cv_report_add(struct cv_report *r, const struct cv_verification *v,
                  const struct cv_certificate *c, const struct cv_record_loc *loc)
{
    r->verdicts[v->verdict]++;
    switch (r->fmt) {
    case CV_OUTPUT_JSON: {
        /* Written as text, not built as a tree: the same bytes at a fraction of the cost. */
        cv_buf_clear(&r->line);
        int rc = cv_buf_append(&r->line, r->results ? ",\n" : "\n", r->results ? 2 : 1);
        if (!rc)
            rc = cv_verification_json_append(&r->line, v, c, loc);
        if (rc)
            return rc == CV_ERR_INVALID || rc == CV_ERR_TOO_LARGE ? CV_ERR_NOMEM : rc;
        if (fwrite(r->line.data, 1, r->line.len, r->out) != r->line.len)
            r->io_failed = 1;
        break;
    }
    case CV_OUTPUT_CSV:
        write_csv(r, v, c, loc);
        break;
    case CV_OUTPUT_TEXT:
        write_text(r, v, c);
        break;
    }
    r->results++;
    return ferror(r->out) || r->io_failed ? CV_ERR_IO : CV_OK;
}

/* "file:line", "file[index]" or "file": where a refusal came from. */
static void error_source(const struct cv_record_error *e, char *buf, size_t cap)
{
    if (e->line > 0)
        snprintf(buf, cap, "%s:%ld", e->source, e->line);
    else if (e->index >= 0)
        snprintf(buf, cap, "%s[%ld]", e->source, e->index);
    else
        snprintf(buf, cap, "%s", e->source);
}

void cv_report_error(struct cv_report *r, const struct cv_record_error *e)
{
    char where[600];
    if (e->is_warning)
        r->warnings++;
    else
        r->errors++;
    error_source(e, where, sizeof(where));
    if (r->fmt != CV_OUTPUT_JSON) {
        fprintf(r->err, "%s: %s: %s\n", where, e->is_warning ? "warning" : "refused", e->message);
        return;
    }
    if (json_array_size(r->kept_errors) >= CV_REPORT_ERRORS_KEPT)
        return;
    json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:s}", "source", where, "severity",
                          e->is_warning ? "warning" : "error", "file", e->source, "line",
                          e->line > 0 ? json_integer(e->line) : json_null(), "index",
                          e->index >= 0 ? json_integer(e->index) : json_null(), "field",
                          e->field ? json_string(e->field) : json_null(), "message", e->message);
    if (o)
        json_array_append_new(r->kept_errors, o);
}

int cv_report_finish(struct cv_report *r)
{
    switch (r->fmt) {
    case CV_OUTPUT_JSON: {
        json_t *summary = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "valid",
                                    (json_int_t)r->verdicts[CV_VERDICT_VALID], "warning",
                                    (json_int_t)r->verdicts[CV_VERDICT_WARNING], "unverified",
                                    (json_int_t)r->verdicts[CV_VERDICT_UNVERIFIED], "invalid",
                                    (json_int_t)r->verdicts[CV_VERDICT_INVALID], "errors",
                                    (json_int_t)r->errors, "warnings", (json_int_t)r->warnings);
        fputs("\n],\n\"summary\": ", r->out);
        json_dumpf(summary, r->out, JSON_COMPACT | JSON_PRESERVE_ORDER);
        fputs(",\n\"errors\": ", r->out);
        json_dumpf(r->kept_errors, r->out, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
        fputs("}\n", r->out);
        json_decref(summary);
        break;
    }
    case CV_OUTPUT_CSV:
        break;
    case CV_OUTPUT_TEXT:
        fprintf(r->out,
                "\nsummary: %ld valid, %ld warning, %ld unverified, %ld invalid, %ld errors\n",
                r->verdicts[CV_VERDICT_VALID], r->verdicts[CV_VERDICT_WARNING],
                r->verdicts[CV_VERDICT_UNVERIFIED], r->verdicts[CV_VERDICT_INVALID], r->errors);
        break;
    }
    fflush(r->out);
    return ferror(r->out) ? CV_ERR_IO : CV_OK;
}

void cv_report_counts(const struct cv_report *r, long verdicts[4], long *errors, long *warnings)
{
    memcpy(verdicts, r->verdicts, sizeof(r->verdicts));
    *errors = r->errors;
    *warnings = r->warnings;
}

void cv_report_free(struct cv_report *r)
{
    if (!r)
        return;
    json_decref(r->kept_errors);
    cv_buf_cleanup(&r->line);
    free(r);
}

/* Verification output: one verification as JSON, and streaming reports in text, JSON and CSV. */
#ifndef CERTVET_REPORT_H
#define CERTVET_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "certvet/buf.h"
#include "certvet/reader.h"
#include "certvet/verify.h"

enum cv_output_format {
    CV_OUTPUT_TEXT = 0, /* an aligned table for a terminal */
    CV_OUTPUT_JSON,     /* SPEC 9: {as_of, results, summary, errors} */
    CV_OUTPUT_CSV,      /* one row per certificate */
};

#define CV_REPORT_ERRORS_KEPT 10000 /* JSON keeps this many errors; the rest are only counted */

/* The verification as a JSON object (SPEC 4: certificate_number, standard, family, as_of,
 * verdict, effective_expiry, days_to_expiry, surveillance_due, findings, checks, plus holder,
 * certification_body, supplier_id and, when 'loc' is given, source). New reference; NULL when
 * out of memory. */
json_t *cv_verification_to_json(const struct cv_verification *v, const struct cv_certificate *c,
                                const struct cv_record_loc *loc);

/* The certificate in the canonical JSON shape of SPEC 3.1 (absent fields left out; dates as
 * YYYY-MM-DD). Reading it back with cv_json_to_certificate gives the same certificate. New
 * reference, NULL when out of memory. */
json_t *cv_certificate_to_json(const struct cv_certificate *c);

/* The same two as compact JSON text appended to 'b' (no NUL): byte for byte what
 * json_dumps(JSON_COMPACT | JSON_PRESERVE_ORDER) writes for the objects above, without building
 * them. Returns CV_OK; CV_ERR_INVALID when a string is not UTF-8 or a name is missing (the
 * object functions return NULL then); CV_ERR_TOO_LARGE when 'b' reached its limit;
 * CV_ERR_NOMEM. On error 'b' holds part of the text: the caller drops it. */
int cv_verification_json_append(struct cv_buf *b, const struct cv_verification *v,
                                const struct cv_certificate *c, const struct cv_record_loc *loc);
int cv_certificate_json_append(struct cv_buf *b, const struct cv_certificate *c);

/* One string as a JSON string (quotes included), as json_dumps writes it; same returns. */
int cv_json_string_append(struct cv_buf *b, const char *s);

struct cv_report; /* opaque */

/* Starts a report on 'out'; refusals and warnings in text and CSV reports go to 'err' (JSON
 * reports keep them in "errors"). Returns CV_OK and sets '*r', or CV_ERR_NOMEM. */
int cv_report_new(FILE *out, FILE *err, enum cv_output_format fmt, cv_date as_of,
                  struct cv_report **r);

/* Writes one verification. Returns CV_OK, or CV_ERR_IO when writing failed. */
int cv_report_add(struct cv_report *r, const struct cv_verification *v,
                  const struct cv_certificate *c, const struct cv_record_loc *loc);

/* Records a refused record or a warning. */
void cv_report_error(struct cv_report *r, const struct cv_record_error *e);

/* Writes the summary and closes the document. Returns CV_OK or CV_ERR_IO. */
int cv_report_finish(struct cv_report *r);

/* Counts so far: per verdict (indexed by enum cv_verdict), refused records, warnings. */
void cv_report_counts(const struct cv_report *r, long verdicts[4], long *errors, long *warnings);

void cv_report_free(struct cv_report *r);

/* Parses "text", "json", "csv". Returns CV_OK or CV_ERR_USAGE. */
int cv_output_format_parse(const char *s, enum cv_output_format *out);

#endif

/* Certificate readers: every format streams records into one sink, one record at a time. */
#ifndef CERTVET_READER_H
#define CERTVET_READER_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "certvet/certificate.h"

#define CV_RECORD_MAX_BYTES (1024 * 1024) /* one JSON/XML/CSV record; past it: too large */
#define CV_RECORD_ERROR_MAX 512

enum cv_format {
    CV_FORMAT_AUTO = 0, /* by file name extension, then by first byte */
    CV_FORMAT_JSON,     /* an object, an array of objects, or JSON lines */
    CV_FORMAT_CSV,
    CV_FORMAT_XML,
};

/* Where a record came from, and what was wrong with it. */
struct cv_record_error {
    const char *source; /* file name as given, or "-" */
    long line;          /* 1-based line where the record starts (or the error is), 0 unknown */
    long index;         /* 0-based record index in the source, -1 for a file-level error */
    const char *field;  /* the offending field's name (flat, as in the CSV header), or NULL */
    bool is_warning;    /* nothing was refused (e.g. an unknown CSV column was ignored) */
    char message[CV_RECORD_ERROR_MAX];
};

struct cv_record_loc {
    const char *source;
    long line;  /* 1-based line where the record starts */
    long index; /* 0-based record index */
};

struct cv_reader_sink {
    /* Called with each certificate that passed cv_certificate_check. The certificate is reset
     * by the reader after the call. Return CV_OK to go on, CV_ERR_STOP to stop reading. */
    int (*on_certificate)(void *ctx, struct cv_certificate *cert, const struct cv_record_loc *loc);
    /* Called for each refused record and for file-level errors (index -1). */
    void (*on_error)(void *ctx, const struct cv_record_error *err);
    void *ctx;
    const struct cv_xml_schema *xml_schema; /* for XML input; NULL refuses XML */
};

/* Reads certificates from 'f' (JSON: object, array or JSON lines; streamed, constant memory).
 * 'source' names the input in errors. Returns CV_OK when the input was read to its end (even if
 * some records were refused), CV_ERR_STOP when the sink stopped, or the file-level error, which
 * has also been reported to on_error. */
int cv_json_read_certificates(FILE *f, const char *source, const struct cv_reader_sink *sink);

/* Fills 'cert' (empty, or reset by the caller) from one JSON object in the canonical shape of
 * SPEC 3.1 and runs cv_certificate_check. Returns CV_OK, or CV_ERR_INVALID (or
 * CV_ERR_TOO_LARGE) with '*field' (flat name, static) and a message in 'msg' ('cap'). */
int cv_json_to_certificate(const json_t *o, struct cv_certificate *cert, const char **field,
                           char *msg, size_t cap);

/* Same for CSV (RFC 4180, header row, free column order, BOM tolerated). Unknown columns are
 * reported once as a warning through on_error with index -1 and field set to the column. */
int cv_csv_read_certificates(FILE *f, const char *source, const struct cv_reader_sink *sink);

/* Same for XML (hardened, validated per record against sink->xml_schema). 'path' is read with
 * libxml2's reader; "-" reads standard input. */
int cv_xml_read_certificates(const char *path, const char *source,
                             const struct cv_reader_sink *sink);

/* The same from an open stream (a file, or a request body through fmemopen). */
int cv_xml_read_certificates_stream(FILE *f, const char *source, const struct cv_reader_sink *sink);

/* Opens 'path' ("-" for standard input) and dispatches on 'format' (AUTO: .json/.jsonl/.ndjson,
 * .csv, .xml, else by the first non-blank byte: '{' or '[' JSON, '<' XML, otherwise CSV). */
int cv_read_certificates_file(const char *path, enum cv_format format,
                              const struct cv_reader_sink *sink);

/* Parses "json", "csv", "xml", "auto". Returns CV_OK or CV_ERR_USAGE. */
int cv_format_parse(const char *s, enum cv_format *out);

/* Builds a struct cv_record_error (source, line, index, field, is_warning and the formatted
 * message) and hands it to sink->on_error, if there is one. */
void cv_sink_report(const struct cv_reader_sink *sink, const char *source, long line, long index,
                    const char *field, bool is_warning, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

#endif

/* Dispatch of certificate files to the reader of their format, and shared error helpers. */
#include "certvet/reader.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include "certvet/error.h"

void cv_sink_report(const struct cv_reader_sink *sink, const char *source, long line, long index,
                    const char *field, bool is_warning, const char *fmt, ...)
{
    struct cv_record_error e = {0};
    if (!sink->on_error)
        return;
    e.source = source;
    e.line = line;
    e.index = index;
    e.field = field;
    e.is_warning = is_warning;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.message, sizeof(e.message), fmt, ap);
    va_end(ap);
    sink->on_error(sink->ctx, &e);
}

int cv_format_parse(const char *s, enum cv_format *out)
{
    static const struct {
        const char *name;
        enum cv_format format;
    } names[] = {{"auto", CV_FORMAT_AUTO},
                 {"json", CV_FORMAT_JSON},
                 {"jsonl", CV_FORMAT_JSON},
                 {"csv", CV_FORMAT_CSV},
                 {"xml", CV_FORMAT_XML}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            *out = names[i].format;
            return CV_OK;
        }
    }
    return CV_ERR_USAGE;
}

static enum cv_format by_extension(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (!dot || strchr(dot, '/'))
        return CV_FORMAT_AUTO;
    if (!strcasecmp(dot, ".json") || !strcasecmp(dot, ".jsonl") || !strcasecmp(dot, ".ndjson"))
        return CV_FORMAT_JSON;
    if (!strcasecmp(dot, ".csv"))
        return CV_FORMAT_CSV;
    if (!strcasecmp(dot, ".xml"))
        return CV_FORMAT_XML;
    return CV_FORMAT_AUTO;
}

/* Peeks at the first non-blank byte (after a UTF-8 BOM) and puts everything back. */
static enum cv_format by_content(FILE *f)
{
    unsigned char buf[64];
    size_t n = fread(buf, 1, sizeof(buf), f);
    size_t i = 0;
    if (n >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF)
        i = 3;
    while (i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
        i++;
    enum cv_format fmt = CV_FORMAT_CSV;
    if (i < n && (buf[i] == '{' || buf[i] == '['))
        fmt = CV_FORMAT_JSON;
    else if (i < n && buf[i] == '<')
        fmt = CV_FORMAT_XML;
    rewind(f);
    return fmt;
}

int cv_read_certificates_file(const char *path, enum cv_format format,
                              const struct cv_reader_sink *sink)
{
    bool is_stdin = strcmp(path, "-") == 0;
    if (format == CV_FORMAT_AUTO && !is_stdin)
        format = by_extension(path);
    if (format == CV_FORMAT_XML)
        return cv_xml_read_certificates(path, path, sink);
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        cv_sink_report(sink, path, 0, -1, NULL, false, "cannot open: %s", strerror(errno));
        return CV_ERR_IO;
    }
    int rc;
    if (format == CV_FORMAT_AUTO && is_stdin) {
        /* A pipe cannot be rewound: one byte of look-ahead is what stdio guarantees. */
        int first = getc(f);
        format = first == '<'                                   ? CV_FORMAT_XML
                 : first == '{' || first == '[' || first == EOF ? CV_FORMAT_JSON
                                                                : CV_FORMAT_CSV;
        if (first != EOF)
            ungetc(first, f);
    } else if (format == CV_FORMAT_AUTO) {
        format = by_content(f);
    }
    if (format == CV_FORMAT_XML)
        rc = cv_xml_read_certificates_stream(f, path, sink);
    else if (format == CV_FORMAT_CSV)
        rc = cv_csv_read_certificates(f, path, sink);
    else
        rc = cv_json_read_certificates(f, path, sink);
    if (!is_stdin)
        fclose(f);
    return rc;
}

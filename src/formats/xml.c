/* The XML adapter, the only module that includes libxml2: certificate files are streamed one
 * <certificate> subtree at a time and validated against config/certificate.xsd; listing documents
 * are read whole and validated against config/listing.xsd. DTDs, entities and network access are
 * refused everywhere, and libxml2's errors are turned into ours (it prints nothing itself). */

#include "certvet/xml.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlreader.h>
#include <libxml/xmlschemas.h>

#include "certvet/bodies.h"
#include "certvet/certificate.h"
#include "certvet/date.h"
#include "certvet/error.h"
#include "certvet/reader.h"
#include "certvet/standards.h"

#define CV_XML_LISTING_MAX_BYTES (64 * 1024 * 1024) /* a listing document, parsed whole */
#define CV_XML_SCHEMA_MAX_BYTES  (1024 * 1024)      /* one XSD file of config/ */
#define CV_XML_MAX_DEPTH         16 /* element nesting under a record or listing; formats need 6 */
#define CV_XML_CERT_ARENA_LIMIT  (2 * CV_RECORD_MAX_BYTES) /* strings of one mapped record */

/* Every document is parsed with these: no network, no DTD loading or DTD validation, and entities
 * never substituted (XML_PARSE_NOENT, DTDLOAD, DTDATTR and DTDVALID are never set; libxml2 2.9
 * has no XML_PARSE_NO_XXE). CDATA arrives as text; libxml2's own error printing is off, errors
 * reach our structured handlers instead; line numbers past 65535 are kept. A document with a
 * DOCTYPE is refused before any of its content is used. */
#define CV_XML_OPTIONS                                                                             \
    (XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |               \
     XML_PARSE_BIG_LINES)

#define DOCTYPE_REFUSED                                                                            \
    "DOCTYPE declarations are not accepted (DTDs and entities are refused: "                       \
    "XXE/billion-laughs protection)"

struct cv_xml_schema {
    xmlDocPtr cert_doc, listing_doc; /* the parsed XSD documents, kept while the schemas live */
    xmlSchemaPtr cert, listing;      /* read-only once compiled: shared by threads */
};

/* The first error libxml2 reported during one operation. Validity errors that only say a
 * required child is missing are kept apart: certvet's own checks name the field better. */
struct xml_error {
    bool set;        /* 'code', 'message'... hold the first error */
    bool missing;    /* a "Missing child element(s)" validity error was seen */
    int code;        /* xmlParserErrors */
    int line;        /* 0 when unknown */
    xmlNodePtr node; /* validity errors: the element at fault; NULL otherwise */
    xmlNodePtr missing_node;
    char attr[64]; /* validity errors on an attribute: its name, else "" */
    char message[CV_RECORD_ERROR_MAX];
    char missing_message[CV_RECORD_ERROR_MAX];
};

/* libxml2's error hooks of the calling thread, saved while we replace them. */
struct error_scope {
    xmlStructuredErrorFunc serror;
    void *serror_ctx;
    xmlGenericErrorFunc generic;
    void *generic_ctx;
};

static once_flag init_once = ONCE_FLAG_INIT;

static void init_libxml(void)
{
    xmlInitParser();
}

static void xml_init(void)
{
    call_once(&init_once, init_libxml);
}

/* Copies 'src' into 'dst' on one line of printable text, without the newline that ends
 * libxml2's messages. */
static void copy_message(char *dst, size_t cap, const char *src)
{
    size_t n;

    snprintf(dst, cap, "%s", src ? src : "unknown error");
    n = strlen(dst);
    while (n > 0 && (dst[n - 1] == '\n' || dst[n - 1] == ' ' || dst[n - 1] == '\r'))
        dst[--n] = '\0';
    for (char *p = dst; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' '; /* line breaks, and control bytes quoted from the input */
}

/* Finds the text between 'open' and the next 'close' in 'm'. */
static bool between(const char *m, const char *open, const char *close, const char **out, int *len)
{
    const char *a = strstr(m, open), *b;

    if (a == NULL)
        return false;
    a += strlen(open);
    b = strstr(a, close);
    if (b == NULL)
        return false;
    *out = a;
    *len = (int)(b - a);
    return true;
}

/* libxml2's structured error handler: keeps the first error in 'ctx', a struct xml_error.
 * Warnings are dropped. */
static void capture_error(void *ctx, xmlErrorPtr e)
{
    struct xml_error *x = ctx;
    const char *attr;
    int len;

    if (x == NULL || e == NULL || e->level < XML_ERR_ERROR)
        return;
    if (e->domain == XML_FROM_SCHEMASV && e->message != NULL &&
        strstr(e->message, "Missing child element") != NULL) {
        if (!x->missing) {
            x->missing = true;
            x->missing_node = e->node;
            copy_message(x->missing_message, sizeof x->missing_message, e->message);
        }
        return;
    }
    if (x->set)
        return;
    x->set = true;
    x->code = e->code;
    x->line = e->line;
    x->node = e->domain == XML_FROM_SCHEMASV ? e->node : NULL;
    copy_message(x->message, sizeof x->message, e->message);
    /* "Element 'audit', attribute 'type': ..." names the attribute only in the text. */
    if (x->node != NULL && strncmp(x->message, "Element '", 9) == 0 &&
        between(x->message, "', attribute '", "'", &attr, &len))
        snprintf(x->attr, sizeof x->attr, "%.*s", len, attr);
}

static void ignore_generic(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

/* Routes this thread's libxml2 errors into 'sink' until error_scope_end. */
static void error_scope_begin(struct error_scope *s, struct xml_error *sink)
{
    s->serror = xmlStructuredError;
    s->serror_ctx = xmlStructuredErrorContext;
    s->generic = xmlGenericError;
    s->generic_ctx = xmlGenericErrorContext;
    xmlSetStructuredErrorFunc(sink, capture_error);
    xmlSetGenericErrorFunc(NULL, ignore_generic);
}

static void error_scope_end(const struct error_scope *s)
{
    xmlSetStructuredErrorFunc(s->serror_ctx, s->serror);
    xmlSetGenericErrorFunc(s->generic_ctx, s->generic);
}

static bool is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && is_blank((unsigned char)**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && is_blank((unsigned char)(*s)[*len - 1]))
        (*len)--;
}

static bool is_element(const xmlNode *n, const char *name)
{
    return n != NULL && n->type == XML_ELEMENT_NODE && n->ns == NULL &&
           strcmp((const char *)n->name, name) == 0;
}

/* The text of element 'el', trimmed. Returns a pointer into the tree or into '*owned' (free it
 * with xmlFree), or NULL when out of memory. */
static const char *text_of(const xmlNode *el, size_t *len, xmlChar **owned)
{
    const xmlNode *c = el->children;
    const char *s;

    *owned = NULL;
    if (c == NULL) {
        s = "";
    } else if (c->next == NULL && c->type == XML_TEXT_NODE && c->content != NULL) {
        s = (const char *)c->content;
    } else {
        *owned = xmlNodeGetContent(el);
        if (*owned == NULL)
            return NULL;
        s = (const char *)*owned;
    }
    *len = strlen(s);
    trim(&s, len);
    return s;
}

/* The value of attribute 'name' (no namespace) of 'el', trimmed, as text_of. Absent: "". */
static const char *attr_of(const xmlNode *el, const char *name, size_t *len, xmlChar **owned)
{
    const char *s = "";

    *owned = NULL;
    for (const xmlAttr *a = el->properties; a != NULL; a = a->next) {
        if (a->ns != NULL || strcmp((const char *)a->name, name) != 0)
            continue;
        if (a->children != NULL && a->children->next == NULL &&
            a->children->type == XML_TEXT_NODE && a->children->content != NULL) {
            s = (const char *)a->children->content;
        } else if (a->children != NULL) {
            *owned = xmlNodeListGetString(el->doc, a->children, 1);
            if (*owned == NULL)
                return NULL;
            s = (const char *)*owned;
        }
        break;
    }
    *len = strlen(s);
    trim(&s, len);
    return s;
}

/* A malloc'd, trimmed copy of the text of 'el' in '*out', or NULL when it is empty. */
static int dup_text(const xmlNode *el, char **out)
{
    xmlChar *owned;
    size_t len;
    const char *s = text_of(el, &len, &owned);
    int rc = CV_OK;

    *out = NULL;
    if (s == NULL)
        return CV_ERR_NOMEM;
    if (len > 0) {
        *out = strndup(s, len);
        if (*out == NULL)
            rc = CV_ERR_NOMEM;
    }
    xmlFree(owned);
    return rc;
}

/* True when an element under 'root' is nested deeper than 'max' levels below it. */
static bool too_deep(const xmlNode *root, int max)
{
    const xmlNode *n = root->children;
    int depth = 1;

    while (n != NULL) {
        if (n->type == XML_ELEMENT_NODE && depth > max)
            return true;
        if (n->type == XML_ELEMENT_NODE && n->children != NULL) {
            n = n->children;
            depth++;
            continue;
        }
        while (n != NULL && n->next == NULL) {
            n = n->parent;
            depth--;
            if (n == root)
                return false;
        }
        if (n != NULL)
            n = n->next;
    }
    return false;
}

/* Turns libxml2's validity message into ours: "Element 'x': [facet 'pattern'] The value..."
 * loses the element (the field names it) and the facet, and the errors our schemas can raise get
 * plain words. 'node' is the element at fault, or NULL. */
static void describe_validity(const char *message, int code, const xmlNode *node, char *out,
                              size_t cap)
{
    const char *m = message, *p, *v, *set;
    char values[256];
    int len, set_len;
    size_t n = 0;

    p = strstr(m, "': ");
    if (strncmp(m, "Element '", 9) == 0 && p != NULL)
        m = p + 3;
    p = strstr(m, "'] ");
    if (strncmp(m, "[facet '", 8) == 0 && p != NULL)
        m = p + 3;
    if (code == XML_SCHEMAV_ELEMENT_CONTENT && strstr(m, "not expected") != NULL && node != NULL &&
        node->type == XML_ELEMENT_NODE) {
        snprintf(out, cap, "unexpected element <%s> (not in the format, or given twice)",
                 (const char *)node->name);
        return;
    }
    /* Every pattern in our schemas is a date. */
    if (code == XML_SCHEMAV_CVC_PATTERN_VALID &&
        between(m, "The value '", "' is not accepted", &v, &len)) {
        snprintf(out, cap, "'%.*s' is not a date (expected YYYY-MM-DD or YYYYMMDD)",
                 len > 64 ? 64 : len, v);
        return;
    }
    if (code == XML_SCHEMAV_CVC_ENUMERATION_VALID &&
        between(m, "The value '", "' is not an element", &v, &len) &&
        between(m, "{", "}", &set, &set_len)) {
        for (int i = 0; i < set_len && n + 1 < sizeof values; i++)
            if (set[i] != '\'')
                values[n++] = set[i];
        values[n] = '\0';
        snprintf(out, cap, "'%.*s' is not one of %s", len > 64 ? 64 : len, v, values);
        return;
    }
    if (code == XML_SCHEMAV_CVC_MAXLENGTH_VALID &&
        between(m, "maximum length of '", "'", &v, &len)) {
        snprintf(out, cap, "longer than %.*s characters", len > 16 ? 16 : len, v);
        return;
    }
    if (code == XML_SCHEMAV_CVC_MINLENGTH_VALID) {
        snprintf(out, cap, "must not be empty");
        return;
    }
    if (strstr(m, "type definition is simple") != NULL) {
        snprintf(out, cap, "must hold text only, not elements");
        return;
    }
    snprintf(out, cap, "%s", m);
}

/* ---------------------------------------------------------------------------------------------
 * Hardened whole-document parsing (listings and the XSDs themselves)
 */

/* libxml2's own limits (nesting 256 deep, 10 MB text nodes...) tell users to set
 * XML_PARSE_HUGE, which they cannot do: cuts that advice from 'message'. True when it was there. */
static bool past_parser_limit(char *message)
{
    char *p = strstr(message, "use XML_PARSE_HUGE option");

    if (p == NULL)
        return false;
    while (p > message && (p[-1] == ' ' || p[-1] == ',' || p[-1] == ':'))
        p--;
    *p = '\0';
    return true;
}

/* SAX hook: the parser met a DOCTYPE. Stop at once, before any declaration is read. */
static void stop_at_doctype(void *ctx, const xmlChar *name, const xmlChar *external_id,
                            const xmlChar *system_id)
{
    xmlParserCtxtPtr ctxt = ctx;

    (void)name;
    (void)external_id;
    (void)system_id;
    xmlStopParser(ctxt);
    ctxt->errNo = XML_ERR_USER_STOP;
}

/* Parses 'len' bytes of 'buf' ('name' labels errors) into '*out' (free with xmlFreeDoc).
 * Returns CV_OK, CV_ERR_HOSTILE for a DOCTYPE, CV_ERR_PARSE with libxml2's first error in
 * 'perr', CV_ERR_TOO_LARGE or CV_ERR_NOMEM. */
static int parse_document(const char *buf, size_t len, const char *name, xmlDocPtr *out,
                          struct xml_error *perr)
{
    xmlParserCtxtPtr ctxt = NULL;
    xmlDocPtr doc = NULL;
    int rc = CV_OK;

    *out = NULL;
    if (len > INT_MAX) {
        rc = CV_ERR_TOO_LARGE;
        goto out;
    }
    ctxt = xmlNewParserCtxt();
    if (ctxt == NULL) {
        rc = CV_ERR_NOMEM;
        goto out;
    }
    ctxt->sax->internalSubset = stop_at_doctype;
    ctxt->sax->externalSubset = NULL;
    doc = xmlCtxtReadMemory(ctxt, buf, (int)len, name, NULL, CV_XML_OPTIONS);
    if (ctxt->errNo == XML_ERR_USER_STOP ||
        (doc != NULL && (doc->intSubset != NULL || doc->extSubset != NULL))) {
        rc = CV_ERR_HOSTILE;
        goto out;
    }
    if (doc == NULL || !ctxt->wellFormed) {
        rc = ctxt->errNo == XML_ERR_NO_MEMORY ? CV_ERR_NOMEM : CV_ERR_PARSE;
        goto out;
    }
    *out = doc;
    doc = NULL;
out:
    if (rc == CV_ERR_PARSE && !perr->set) {
        perr->set = true;
        copy_message(perr->message, sizeof perr->message, "not well-formed XML");
    }
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    return rc;
}

/* Reads the whole of 'path' ("-": standard input) into '*buf' (malloc'd, NUL-terminated) unless
 * it is longer than 'limit'. Writes the reason into 'err' on failure. */
static int read_file(const char *path, size_t limit, char **buf, size_t *len, char *err, size_t cap)
{
    FILE *f = NULL;
    char *data = NULL, *grown;
    size_t size = 0, alloc = 0, n;
    int rc = CV_OK;

    *buf = NULL;
    *len = 0;
    f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, cap, "%s: cannot open: %s", path, strerror(errno));
        rc = CV_ERR_IO;
        goto out;
    }
    for (;;) {
        if (alloc - size < 65536) {
            alloc = alloc ? alloc * 2 : 65536 + 1;
            grown = realloc(data, alloc);
            if (grown == NULL) {
                rc = CV_ERR_NOMEM;
                goto out;
            }
            data = grown;
        }
        n = fread(data + size, 1, alloc - size - 1, f);
        size += n;
        if (size > limit) {
            snprintf(err, cap, "%s: larger than the limit of %zu bytes", path, limit);
            rc = CV_ERR_TOO_LARGE;
            goto out;
        }
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        snprintf(err, cap, "%s: read error: %s", path, strerror(errno));
        rc = CV_ERR_IO;
        goto out;
    }
    data[size] = '\0';
    *buf = data;
    *len = size;
    data = NULL;
out:
    if (f != NULL && f != stdin)
        fclose(f);
    free(data);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Schemas
 */

static int compile_schema(const char *path, xmlDocPtr *doc, xmlSchemaPtr *out, char *err,
                          size_t cap)
{
    struct xml_error e = {0};
    struct error_scope scope;
    xmlSchemaParserCtxtPtr pctxt = NULL;
    char *buf = NULL;
    size_t len;
    int rc;

    error_scope_begin(&scope, &e);
    rc = read_file(path, CV_XML_SCHEMA_MAX_BYTES, &buf, &len, err, cap);
    if (rc)
        goto out;
    rc = parse_document(buf, len, path, doc, &e);
    if (rc == CV_ERR_HOSTILE)
        snprintf(err, cap, "%s: %s", path, DOCTYPE_REFUSED);
    if (rc == CV_ERR_PARSE)
        snprintf(err, cap, "%s:%d: %s", path, e.line, e.message);
    if (rc)
        goto out;
    pctxt = xmlSchemaNewDocParserCtxt(*doc);
    if (pctxt == NULL) {
        rc = CV_ERR_NOMEM;
        goto out;
    }
    xmlSchemaSetParserStructuredErrors(pctxt, capture_error, &e);
    *out = xmlSchemaParse(pctxt);
    if (*out == NULL) {
        snprintf(err, cap, "%s:%d: not a usable XML schema: %s", path, e.line,
                 e.set ? e.message : "unknown error");
        rc = CV_ERR_INVALID;
        goto out;
    }
out:
    if (rc == CV_ERR_NOMEM)
        snprintf(err, cap, "%s: out of memory", path);
    xmlSchemaFreeParserCtxt(pctxt);
    free(buf);
    error_scope_end(&scope);
    return rc;
}

int cv_xml_schema_new(const char *certificate_xsd, const char *listing_xsd,
                      struct cv_xml_schema **out, char *err, size_t cap)
{
    struct cv_xml_schema *s;
    char ignored[1];
    int rc;

    if (err == NULL || cap == 0) {
        err = ignored;
        cap = sizeof ignored;
    }
    err[0] = '\0';
    *out = NULL;
    xml_init();
    s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(err, cap, "out of memory");
        return CV_ERR_NOMEM;
    }
    rc = compile_schema(certificate_xsd, &s->cert_doc, &s->cert, err, cap);
    if (rc)
        goto out;
    rc = compile_schema(listing_xsd, &s->listing_doc, &s->listing, err, cap);
    if (rc)
        goto out;
    *out = s;
    s = NULL;
out:
    cv_xml_schema_free(s);
    return rc;
}

void cv_xml_schema_free(struct cv_xml_schema *s)
{
    if (s == NULL)
        return;
    xmlSchemaFree(s->cert);
    xmlSchemaFree(s->listing);
    xmlFreeDoc(s->cert_doc);
    xmlFreeDoc(s->listing_doc);
    free(s);
}

/* ---------------------------------------------------------------------------------------------
 * Certificates, streamed
 */

/* The byte source of a certificate stream. Counts what libxml2 pulls so that no record (nor the
 * text between two records) can make the parser buffer more than CV_RECORD_MAX_BYTES. */
struct xml_input {
    FILE *f;
    unsigned long long consumed; /* bytes handed to libxml2 so far */
    unsigned long long mark;     /* 'consumed' at the last record boundary */
    bool too_large;              /* the read was refused: past CV_RECORD_MAX_BYTES */
    bool io_error;
    int io_errno;
};

struct xml_stream {
    const struct cv_reader_sink *sink;
    const char *source;
    struct xml_input in;
    xmlTextReaderPtr reader;
    xmlSchemaValidCtxtPtr vctxt;
    struct xml_error perr; /* the parser's first error */
    struct xml_error verr; /* the current record's first validity error */
    struct cv_certificate cert;
    long index;     /* of the next record */
    char field[96]; /* field named by the last record error, when not a static string */
};

static int input_read(void *ctx, char *buf, int len)
{
    struct xml_input *in = ctx;
    size_t n;

    if (in->consumed - in->mark > CV_RECORD_MAX_BYTES) {
        in->too_large = true;
        return -1;
    }
    n = fread(buf, 1, (size_t)len, in->f);
    if (n == 0 && ferror(in->f)) {
        in->io_error = true;
        in->io_errno = errno;
        return -1;
    }
    in->consumed += n;
    return (int)n;
}

/* Reports one refused record (index >= 0), a file-level error (index -1) or a warning. */
#define report(x, warning, line, index, field, ...)                                                \
    cv_sink_report((x)->sink, (x)->source, (line), (index), (field), (warning), __VA_ARGS__)

/* The line of 'n' (its start tag), 0 when unknown. With XML_PARSE_BIG_LINES libxml2 keeps lines
 * past 65535 on text nodes only, so there the start tag's line is found from the first text
 * inside, less the line breaks that text holds. */
static long node_line(const xmlNode *n)
{
    const xmlNode *t = n;
    long line;

    if (n->line < 65535)
        return n->line;
    while (t != NULL && t->type == XML_ELEMENT_NODE)
        t = t->children;
    if (t == NULL || t->type != XML_TEXT_NODE || t->psvi == NULL)
        return xmlGetLineNo(n) > 0 ? xmlGetLineNo(n) : 0;
    line = (long)(ptrdiff_t)t->psvi;
    for (const xmlChar *c = t->content; c != NULL && *c; c++)
        if (*c == '\n')
            line--;
    return line > 0 ? line : 0;
}

/* Appends 'sep' (unless at the start) and 's' to the string of 'used' bytes in 'buf', cutting
 * at 'cap'. Returns the new length. */
static size_t append(char *buf, size_t cap, size_t used, const char *sep, const char *s)
{
    size_t n;

    if (used > 0 && used + 1 < cap)
        buf[used++] = *sep;
    n = strlen(s);
    if (n > cap - 1 - used)
        n = cap - 1 - used;
    memcpy(buf + used, s, n);
    used += n;
    buf[used] = '\0';
    return used;
}

/* Nested elements whose flat name (as in the CSV header) is not their own. */
static const struct {
    const char *path;
    const char *field;
} nested_fields[] = {
    {"holder/name", "holder_name"},
    {"holder/country", "holder_country"},
    {"holder/identifiers/vat", "holder_vat"},
    {"holder/identifiers/duns", "holder_duns"},
    {"holder/identifiers/registration", "holder_registration"},
    {"certification_body/name", "certification_body"},
    {"certification_body/id", "certification_body_id"},
    {"certification_body/accreditation_number", "accreditation_number"},
};

/* Writes the flat field name of 'n' (an element inside the record 'rec'), or of its attribute
 * 'attr' (may be NULL), into 'buf': holder/name is holder_name, sites/site/name is sites.name,
 * audits/audit@type is audits.type, an unknown holder/colour is holder.colour. Returns NULL for
 * 'rec' itself. */
static const char *field_of(const xmlNode *rec, const xmlNode *n, const char *attr, char *buf,
                            size_t cap)
{
    const xmlNode *chain[CV_XML_MAX_DEPTH + 2];
    char path[256];
    size_t depth = 0, used = 0;

    if (attr != NULL && attr[0] == '\0')
        attr = NULL;
    if (n != NULL && n->parent == rec && attr == NULL)
        return (const char *)n->name; /* the common case: a top-level field */
    for (; n != NULL && n != rec && depth < sizeof chain / sizeof chain[0]; n = n->parent)
        chain[depth++] = n;
    if (n != rec || (depth == 0 && attr == NULL))
        return NULL;
    for (size_t i = depth; i-- > 0;)
        used = append(path, sizeof path, used, "/", (const char *)chain[i]->name);
    for (size_t i = 0; attr == NULL && i < sizeof nested_fields / sizeof nested_fields[0]; i++)
        if (strcmp(path, nested_fields[i].path) == 0)
            return nested_fields[i].field;
    /* Lists: the item level is dropped (sites/site/name -> sites.name). */
    used = 0;
    buf[0] = '\0';
    for (size_t i = depth; i-- > 0;) {
        bool item = i + 2 == depth &&
                    (is_element(chain[i + 1], "sites") || is_element(chain[i + 1], "sectors") ||
                     is_element(chain[i + 1], "audits"));
        if (!item)
            used = append(buf, cap, used, ".", (const char *)chain[i]->name);
    }
    if (attr != NULL)
        append(buf, cap, used, ".", attr);
    return buf;
}

/* Sets the field of the leaf element 'el' of record 'rec' from its text. */
static int set_leaf(struct xml_stream *x, const xmlNode *rec, const xmlNode *el, const char **field,
                    char *msg, size_t cap)
{
    const char *name = field_of(rec, el, NULL, x->field, sizeof x->field);
    xmlChar *owned = NULL;
    size_t len;
    const char *s;
    int rc;

    if (name == NULL) {
        snprintf(msg, cap, "%s: unexpected element", (const char *)el->name);
        *field = (const char *)el->name;
        return CV_ERR_INVALID;
    }
    s = text_of(el, &len, &owned);
    if (s == NULL)
        return CV_ERR_NOMEM;
    rc = cv_certificate_set_text(&x->cert, name, s, len, msg, cap);
    xmlFree(owned);
    if (rc == CV_ERR_NOT_FOUND) {
        snprintf(msg, cap, "%s: unexpected element <%s> (not in the certificate format)", name,
                 (const char *)el->name);
        rc = CV_ERR_INVALID;
    }
    if (rc)
        *field = name;
    return rc;
}

/* <holder>, <identifiers>, <certification_body>: groups of leaves. */
static int map_group(struct xml_stream *x, const xmlNode *rec, const xmlNode *group,
                     const char **field, char *msg, size_t cap)
{
    int rc = CV_OK;

    for (const xmlNode *c = group->children; c != NULL && rc == CV_OK; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (is_element(c, "identifiers"))
            rc = map_group(x, rec, c, field, msg, cap);
        else
            rc = set_leaf(x, rec, c, field, msg, cap);
    }
    return rc;
}

static int map_site(struct xml_stream *x, const xmlNode *site)
{
    static const char *const parts[] = {"name", "address", "country", "scope"};
    char *v[4] = {NULL, NULL, NULL, NULL};
    int rc = CV_OK;

    for (const xmlNode *c = site->children; c != NULL && rc == CV_OK; c = c->next)
        for (size_t i = 0; i < 4; i++)
            if (is_element(c, parts[i]) && v[i] == NULL)
                rc = dup_text(c, &v[i]);
    if (rc == CV_OK)
        rc = cv_certificate_add_site(&x->cert, v[0], v[1], v[2], v[3]);
    for (size_t i = 0; i < 4; i++)
        free(v[i]);
    return rc;
}

static int map_list(struct xml_stream *x, const xmlNode *list, const char **field, char *msg,
                    size_t cap)
{
    xmlChar *o1 = NULL, *o2 = NULL;
    const char *s1, *s2;
    size_t n1, n2;
    int rc = CV_OK;

    for (const xmlNode *c = list->children; c != NULL && rc == CV_OK; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (is_element(c, "site")) {
            rc = map_site(x, c);
            if (rc)
                *field = "sites";
        } else if (is_element(c, "sector")) {
            s1 = text_of(c, &n1, &o1);
            rc = s1 == NULL ? CV_ERR_NOMEM : cv_certificate_add_sector(&x->cert, s1, n1);
            if (rc)
                *field = "sectors";
        } else if (is_element(c, "audit")) {
            s1 = attr_of(c, "type", &n1, &o1);
            s2 = attr_of(c, "date", &n2, &o2);
            if (s1 == NULL || s2 == NULL)
                rc = CV_ERR_NOMEM;
            else
                rc = cv_certificate_add_audit(&x->cert, s1, n1, s2, n2, field, msg, cap);
        } else {
            snprintf(msg, cap, "%s: unexpected element <%s>", (const char *)list->name,
                     (const char *)c->name);
            *field = (const char *)list->name;
            rc = CV_ERR_INVALID;
        }
        xmlFree(o1);
        xmlFree(o2);
        o1 = o2 = NULL;
    }
    if (rc == CV_ERR_TOO_LARGE)
        snprintf(msg, cap, "%s: record too large", (const char *)list->name);
    return rc;
}

/* Fills x->cert from the validated <certificate> element 'rec'. */
static int map_certificate(struct xml_stream *x, const xmlNode *rec, const char **field, char *msg,
                           size_t cap)
{
    int rc = CV_OK;

    for (const xmlNode *c = rec->children; c != NULL && rc == CV_OK; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (is_element(c, "holder") || is_element(c, "certification_body"))
            rc = map_group(x, rec, c, field, msg, cap);
        else if (is_element(c, "sites") || is_element(c, "sectors") || is_element(c, "audits"))
            rc = map_list(x, c, field, msg, cap);
        else
            rc = set_leaf(x, rec, c, field, msg, cap);
    }
    return rc;
}

/* Why the reader stopped: a refused read, a DOCTYPE, or a well-formedness error. Reports it as
 * a file-level error and returns it. */
static int stream_failure(struct xml_stream *x)
{
    xmlDocPtr doc;
    long line = x->perr.line > 0 ? x->perr.line : xmlTextReaderGetParserLineNumber(x->reader);
    bool doctype;

    if (x->in.too_large) {
        report(x, false, line, -1, NULL,
               "record %ld is larger than the limit of %d bytes (CV_RECORD_MAX_BYTES)",
               x->index > 0 ? x->index - 1 : 0, CV_RECORD_MAX_BYTES);
        return CV_ERR_TOO_LARGE;
    }
    if (x->in.io_error) {
        report(x, false, line, -1, NULL, "read error: %s", strerror(x->in.io_errno));
        return CV_ERR_IO;
    }
    /* The parser may trip on an entity before the reader hands us the DOCTYPE node. Asking for
     * the document makes the reader keep it: it is freed here. */
    doc = xmlTextReaderCurrentDoc(x->reader);
    doctype = doc != NULL && (doc->intSubset != NULL || doc->extSubset != NULL);
    xmlFreeTextReader(x->reader);
    x->reader = NULL;
    xmlFreeDoc(doc);
    if (doctype) {
        report(x, false, 0, -1, NULL, DOCTYPE_REFUSED);
        return CV_ERR_HOSTILE;
    }
    if (past_parser_limit(x->perr.message)) {
        report(x, false, line, -1, NULL, "input exceeds the XML parser's limits: %s",
               x->perr.message);
        return CV_ERR_TOO_LARGE;
    }
    if (x->perr.code == XML_ERR_NO_MEMORY) {
        report(x, false, line, -1, NULL, "out of memory");
        return CV_ERR_NOMEM;
    }
    report(x, false, line, -1, NULL, "not well-formed XML: %s",
           x->perr.set ? x->perr.message : "unknown error");
    return CV_ERR_PARSE;
}

/* Validates, maps and checks the record whose start tag the reader is on, then hands it to the
 * sink. Refused records are reported and CV_OK returned; other errors stop the file. */
static int read_record(struct xml_stream *x)
{
    const struct cv_reader_sink *sink = x->sink;
    struct cv_record_loc loc;
    char msg[CV_RECORD_ERROR_MAX];
    const char *field = NULL;
    long index = x->index++;
    xmlNodePtr rec;
    long line;
    int valid, rc;

    x->in.mark = x->in.consumed;
    rec = xmlTextReaderExpand(x->reader);
    if (rec == NULL)
        return stream_failure(x);
    line = node_line(rec);
    if (!is_element(rec, "certificate")) {
        report(x, false, line, index, NULL,
               "<%s>: unexpected element, only <certificate> records are allowed here",
               (const char *)rec->name);
        return CV_OK;
    }
    if (too_deep(rec, CV_XML_MAX_DEPTH)) {
        report(x, false, line, index, NULL, "certificate: elements nested deeper than %d levels",
               CV_XML_MAX_DEPTH);
        return CV_OK;
    }
    memset(&x->verr, 0, sizeof x->verr);
    valid = xmlSchemaValidateOneElement(x->vctxt, rec);
    if (valid < 0) {
        report(x, false, line, -1, NULL, "record %ld could not be validated (libxml2 error %d)",
               index, valid);
        return CV_ERR_NOMEM;
    }
    if (valid > 0 && x->verr.set) {
        describe_validity(x->verr.message, x->verr.code, x->verr.node, msg, sizeof msg);
        field = field_of(rec, x->verr.node, x->verr.attr, x->field, sizeof x->field);
        report(x, false, line, index, field, "%s%s%s", field ? field : "", field ? ": " : "", msg);
        return CV_OK;
    }
    /* Valid, or only a required element missing: the checks below name it best. */
    cv_certificate_reset(&x->cert);
    rc = map_certificate(x, rec, &field, msg, sizeof msg);
    if (rc == CV_ERR_NOMEM) {
        report(x, false, line, -1, NULL, "out of memory");
        return rc;
    }
    if (rc == CV_OK)
        rc = cv_certificate_check(&x->cert, &field, msg, sizeof msg);
    if (rc == CV_OK && valid > 0) {
        describe_validity(x->verr.missing_message, XML_SCHEMAV_ELEMENT_CONTENT, NULL, msg,
                          sizeof msg);
        field = field_of(rec, x->verr.missing_node, NULL, x->field, sizeof x->field);
        report(x, false, line, index, field, "%s: %s", field ? field : "certificate", msg);
        cv_certificate_reset(&x->cert);
        return CV_OK;
    }
    if (rc) {
        report(x, false, line, index, field, "%s", msg);
        cv_certificate_reset(&x->cert);
        return CV_OK;
    }
    loc.source = x->source;
    loc.line = line;
    loc.index = index;
    rc = sink->on_certificate != NULL ? sink->on_certificate(sink->ctx, &x->cert, &loc) : CV_OK;
    cv_certificate_reset(&x->cert);
    return rc;
}

/* The line of the reader's current node (not the parser's, which reads ahead). */
static long reader_line(xmlTextReaderPtr r)
{
    const xmlNode *n = xmlTextReaderCurrentNode(r);

    return n != NULL ? node_line(n) : 0;
}

/* Walks the document: the root is <certificates> (records are its child elements) or a single
 * <certificate>. */
static void report_open_error(const struct cv_reader_sink *sink, const char *source,
                              const char *path, int err)
{
    cv_sink_report(sink, source, 0, -1, NULL, false, "cannot open %s: %s", path, strerror(err));
}

static int stream_records(struct xml_stream *x)
{
    xmlTextReaderPtr r = x->reader;
    bool in_list = false, skip;
    int ret, type, depth, rc;
    const xmlChar *name;

    ret = xmlTextReaderRead(r);
    while (ret == 1) {
        type = xmlTextReaderNodeType(r);
        depth = xmlTextReaderDepth(r);
        skip = false;
        if (type == XML_READER_TYPE_DOCUMENT_TYPE || type == XML_READER_TYPE_ENTITY_REFERENCE ||
            type == XML_READER_TYPE_ENTITY || type == XML_READER_TYPE_NOTATION) {
            report(x, false, 0, -1, NULL, DOCTYPE_REFUSED);
            return CV_ERR_HOSTILE;
        }
        if (type == XML_READER_TYPE_ELEMENT && depth == 0) {
            name = xmlTextReaderConstLocalName(r);
            if (xmlTextReaderConstNamespaceUri(r) != NULL) {
                report(x, false, reader_line(r), -1, NULL,
                       "the root element is in a namespace: the certificate format has "
                       "none (expected <certificates> or <certificate>)");
                return CV_ERR_INVALID;
            }
            if (name != NULL && strcmp((const char *)name, "certificates") == 0) {
                in_list = true;
            } else if (name != NULL && strcmp((const char *)name, "certificate") == 0) {
                rc = read_record(x);
                if (rc)
                    return rc;
                skip = true;
            } else {
                report(x, false, reader_line(r), -1, NULL,
                       "the root element must be <certificates> or <certificate>, not <%s>",
                       name != NULL ? (const char *)name : "?");
                return CV_ERR_INVALID;
            }
        } else if (type == XML_READER_TYPE_ELEMENT && depth == 1 && in_list) {
            rc = read_record(x);
            if (rc)
                return rc;
            skip = true;
        } else if ((type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA) && depth == 1 &&
                   in_list) {
            report(x, true, reader_line(r), -1, NULL, "text outside any <certificate> is ignored");
        }
        ret = skip ? xmlTextReaderNext(r) : xmlTextReaderRead(r);
        if (skip)
            x->in.mark = x->in.consumed;
    }
    if (ret < 0)
        return stream_failure(x);
    return CV_OK;
}

int cv_xml_read_certificates_stream(FILE *f, const char *source, const struct cv_reader_sink *sink)
{
    struct xml_stream x;
    struct error_scope scope;
    int rc = CV_OK;

    memset(&x, 0, sizeof x);
    x.sink = sink;
    x.source = source;
    x.in.f = f;
    xml_init();
    cv_certificate_init(&x.cert, CV_XML_CERT_ARENA_LIMIT);
    error_scope_begin(&scope, &x.perr);
    if (sink->xml_schema == NULL || sink->xml_schema->cert == NULL) {
        report(&x, false, 0, -1, NULL,
               "XML input needs the certificate schema (config/certificate.xsd)");
        rc = CV_ERR_UNSUPPORTED;
        goto out;
    }
    x.vctxt = xmlSchemaNewValidCtxt(sink->xml_schema->cert);
    if (x.vctxt == NULL) {
        rc = CV_ERR_NOMEM;
        goto out;
    }
    xmlSchemaSetValidStructuredErrors(x.vctxt, capture_error, &x.verr);
    x.reader = xmlReaderForIO(input_read, NULL, &x.in, x.source, NULL, CV_XML_OPTIONS);
    if (x.reader == NULL) {
        rc = CV_ERR_NOMEM;
        goto out;
    }
    xmlTextReaderSetStructuredErrorHandler(x.reader, capture_error, &x.perr);
    rc = stream_records(&x);
out:
    if (rc == CV_ERR_NOMEM && x.reader == NULL)
        report(&x, false, 0, -1, NULL, "out of memory");
    xmlFreeTextReader(x.reader);
    xmlSchemaFreeValidCtxt(x.vctxt);
    cv_certificate_cleanup(&x.cert);
    error_scope_end(&scope);
    return rc;
}

int cv_xml_read_certificates(const char *path, const char *source,
                             const struct cv_reader_sink *sink)
{
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (f == NULL) {
        report_open_error(sink, source != NULL ? source : path, path, errno);
        return CV_ERR_IO;
    }
    int rc = cv_xml_read_certificates_stream(f, source != NULL ? source : path, sink);
    if (!is_stdin)
        fclose(f);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Listings, parsed whole
 */

/* Elements whose children are the items of a list: their paths take an index. */
static bool is_list(const xmlNode *n)
{
    static const char *const lists[] = {"accreditation_bodies",
                                        "certification_bodies",
                                        "aliases",
                                        "recognitions",
                                        "subscopes",
                                        "accreditations",
                                        "standards"};

    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        if (is_element(n, lists[i]))
            return true;
    return false;
}

/* Writes the entry path of 'n' (an element or attribute under <listing>) into 'buf':
 * certification_bodies[2].accreditations[0].valid_from. */
static void listing_path(const xmlNode *n, char *buf, size_t cap)
{
    const xmlNode *chain[CV_XML_MAX_DEPTH + 2];
    size_t depth = 0, used = 0;
    long i;

    buf[0] = '\0';
    if (n != NULL && n->type == XML_ATTRIBUTE_NODE)
        n = n->parent;
    for (; n != NULL && n->type == XML_ELEMENT_NODE && n->parent != NULL &&
           n->parent->type == XML_ELEMENT_NODE && depth < sizeof chain / sizeof chain[0];
         n = n->parent)
        chain[depth++] = n;
    while (depth-- > 0 && used < cap) {
        n = chain[depth];
        if (is_list(n->parent)) {
            i = 0;
            for (const xmlNode *s = n->prev; s != NULL; s = s->prev)
                if (s->type == XML_ELEMENT_NODE)
                    i++;
            used += (size_t)snprintf(buf + used, cap - used, "[%ld]", i);
        } else {
            used += (size_t)snprintf(buf + used, cap - used, "%s%s", used ? "." : "",
                                     (const char *)n->name);
        }
    }
    if (buf[0] == '\0')
        snprintf(buf, cap, "listing");
}

struct listing_ctx {
    const char *name; /* labels errors */
    char *err;
    size_t cap;
    struct cv_ab *abs; /* temporaries, merged only when the whole document maps */
    size_t n_abs;
    struct cv_cb *cbs;
    size_t n_cbs;
};

static int listing_error(struct listing_ctx *L, const xmlNode *node, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes "name:line: path: message" into L->err and returns 'rc'. */
static int listing_error(struct listing_ctx *L, const xmlNode *node, int rc, const char *fmt, ...)
{
    char path[256], msg[CV_RECORD_ERROR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    listing_path(node, path, sizeof path);
    if (node != NULL && node_line(node) > 0)
        snprintf(L->err, L->cap, "%s:%ld: %s: %s", L->name, node_line(node), path, msg);
    else
        snprintf(L->err, L->cap, "%s: %s: %s", L->name, path, msg);
    return rc;
}

static size_t count_elements(const xmlNode *n)
{
    size_t k = 0;

    for (const xmlNode *c = n->children; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            k++;
    return k;
}

/* A required text child that was absent or empty. */
static int require(struct listing_ctx *L, const xmlNode *entry, const void *value,
                   const char *child)
{
    if (value != NULL)
        return CV_OK;
    return listing_error(L, entry, CV_ERR_INVALID, "missing required element <%s>", child);
}

/* Fills a malloc'd array of copies of the text of the children of 'list'. */
static int map_strings(struct listing_ctx *L, const xmlNode *list, char ***out, size_t *n)
{
    size_t k = count_elements(list), i = 0;
    int rc = CV_OK;

    *out = k ? calloc(k, sizeof **out) : NULL;
    if (k && *out == NULL)
        return CV_ERR_NOMEM;
    for (const xmlNode *c = list->children; c != NULL && rc == CV_OK; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        rc = dup_text(c, &(*out)[i]);
        if (rc == CV_OK && (*out)[i] == NULL)
            rc = listing_error(L, c, CV_ERR_INVALID, "empty value");
        i++;
    }
    *n = i;
    return rc;
}

static int map_date(struct listing_ctx *L, const xmlNode *el, cv_date *out)
{
    xmlChar *owned;
    size_t len;
    const char *s = text_of(el, &len, &owned);
    int rc;

    if (s == NULL)
        return CV_ERR_NOMEM;
    rc = len == 0 ? CV_OK : cv_date_parse(s, len, out);
    if (rc)
        rc = listing_error(L, el, CV_ERR_INVALID,
                           "'%.*s' is not a valid date (expected YYYY-MM-DD or YYYYMMDD)",
                           (int)(len > 64 ? 64 : len), s);
    xmlFree(owned);
    return rc;
}

/* The trimmed text of 'el' as a NUL-terminated string for the enum parsers ('buf', 'cap'). */
static int short_text(struct listing_ctx *L, const xmlNode *el, char *buf, size_t cap)
{
    xmlChar *owned;
    size_t len;
    const char *s = text_of(el, &len, &owned);
    int rc = CV_OK;

    if (s == NULL)
        return CV_ERR_NOMEM;
    if (len >= cap)
        rc = listing_error(L, el, CV_ERR_INVALID, "value too long");
    else
        snprintf(buf, cap, "%.*s", (int)len, s);
    xmlFree(owned);
    return rc;
}

static int map_status(struct listing_ctx *L, const xmlNode *el, enum cv_listing_status *out)
{
    char v[64];
    int rc = short_text(L, el, v, sizeof v);

    if (rc == CV_OK && cv_listing_status_parse(v, out) != CV_OK)
        rc = listing_error(L, el, CV_ERR_INVALID,
                           "'%s' is not a status (active, suspended or withdrawn)", v);
    return rc;
}

static int map_recognition(struct listing_ctx *L, const xmlNode *el, struct cv_recognition *r)
{
    char v[64];
    bool have_arrangement = false;
    unsigned bit;
    int rc = CV_OK;

    r->since = CV_DATE_NONE;
    r->status = CV_LS_ACTIVE;
    for (const xmlNode *c = el->children; c != NULL && rc == CV_OK; c = c->next) {
        if (is_element(c, "arrangement")) {
            rc = short_text(L, c, v, sizeof v);
            if (rc == CV_OK && cv_arrangement_parse(v, &r->arrangement) != CV_OK)
                rc = listing_error(L, c, CV_ERR_INVALID,
                                   "'%s' is not an arrangement (IAF MLA, ILAC MRA or "
                                   "Global ACI MRA)",
                                   v);
            have_arrangement = true;
        } else if (is_element(c, "main_scope")) {
            rc = short_text(L, c, v, sizeof v);
            if (rc == CV_OK) {
                r->main_scope = cv_route_parse(v);
                if (r->main_scope == CV_ROUTE_NONE)
                    rc = listing_error(L, c, CV_ERR_INVALID,
                                       "'%s' is not a main scope (ISO/IEC 17021-1, "
                                       "ISO/IEC 17065 or ISO/IEC 17025)",
                                       v);
            }
        } else if (is_element(c, "subscopes")) {
            for (const xmlNode *s = c->children; s != NULL && rc == CV_OK; s = s->next) {
                if (s->type != XML_ELEMENT_NODE)
                    continue;
                rc = short_text(L, s, v, sizeof v);
                bit = rc == CV_OK ? cv_subscope_parse(v) : CV_SUB_NONE;
                if (rc == CV_OK && bit == CV_SUB_NONE)
                    rc = listing_error(L, s, CV_ERR_INVALID,
                                       "'%s' is not a sub-scope (QMS, EMS, OHSMS, ISMS, FSMS, "
                                       "EnMS or MDMS)",
                                       v);
                r->subscopes |= bit;
            }
        } else if (is_element(c, "status")) {
            rc = map_status(L, c, &r->status);
        } else if (is_element(c, "since")) {
            rc = map_date(L, c, &r->since);
        }
    }
    if (rc == CV_OK && !have_arrangement)
        rc = require(L, el, NULL, "arrangement");
    if (rc == CV_OK && r->main_scope == CV_ROUTE_NONE)
        rc = require(L, el, NULL, "main_scope");
    return rc;
}

static int map_ab(struct listing_ctx *L, const xmlNode *el, struct cv_ab *ab)
{
    size_t k;
    int rc = CV_OK;

    for (const xmlNode *c = el->children; c != NULL && rc == CV_OK; c = c->next) {
        if (is_element(c, "acronym")) {
            rc = dup_text(c, &ab->acronym);
        } else if (is_element(c, "name")) {
            rc = dup_text(c, &ab->name);
        } else if (is_element(c, "economy")) {
            rc = dup_text(c, &ab->economy);
        } else if (is_element(c, "aliases")) {
            rc = map_strings(L, c, &ab->aliases, &ab->n_aliases);
        } else if (is_element(c, "recognitions")) {
            k = count_elements(c);
            ab->recognitions = k ? calloc(k, sizeof *ab->recognitions) : NULL;
            if (k && ab->recognitions == NULL)
                return CV_ERR_NOMEM;
            for (const xmlNode *r = c->children; r != NULL && rc == CV_OK; r = r->next)
                if (r->type == XML_ELEMENT_NODE)
                    rc = map_recognition(L, r, &ab->recognitions[ab->n_recognitions++]);
        }
    }
    if (rc == CV_OK)
        rc = require(L, el, ab->acronym, "acronym");
    if (rc == CV_OK)
        rc = require(L, el, ab->name, "name");
    return rc;
}

static int map_accreditation(struct listing_ctx *L, const xmlNode *el,
                             struct cv_cb_accreditation *a)
{
    int rc = CV_OK;

    a->status = CV_LS_ACTIVE;
    a->status_date = a->valid_from = a->valid_until = CV_DATE_NONE;
    for (const xmlNode *c = el->children; c != NULL && rc == CV_OK; c = c->next) {
        if (is_element(c, "accreditation_body"))
            rc = dup_text(c, &a->accreditation_body);
        else if (is_element(c, "number"))
            rc = dup_text(c, &a->number);
        else if (is_element(c, "standards"))
            rc = map_strings(L, c, &a->standards, &a->n_standards);
        else if (is_element(c, "status"))
            rc = map_status(L, c, &a->status);
        else if (is_element(c, "status_date"))
            rc = map_date(L, c, &a->status_date);
        else if (is_element(c, "valid_from"))
            rc = map_date(L, c, &a->valid_from);
        else if (is_element(c, "valid_until"))
            rc = map_date(L, c, &a->valid_until);
    }
    if (rc == CV_OK)
        rc = require(L, el, a->accreditation_body, "accreditation_body");
    if (rc == CV_OK && a->n_standards == 0)
        rc = listing_error(L, el, CV_ERR_INVALID,
                           "missing required element <standards> (at least one standard)");
    return rc;
}

static int map_cb(struct listing_ctx *L, const xmlNode *el, struct cv_cb *cb)
{
    size_t k;
    int rc = CV_OK;

    for (const xmlNode *c = el->children; c != NULL && rc == CV_OK; c = c->next) {
        if (is_element(c, "id")) {
            rc = dup_text(c, &cb->id);
        } else if (is_element(c, "name")) {
            rc = dup_text(c, &cb->name);
        } else if (is_element(c, "country")) {
            rc = dup_text(c, &cb->country);
        } else if (is_element(c, "aliases")) {
            rc = map_strings(L, c, &cb->aliases, &cb->n_aliases);
        } else if (is_element(c, "accreditations")) {
            k = count_elements(c);
            cb->accreditations = k ? calloc(k, sizeof *cb->accreditations) : NULL;
            if (k && cb->accreditations == NULL)
                return CV_ERR_NOMEM;
            for (const xmlNode *a = c->children; a != NULL && rc == CV_OK; a = a->next)
                if (a->type == XML_ELEMENT_NODE)
                    rc = map_accreditation(L, a, &cb->accreditations[cb->n_accreditations++]);
        }
    }
    if (rc == CV_OK)
        rc = require(L, el, cb->id, "id");
    if (rc == CV_OK)
        rc = require(L, el, cb->name, "name");
    return rc;
}

/* Maps the whole <listing> into L's temporaries. */
static int map_listing(struct listing_ctx *L, const xmlNode *root)
{
    size_t k;
    int rc = CV_OK;

    for (const xmlNode *c = root->children; c != NULL && rc == CV_OK; c = c->next) {
        if (is_element(c, "accreditation_bodies") && L->abs == NULL) {
            k = count_elements(c);
            L->abs = k ? calloc(k, sizeof *L->abs) : NULL;
            if (k && L->abs == NULL)
                return CV_ERR_NOMEM;
            for (const xmlNode *e = c->children; e != NULL && rc == CV_OK; e = e->next)
                if (e->type == XML_ELEMENT_NODE)
                    rc = map_ab(L, e, &L->abs[L->n_abs++]);
        } else if (is_element(c, "certification_bodies") && L->cbs == NULL) {
            k = count_elements(c);
            L->cbs = k ? calloc(k, sizeof *L->cbs) : NULL;
            if (k && L->cbs == NULL)
                return CV_ERR_NOMEM;
            for (const xmlNode *e = c->children; e != NULL && rc == CV_OK; e = e->next)
                if (e->type == XML_ELEMENT_NODE)
                    rc = map_cb(L, e, &L->cbs[L->n_cbs++]);
        }
    }
    return rc;
}

/* Hands every temporary over to 'b'; each one is zeroed once 'b' owns it. */
static int merge_listing(struct listing_ctx *L, struct cv_bodies *b)
{
    int rc = CV_OK;

    for (size_t i = 0; i < L->n_abs && rc == CV_OK; i++) {
        rc = cv_bodies_put_ab(b, &L->abs[i]);
        memset(&L->abs[i], 0, sizeof L->abs[i]);
    }
    for (size_t i = 0; i < L->n_cbs && rc == CV_OK; i++) {
        rc = cv_bodies_put_cb(b, &L->cbs[i]);
        memset(&L->cbs[i], 0, sizeof L->cbs[i]);
    }
    if (rc)
        snprintf(L->err, L->cap, "%s: could not merge the listing: %s", L->name, cv_strerror(rc));
    return rc;
}

int cv_xml_load_listing_mem(struct cv_bodies *b, const char *buf, size_t len, const char *name,
                            const struct cv_xml_schema *s, char *err, size_t cap)
{
    struct listing_ctx L = {0};
    struct xml_error perr = {0}, verr = {0};
    struct error_scope scope;
    xmlSchemaValidCtxtPtr vctxt = NULL;
    xmlDocPtr doc = NULL;
    xmlNodePtr root;
    char ignored[1];
    int valid, rc;

    if (err == NULL || cap == 0) {
        err = ignored;
        cap = sizeof ignored;
    }
    err[0] = '\0';
    L.name = name != NULL ? name : "listing";
    L.err = err;
    L.cap = cap;
    xml_init();
    error_scope_begin(&scope, &perr);
    if (s == NULL || s->listing == NULL) {
        snprintf(err, cap, "%s: XML listings need the listing schema (config/listing.xsd)", L.name);
        rc = CV_ERR_UNSUPPORTED;
        goto out;
    }
    if (len > CV_XML_LISTING_MAX_BYTES) {
        snprintf(err, cap, "%s: larger than the limit of %d bytes", L.name,
                 CV_XML_LISTING_MAX_BYTES);
        rc = CV_ERR_TOO_LARGE;
        goto out;
    }
    rc = parse_document(buf, len, L.name, &doc, &perr);
    if (rc == CV_ERR_HOSTILE)
        snprintf(err, cap, "%s: %s", L.name, DOCTYPE_REFUSED);
    else if (rc == CV_ERR_PARSE && past_parser_limit(perr.message))
        rc = CV_ERR_TOO_LARGE;
    if (rc == CV_ERR_TOO_LARGE)
        snprintf(err, cap, "%s:%d: input exceeds the XML parser's limits: %s", L.name, perr.line,
                 perr.message);
    else if (rc == CV_ERR_PARSE)
        snprintf(err, cap, "%s:%d: not well-formed XML: %s", L.name, perr.line, perr.message);
    if (rc)
        goto out;
    root = xmlDocGetRootElement(doc);
    if (!is_element(root, "listing")) {
        snprintf(err, cap, "%s: the root element must be <listing>, not <%s>", L.name,
                 root != NULL ? (const char *)root->name : "?");
        rc = CV_ERR_INVALID;
        goto out;
    }
    if (too_deep(root, CV_XML_MAX_DEPTH)) {
        snprintf(err, cap, "%s: elements nested deeper than %d levels", L.name, CV_XML_MAX_DEPTH);
        rc = CV_ERR_INVALID;
        goto out;
    }
    vctxt = xmlSchemaNewValidCtxt(s->listing);
    if (vctxt == NULL) {
        rc = CV_ERR_NOMEM;
        goto out;
    }
    xmlSchemaSetValidStructuredErrors(vctxt, capture_error, &verr);
    valid = xmlSchemaValidateDoc(vctxt, doc);
    if (valid < 0) {
        rc = CV_ERR_NOMEM;
        goto out;
    }
    if (valid > 0 && verr.set) {
        char msg[CV_RECORD_ERROR_MAX];
        describe_validity(verr.message, verr.code, verr.node, msg, sizeof msg);
        rc = listing_error(&L, verr.node, CV_ERR_INVALID, "%s", msg);
        goto out;
    }
    /* Valid, or only a required element missing: the mapping names it. */
    rc = map_listing(&L, root);
    if (rc == CV_OK && valid > 0) {
        char msg[CV_RECORD_ERROR_MAX];
        describe_validity(verr.missing_message, XML_SCHEMAV_ELEMENT_CONTENT, NULL, msg, sizeof msg);
        rc = listing_error(&L, verr.missing_node, CV_ERR_INVALID, "%s", msg);
    }
    if (rc)
        goto out;
    rc = merge_listing(&L, b);
out:
    if (rc == CV_ERR_NOMEM)
        snprintf(err, cap, "%s: out of memory", L.name);
    for (size_t i = 0; i < L.n_abs; i++)
        cv_ab_cleanup(&L.abs[i]);
    for (size_t i = 0; i < L.n_cbs; i++)
        cv_cb_cleanup(&L.cbs[i]);
    free(L.abs);
    free(L.cbs);
    xmlSchemaFreeValidCtxt(vctxt);
    xmlFreeDoc(doc);
    error_scope_end(&scope);
    return rc;
}

int cv_xml_load_listing(struct cv_bodies *b, const char *path, const struct cv_xml_schema *s,
                        char *err, size_t cap)
{
    char *buf = NULL;
    char ignored[1];
    size_t len;
    int rc;

    if (err == NULL || cap == 0) {
        err = ignored;
        cap = sizeof ignored;
    }
    rc = read_file(path, CV_XML_LISTING_MAX_BYTES, &buf, &len, err, cap);
    if (rc)
        goto out;
    rc = cv_xml_load_listing_mem(b, buf, len, path, s, err, cap);
out:
    free(buf);
    return rc;
}

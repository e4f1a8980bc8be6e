/* The HTML listing reader, the only module besides xml.c that includes libxml2: an accreditation
 * body's web directory is parsed with libxml2's HTML parser (no network, no entities), pruned of
 * scripts and styles, and its table rows are mapped onto certification bodies through XPath. */

#include "certvet/html_listing.h"

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xpath.h>

#include "certvet/date.h"
#include "certvet/error.h"
#include "certvet/strmap.h"

/* No network; the parser's own error printing off (errors are dropped: an HTML page is "valid"
 * whatever its markup, the mapping decides what is wrong). The HTML parser never loads a DTD or
 * substitutes external entities. */
#define CV_HTML_OPTIONS                                                                            \
    (HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NOBLANKS)

/* A page with more tags than this is refused before parsing: it bounds the tree's memory (one
 * node costs ~120 bytes, so 16 MiB of "<a>" would otherwise build ~650 MB). */
#define CV_HTML_LISTING_MAX_TAGS 1000000
#define CV_HTML_VALUE_MAX        4096 /* one mapped value, after trimming */

enum field {
    F_ID,
    F_NAME,
    F_COUNTRY,
    F_AB,
    F_NUMBER,
    F_STANDARDS,
    F_STATUS,
    F_STATUS_DATE,
    F_VALID_FROM,
    F_VALID_UNTIL,
    F_ALIASES,
    F_COUNT
};

static const char *const field_names[F_COUNT] = {
    "id",     "name",        "country",    "accreditation_body", "number",  "standards",
    "status", "status_date", "valid_from", "valid_until",        "aliases",
};

struct html_ctx {
    const char *name; /* the source, for errors */
    char *err;
    size_t cap;
    xmlXPathContextPtr xpath;
    xmlXPathCompExprPtr comp[F_COUNT]; /* NULL when the field is not mapped */
    struct cv_cb *cbs;                 /* mapped so far, owned until merged */
    size_t n_cbs, cap_cbs;
    struct cv_strmap by_id; /* id -> index in cbs */
};

struct saved_errors {
    xmlStructuredErrorFunc serror;
    void *serror_ctx;
    xmlGenericErrorFunc generic;
    void *generic_ctx;
};

static int fail(struct html_ctx *H, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct html_ctx *H, int rc, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(H->err, H->cap, "%s: %s", H->name, msg);
    return rc;
}

static void ignore_structured(void *ctx, xmlErrorPtr e)
{
    (void)ctx;
    (void)e;
}

static void ignore_generic(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

/* libxml2 prints nothing while we work (HTML and XPath errors are ours to report). */
static void errors_off(struct saved_errors *s)
{
    s->serror = xmlStructuredError;
    s->serror_ctx = xmlStructuredErrorContext;
    s->generic = xmlGenericError;
    s->generic_ctx = xmlGenericErrorContext;
    xmlSetStructuredErrorFunc(NULL, ignore_structured);
    xmlSetGenericErrorFunc(NULL, ignore_generic);
}

static void errors_restore(const struct saved_errors *s)
{
    xmlSetStructuredErrorFunc(s->serror_ctx, s->serror);
    xmlSetGenericErrorFunc(s->generic_ctx, s->generic);
}

static bool is_dropped(const xmlNode *n)
{
    return n->type == XML_ELEMENT_NODE && (strcasecmp((const char *)n->name, "script") == 0 ||
                                           strcasecmp((const char *)n->name, "style") == 0);
}

/* Removes <script> and <style> elements (their text is never a field) and checks the nesting,
 * without recursion. Returns CV_OK or CV_ERR_TOO_LARGE. */
static int prune_tree(xmlDocPtr doc, int max_depth)
{
    xmlNodePtr top = (xmlNodePtr)doc, n = top->children, next, parent;
    int depth = 1;

    while (n != NULL) {
        if (n->type == XML_ELEMENT_NODE && depth > max_depth)
            return CV_ERR_TOO_LARGE;
        if (is_dropped(n)) {
            next = n->next;
            parent = n->parent;
            xmlUnlinkNode(n);
            xmlFreeNode(n);
            if (next != NULL) {
                n = next;
                continue;
            }
            n = parent;
            depth--;
        } else if (n->type == XML_ELEMENT_NODE && n->children != NULL) {
            n = n->children;
            depth++;
            continue;
        }
        while (n != top && n->next == NULL) {
            n = n->parent;
            depth--;
        }
        if (n == top)
            break;
        n = n->next;
    }
    return CV_OK;
}

/* Appends the text of 's' to 'out' ('*len' used of CV_HTML_VALUE_MAX + 1) with every run of
 * white space (and no-break spaces) as one space. */
static void append_collapsed(char *out, size_t *len, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    bool space = *len > 0;

    while (*p != '\0') {
        bool ws = *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v';
        size_t step = 1;
        if (p[0] == 0xC2 && p[1] == 0xA0) {
            ws = true;
            step = 2;
        }
        if (ws) {
            space = *len > 0;
        } else {
            if (space && *len < CV_HTML_VALUE_MAX)
                out[(*len)++] = ' ';
            space = false;
            if (*len < CV_HTML_VALUE_MAX)
                out[(*len)++] = (char)*p;
        }
        p += step;
    }
    out[*len] = '\0';
}

/* Drops a UTF-8 sequence cut by the value limit, so values stay valid UTF-8. */
static void trim_cut(char *out, size_t len)
{
    size_t i = len;
    while (i > 0 && ((unsigned char)out[i - 1] & 0xC0) == 0x80)
        i--;
    if (i > 0 && ((unsigned char)out[i - 1] & 0x80)) {
        unsigned char lead = (unsigned char)out[i - 1];
        size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
        if (len - (i - 1) < need)
            out[i - 1] = '\0';
    }
}

/* A list of malloc'd values. */
struct values {
    char **v;
    size_t n, cap;
};

static void values_cleanup(struct values *vs)
{
    for (size_t i = 0; i < vs->n; i++)
        free(vs->v[i]);
    free(vs->v);
    memset(vs, 0, sizeof *vs);
}

static int values_add(struct values *vs, const char *s, size_t len)
{
    if (vs->n == vs->cap) {
        size_t cap = vs->cap ? vs->cap * 2 : 4;
        char **v = realloc(vs->v, cap * sizeof *v);
        if (v == NULL)
            return CV_ERR_NOMEM;
        vs->v = v;
        vs->cap = cap;
    }
    vs->v[vs->n] = strndup(s, len);
    if (vs->v[vs->n] == NULL)
        return CV_ERR_NOMEM;
    vs->n++;
    return CV_OK;
}

/* Splits 'text' on ',' and ';' into 'vs', each piece trimmed, empty pieces skipped. */
static int split_into(struct values *vs, const char *text)
{
    const char *p = text;
    int rc = CV_OK;

    while (*p != '\0' && rc == CV_OK) {
        size_t len = strcspn(p, ",;");
        const char *s = p;
        size_t n = len;
        while (n > 0 && *s == ' ') {
            s++;
            n--;
        }
        while (n > 0 && s[n - 1] == ' ')
            n--;
        if (n > 0)
            rc = values_add(vs, s, n);
        p += len;
        if (*p != '\0')
            p++;
    }
    return rc;
}

/* Evaluates field 'f' at 'row'. Single-valued fields ('split' false) give one value, the texts of
 * all matched nodes joined by a space (an empty string when nothing matched); list fields give
 * every piece of every node's text. */
static int eval_field(struct html_ctx *H, enum field f, xmlNodePtr row, bool split,
                      struct values *out)
{
    char text[CV_HTML_VALUE_MAX + 1];
    size_t len = 0;
    xmlXPathObjectPtr obj;
    int rc = CV_OK;

    memset(out, 0, sizeof *out);
    text[0] = '\0';
    H->xpath->node = row;
    obj = xmlXPathCompiledEval(H->comp[f], H->xpath);
    if (obj == NULL)
        return fail(H, CV_ERR_USAGE, "mapping field '%s': the XPath expression failed",
                    field_names[f]);
    if (obj->type == XPATH_NODESET) {
        int nr = obj->nodesetval != NULL ? obj->nodesetval->nodeNr : 0;
        for (int i = 0; i < nr && rc == CV_OK; i++) {
            xmlChar *s = xmlNodeGetContent(obj->nodesetval->nodeTab[i]);
            if (s == NULL)
                continue; /* a node without content */
            if (split) {
                len = 0;
                append_collapsed(text, &len, (const char *)s);
                trim_cut(text, len);
                rc = split_into(out, text);
            } else {
                append_collapsed(text, &len, (const char *)s);
            }
            xmlFree(s);
        }
    } else {
        xmlChar *s = xmlXPathCastToString(obj);
        if (s == NULL) {
            rc = CV_ERR_NOMEM;
        } else {
            append_collapsed(text, &len, (const char *)s);
            if (split) {
                trim_cut(text, len);
                rc = split_into(out, text);
            }
            xmlFree(s);
        }
    }
    xmlXPathFreeObject(obj);
    if (rc == CV_OK && !split) {
        trim_cut(text, len);
        rc = values_add(out, text, strlen(text));
    }
    if (rc)
        values_cleanup(out);
    return rc;
}

/* The single value of field 'f' at 'row' into '*out' (malloc'd; NULL when empty or unmapped). */
static int eval_string(struct html_ctx *H, enum field f, xmlNodePtr row, char **out)
{
    struct values vs;
    int rc;

    *out = NULL;
    if (H->comp[f] == NULL)
        return CV_OK;
    rc = eval_field(H, f, row, false, &vs);
    if (rc)
        return rc;
    if (vs.v[0][0] != '\0') {
        *out = vs.v[0];
        vs.v[0] = NULL;
    }
    values_cleanup(&vs);
    return CV_OK;
}

static int eval_list(struct html_ctx *H, enum field f, xmlNodePtr row, char ***out, size_t *n)
{
    struct values vs;
    int rc;

    *out = NULL;
    *n = 0;
    if (H->comp[f] == NULL)
        return CV_OK;
    rc = eval_field(H, f, row, true, &vs);
    if (rc)
        return rc;
    *out = vs.v;
    *n = vs.n;
    return CV_OK;
}

/* "row 3 (id 'acme')", or "row 3" before the id is known. */
static void row_label(char *buf, size_t cap, size_t row, const char *id)
{
    if (id != NULL)
        snprintf(buf, cap, "row %zu (id '%.64s')", row, id);
    else
        snprintf(buf, cap, "row %zu", row);
}

static int eval_date(struct html_ctx *H, enum field f, xmlNodePtr row, const char *where,
                     cv_date *out)
{
    char *s = NULL;
    int rc = eval_string(H, f, row, &s);

    *out = CV_DATE_NONE;
    if (rc == CV_OK && s != NULL && cv_date_parse(s, strlen(s), out) != CV_OK)
        rc = fail(H, CV_ERR_INVALID, "%s: %s: '%.40s' is not a date (expected YYYY-MM-DD)", where,
                  field_names[f], s);
    free(s);
    return rc;
}

/* Maps one row onto 'cb' (id, name, country, aliases) and its accreditation 'a'. */
static int map_row(struct html_ctx *H, xmlNodePtr row, size_t rowno, struct cv_cb *cb,
                   struct cv_cb_accreditation *a)
{
    char where[128], *status = NULL;
    int rc;

    a->status = CV_LS_ACTIVE;
    a->status_date = a->valid_from = a->valid_until = CV_DATE_NONE;
    rc = eval_string(H, F_ID, row, &cb->id);
    if (rc)
        return rc;
    row_label(where, sizeof where, rowno, cb->id);
    if (cb->id == NULL)
        return fail(H, CV_ERR_INVALID, "%s: id: required value is empty", where);
    if ((rc = eval_string(H, F_NAME, row, &cb->name)) ||
        (rc = eval_string(H, F_COUNTRY, row, &cb->country)) ||
        (rc = eval_list(H, F_ALIASES, row, &cb->aliases, &cb->n_aliases)) ||
        (rc = eval_string(H, F_AB, row, &a->accreditation_body)) ||
        (rc = eval_string(H, F_NUMBER, row, &a->number)) ||
        (rc = eval_list(H, F_STANDARDS, row, &a->standards, &a->n_standards)) ||
        (rc = eval_string(H, F_STATUS, row, &status)) ||
        (rc = eval_date(H, F_STATUS_DATE, row, where, &a->status_date)) ||
        (rc = eval_date(H, F_VALID_FROM, row, where, &a->valid_from)) ||
        (rc = eval_date(H, F_VALID_UNTIL, row, where, &a->valid_until)))
        goto out;
    if (cb->name == NULL)
        rc = fail(H, CV_ERR_INVALID, "%s: name: required value is empty", where);
    else if (a->accreditation_body == NULL)
        rc = fail(H, CV_ERR_INVALID, "%s: accreditation_body: required value is empty", where);
    else if (a->n_standards == 0)
        rc = fail(H, CV_ERR_INVALID, "%s: standards: at least one standard is needed", where);
    else if (status != NULL && cv_listing_status_parse(status, &a->status) != CV_OK)
        rc = fail(H, CV_ERR_INVALID, "%s: status: '%.40s' is not active, suspended or withdrawn",
                  where, status);
out:
    free(status);
    return rc;
}

static void accreditation_cleanup(struct cv_cb_accreditation *a)
{
    free(a->accreditation_body);
    free(a->number);
    for (size_t i = 0; i < a->n_standards; i++)
        free(a->standards[i]);
    free(a->standards);
    memset(a, 0, sizeof *a);
}

/* Adds the row's CB, or its accreditation to the CB of the same id seen before (the first row
 * of an id gives its name, country and aliases). Takes ownership of 'cb' and 'a'. */
static int add_row(struct html_ctx *H, struct cv_cb *cb, struct cv_cb_accreditation *a)
{
    struct cv_cb_accreditation *grown;
    struct cv_cb *target;
    size_t idx;
    int rc = CV_OK;

    if (cv_strmap_get(&H->by_id, cb->id, &idx)) {
        cv_cb_cleanup(cb);
        target = &H->cbs[idx];
    } else {
        if (H->n_cbs == H->cap_cbs) {
            size_t cap = H->cap_cbs ? H->cap_cbs * 2 : 16;
            struct cv_cb *cbs = realloc(H->cbs, cap * sizeof *cbs);
            if (cbs == NULL) {
                rc = CV_ERR_NOMEM;
                goto fail;
            }
            H->cbs = cbs;
            H->cap_cbs = cap;
        }
        rc = cv_strmap_put(&H->by_id, cb->id, H->n_cbs);
        if (rc)
            goto fail;
        target = &H->cbs[H->n_cbs++];
        *target = *cb;
        memset(cb, 0, sizeof *cb);
    }
    grown = realloc(target->accreditations,
                    (target->n_accreditations + 1) * sizeof *target->accreditations);
    if (grown == NULL) {
        accreditation_cleanup(a);
        return CV_ERR_NOMEM;
    }
    target->accreditations = grown;
    target->accreditations[target->n_accreditations++] = *a;
    memset(a, 0, sizeof *a);
    return CV_OK;
fail:
    cv_cb_cleanup(cb);
    accreditation_cleanup(a);
    return rc;
}

/* Compiles the mapping's expressions; a required one missing or any malformed is a usage error
 * naming the field. 'row' gets the row expression. */
static int compile_mapping(struct html_ctx *H, const struct cv_html_mapping *m,
                           xmlXPathCompExprPtr *row)
{
    const char *exprs[F_COUNT] = {
        m->id,     m->name,        m->country,    m->accreditation_body, m->number,  m->standards,
        m->status, m->status_date, m->valid_from, m->valid_until,        m->aliases,
    };
    static const bool required[F_COUNT] = {
        [F_ID] = true, [F_NAME] = true, [F_AB] = true, [F_STANDARDS] = true};

    if (m->row_xpath == NULL || m->row_xpath[0] == '\0')
        return fail(H, CV_ERR_USAGE, "mapping: 'row_xpath' is required");
    *row = xmlXPathCtxtCompile(H->xpath, (const xmlChar *)m->row_xpath);
    if (*row == NULL)
        return fail(H, CV_ERR_USAGE, "mapping: row_xpath: '%.200s' is not a valid XPath expression",
                    m->row_xpath);
    for (int f = 0; f < F_COUNT; f++) {
        if (exprs[f] == NULL || exprs[f][0] == '\0') {
            if (required[f])
                return fail(H, CV_ERR_USAGE, "mapping: field '%s' is required", field_names[f]);
            continue;
        }
        H->comp[f] = xmlXPathCtxtCompile(H->xpath, (const xmlChar *)exprs[f]);
        if (H->comp[f] == NULL)
            return fail(H, CV_ERR_USAGE, "mapping: %s: '%.200s' is not a valid XPath expression",
                        field_names[f], exprs[f]);
    }
    return CV_OK;
}

static size_t count_tags(const char *buf, size_t len)
{
    size_t n = 0;
    for (const char *p = buf, *end = buf + len; p < end; p++) {
        p = memchr(p, '<', (size_t)(end - p));
        if (p == NULL)
            break;
        n++;
    }
    return n;
}

int cv_html_listing_load_mem(struct cv_bodies *b, const char *buf, size_t len, const char *name,
                             const struct cv_html_mapping *m, char *err, size_t cap)
{
    struct html_ctx H = {0};
    struct saved_errors saved;
    xmlDocPtr doc = NULL;
    xmlXPathCompExprPtr row_comp = NULL;
    xmlXPathObjectPtr rows = NULL;
    char ignored[1];
    int rc = CV_OK;

    if (err == NULL || cap == 0) {
        err = ignored;
        cap = sizeof ignored;
    }
    err[0] = '\0';
    H.name = name != NULL ? name : "html listing";
    H.err = err;
    H.cap = cap;
    cv_strmap_init(&H.by_id);
    errors_off(&saved);
    if (len > CV_HTML_LISTING_MAX_BYTES) {
        rc = fail(&H, CV_ERR_TOO_LARGE, "larger than the limit of %d bytes",
                  CV_HTML_LISTING_MAX_BYTES);
        goto out;
    }
    if (count_tags(buf, len) > CV_HTML_LISTING_MAX_TAGS) {
        rc = fail(&H, CV_ERR_TOO_LARGE, "more than %d tags", CV_HTML_LISTING_MAX_TAGS);
        goto out;
    }
    xmlInitParser();
    doc = len > 0 ? htmlReadMemory(buf, (int)len, H.name, NULL, CV_HTML_OPTIONS) : NULL;
    if (doc == NULL || xmlDocGetRootElement(doc) == NULL) {
        rc = fail(&H, CV_ERR_PARSE, "not an HTML page (empty or unreadable)");
        goto out;
    }
    if (prune_tree(doc, CV_HTML_LISTING_MAX_DEPTH) != CV_OK) {
        rc = fail(&H, CV_ERR_TOO_LARGE, "elements nested deeper than %d levels",
                  CV_HTML_LISTING_MAX_DEPTH);
        goto out;
    }
    H.xpath = xmlXPathNewContext(doc);
    if (H.xpath == NULL) {
        rc = CV_ERR_NOMEM;
        goto out;
    }
    if (m == NULL) {
        rc = fail(&H, CV_ERR_USAGE, "no HTML mapping given");
        goto out;
    }
    rc = compile_mapping(&H, m, &row_comp);
    if (rc)
        goto out;
    H.xpath->node = xmlDocGetRootElement(doc);
    rows = xmlXPathCompiledEval(row_comp, H.xpath);
    if (rows == NULL || rows->type != XPATH_NODESET) {
        rc = fail(&H, CV_ERR_USAGE, "row_xpath: '%.200s' does not select nodes", m->row_xpath);
        goto out;
    }
    int nrows = rows->nodesetval != NULL ? rows->nodesetval->nodeNr : 0;
    if (nrows == 0) {
        rc = fail(&H, CV_ERR_INVALID, "row_xpath: '%.200s' matched no rows", m->row_xpath);
        goto out;
    }
    if (nrows > CV_HTML_LISTING_MAX_ROWS) {
        rc = fail(&H, CV_ERR_TOO_LARGE, "%d rows, more than the limit of %d", nrows,
                  CV_HTML_LISTING_MAX_ROWS);
        goto out;
    }
    for (int i = 0; i < nrows && rc == CV_OK; i++) {
        struct cv_cb cb = {0};
        struct cv_cb_accreditation a = {0};
        rc = map_row(&H, rows->nodesetval->nodeTab[i], (size_t)i + 1, &cb, &a);
        if (rc == CV_OK) {
            rc = add_row(&H, &cb, &a);
        } else {
            cv_cb_cleanup(&cb);
            accreditation_cleanup(&a);
        }
    }
    /* Every row mapped: merge. put_cb takes ownership (and clears the entry). */
    for (size_t i = 0; i < H.n_cbs && rc == CV_OK; i++)
        rc = cv_bodies_put_cb(b, &H.cbs[i]);
    if (rc && err[0] == '\0' && rc != CV_ERR_NOMEM)
        fail(&H, rc, "cannot merge (%s)", cv_strerror(rc));
out:
    if (rc == CV_ERR_NOMEM)
        fail(&H, rc, "out of memory");
    for (size_t i = 0; i < H.n_cbs; i++)
        cv_cb_cleanup(&H.cbs[i]);
    free(H.cbs);
    cv_strmap_cleanup(&H.by_id);
    for (int f = 0; f < F_COUNT; f++)
        xmlXPathFreeCompExpr(H.comp[f]);
    xmlXPathFreeCompExpr(row_comp);
    xmlXPathFreeObject(rows);
    xmlXPathFreeContext(H.xpath);
    xmlFreeDoc(doc);
    errors_restore(&saved);
    return rc;
}

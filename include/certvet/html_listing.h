/* HTML listing reader: maps the table of an accreditation body's web directory onto certification
 * bodies through XPath (one expression for the rows, one per field relative to a row). */
#ifndef CERTVET_HTML_LISTING_H
#define CERTVET_HTML_LISTING_H

#include <stddef.h>

#include "certvet/bodies.h"

#define CV_HTML_LISTING_MAX_BYTES (16 * 1024 * 1024) /* one page, parsed whole */
#define CV_HTML_LISTING_MAX_ROWS  100000             /* rows matched by 'row_xpath' */
#define CV_HTML_LISTING_MAX_DEPTH 256                /* element nesting of the page */

/* How a page maps onto certification bodies. Every field is an XPath 1.0 expression evaluated
 * with the row as context node; a node-set gives the trimmed text of its nodes, a string or a
 * number gives itself (so "'XAB'" is a constant). 'standards' and 'aliases' take every node and
 * split each text on ',' and ';'. NULL fields are not mapped. 'row_xpath', 'id', 'name',
 * 'accreditation_body' and 'standards' are required. Strings are the caller's. */
struct cv_html_mapping {
    const char *row_xpath;
    const char *id;
    const char *name;
    const char *country;
    const char *accreditation_body;
    const char *number;
    const char *standards;
    const char *status; /* active / suspended / withdrawn, any case; empty means active */
    const char *status_date;
    const char *valid_from; /* dates: YYYY-MM-DD or YYYYMMDD; empty means unknown */
    const char *valid_until;
    const char *aliases;
};

/* Parses 'len' bytes of HTML ('name' labels errors: the source name) with libxml2's HTML parser
 * (no network, no entities, <script> and <style> dropped), maps every row to one accreditation
 * of a certification body (rows with the same id merge their accreditations) and merges the
 * result into 'b' (same id replaces). Nothing is merged unless every row maps: errors name the
 * row and field ("src: row 3 (id 'acme'): valid_from: '31/02/2025' is not a date"). A row XPath
 * that matches nothing is an error. Returns CV_OK, CV_ERR_TOO_LARGE (input past
 * CV_HTML_LISTING_MAX_BYTES, rows past CV_HTML_LISTING_MAX_ROWS, nesting past
 * CV_HTML_LISTING_MAX_DEPTH), CV_ERR_USAGE (a missing or malformed XPath), CV_ERR_PARSE,
 * CV_ERR_INVALID or CV_ERR_NOMEM, with a message in 'err' ('cap'). */
int cv_html_listing_load_mem(struct cv_bodies *b, const char *buf, size_t len, const char *name,
                             const struct cv_html_mapping *m, char *err, size_t cap);

#endif

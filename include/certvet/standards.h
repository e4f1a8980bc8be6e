/* The standards catalog: editions, families, aliases, routes and transition dates. */
#ifndef CERTVET_STANDARDS_H
#define CERTVET_STANDARDS_H

#include <stdbool.h>
#include <stddef.h>

#include "certvet/date.h"
#include "certvet/strmap.h"

/* Conformity-assessment route of a standard (also an accreditation main scope). */
enum cv_route {
    CV_ROUTE_NONE = 0,
    CV_ROUTE_17021_1,   /* ISO/IEC 17021-1: management-system certification */
    CV_ROUTE_17065,     /* ISO/IEC 17065: product certification */
    CV_ROUTE_17025,     /* ISO/IEC 17025: testing laboratories */
    CV_ROUTE_GUIDELINE, /* a guideline certified under a CB's own scheme */
};

/* IAF MLA management-system sub-scopes, as bits so a recognition can hold several. */
enum cv_subscope {
    CV_SUB_NONE = 0,
    CV_SUB_QMS = 1 << 0,
    CV_SUB_EMS = 1 << 1,
    CV_SUB_OHSMS = 1 << 2,
    CV_SUB_ISMS = 1 << 3,
    CV_SUB_FSMS = 1 << 4,
    CV_SUB_ENMS = 1 << 5,
    CV_SUB_MDMS = 1 << 6,
};

struct cv_standard {
    char *id;            /* edition id, e.g. "ISO 9001:2015" (owned) */
    char *family;        /* e.g. "ISO 9001" (owned) */
    char *title;         /* owned, may be NULL */
    char *superseded_by; /* edition id, owned, may be NULL */
    enum cv_route route;
    unsigned subscope;   /* one enum cv_subscope bit, or CV_SUB_NONE */
    bool withdrawn;      /* status "withdrawn" */
    cv_date valid_until; /* last day certificates to a withdrawn edition are valid, or NONE */
    int cycle_years;     /* 3 for management systems, 0 when not applicable */
};

/* Every edition, and the alias index over them. */
struct cv_catalog {
    struct cv_standard *items; /* owned array */
    size_t count, cap;
    struct cv_strmap by_key;   /* normalized alias key -> index in items */
    struct cv_strmap families; /* normalized family key -> index of one edition of it */
};

void cv_catalog_init(struct cv_catalog *c);
void cv_catalog_cleanup(struct cv_catalog *c);

/* Adds a copy of 'std' (its strings are copied) and indexes its id. Returns CV_OK, CV_ERR_NOMEM,
 * or CV_ERR_INVALID when id or family is missing. On success '*index' (may be NULL) is set. */
int cv_catalog_add(struct cv_catalog *c, const struct cv_standard *std, size_t *index);

/* Indexes one more spelling 'alias' for the edition at 'index'. */
int cv_catalog_add_alias(struct cv_catalog *c, size_t index, const char *alias);

/* Finds the edition that 'printed' names ("ISO9001:2008", "EN ISO 13485:2016",
 * "GB/T 19001-2016/ISO 9001:2015", ...). Returns it, or NULL when unknown. */
const struct cv_standard *cv_catalog_find(const struct cv_catalog *c, const char *printed);

/* Finds the family that 'printed' names, with or without an edition ("ISO/IEC 27001",
 * "ISO 27001:2022"). Returns the canonical family name (owned by the catalog), or NULL. */
const char *cv_catalog_family(const struct cv_catalog *c, const char *printed);

/* Writes the normalized comparison key of a standard's spelling into 'out' ('cap' bytes):
 * upper case, spaces and "/IEC" dropped, "EN " and similar national prefixes dropped. */
void cv_standard_key(const char *printed, char *out, size_t cap);

/* True when a CB accreditation entry 'scope_entry' (a family or series in any spelling, e.g.
 * "ISO/IEC 27001", "ISO 8124") covers the edition 'std'. */
bool cv_standard_covered_by(const struct cv_standard *std, const char *scope_entry);

/* The same test against many entries: the edition's spelling keys computed once. */
struct cv_standard_keys {
    char family[128]; /* cv_standard_key of the family */
    char part[128];   /* of the edition id without its year */
    size_t part_len;
};
void cv_standard_keys_init(struct cv_standard_keys *k, const struct cv_standard *std);
bool cv_standard_keys_cover(const struct cv_standard_keys *k, const char *scope_entry);

/* Names: "ISO/IEC 17021-1" etc., or NULL for NONE. Parses return CV_ROUTE_NONE when unknown. */
const char *cv_route_name(enum cv_route r);
enum cv_route cv_route_parse(const char *s);
/* Sub-scope code ("QMS"...) of one bit, NULL for none; parse returns CV_SUB_NONE when unknown. */
const char *cv_subscope_name(unsigned bit);
unsigned cv_subscope_parse(const char *s);

#endif

/* Loading reference data from JSON files: the standards catalog and listing documents. */
#ifndef CERTVET_REFDATA_H
#define CERTVET_REFDATA_H

#include <stddef.h>

#include "certvet/bodies.h"
#include "certvet/standards.h"
#include "certvet/supplier.h"
#include "certvet/verify.h"

/* Loads config/standards.json into 'c'. Errors name the entry index and field in 'err'. */
int cv_catalog_load_json(struct cv_catalog *c, const char *path, char *err, size_t cap);

/* Loads a JSON listing document ('accreditation_bodies' and/or 'certification_bodies') and merges
 * it into 'b' (same id or acronym replaces). Nothing is merged unless the whole document is
 * valid. Errors name the entry and field in 'err'. */
int cv_listing_load_json(struct cv_bodies *b, const char *path, char *err, size_t cap);
int cv_listing_load_json_mem(struct cv_bodies *b, const char *buf, size_t len, const char *name,
                             char *err, size_t cap);

/* Loads suppliers (SPEC 3.3) from a JSON file: {"suppliers": [...]} or a bare array of
 * {id, name, aliases, country, ...}. All-or-nothing; errors name the entry and field. */
int cv_suppliers_load_json(struct cv_suppliers *s, const char *path, char *err, size_t cap);

/* Loads a listing by its extension (.xml through the XML adapter, anything else as JSON). */
struct cv_xml_schema;
int cv_listing_load_file(struct cv_bodies *b, const char *path, const struct cv_xml_schema *s,
                         char *err, size_t cap);

/* All reference data a verification needs, loaded once and then read-only (shared by threads). */
struct cv_reference {
    struct cv_catalog catalog;
    struct cv_bodies bodies;
    struct cv_refdata ref;        /* points at the two above */
    struct cv_xml_schema *schema; /* the compiled XSDs, owned */
    char version[17];             /* 16 hex digits over the loaded files: changes when they do */
};

/* Loads config_dir/standards.json, config_dir/accreditation-bodies.json, the XSDs
 * (config_dir/certificate.xsd, listing.xsd), then each listing in order, and computes the
 * version. On error 'r' is left empty (cleanup is still safe) and 'err' says what failed. */
int cv_reference_load(struct cv_reference *r, const char *config_dir, const char *const *listings,
                      size_t n_listings, char *err, size_t cap);
void cv_reference_cleanup(struct cv_reference *r);

#endif

/* Loading reference data from JSON files: the standards catalog and listing documents. */
#ifndef CERTVET_REFDATA_H
#define CERTVET_REFDATA_H

#include <stddef.h>

#include "certvet/bodies.h"
#include "certvet/standards.h"
#include "certvet/supplier.h"

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

#endif

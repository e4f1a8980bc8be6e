/* XML adapter (libxml2): hardened parsing, the certificate and listing XSDs. */
#ifndef CERTVET_XML_H
#define CERTVET_XML_H

#include <stddef.h>

#include "certvet/bodies.h"

struct cv_xml_schema; /* opaque: the compiled certificate and listing schemas */

/* Loads and compiles 'certificate_xsd' and 'listing_xsd' (files in config/). Returns CV_OK and
 * sets '*out' (free with cv_xml_schema_free), or an error with a message in 'err' ('cap'). */
int cv_xml_schema_new(const char *certificate_xsd, const char *listing_xsd,
                      struct cv_xml_schema **out, char *err, size_t cap);
void cv_xml_schema_free(struct cv_xml_schema *s);

/* Loads a listing document in XML (accreditation_bodies and/or certification_bodies) from 'path',
 * validated against the listing XSD, and merges it into 'b'. Nothing is merged unless the whole
 * document is valid. Errors name the entry and field in 'err'. */
int cv_xml_load_listing(struct cv_bodies *b, const char *path, const struct cv_xml_schema *s,
                        char *err, size_t cap);

/* Same from memory ('len' bytes); 'name' labels errors. For the fuzzers and the service. */
int cv_xml_load_listing_mem(struct cv_bodies *b, const char *buf, size_t len, const char *name,
                            const struct cv_xml_schema *s, char *err, size_t cap);

#endif

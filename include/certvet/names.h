/* The one name normalizer used for companies, certification and accreditation bodies. */
#ifndef CERTVET_NAMES_H
#define CERTVET_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define CV_NAME_KEY_MAX 256 /* bytes of a normalized key, NUL included; longer names are cut */

/* Normalizes 'name' into its token-set key in 'out' (CV_NAME_KEY_MAX bytes): ASCII case-folded,
 * punctuation stripped, legal-form words (co, ltd, limited, inc, gmbh, ...) dropped, tokens
 * sorted and de-duplicated, joined by one space. Two names match when their keys are equal.
 * Bytes >= 0x80 (UTF-8) are kept as they are. Returns the key length (0 for an empty key). */
size_t cv_name_key(const char *name, char *out);

/* True when 'a' and 'b' normalize to the same non-empty token set. */
bool cv_names_match(const char *a, const char *b);

#endif

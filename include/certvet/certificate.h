/* The certificate model (SPEC 3.1): what a supplier claims, before any verification. */
#ifndef CERTVET_CERTIFICATE_H
#define CERTVET_CERTIFICATE_H

#include <stdbool.h>
#include <stddef.h>

#include "certvet/arena.h"
#include "certvet/date.h"

#define CV_CERT_NUMBER_MAX 60 /* characters of certificate_number, as in IAF MD 28 */
#define CV_CERT_ID_LEN     26 /* "c_" + 23 hex digits + NUL */

enum cv_cert_type {
    CV_CERT_MANAGEMENT_SYSTEM = 0, /* ISO/IEC 17021-1 */
    CV_CERT_PRODUCT,               /* ISO/IEC 17065 */
    CV_CERT_TEST_REPORT,           /* ISO/IEC 17025 */
};

enum cv_declared_status {
    CV_DECLARED_NONE = 0, /* not stated */
    CV_DECLARED_ACTIVE,
    CV_DECLARED_SUSPENDED,
    CV_DECLARED_WITHDRAWN,
    CV_DECLARED_CANCELLED,
    CV_DECLARED_EXPIRED,
};

enum cv_audit_type {
    CV_AUDIT_INITIAL = 0,
    CV_AUDIT_SURVEILLANCE,
    CV_AUDIT_RECERTIFICATION,
    CV_AUDIT_SPECIAL,
    CV_AUDIT_TRANSFER,
};

struct cv_audit {
    enum cv_audit_type type;
    cv_date date;
};

struct cv_site {
    const char *name, *address, *country, *scope; /* in the certificate's arena, may be NULL */
};

/* All strings live in 'arena' and are NULL when absent. */
struct cv_certificate {
    struct cv_arena arena;
    const char *certificate_number;
    enum cv_cert_type type;
    const char *standard;
    const char *holder_name;
    const char *holder_country;
    const char *holder_vat, *holder_duns, *holder_registration;
    const char *supplier_id;
    const char *cb_name;
    const char *cb_id;
    const char *cb_accreditation_number;
    const char *accreditation_body;
    const char *scope;
    struct cv_site *sites; /* in the arena */
    size_t n_sites;
    const char **sectors; /* in the arena */
    size_t n_sectors;
    cv_date original_certification_date; /* or CV_DATE_NONE */
    cv_date issue_date;
    cv_date expiry_date;     /* CV_DATE_NONE allowed only for test reports */
    struct cv_audit *audits; /* in the arena */
    size_t n_audits;
    enum cv_declared_status declared_status;
};

/* Initializes an empty certificate whose arena may hold up to 'arena_limit' bytes (0: none). */
void cv_certificate_init(struct cv_certificate *c, size_t arena_limit);

/* Empties the certificate for reuse, keeping its arena's first chunk. */
void cv_certificate_reset(struct cv_certificate *c);

/* Exchanges the contents of 'a' and 'b' (fields and arena memory: nothing is copied); each keeps
 * its own arena limit. Hands a certificate from a reader to another owner for an empty one. */
void cv_certificate_swap(struct cv_certificate *a, struct cv_certificate *b);

/* Frees the arena. Accepts NULL. */
void cv_certificate_cleanup(struct cv_certificate *c);

/* Checks the rules every reader applies after filling a certificate: required fields present
 * (certificate_number, standard, holder name, certification body name, issue_date, expiry_date
 * unless a test report), certificate_number at most CV_CERT_NUMBER_MAX characters, and
 * expiry_date > issue_date. On failure returns CV_ERR_INVALID and sets '*field' to the name of
 * the offending field (a static string) and writes a message into 'msg' ('cap' bytes). */
int cv_certificate_check(const struct cv_certificate *c, const char **field, char *msg, size_t cap);

/* Sets the field 'name' from 'len' bytes of text. 'name' is a flat field name as in the CSV
 * header: certificate_number, type, standard, holder_name, holder_country, holder_vat,
 * holder_duns, holder_registration, supplier_id, certification_body (the CB's name),
 * certification_body_id, accreditation_number, accreditation_body, scope, issue_date,
 * expiry_date, original_certification_date, declared_status. Dates are parsed, enums checked,
 * surrounding blanks trimmed; an empty value leaves the field absent. Returns CV_OK,
 * CV_ERR_NOT_FOUND when no field has that name, CV_ERR_INVALID with a message in 'msg' ('cap')
 * when the value is wrong for the field, or CV_ERR_NOMEM / CV_ERR_TOO_LARGE (arena limit). */
int cv_certificate_set_text(struct cv_certificate *c, const char *name, const char *value,
                            size_t len, char *msg, size_t cap);

/* The id of the flat field 'name' (see cv_certificate_set_text), or -1 when no field has it.
 * Readers that see the same names again and again (CSV columns) look them up once. */
int cv_certificate_field_id(const char *name);

/* cv_certificate_set_text for a field id from cv_certificate_field_id (must be >= 0). */
int cv_certificate_set_field(struct cv_certificate *c, int id, const char *value, size_t len,
                             char *msg, size_t cap);

/* Appends an audit; 'type' and 'date' are text as in the input. Errors as above; on
 * CV_ERR_INVALID, '*field' is set to "audits.type" or "audits.date". */
int cv_certificate_add_audit(struct cv_certificate *c, const char *type, size_t type_len,
                             const char *date, size_t date_len, const char **field, char *msg,
                             size_t cap);

/* Appends a site; any argument may be NULL. Strings are copied into the arena. */
int cv_certificate_add_site(struct cv_certificate *c, const char *name, const char *address,
                            const char *country, const char *scope);

/* Appends a sector code (copied). */
int cv_certificate_add_sector(struct cv_certificate *c, const char *sector, size_t len);

/* The keys under which the store indexes certificates by certification body, so that the nightly
 * scan can re-verify the certificates of a CB whose accreditation changed: "n_" + 16 hex digits
 * of SHA-256 over the normalized name (name normalizer), or "i_" + 16 hex digits over the id.
 * A listed CB is found through the keys of its name, each alias and its id. Each returns false
 * (and an empty 'out') when there is nothing to key: a NULL or empty id, a name whose
 * normalized key is empty. */
#define CV_CB_KEY_LEN 19
bool cv_cb_name_key(const char *name, char out[CV_CB_KEY_LEN]);
bool cv_cb_id_key(const char *id, char out[CV_CB_KEY_LEN]);

/* The certificate's stable id (SPEC 3.1): derived from the normalized certification body name
 * (name normalizer), the certificate number (upper case, blanks and punctuation dropped) and the
 * standard 'family' (as the catalog names it; pass the printed standard without its year when
 * the catalog does not know it), so ingesting the same certificate again updates it. */
void cv_certificate_id(const struct cv_certificate *c, const char *family,
                       char out[CV_CERT_ID_LEN]);

/* Names and parsers of the enums; parsers return CV_OK or CV_ERR_INVALID. */
const char *cv_cert_type_name(enum cv_cert_type t);
int cv_cert_type_parse(const char *s, enum cv_cert_type *out);
const char *cv_declared_status_name(enum cv_declared_status s);
int cv_declared_status_parse(const char *s, enum cv_declared_status *out);
const char *cv_audit_type_name(enum cv_audit_type t);
int cv_audit_type_parse(const char *s, enum cv_audit_type *out);

#endif

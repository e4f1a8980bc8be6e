/* The verification rules of SPEC 4: a pure function of (certificate, reference data, as_of,
 * options). No I/O, no clock. */
#ifndef CERTVET_VERIFY_H
#define CERTVET_VERIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "certvet/bodies.h"
#include "certvet/certificate.h"
#include "certvet/date.h"
#include "certvet/findings.h"
#include "certvet/standards.h"

#define CV_MESSAGE_MAX      384 /* bytes of a finding's message, NUL included */
#define CV_DETAIL_MAX       6   /* key/value pairs in a finding's detail */
#define CV_DETAIL_VALUE_MAX 72

struct cv_detail {
    const char *key; /* static string, NULL marks an unused slot */
    bool is_number;  /* emit 'value' as a JSON number */
    char value[CV_DETAIL_VALUE_MAX];
};

struct cv_finding {
    enum cv_finding_code code;
    enum cv_severity severity;
    char message[CV_MESSAGE_MAX];
    struct cv_detail detail[CV_DETAIL_MAX];
};

/* Reference data the rules read; both borrowed. */
struct cv_refdata {
    const struct cv_catalog *catalog;
    const struct cv_bodies *bodies;
};

/* What a certificate registry said about the certificate (SPEC 6), as input to the rules. */
enum cv_registry_status {
    CV_REG_NOT_CONSULTED = 0, /* no registry for this certificate: checks.registry is skipped */
    CV_REG_ACTIVE,
    CV_REG_SUSPENDED,
    CV_REG_WITHDRAWN, /* also "Cancelled" */
    CV_REG_EXPIRED,
    CV_REG_NOT_FOUND,
    CV_REG_UNAVAILABLE, /* configured for this CB but failed or timed out */
};

struct cv_registry_result {
    enum cv_registry_status status;
    const char *registry;    /* the connector's name, for messages */
    const char *holder_name; /* as the registry has it, or NULL */
    const char *standard;    /* as the registry has it, or NULL */
    cv_date expiry_date;     /* or CV_DATE_NONE */
    const char *error;       /* for CV_REG_UNAVAILABLE: what failed, or NULL */
};

struct cv_verify_options {
    int expiring_within;     /* days, default 90 */
    int surveillance_grace;  /* days, default 90 */
    int max_report_age_days; /* 0: no limit (REPORT_TOO_OLD is a scoring-profile rule) */
    /* Name and aliases of the supplier the certificate is linked to, for HOLDER_MISMATCH;
     * NULL when no supplier is linked (the holder check is then skipped). Borrowed. */
    const char *supplier_name;
    const char *const *supplier_aliases;
    size_t n_supplier_aliases;
    /* What a registry said, or NULL (offline: checks.registry is skipped). Borrowed. */
    const struct cv_registry_result *registry;
};

/* Each finding code appears at most once, so the array is sized by the code table. */
struct cv_verification {
    const char *certificate_number; /* borrowed from the certificate */
    char standard[96];              /* normalized edition id, or the input when unknown */
    const char *family;             /* catalog-owned, NULL when unknown */
    cv_date as_of;
    enum cv_verdict verdict;
    cv_date effective_expiry; /* CV_DATE_NONE for a test report without expiry */
    bool has_days_to_expiry;
    int days_to_expiry;       /* negative once expired */
    cv_date surveillance_due; /* CV_DATE_NONE when not applicable */
    enum cv_check_result checks[CV_CHECK_COUNT];
    struct cv_finding findings[CV_F_COUNT];
    size_t n_findings; /* sorted worst first, then by code order */
};

/* Fills 'o' with the defaults (90, 90, 0, no supplier). */
void cv_verify_options_init(struct cv_verify_options *o);

/* Verifies 'cert' as of 'as_of' into 'out' (fully overwritten). 'cert' must have passed
 * cv_certificate_check. 'out' borrows from 'cert' and 'ref': keep them alive while it is used. */
void cv_verify(const struct cv_certificate *cert, const struct cv_refdata *ref, cv_date as_of,
               const struct cv_verify_options *opt, struct cv_verification *out);

#endif

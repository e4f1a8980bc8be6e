/* Finding codes, severities, verdicts and check names: one table each, the single source of truth.
 */
#ifndef CERTVET_FINDINGS_H
#define CERTVET_FINDINGS_H

/* In order of increasing weight; the verdict follows the worst. */
enum cv_severity {
    CV_SEV_INFO = 0,
    CV_SEV_WARNING,
    CV_SEV_INCONCLUSIVE,
    CV_SEV_CRITICAL,
};

enum cv_verdict {
    CV_VERDICT_VALID = 0,
    CV_VERDICT_WARNING,
    CV_VERDICT_UNVERIFIED,
    CV_VERDICT_INVALID,
};

/* X-macro: code, default severity, check it belongs to. */
#define CV_FINDING_TABLE(X)                                                                        \
    X(CERT_NOT_YET_VALID, CRITICAL, VALIDITY)                                                      \
    X(CERT_EXPIRED, CRITICAL, VALIDITY)                                                            \
    X(CERT_EXPIRING_SOON, WARNING, VALIDITY)                                                       \
    X(CERT_CYCLE_TOO_LONG, WARNING, VALIDITY)                                                      \
    X(CERT_STATUS_NOT_ACTIVE, CRITICAL, VALIDITY)                                                  \
    X(STANDARD_UNKNOWN, INCONCLUSIVE, EDITION)                                                     \
    X(STANDARD_IN_TRANSITION, WARNING, EDITION)                                                    \
    X(STANDARD_WITHDRAWN, CRITICAL, EDITION)                                                       \
    X(STANDARD_ROUTE_MISMATCH, WARNING, EDITION)                                                   \
    X(SURVEILLANCE_DUE, INFO, SURVEILLANCE)                                                        \
    X(SURVEILLANCE_OVERDUE, WARNING, SURVEILLANCE)                                                 \
    X(SURVEILLANCE_LAPSED, CRITICAL, SURVEILLANCE)                                                 \
    X(SURVEILLANCE_UNKNOWN, WARNING, SURVEILLANCE)                                                 \
    X(CB_UNKNOWN, INCONCLUSIVE, ACCREDITATION)                                                     \
    X(CB_NOT_ACCREDITED_FOR_STANDARD, CRITICAL, ACCREDITATION)                                     \
    X(CB_NOT_ACCREDITED_AT_ISSUE, CRITICAL, ACCREDITATION)                                         \
    X(CB_ACCREDITATION_SUSPENDED, CRITICAL, ACCREDITATION)                                         \
    X(CB_ACCREDITATION_WITHDRAWN, CRITICAL, ACCREDITATION)                                         \
    X(AB_NOT_RECOGNIZED, CRITICAL, ACCREDITATION)                                                  \
    X(AB_SUBSCOPE_NOT_RECOGNIZED, WARNING, ACCREDITATION)                                          \
    X(ACCREDITATION_OUTSIDE_MLA, INFO, ACCREDITATION)                                              \
    X(AB_MISMATCH, WARNING, ACCREDITATION)                                                         \
    X(HOLDER_MISMATCH, WARNING, HOLDER)                                                            \
    X(REGISTRY_CONFIRMED, INFO, REGISTRY)                                                          \
    X(REGISTRY_MISMATCH, WARNING, REGISTRY)                                                        \
    X(REGISTRY_SUSPENDED, CRITICAL, REGISTRY)                                                      \
    X(REGISTRY_WITHDRAWN, CRITICAL, REGISTRY)                                                      \
    X(REGISTRY_EXPIRED, CRITICAL, REGISTRY)                                                        \
    X(REGISTRY_NOT_FOUND, INCONCLUSIVE, REGISTRY)                                                  \
    X(REGISTRY_UNAVAILABLE, INCONCLUSIVE, REGISTRY)                                                \
    X(REPORT_TOO_OLD, WARNING, VALIDITY)

enum cv_finding_code {
#define CV_X_ENUM(code, sev, check) CV_F_##code,
    CV_FINDING_TABLE(CV_X_ENUM)
#undef CV_X_ENUM
        CV_F_COUNT
};

/* The six checks a verification reports on. */
enum cv_check {
    CV_CHECK_VALIDITY = 0,
    CV_CHECK_EDITION,
    CV_CHECK_SURVEILLANCE,
    CV_CHECK_ACCREDITATION,
    CV_CHECK_HOLDER,
    CV_CHECK_REGISTRY,
    CV_CHECK_COUNT
};

enum cv_check_result {
    CV_CHECK_SKIPPED = 0,
    CV_CHECK_PASS,
    CV_CHECK_FAIL,
    CV_CHECK_INCONCLUSIVE,
};

/* Static names ("CERT_EXPIRED", "critical", "invalid", "validity", "pass"). */
const char *cv_finding_code_name(enum cv_finding_code c);
enum cv_severity cv_finding_default_severity(enum cv_finding_code c);
enum cv_check cv_finding_check(enum cv_finding_code c);
const char *cv_severity_name(enum cv_severity s);
const char *cv_verdict_name(enum cv_verdict v);
const char *cv_check_name(enum cv_check c);
const char *cv_check_result_name(enum cv_check_result r);

/* Looks a code up by name; returns CV_OK or CV_ERR_NOT_FOUND. */
int cv_finding_code_parse(const char *name, enum cv_finding_code *out);

#endif

/* Names and metadata of finding codes, severities, verdicts and checks, from the one table. */
#include "certvet/findings.h"

#include <string.h>

#include "certvet/error.h"

struct code_info {
    const char *name;
    enum cv_severity severity;
    enum cv_check check;
};

static const struct code_info codes[CV_F_COUNT] = {
#define CV_X_INFO(code, sev, check) {#code, CV_SEV_##sev, CV_CHECK_##check},
    CV_FINDING_TABLE(CV_X_INFO)
#undef CV_X_INFO
};

const char *cv_finding_code_name(enum cv_finding_code c)
{
    return (unsigned)c < CV_F_COUNT ? codes[c].name : "UNKNOWN";
}

enum cv_severity cv_finding_default_severity(enum cv_finding_code c)
{
    return (unsigned)c < CV_F_COUNT ? codes[c].severity : CV_SEV_INFO;
}

enum cv_check cv_finding_check(enum cv_finding_code c)
{
    return (unsigned)c < CV_F_COUNT ? codes[c].check : CV_CHECK_VALIDITY;
}

int cv_finding_code_parse(const char *name, enum cv_finding_code *out)
{
    for (int i = 0; i < CV_F_COUNT; i++) {
        if (strcmp(codes[i].name, name) == 0) {
            *out = (enum cv_finding_code)i;
            return CV_OK;
        }
    }
    return CV_ERR_NOT_FOUND;
}

const char *cv_severity_name(enum cv_severity s)
{
    static const char *const names[] = {"info", "warning", "inconclusive", "critical"};
    return (unsigned)s < 4 ? names[s] : "unknown";
}

const char *cv_verdict_name(enum cv_verdict v)
{
    static const char *const names[] = {"valid", "warning", "unverified", "invalid"};
    return (unsigned)v < 4 ? names[v] : "unknown";
}

const char *cv_check_name(enum cv_check c)
{
    static const char *const names[CV_CHECK_COUNT] = {"validity",      "edition", "surveillance",
                                                      "accreditation", "holder",  "registry"};
    return (unsigned)c < CV_CHECK_COUNT ? names[c] : "unknown";
}

const char *cv_check_result_name(enum cv_check_result r)
{
    static const char *const names[] = {"skipped", "pass", "fail", "inconclusive"};
    return (unsigned)r < 4 ? names[r] : "unknown";
}

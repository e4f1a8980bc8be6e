/* Supplier scoring (SPEC 5, certvet-score/1): procurement profiles and a pure function from a
 * supplier's verified certificates to a score, a decision, coverage and the reasons. */
#ifndef CERTVET_SCORE_H
#define CERTVET_SCORE_H

#include <stdbool.h>
#include <stddef.h>

#include "certvet/certificate.h"
#include "certvet/date.h"
#include "certvet/standards.h"
#include "certvet/verify.h"

#define CV_SCORE_VERSION       "certvet-score/1"
#define CV_REQ_WEIGHT_REQUIRED 10 /* default weight of a required family */
#define CV_REQ_WEIGHT_RECOMM   5  /* default weight of a recommended family */
#define CV_APPROVE_AT_DEFAULT  80
#define CV_REASON_MAX          512 /* bytes of one reason, NUL included */

enum cv_req_level {
    CV_REQ_REQUIRED = 0,
    CV_REQ_RECOMMENDED,
};

enum cv_decision {
    CV_DECISION_APPROVED = 0,
    CV_DECISION_CONDITIONAL,
    CV_DECISION_REJECTED,
};

struct cv_requirement {
    char *family; /* as written in the profile (any spelling the catalog accepts), owned */
    enum cv_req_level level;
    int weight; /* > 0 */
};

struct cv_profile {
    char *name;                  /* e.g. "government", owned */
    char *title;                 /* owned, may be NULL */
    struct cv_requirement *reqs; /* owned array */
    size_t n_reqs;
    int approve_at;          /* 0..100 */
    int max_report_age_days; /* 0: no limit (REPORT_TOO_OLD for test reports) */
};

struct cv_profiles {
    struct cv_profile *items; /* owned array */
    size_t count, cap;
};

void cv_profiles_init(struct cv_profiles *p);
void cv_profiles_cleanup(struct cv_profiles *p);

/* Frees the members of one profile (not the struct). Accepts NULL. */
void cv_profile_cleanup(struct cv_profile *p);

/* Appends '*prof', taking ownership of its members (they are cleared). Returns CV_OK,
 * CV_ERR_NOMEM, or CV_ERR_CONFLICT when a profile of that name is there already. */
int cv_profiles_add(struct cv_profiles *p, struct cv_profile *prof);

/* The profile named 'name', or NULL. */
const struct cv_profile *cv_profiles_find(const struct cv_profiles *p, const char *name);

/* One of the supplier's certificates with its verification (computed as of the same date, with
 * the profile's max_report_age_days). Both borrowed. */
struct cv_scored_cert {
    const struct cv_certificate *cert;
    const struct cv_verification *v;
};

/* One requirement of the profile and what answered it. */
struct cv_score_row {
    const struct cv_requirement *req;  /* borrowed from the profile */
    const char *family;                /* canonical family (catalog-owned), or req->family */
    const struct cv_scored_cert *best; /* borrowed from the input, NULL when none */
    char cert_id[CV_CERT_ID_LEN];      /* the best certificate's id, "" when none */
    int points;                        /* 10, 7, 4 or 0 */
    bool covered;        /* best certificate checked against a listing or a registry */
    size_t n_candidates; /* certificates of this family the supplier has */
};

struct cv_score {
    const struct cv_profile *profile; /* borrowed */
    cv_date as_of;
    bool has_score;  /* false when the profile has no requirements: score and coverage null */
    int score;       /* 0..100 */
    double coverage; /* 0..1 share of the weight whose best certificate was checked */
    enum cv_decision decision;
    struct cv_score_row *rows; /* owned, one per requirement in profile order */
    size_t n_rows;
    char (*reasons)[CV_REASON_MAX]; /* owned: the decision first, then one per weak row */
    size_t n_reasons;
};

/* Scores a supplier: for each requirement of 'profile' the best of 'certs' whose verified family
 * is the requirement's (best verdict, then latest effective expiry, none counting as latest, then
 * lowest certificate number), points, score, decision and coverage as SPEC 5, and plain-language
 * reasons. 'catalog' resolves the requirement families. Pure: no clock, no I/O. 'out' is fully
 * overwritten; free it with cv_score_cleanup. Returns CV_OK or CV_ERR_NOMEM (then 'out' is empty).
 * 'out' borrows from 'profile' and 'certs'. */
int cv_score(const struct cv_profile *profile, const struct cv_scored_cert *certs, size_t n_certs,
             const struct cv_catalog *catalog, cv_date as_of, struct cv_score *out);
void cv_score_cleanup(struct cv_score *s);

/* Points of a verdict (valid 10, warning 7, unverified 4, invalid 0). */
int cv_verdict_points(enum cv_verdict v);

/* Static names: "required", "recommended"; "approved", "conditional", "rejected". Parsers return
 * CV_OK or CV_ERR_INVALID. */
const char *cv_req_level_name(enum cv_req_level l);
int cv_req_level_parse(const char *s, enum cv_req_level *out);
const char *cv_decision_name(enum cv_decision d);

#endif

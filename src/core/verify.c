/* The verification rules of SPEC 4, as read in docs/RULES.md: pure functions of the certificate,
 * the reference data, the date and the options. */
#include "certvet/verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "certvet/names.h"

#define RESTORE_MONTHS      6        /* ISO/IEC 17021-1 9.6.3.2.5: restorable within 6 months */
#define CYCLE_MAX_MONTHS    (36 + 6) /* 3-year cycle plus at most a 6-month extension (IAF ID 3) */
#define TRANSFER_MONTHS     6        /* IAF MD 2: transfer window after a CB loses accreditation */
#define SURVEILLANCE_MONTHS 12       /* first surveillance no later than 12 months after decision */
#define DUE_NOTICE_DAYS     30       /* SURVEILLANCE_DUE when the audit is this close */

void cv_verify_options_init(struct cv_verify_options *o)
{
    memset(o, 0, sizeof(*o));
    o->expiring_within = 90;
    o->surveillance_grace = 90;
}

/* Appends a finding with 'sev' and a printf-style message; returns it for details. */
static struct cv_finding *add(struct cv_verification *v, enum cv_finding_code code,
                              enum cv_severity sev, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static struct cv_finding *add(struct cv_verification *v, enum cv_finding_code code,
                              enum cv_severity sev, const char *fmt, ...)
{
    for (size_t i = 0; i < v->n_findings; i++) {
        if (v->findings[i].code == code)
            return &v->findings[i]; /* each code at most once */
    }
    struct cv_finding *f = &v->findings[v->n_findings++];
    memset(f, 0, sizeof(*f));
    f->code = code;
    f->severity = sev;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof(f->message), fmt, ap);
    va_end(ap);
    return f;
}

static struct cv_detail *next_detail(struct cv_finding *f)
{
    for (int i = 0; i < CV_DETAIL_MAX; i++) {
        if (!f->detail[i].key)
            return &f->detail[i];
    }
    return NULL;
}

static void detail_str(struct cv_finding *f, const char *key, const char *value)
{
    struct cv_detail *d = next_detail(f);
    if (!d || !value)
        return;
    d->key = key;
    d->is_number = false;
    snprintf(d->value, sizeof(d->value), "%s", value);
}

static void detail_date(struct cv_finding *f, const char *key, cv_date date)
{
    char buf[CV_DATE_STRLEN];
    if (date == CV_DATE_NONE)
        return;
    cv_date_format(date, buf);
    detail_str(f, key, buf);
}

static void detail_int(struct cv_finding *f, const char *key, long n)
{
    struct cv_detail *d = next_detail(f);
    if (!d)
        return;
    d->key = key;
    d->is_number = true;
    snprintf(d->value, sizeof(d->value), "%ld", n);
}

/* Short names for dates inside messages. */
struct dstr {
    char s[CV_DATE_STRLEN];
};

static struct dstr ds(cv_date d)
{
    struct dstr r;
    cv_date_format(d, r.s);
    return r;
}

static const char *plural(long n)
{
    return n == 1 ? "" : "s";
}

/* ---- validity ---------------------------------------------------------------------------- */

static void check_validity(const struct cv_certificate *c, const struct cv_standard *std, cv_date d,
                           cv_date e, const struct cv_verify_options *opt,
                           struct cv_verification *v)
{
    struct cv_finding *f;
    bool report = c->type == CV_CERT_TEST_REPORT;
    if (d < c->issue_date) {
        f = add(v, CV_F_CERT_NOT_YET_VALID, CV_SEV_CRITICAL,
                "The certificate only takes effect on %s; on %s it does not yet certify anything. "
                "Ask the supplier for the certificate currently in force.",
                ds(c->issue_date).s, ds(d).s);
        detail_date(f, "issue_date", c->issue_date);
    }
    if (!report && e != CV_DATE_NONE) {
        long left = (long)e - d;
        if (left < 0) {
            bool by_edition = e < c->expiry_date;
            bool restorable =
                !by_edition && d <= cv_date_add_months(c->expiry_date, RESTORE_MONTHS);
            if (by_edition)
                f = add(v, CV_F_CERT_EXPIRED, CV_SEV_CRITICAL,
                        "The certificate lost its validity on %s, when its edition (%s) stopped "
                        "being valid, %ld day%s ago, although it prints expiry %s. Ask for a "
                        "certificate to the current edition.",
                        ds(e).s, std ? std->id : c->standard, -left, plural(-left),
                        ds(c->expiry_date).s);
            else if (restorable)
                f = add(v, CV_F_CERT_EXPIRED, CV_SEV_CRITICAL,
                        "The certificate expired on %s, %ld day%s ago. It is still restorable: "
                        "the certification body may restore it until %s if the recertification "
                        "is completed. Ask the supplier for the renewed certificate.",
                        ds(e).s, -left, plural(-left),
                        ds(cv_date_add_months(c->expiry_date, RESTORE_MONTHS)).s);
            else
                f = add(v, CV_F_CERT_EXPIRED, CV_SEV_CRITICAL,
                        "The certificate expired on %s, %ld day%s ago, more than 6 months ago: it "
                        "can no longer be restored; a new certification is needed.",
                        ds(e).s, -left, plural(-left));
            detail_date(f, "effective_expiry", e);
            detail_int(f, "days_since_expiry", -left);
            detail_str(f, "restorable", restorable ? "yes" : "no");
        } else if (left <= opt->expiring_within) {
            f = add(v, CV_F_CERT_EXPIRING_SOON, CV_SEV_WARNING,
                    "The certificate expires on %s, in %ld day%s. Ask the supplier when the "
                    "recertification audit is planned.",
                    ds(e).s, left, plural(left));
            detail_date(f, "effective_expiry", e);
            detail_int(f, "days_to_expiry", left);
        }
    }
    if (c->type == CV_CERT_MANAGEMENT_SYSTEM &&
        c->expiry_date > cv_date_add_months(c->issue_date, CYCLE_MAX_MONTHS)) {
        f = add(v, CV_F_CERT_CYCLE_TOO_LONG, CV_SEV_WARNING,
                "Issued %s and expiring %s: longer than the 3-year certification cycle plus the "
                "6-month extension ISO/IEC 17021-1 and IAF ID 3 allow. Ask the certification body "
                "to confirm the dates.",
                ds(c->issue_date).s, ds(c->expiry_date).s);
        detail_date(f, "issue_date", c->issue_date);
        detail_date(f, "expiry_date", c->expiry_date);
    }
    if (c->declared_status >= CV_DECLARED_SUSPENDED) {
        f = add(v, CV_F_CERT_STATUS_NOT_ACTIVE, CV_SEV_CRITICAL,
                "The certificate is declared %s: %s.", cv_declared_status_name(c->declared_status),
                c->declared_status == CV_DECLARED_SUSPENDED
                    ? "while suspended it is temporarily invalid and must not be relied on"
                    : "it is no longer valid");
        detail_str(f, "declared_status", cv_declared_status_name(c->declared_status));
    }
    if (report && opt->max_report_age_days > 0 &&
        (long)d - c->issue_date > opt->max_report_age_days) {
        long age = (long)d - c->issue_date;
        f = add(v, CV_F_REPORT_TOO_OLD, CV_SEV_WARNING,
                "The test report dated %s is %ld days old, older than the %d days accepted. Ask "
                "for a recent report on the current product.",
                ds(c->issue_date).s, age, opt->max_report_age_days);
        detail_int(f, "age_days", age);
        detail_int(f, "max_report_age_days", opt->max_report_age_days);
    }
}

/* ---- edition ----------------------------------------------------------------------------- */

static bool route_fits(enum cv_cert_type t, enum cv_route r)
{
    switch (t) {
    case CV_CERT_MANAGEMENT_SYSTEM:
        return r == CV_ROUTE_17021_1 || r == CV_ROUTE_GUIDELINE;
    case CV_CERT_PRODUCT:
        return r == CV_ROUTE_17065 || r == CV_ROUTE_GUIDELINE;
    case CV_CERT_TEST_REPORT:
        return r == CV_ROUTE_17025;
    }
    return false;
}

static const char *route_evidence(enum cv_route r)
{
    switch (r) {
    case CV_ROUTE_17021_1:
        return "a management-system certificate";
    case CV_ROUTE_17065:
        return "a product certificate";
    case CV_ROUTE_17025:
        return "a test report from an accredited laboratory";
    default:
        return "a certificate under the certifier's own scheme";
    }
}

static void check_edition(const struct cv_certificate *c, const struct cv_standard *std, cv_date d,
                          struct cv_verification *v)
{
    struct cv_finding *f;
    if (!std) {
        f = add(v, CV_F_STANDARD_UNKNOWN, CV_SEV_INCONCLUSIVE,
                "'%s' is not a standard edition certvet knows (an edition needs its year, e.g. "
                "ISO 9001:2015). The edition, accreditation scope and sub-scope cannot be checked; "
                "ask the supplier for the exact standard and edition.",
                c->standard);
        detail_str(f, "standard", c->standard);
        return;
    }
    if (std->withdrawn) {
        if (std->valid_until == CV_DATE_NONE) {
            f = add(v, CV_F_STANDARD_IN_TRANSITION, CV_SEV_WARNING,
                    "%s has been replaced by %s; no transition deadline is on record. Ask the "
                    "supplier when it will be certified to the current edition.",
                    std->id, std->superseded_by ? std->superseded_by : "a newer edition");
        } else if (d <= std->valid_until) {
            f = add(v, CV_F_STANDARD_IN_TRANSITION, CV_SEV_WARNING,
                    "%s has been replaced by %s; certificates to it stay valid only until %s. Ask "
                    "the supplier when the transition audit is planned.",
                    std->id, std->superseded_by ? std->superseded_by : "a newer edition",
                    ds(std->valid_until).s);
            detail_date(f, "valid_until", std->valid_until);
        } else {
            f = add(v, CV_F_STANDARD_WITHDRAWN, CV_SEV_CRITICAL,
                    "%s was withdrawn: certificates to it stopped being valid on %s. Ask for a "
                    "certificate to %s.",
                    std->id, ds(std->valid_until).s,
                    std->superseded_by ? std->superseded_by : "the current edition");
            detail_date(f, "valid_until", std->valid_until);
        }
        if (std->superseded_by)
            detail_str(f, "superseded_by", std->superseded_by);
    }
    if (!route_fits(c->type, std->route)) {
        f = add(v, CV_F_STANDARD_ROUTE_MISMATCH, CV_SEV_WARNING,
                "%s is shown by %s (%s), but this document is presented as a %s certificate. Ask "
                "for the right kind of evidence.",
                std->id, route_evidence(std->route),
                cv_route_name(std->route) ? cv_route_name(std->route) : "no accreditation route",
                cv_cert_type_name(c->type));
        detail_str(f, "route", cv_route_name(std->route));
        detail_str(f, "type", cv_cert_type_name(c->type));
    }
}

/* ---- surveillance ------------------------------------------------------------------------ */

static bool registry_active(const struct cv_verify_options *opt)
{
    return opt->registry && opt->registry->status == CV_REG_ACTIVE;
}

static void check_surveillance(const struct cv_certificate *c, cv_date d, cv_date e,
                               const struct cv_verify_options *opt, struct cv_verification *v)
{
    v->surveillance_due = CV_DATE_NONE;
    if (c->type != CV_CERT_MANAGEMENT_SYSTEM || e == CV_DATE_NONE)
        return;
    cv_date anchor = c->issue_date;
    for (size_t i = 0; i < c->n_audits; i++) {
        const struct cv_audit *a = &c->audits[i];
        if ((a->type == CV_AUDIT_SURVEILLANCE || a->type == CV_AUDIT_RECERTIFICATION ||
             a->type == CV_AUDIT_TRANSFER) &&
            a->date <= d && a->date > anchor)
            anchor = a->date;
    }
    cv_date due = cv_date_add_months(anchor, SURVEILLANCE_MONTHS);
    if (due >= e)
        return; /* the next audit is the recertification: the expiry rules cover it */
    v->surveillance_due = due;
    if (d < c->issue_date || d > e)
        return;
    v->checks[CV_CHECK_SURVEILLANCE] = CV_CHECK_PASS;
    struct cv_finding *f;
    long late = (long)d - due;
    if (c->n_audits > 0 && late > opt->surveillance_grace) {
        f = add(v, CV_F_SURVEILLANCE_LAPSED, CV_SEV_CRITICAL,
                "The surveillance audit was due by %s and is %ld days late, past the %d-day "
                "grace: the certification body should have suspended the certificate. Ask for "
                "the latest surveillance audit report or the CB's confirmation of status.",
                ds(due).s, late, opt->surveillance_grace);
        v->checks[CV_CHECK_SURVEILLANCE] = CV_CHECK_FAIL;
    } else if (c->n_audits > 0 && late > 0) {
        f = add(v, CV_F_SURVEILLANCE_OVERDUE, CV_SEV_WARNING,
                "The surveillance audit was due by %s and is %ld day%s late. Ask the supplier for "
                "the audit date or report.",
                ds(due).s, late, plural(late));
    } else if (c->n_audits == 0 && late > 0 && registry_active(opt)) {
        /* SPEC 4: a registry that has the certificate active says the CB still certifies it. */
        f = add(v, CV_F_SURVEILLANCE_UNKNOWN, CV_SEV_INFO,
                "A surveillance audit was due by %s and none is on record here, but %s lists "
                "the certificate as active, so the certification body still maintains it.",
                ds(due).s, opt->registry->registry ? opt->registry->registry : "the registry");
    } else if (c->n_audits == 0 && late > 0) {
        f = add(v, CV_F_SURVEILLANCE_UNKNOWN, CV_SEV_WARNING,
                "A surveillance audit was due by %s and no audit is on record. Ask the supplier "
                "for the latest surveillance audit report.",
                ds(due).s);
        v->checks[CV_CHECK_SURVEILLANCE] = CV_CHECK_INCONCLUSIVE;
    } else if (-late <= DUE_NOTICE_DAYS) {
        f = add(v, CV_F_SURVEILLANCE_DUE, CV_SEV_INFO,
                "The next surveillance audit is due by %s, in %ld day%s.", ds(due).s, -late,
                plural(-late));
    } else {
        return;
    }
    detail_date(f, "surveillance_due", due);
    detail_date(f, "last_audit", anchor);
    if (late > 0)
        detail_int(f, "days_late", late);
}

/* ---- accreditation ----------------------------------------------------------------------- */

static enum cv_route main_scope_of(enum cv_cert_type t)
{
    switch (t) {
    case CV_CERT_PRODUCT:
        return CV_ROUTE_17065;
    case CV_CERT_TEST_REPORT:
        return CV_ROUTE_17025;
    default:
        return CV_ROUTE_17021_1;
    }
}

static bool recognition_counts(const struct cv_recognition *r, enum cv_route scope)
{
    return r->status == CV_LS_ACTIVE && r->main_scope == scope &&
           (r->arrangement == CV_ARR_IAF_MLA || r->arrangement == CV_ARR_ILAC_MRA ||
            r->arrangement == CV_ARR_GLOBAL_ACI);
}

/* Checks the AB 'printed' (as listed or printed) for the certificate's main scope and the
 * edition's sub-scope. Returns true when a critical finding was added. */
static bool check_ab(const struct cv_certificate *c, const struct cv_standard *std,
                     const struct cv_bodies *bodies, const char *ab_name, const char *whose,
                     struct cv_verification *v)
{
    enum cv_route scope = main_scope_of(c->type);
    const struct cv_ab *ab = cv_bodies_find_ab(bodies, ab_name);
    unsigned subscopes = 0;
    bool recognized = false;
    for (size_t i = 0; ab && i < ab->n_recognitions; i++) {
        if (recognition_counts(&ab->recognitions[i], scope)) {
            recognized = true;
            subscopes |= ab->recognitions[i].subscopes;
        }
    }
    struct cv_finding *f;
    if (!recognized) {
        f = add(v, CV_F_AB_NOT_RECOGNIZED, CV_SEV_CRITICAL,
                "%s '%s' is %s: no IAF MLA, ILAC MRA or Global ACI MRA recognition for %s is on "
                "record, so the accreditation is not internationally recognized. Treat the "
                "certificate as unaccredited.",
                whose, ab_name,
                ab ? "a known body without that recognition" : "not a recognized signatory",
                cv_route_name(scope));
        detail_str(f, "accreditation_body", ab_name);
        detail_str(f, "main_scope", cv_route_name(scope));
        return true;
    }
    if (!std || c->type != CV_CERT_MANAGEMENT_SYSTEM)
        return false;
    if (std->subscope == CV_SUB_NONE) {
        f = add(v, CV_F_ACCREDITATION_OUTSIDE_MLA, CV_SEV_INFO,
                "%s is not an IAF MLA sub-scope: its recognition rests on the national "
                "accreditation body %s, not on the international arrangement.",
                std->family, ab->acronym);
        detail_str(f, "accreditation_body", ab->acronym);
    } else if (!(subscopes & std->subscope)) {
        f = add(v, CV_F_AB_SUBSCOPE_NOT_RECOGNIZED, CV_SEV_WARNING,
                "%s is recognized for %s but not for the %s sub-scope that %s needs: the "
                "accreditation is not covered by the arrangement for this standard.",
                ab->acronym, cv_route_name(scope), cv_subscope_name(std->subscope), std->family);
        detail_str(f, "accreditation_body", ab->acronym);
        detail_str(f, "subscope", cv_subscope_name(std->subscope));
    }
    return false;
}

/* Picks the covering accreditation: active and valid at issue, then active, then latest dated. */
static const struct cv_cb_accreditation *
pick_accreditation(const struct cv_cb *cb, const struct cv_standard *std, cv_date issue)
{
    const struct cv_cb_accreditation *best = NULL;
    int best_rank = -1;
    cv_date best_date = CV_DATE_NONE;
    struct cv_standard_keys keys;
    cv_standard_keys_init(&keys, std);
    for (size_t i = 0; i < cb->n_accreditations; i++) {
        const struct cv_cb_accreditation *a = &cb->accreditations[i];
        bool covers = false;
        for (size_t j = 0; j < a->n_standards && !covers; j++)
            covers = cv_standard_keys_cover(&keys, a->standards[j]);
        if (!covers)
            continue;
        int rank = 0;
        if (a->status == CV_LS_ACTIVE) {
            rank = 1;
            if ((a->valid_from == CV_DATE_NONE || a->valid_from <= issue) &&
                (a->valid_until == CV_DATE_NONE || a->valid_until >= issue))
                rank = 2;
        }
        cv_date dated = a->status_date != CV_DATE_NONE ? a->status_date : a->valid_from;
        if (rank > best_rank || (rank == best_rank && dated > best_date)) {
            best = a;
            best_rank = rank;
            best_date = dated;
        }
    }
    return best;
}

static bool same_ab(const struct cv_bodies *bodies, const char *a, const char *b)
{
    const struct cv_ab *x = cv_bodies_find_ab(bodies, a), *y = cv_bodies_find_ab(bodies, b);
    if (x && y)
        return x == y;
    return strcasecmp(a, b) == 0 || cv_names_match(a, b);
}

static void check_accreditation(const struct cv_certificate *c, const struct cv_standard *std,
                                const struct cv_bodies *bodies, cv_date d,
                                struct cv_verification *v)
{
    struct cv_finding *f;
    const struct cv_cb *cb = cv_bodies_find_cb(bodies, c->cb_id, c->cb_name);
    if (!cb) {
        f = add(v, CV_F_CB_UNKNOWN, CV_SEV_INCONCLUSIVE,
                "The certification body '%s' is in no accreditation listing certvet has: its "
                "accreditation cannot be checked. Ask the supplier which accreditation body "
                "accredits it, and load that body's listing.",
                c->cb_name);
        detail_str(f, "certification_body", c->cb_name);
        if (c->accreditation_body && *c->accreditation_body)
            check_ab(c, std, bodies, c->accreditation_body, "The accreditation body printed,", v);
        return;
    }
    if (!std)
        return; /* scope and AB depend on the edition: STANDARD_UNKNOWN says it */
    const struct cv_cb_accreditation *acc = pick_accreditation(cb, std, c->issue_date);
    if (!acc) {
        f = add(v, CV_F_CB_NOT_ACCREDITED_FOR_STANDARD, CV_SEV_CRITICAL,
                "%s holds no accreditation for %s: this is not an accredited certificate. Ask for "
                "a certificate from a body accredited for %s.",
                cb->name, std->family, std->family);
        detail_str(f, "certification_body", cb->name);
        detail_str(f, "family", std->family);
        return;
    }
    if (acc->valid_from != CV_DATE_NONE && acc->valid_from > c->issue_date) {
        f = add(v, CV_F_CB_NOT_ACCREDITED_AT_ISSUE, CV_SEV_CRITICAL,
                "%s was accredited for %s only from %s, after the certificate was issued on %s: "
                "it was not an accredited certificate when issued.",
                cb->name, std->family, ds(acc->valid_from).s, ds(c->issue_date).s);
        detail_date(f, "accredited_from", acc->valid_from);
        detail_date(f, "issue_date", c->issue_date);
    }
    if (acc->status == CV_LS_SUSPENDED) {
        bool critical = acc->status_date == CV_DATE_NONE || c->issue_date >= acc->status_date;
        if (critical)
            f = add(v, CV_F_CB_ACCREDITATION_SUSPENDED, CV_SEV_CRITICAL,
                    "%s's accreditation for %s has been suspended%s%s, and this certificate was "
                    "issued during the suspension: it is not accredited.",
                    cb->name, std->family, acc->status_date != CV_DATE_NONE ? " since " : "",
                    acc->status_date != CV_DATE_NONE ? ds(acc->status_date).s : "");
        else
            f = add(v, CV_F_CB_ACCREDITATION_SUSPENDED, CV_SEV_WARNING,
                    "%s's accreditation for %s has been suspended since %s. This certificate was "
                    "issued before that; ask the supplier how the certification body is dealing "
                    "with it.",
                    cb->name, std->family, ds(acc->status_date).s);
        detail_date(f, "suspended_since", acc->status_date);
    }
    cv_date withdrawn = CV_DATE_NONE;
    bool is_withdrawn = false;
    if (acc->status == CV_LS_WITHDRAWN) {
        is_withdrawn = true;
        withdrawn = acc->status_date;
    } else if (acc->valid_until != CV_DATE_NONE && acc->valid_until < d) {
        is_withdrawn = true;
        withdrawn = acc->valid_until;
    }
    if (is_withdrawn) {
        cv_date window = withdrawn == CV_DATE_NONE ? CV_DATE_NONE
                                                   : cv_date_add_months(withdrawn, TRANSFER_MONTHS);
        if (window == CV_DATE_NONE || d > window)
            f = add(v, CV_F_CB_ACCREDITATION_WITHDRAWN, CV_SEV_CRITICAL,
                    "%s's accreditation for %s ended%s%s and the 6-month transfer window is "
                    "over: the certificate is no longer accredited.",
                    cb->name, std->family, withdrawn != CV_DATE_NONE ? " on " : "",
                    withdrawn != CV_DATE_NONE ? ds(withdrawn).s : "");
        else
            f = add(v, CV_F_CB_ACCREDITATION_WITHDRAWN, CV_SEV_WARNING,
                    "%s's accreditation for %s ended on %s. The certificate must be transferred "
                    "to another accredited body by %s (IAF MD 2); ask the supplier for its "
                    "transfer plan.",
                    cb->name, std->family, ds(withdrawn).s, ds(window).s);
        detail_date(f, "accreditation_ended", withdrawn);
    }
    if (acc->accreditation_body && *acc->accreditation_body) {
        if (c->accreditation_body && *c->accreditation_body &&
            !same_ab(bodies, c->accreditation_body, acc->accreditation_body)) {
            f = add(v, CV_F_AB_MISMATCH, CV_SEV_WARNING,
                    "The certificate names '%s' as accreditation body, but %s is accredited for "
                    "%s by %s. Ask the certification body which accreditation applies.",
                    c->accreditation_body, cb->name, std->family, acc->accreditation_body);
            detail_str(f, "printed", c->accreditation_body);
            detail_str(f, "listed", acc->accreditation_body);
        }
        check_ab(c, std, bodies, acc->accreditation_body, "The certification body's accreditor", v);
    }
}

/* ---- holder ------------------------------------------------------------------------------ */

static void check_holder(const struct cv_certificate *c, const struct cv_verify_options *opt,
                         struct cv_verification *v)
{
    if (!opt->supplier_name)
        return;
    v->checks[CV_CHECK_HOLDER] = CV_CHECK_PASS;
    if (cv_names_match(c->holder_name, opt->supplier_name))
        return;
    for (size_t i = 0; i < opt->n_supplier_aliases; i++) {
        if (cv_names_match(c->holder_name, opt->supplier_aliases[i]))
            return;
    }
    v->checks[CV_CHECK_HOLDER] = CV_CHECK_FAIL; /* the check's one question got "no" */
    struct cv_finding *f = add(v, CV_F_HOLDER_MISMATCH, CV_SEV_WARNING,
                               "The certificate is held by '%s', which does not match the supplier "
                               "'%s' or its known names. Ask the supplier how it relates to the "
                               "holder (a parent, a site, a trading name?).",
                               c->holder_name, opt->supplier_name);
    detail_str(f, "holder", c->holder_name);
    detail_str(f, "supplier", opt->supplier_name);
}

/* ---- registry ---------------------------------------------------------------------------- */

/* Compares what the registry has with the certificate; lists the differing fields in 'out'. */
static size_t registry_differences(const struct cv_certificate *c, const struct cv_standard *std,
                                   const struct cv_refdata *ref, const struct cv_registry_result *r,
                                   char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    if (r->expiry_date != CV_DATE_NONE && c->expiry_date != CV_DATE_NONE &&
        r->expiry_date != c->expiry_date) {
        snprintf(out + strlen(out), cap - strlen(out), "%sexpiry (registry %s, certificate %s)",
                 n++ ? "; " : "", ds(r->expiry_date).s, ds(c->expiry_date).s);
    }
    if (r->holder_name && *r->holder_name && !cv_names_match(r->holder_name, c->holder_name)) {
        snprintf(out + strlen(out), cap - strlen(out), "%sholder (registry '%s')", n++ ? "; " : "",
                 r->holder_name);
    }
    if (r->standard && *r->standard) {
        const struct cv_standard *rs = cv_catalog_find(ref->catalog, r->standard);
        bool same = rs && std ? rs == std : strcasecmp(r->standard, c->standard) == 0;
        if (!same)
            snprintf(out + strlen(out), cap - strlen(out), "%sstandard (registry '%s')",
                     n++ ? "; " : "", r->standard);
    }
    return n;
}

static void check_registry(const struct cv_certificate *c, const struct cv_standard *std,
                           const struct cv_refdata *ref, const struct cv_verify_options *opt,
                           struct cv_verification *v)
{
    const struct cv_registry_result *r = opt->registry;
    if (!r || r->status == CV_REG_NOT_CONSULTED)
        return;
    const char *name = r->registry ? r->registry : "the registry";
    struct cv_finding *f;
    char diff[CV_MESSAGE_MAX / 2];
    v->checks[CV_CHECK_REGISTRY] = CV_CHECK_PASS;
    switch (r->status) {
    case CV_REG_NOT_FOUND:
        f = add(v, CV_F_REGISTRY_NOT_FOUND, CV_SEV_INCONCLUSIVE,
                "%s has no record of certificate %s. That does not make it fake (registries are "
                "incomplete, and records can be confidential): ask the certification body to "
                "confirm it.",
                name, c->certificate_number);
        detail_str(f, "registry", name);
        return;
    case CV_REG_UNAVAILABLE:
        f = add(v, CV_F_REGISTRY_UNAVAILABLE, CV_SEV_INCONCLUSIVE,
                "%s could not be consulted%s%s; the certificate's registry status is unknown.",
                name, r->error ? ": " : "", r->error ? r->error : "");
        detail_str(f, "registry", name);
        detail_str(f, "error", r->error);
        return;
    case CV_REG_SUSPENDED:
        f = add(v, CV_F_REGISTRY_SUSPENDED, CV_SEV_CRITICAL,
                "%s lists certificate %s as suspended: it is temporarily invalid and must not be "
                "relied on until the certification body restores it.",
                name, c->certificate_number);
        detail_str(f, "registry", name);
        break;
    case CV_REG_WITHDRAWN:
        f = add(v, CV_F_REGISTRY_WITHDRAWN, CV_SEV_CRITICAL,
                "%s lists certificate %s as withdrawn or cancelled: it is no longer valid.", name,
                c->certificate_number);
        detail_str(f, "registry", name);
        break;
    case CV_REG_EXPIRED:
        f = add(v, CV_F_REGISTRY_EXPIRED, CV_SEV_CRITICAL,
                "%s lists certificate %s as expired. Ask the supplier for the renewed "
                "certificate.",
                name, c->certificate_number);
        detail_str(f, "registry", name);
        break;
    default:
        break;
    }
    if (registry_differences(c, std, ref, r, diff, sizeof(diff))) {
        f = add(v, CV_F_REGISTRY_MISMATCH, CV_SEV_WARNING,
                "%s has the certificate with different data: %s. Ask the certification body "
                "which is right.",
                name, diff);
        detail_str(f, "registry", name);
        detail_str(f, "differences", diff);
    } else if (r->status == CV_REG_ACTIVE) {
        f = add(v, CV_F_REGISTRY_CONFIRMED, CV_SEV_INFO,
                "%s confirms certificate %s as active, with the same holder, standard and "
                "expiry.",
                name, c->certificate_number);
        detail_str(f, "registry", name);
    }
}

/* ---- putting it together ----------------------------------------------------------------- */

static int cmp_findings(const void *pa, const void *pb)
{
    const struct cv_finding *a = pa, *b = pb;
    if (a->severity != b->severity)
        return (int)b->severity - (int)a->severity;
    return (int)a->code - (int)b->code;
}

/* A check's result from the worst finding in it, unless a rule already set it. */
static void derive_checks(struct cv_verification *v)
{
    enum cv_severity worst[CV_CHECK_COUNT];
    bool any[CV_CHECK_COUNT] = {false};
    for (size_t i = 0; i < v->n_findings; i++) {
        enum cv_check ch = cv_finding_check(v->findings[i].code);
        if (!any[ch] || v->findings[i].severity > worst[ch])
            worst[ch] = v->findings[i].severity;
        any[ch] = true;
    }
    for (int ch = 0; ch < CV_CHECK_COUNT; ch++) {
        if (ch == CV_CHECK_SURVEILLANCE || v->checks[ch] == CV_CHECK_SKIPPED)
            continue;
        if (!any[ch])
            continue;
        if (worst[ch] == CV_SEV_CRITICAL)
            v->checks[ch] = CV_CHECK_FAIL;
        else if (worst[ch] == CV_SEV_INCONCLUSIVE)
            v->checks[ch] = CV_CHECK_INCONCLUSIVE;
    }
}

void cv_verify(const struct cv_certificate *cert, const struct cv_refdata *ref, cv_date as_of,
               const struct cv_verify_options *opt, struct cv_verification *out)
{
    struct cv_verification *v = out;
    memset(v, 0, offsetof(struct cv_verification, findings));
    v->n_findings = 0;
    v->certificate_number = cert->certificate_number;
    v->as_of = as_of;
    const struct cv_standard *std = cv_catalog_find(ref->catalog, cert->standard);
    snprintf(v->standard, sizeof(v->standard), "%s", std ? std->id : cert->standard);
    v->family = std ? std->family : cv_catalog_family(ref->catalog, cert->standard);

    /* Effective expiry: the printed expiry, cut short by the edition's transition end. */
    cv_date e = cert->type == CV_CERT_TEST_REPORT ? CV_DATE_NONE : cert->expiry_date;
    if (std && std->withdrawn && std->valid_until != CV_DATE_NONE &&
        (e == CV_DATE_NONE || std->valid_until < e))
        e = std->valid_until;
    v->effective_expiry = e;
    v->has_days_to_expiry = e != CV_DATE_NONE;
    v->days_to_expiry = e != CV_DATE_NONE ? (int)(e - as_of) : 0;

    v->checks[CV_CHECK_VALIDITY] = CV_CHECK_PASS;
    v->checks[CV_CHECK_EDITION] = CV_CHECK_PASS;
    v->checks[CV_CHECK_ACCREDITATION] = CV_CHECK_PASS;
    check_validity(cert, std, as_of, e, opt, v);
    check_edition(cert, std, as_of, v);
    check_surveillance(cert, as_of, e, opt, v);
    check_accreditation(cert, std, ref->bodies, as_of, v);
    check_holder(cert, opt, v);
    check_registry(cert, std, ref, opt, v);
    derive_checks(v);
    if (!std) {
        bool failed = false;
        for (size_t i = 0; i < v->n_findings; i++)
            failed |= cv_finding_check(v->findings[i].code) == CV_CHECK_ACCREDITATION &&
                      v->findings[i].severity == CV_SEV_CRITICAL;
        if (!failed)
            v->checks[CV_CHECK_ACCREDITATION] = CV_CHECK_INCONCLUSIVE;
    }

    qsort(v->findings, v->n_findings, sizeof(v->findings[0]), cmp_findings);
    enum cv_severity worst = CV_SEV_INFO;
    bool any = false;
    for (size_t i = 0; i < v->n_findings; i++) {
        if (!any || v->findings[i].severity > worst)
            worst = v->findings[i].severity;
        any = true;
    }
    if (!any || worst == CV_SEV_INFO)
        v->verdict = CV_VERDICT_VALID;
    else if (worst == CV_SEV_WARNING)
        v->verdict = CV_VERDICT_WARNING;
    else if (worst == CV_SEV_INCONCLUSIVE)
        v->verdict = CV_VERDICT_UNVERIFIED;
    else
        v->verdict = CV_VERDICT_INVALID;
}

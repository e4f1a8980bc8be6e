/* A verification as a JSON object (Jansson). */
#include <stdlib.h>
#include <string.h>

#include "certvet/report.h"

static json_t *date_or_null(cv_date d)
{
    char buf[CV_DATE_STRLEN];
    if (d == CV_DATE_NONE)
        return json_null();
    cv_date_format(d, buf);
    return json_string(buf);
}

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *finding_to_json(const struct cv_finding *f)
{
    json_t *detail = json_object();
    for (int i = 0; i < CV_DETAIL_MAX && f->detail[i].key; i++) {
        const struct cv_detail *d = &f->detail[i];
        json_object_set_new(detail, d->key,
                            d->is_number ? json_integer(strtoll(d->value, NULL, 10))
                                         : json_string(d->value));
    }
    return json_pack("{s:s, s:s, s:s, s:o}", "code", cv_finding_code_name(f->code), "severity",
                     cv_severity_name(f->severity), "message", f->message, "detail", detail);
}

json_t *cv_verification_to_json(const struct cv_verification *v, const struct cv_certificate *c,
                                const struct cv_record_loc *loc)
{
    json_t *findings = json_array();
    json_t *checks = json_object();
    if (!findings || !checks)
        goto fail;
    for (size_t i = 0; i < v->n_findings; i++) {
        if (json_array_append_new(findings, finding_to_json(&v->findings[i])))
            goto fail;
    }
    for (int ch = 0; ch < CV_CHECK_COUNT; ch++) {
        if (json_object_set_new(checks, cv_check_name((enum cv_check)ch),
                                json_string(cv_check_result_name(v->checks[ch]))))
            goto fail;
    }
    json_t *o = json_pack("{s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o}",
                          "certificate_number", v->certificate_number, "standard", v->standard,
                          "family", string_or_null(v->family), "type", cv_cert_type_name(c->type),
                          "holder", string_or_null(c->holder_name), "certification_body",
                          string_or_null(c->cb_name), "supplier_id", string_or_null(c->supplier_id),
                          "as_of", date_or_null(v->as_of), "verdict", cv_verdict_name(v->verdict),
                          "effective_expiry", date_or_null(v->effective_expiry), "days_to_expiry",
                          v->has_days_to_expiry ? json_integer(v->days_to_expiry) : json_null(),
                          "surveillance_due", date_or_null(v->surveillance_due), "findings",
                          findings, "checks", checks);
    if (o && loc)
        json_object_set_new(o, "source",
                            json_pack("{s:s, s:I, s:I}", "file", loc->source, "line",
                                      (json_int_t)loc->line, "index", (json_int_t)loc->index));
    return o;
fail:
    json_decref(findings);
    json_decref(checks);
    return NULL;
}

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

/* Sets 'key' to a string when 'value' is given. */
static void put_str(json_t *o, const char *key, const char *value)
{
    if (value)
        json_object_set_new(o, key, json_string(value));
}

static void put_date(json_t *o, const char *key, cv_date d)
{
    if (d != CV_DATE_NONE)
        json_object_set_new(o, key, date_or_null(d));
}

json_t *cv_certificate_to_json(const struct cv_certificate *c)
{
    json_t *o = json_object(), *holder = json_object(), *ids = json_object(), *cb = json_object();
    if (!o || !holder || !ids || !cb)
        goto fail;
    put_str(o, "certificate_number", c->certificate_number);
    put_str(o, "type", cv_cert_type_name(c->type));
    put_str(o, "standard", c->standard);
    put_str(holder, "name", c->holder_name);
    put_str(holder, "country", c->holder_country);
    put_str(ids, "vat", c->holder_vat);
    put_str(ids, "duns", c->holder_duns);
    put_str(ids, "registration", c->holder_registration);
    if (json_object_size(ids))
        json_object_set(holder, "identifiers", ids);
    json_object_set(o, "holder", holder);
    put_str(o, "supplier_id", c->supplier_id);
    put_str(cb, "name", c->cb_name);
    put_str(cb, "id", c->cb_id);
    put_str(cb, "accreditation_number", c->cb_accreditation_number);
    json_object_set(o, "certification_body", cb);
    put_str(o, "accreditation_body", c->accreditation_body);
    put_str(o, "scope", c->scope);
    if (c->n_sites) {
        json_t *sites = json_array();
        for (size_t i = 0; i < c->n_sites; i++) {
            json_t *site = json_object();
            put_str(site, "name", c->sites[i].name);
            put_str(site, "address", c->sites[i].address);
            put_str(site, "country", c->sites[i].country);
            put_str(site, "scope", c->sites[i].scope);
            json_array_append_new(sites, site);
        }
        json_object_set_new(o, "sites", sites);
    }
    if (c->n_sectors) {
        json_t *sectors = json_array();
        for (size_t i = 0; i < c->n_sectors; i++)
            json_array_append_new(sectors, json_string(c->sectors[i]));
        json_object_set_new(o, "sectors", sectors);
    }
    put_date(o, "original_certification_date", c->original_certification_date);
    put_date(o, "issue_date", c->issue_date);
    put_date(o, "expiry_date", c->expiry_date);
    if (c->n_audits) {
        json_t *audits = json_array();
        for (size_t i = 0; i < c->n_audits; i++)
            json_array_append_new(audits, json_pack("{s:s, s:o}", "type",
                                                    cv_audit_type_name(c->audits[i].type), "date",
                                                    date_or_null(c->audits[i].date)));
        json_object_set_new(o, "audits", audits);
    }
    if (c->declared_status != CV_DECLARED_NONE)
        put_str(o, "declared_status", cv_declared_status_name(c->declared_status));
    json_decref(holder);
    json_decref(ids);
    json_decref(cb);
    return o;
fail:
    json_decref(o);
    json_decref(holder);
    json_decref(ids);
    json_decref(cb);
    return NULL;
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

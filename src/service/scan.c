/* The nightly scan engine: due certificates from the two indexes, verified as of a date, compared
 * with each certificate's last scan state, every change written once as a typed event before the
 * new state (a crash in between repeats an event at worst, never loses one). */
#include "certvet/scan.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certvet/bodies.h"
#include "certvet/buf.h"
#include "certvet/certificate.h"
#include "certvet/error.h"
#include "certvet/findings.h"
#include "certvet/store.h"
#include "certvet/strmap.h"
#include "internal.h"

#define FETCH_BATCH  256 /* records per MGET */
#define NO_THRESHOLD INT_MAX

/* What the last scan saw of one certificate (stored as a short text, see state_format). */
struct scan_state {
    bool known;           /* a state was stored */
    int verdict;          /* enum cv_verdict */
    cv_date expiry;       /* the effective expiry the expiry flags refer to */
    int threshold;        /* lowest threshold announced for 'expiry', NO_THRESHOLD if none */
    int expired;          /* 'expired' announced for 'expiry' */
    cv_date surveillance; /* the due date the surveillance flags refer to */
    int overdue, lapsed;  /* announced for 'surveillance' */
};

void cv_scan_options_init(struct cv_scan_options *o)
{
    static const int defaults[] = {90, 60, 30, 7, 0};
    memset(o, 0, sizeof(*o));
    o->as_of = (cv_date)(time(NULL) / 86400);
    o->within = 30;
    memcpy(o->thresholds, defaults, sizeof(defaults));
    o->n_thresholds = sizeof(defaults) / sizeof(defaults[0]);
}

static int int_desc(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x < y) - (x > y);
}

int cv_scan_parse_thresholds(struct cv_scan_options *o, const char *text)
{
    const char *p = text;
    size_t n = 0;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v > 3650 || (*end && *end != ',') || n == CV_SCAN_THRESHOLDS_MAX)
            return CV_ERR_USAGE;
        o->thresholds[n++] = (int)v;
        p = *end ? end + 1 : end;
    }
    if (n == 0)
        return CV_ERR_USAGE;
    qsort(o->thresholds, n, sizeof(int), int_desc);
    o->n_thresholds = n;
    return CV_OK;
}

static void state_parse(const char *text, struct scan_state *st)
{
    long v, e, t, x, s, ov, la;
    memset(st, 0, sizeof(*st));
    st->threshold = NO_THRESHOLD;
    st->expiry = st->surveillance = CV_DATE_NONE;
    if (!text || sscanf(text, "v=%ld e=%ld t=%ld x=%ld s=%ld o=%ld l=%ld", &v, &e, &t, &x, &s, &ov,
                        &la) != 7)
        return;
    st->known = true;
    st->verdict = (int)v;
    st->expiry = (cv_date)e;
    st->threshold = (int)t;
    st->expired = (int)x;
    st->surveillance = (cv_date)s;
    st->overdue = (int)ov;
    st->lapsed = (int)la;
}

static void state_format(const struct scan_state *st, char *buf, size_t cap)
{
    snprintf(buf, cap, "v=%d e=%ld t=%d x=%d s=%ld o=%d l=%d", st->verdict, (long)st->expiry,
             st->threshold, st->expired, (long)st->surveillance, st->overdue, st->lapsed);
}

static bool has_finding(const struct cv_verification *v, enum cv_finding_code code)
{
    for (size_t i = 0; i < v->n_findings; i++)
        if (v->findings[i].code == code)
            return true;
    return false;
}

static void finding_codes(const struct cv_verification *v, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < v->n_findings && len < cap; i++) {
        int w = snprintf(buf + len, cap - len, "%s%s", i ? "," : "",
                         cv_finding_code_name(v->findings[i].code));
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

struct scan_run {
    struct cv_store *store;
    const struct cv_scan_options *opt;
    json_t *events, *attention;
    long n_expired, n_expiring, n_overdue, n_invalid;
    char *err;
    size_t cap;
};

/* Appends one event (its 'n' name/value pairs) to the pipeline of the stream (between
 * cv_store_scan_begin and flush) and to the report. Every value is a string in the stream. */
static int emit_fields(struct scan_run *run, const char *const *names, const char *const *values,
                       size_t n)
{
    json_t *ev = json_object();
    int rc = cv_store_scan_event(run->store, names, values, n); /* sent by the batch's flush */
    if (rc) {
        snprintf(run->err, run->cap, "writing an event failed: %s (%s)", cv_strerror(rc),
                 cv_store_errstr(run->store));
        json_decref(ev);
        return rc;
    }
    for (size_t i = 0; ev && i < n; i++)
        json_object_set_new(ev, names[i], json_string(values[i]));
    if (!ev || json_array_append_new(run->events, ev)) {
        snprintf(run->err, run->cap, "out of memory");
        return CV_ERR_NOMEM;
    }
    return CV_OK;
}

/* Appends one certificate event: type, the certificate's fields, then the extra pairs. */
static int emit(struct scan_run *run, const char *type, const char *id,
                const struct cv_verification *v, const char *const *extra_names,
                const char *const *extra_values, size_t n_extra)
{
    const char *names[12], *values[12];
    char as_of[CV_DATE_STRLEN], expiry[CV_DATE_STRLEN], days[16];
    size_t n = 0;

    cv_date_format(run->opt->as_of, as_of);
    cv_date_format(v->effective_expiry, expiry);
    snprintf(days, sizeof(days), "%d", v->days_to_expiry);
    names[n] = "type", values[n++] = type;
    names[n] = "certificate_id", values[n++] = id;
    names[n] = "certificate_number", values[n++] = v->certificate_number;
    names[n] = "as_of", values[n++] = as_of;
    if (v->effective_expiry != CV_DATE_NONE)
        names[n] = "effective_expiry", values[n++] = expiry;
    if (v->has_days_to_expiry)
        names[n] = "days_to_expiry", values[n++] = days;
    for (size_t i = 0; i < n_extra && n < 12; i++)
        names[n] = extra_names[i], values[n++] = extra_values[i];
    return emit_fields(run, names, values, n);
}

/* The events a certificate's verification calls for, given its last state; updates 'st'. */
static int compare(struct scan_run *run, const char *id, const struct cv_verification *v,
                   struct scan_state *st)
{
    char buf[32], codes[1024];
    int rc = CV_OK;

    if (st->expiry != v->effective_expiry) { /* renewed (or first seen): announce afresh */
        st->expiry = v->effective_expiry;
        st->threshold = NO_THRESHOLD;
        st->expired = 0;
    }
    if (st->surveillance != v->surveillance_due) {
        st->surveillance = v->surveillance_due;
        st->overdue = st->lapsed = 0;
    }
    if (v->has_days_to_expiry && v->days_to_expiry < 0) {
        if (!st->expired) {
            rc = emit(run, "expired", id, v, NULL, NULL, 0);
            if (rc)
                return rc;
            st->expired = 1;
        }
    } else if (v->has_days_to_expiry) {
        int lowest = NO_THRESHOLD; /* the lowest threshold reached today */
        for (size_t i = 0; i < run->opt->n_thresholds; i++)
            if (v->days_to_expiry <= run->opt->thresholds[i] && run->opt->thresholds[i] < lowest)
                lowest = run->opt->thresholds[i];
        if (lowest < st->threshold) {
            const char *n[] = {"threshold"};
            const char *val[] = {buf};
            snprintf(buf, sizeof(buf), "%d", lowest);
            rc = emit(run, "expiring", id, v, n, val, 1);
            if (rc)
                return rc;
            st->threshold = lowest;
        }
    }
    if (has_finding(v, CV_F_SURVEILLANCE_OVERDUE) && !st->overdue) {
        rc = emit(run, "surveillance_overdue", id, v, NULL, NULL, 0);
        if (rc)
            return rc;
        st->overdue = 1;
    }
    if (has_finding(v, CV_F_SURVEILLANCE_LAPSED) && !st->lapsed) {
        rc = emit(run, "surveillance_lapsed", id, v, NULL, NULL, 0);
        if (rc)
            return rc;
        st->lapsed = st->overdue = 1;
    }
    if (st->known && st->verdict != (int)v->verdict) {
        const char *n[] = {"from", "to", "findings"};
        const char *val[] = {cv_verdict_name((enum cv_verdict)st->verdict),
                             cv_verdict_name(v->verdict), codes};
        finding_codes(v, codes, sizeof(codes));
        rc = emit(run, "verdict_changed", id, v, n, val, 3);
        if (rc)
            return rc;
    }
    st->verdict = (int)v->verdict;
    st->known = true;
    return CV_OK;
}

/* Adds the certificate to the attention list when it needs someone's attention. */
static int attend(struct scan_run *run, const char *id, const struct cv_certificate *cert,
                  const struct cv_verification *v)
{
    bool expired = v->has_days_to_expiry && v->days_to_expiry < 0;
    bool expiring = !expired && v->has_days_to_expiry && v->days_to_expiry <= run->opt->within;
    bool overdue = has_finding(v, CV_F_SURVEILLANCE_OVERDUE);
    bool lapsed = has_finding(v, CV_F_SURVEILLANCE_LAPSED);
    bool invalid = v->verdict == CV_VERDICT_INVALID;
    char expiry[CV_DATE_STRLEN], codes[1024];
    const char *reason;

    run->n_expired += expired;
    run->n_expiring += expiring;
    run->n_overdue += overdue || lapsed;
    run->n_invalid += invalid;
    if (!(expired || expiring || overdue || lapsed || invalid))
        return CV_OK;
    reason = expired   ? "expired"
             : lapsed  ? "surveillance_lapsed"
             : invalid ? "invalid"
             : overdue ? "surveillance_overdue"
                       : "expiring";
    cv_date_format(v->effective_expiry, expiry);
    finding_codes(v, codes, sizeof(codes));
    json_t *item = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s}", "certificate_id", id, "certificate_number",
        v->certificate_number, "holder", cert->holder_name ? cert->holder_name : "", "severity",
        (expired || lapsed || invalid) ? "critical" : "warning", "reason", reason, "verdict",
        cv_verdict_name(v->verdict), "effective_expiry", expiry, "days_to_expiry",
        v->has_days_to_expiry ? json_integer(v->days_to_expiry) : json_null(), "findings", codes);
    if (!item || json_array_append_new(run->attention, item)) {
        snprintf(run->err, run->cap, "out of memory");
        return CV_ERR_NOMEM;
    }
    return CV_OK;
}

static int item_cmp(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int cx = !strcmp(json_string_value(json_object_get(x, "severity")), "critical");
    int cy = !strcmp(json_string_value(json_object_get(y, "severity")), "critical");
    json_t *dx = json_object_get(x, "days_to_expiry"), *dy = json_object_get(y, "days_to_expiry");
    if (cx != cy)
        return cy - cx;
    if (json_is_integer(dx) != json_is_integer(dy))
        return json_is_integer(dx) ? -1 : 1;
    if (json_is_integer(dx) && json_integer_value(dx) != json_integer_value(dy))
        return json_integer_value(dx) < json_integer_value(dy) ? -1 : 1;
    return strcmp(json_string_value(json_object_get(x, "certificate_id")),
                  json_string_value(json_object_get(y, "certificate_id")));
}

/* Sorts the attention list by urgency: critical first, then days to expiry, then id. */
static json_t *sorted(json_t *list)
{
    size_t n = json_array_size(list);
    json_t **v = calloc(n ? n : 1, sizeof(*v)), *out = json_array();
    if (!v || !out) { /* out of memory: the list unsorted rather than lost */
        free(v);
        json_decref(out);
        return list;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(list, i);
    qsort(v, n, sizeof(*v), item_cmp);
    for (size_t i = 0; i < n; i++)
        json_array_append(out, v[i]);
    free(v);
    json_decref(list);
    return out;
}

/* ---- certification bodies whose accreditation changed ------------------------------------ */

#define CB_BASELINE   "~baseline" /* field set once a first scan has recorded every listed CB */
#define CB_VIEW_MAX   (256 * 1024)
#define CB_NOT_LISTED "not listed"

/* A CB whose view differs from the last scan's: written once its certificates are done. */
struct cb_change {
    char *field; /* the CB id, owned */
    char *value; /* its new view, owned; NULL: it left the listings (the field is deleted) */
};

struct cb_changes {
    struct cb_change *items; /* owned */
    size_t n, cap;
    char **ids; /* owned: certificates of the changed CBs, maybe with repeats */
    size_t n_ids, cap_ids;
    char **keys; /* owned: the CB index keys those came from (to unlink deleted ones) */
    size_t n_keys, cap_keys;
    long announced; /* cb_accreditation_changed events of this run */
};

static void cb_changes_cleanup(struct cb_changes *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->items[i].field);
        free(c->items[i].value);
    }
    free(c->items);
    cv_store_free_strings(c->ids, c->n_ids);
    cv_store_free_strings(c->keys, c->n_keys);
    memset(c, 0, sizeof(*c));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int buf_puts(struct cv_buf *b, const char *s)
{
    return cv_buf_append(b, s, strlen(s));
}

static int buf_date(struct cv_buf *b, const char *label, cv_date d)
{
    char text[CV_DATE_STRLEN];
    if (d == CV_DATE_NONE)
        return CV_OK;
    cv_date_format(d, text);
    int rc = buf_puts(b, label);
    return rc ? rc : buf_puts(b, text);
}

/* One accreditation as text: "UKAS 0101: ISO 9001, ISO 14001 (active until 2027-03-01)". */
static char *accreditation_text(const struct cv_cb_accreditation *a)
{
    struct cv_buf b;
    int rc;
    cv_buf_init(&b, CB_VIEW_MAX);
    rc = buf_puts(&b, a->accreditation_body ? a->accreditation_body : "?");
    if (!rc && a->number && *a->number)
        rc = buf_puts(&b, " ") || buf_puts(&b, a->number);
    if (!rc)
        rc = buf_puts(&b, ":");
    for (size_t i = 0; !rc && i < a->n_standards; i++)
        rc = buf_puts(&b, i ? ", " : " ") || buf_puts(&b, a->standards[i]);
    if (!rc)
        rc = buf_puts(&b, " (") || buf_puts(&b, cv_listing_status_name(a->status));
    if (!rc)
        rc = buf_date(&b, " ", a->status_date) || buf_date(&b, " from ", a->valid_from) ||
             buf_date(&b, " until ", a->valid_until) || cv_buf_append(&b, ")", 2);
    if (rc || b.overflow) {
        cv_buf_cleanup(&b);
        return NULL;
    }
    return b.data; /* NUL-terminated by the last append */
}

/* The scan's view of a listed CB: "<key>,<key>...\t<name>\t<accreditations>", the keys being
 * the CB index keys of its id, name and aliases, the accreditations sorted and joined by "; "
 * (so a listing that only reorders them changes nothing). malloc'd, or NULL when out of memory. */
static char *cb_view(const struct cv_cb *cb)
{
    char k[CV_CB_KEY_LEN];
    char **acc = calloc(cb->n_accreditations + 1, sizeof(*acc));
    struct cv_buf b;
    bool first = true;
    int rc = acc ? CV_OK : CV_ERR_NOMEM;

    cv_buf_init(&b, CB_VIEW_MAX);
    for (size_t i = 0; !rc && i < cb->n_accreditations; i++)
        if (!(acc[i] = accreditation_text(&cb->accreditations[i])))
            rc = CV_ERR_NOMEM;
    if (!rc)
        qsort(acc, cb->n_accreditations, sizeof(*acc), cmp_str);
    if (!rc && cv_cb_id_key(cb->id, k)) {
        rc = buf_puts(&b, k);
        first = false;
    }
    for (size_t i = 0; !rc && i <= cb->n_aliases; i++) {
        if (!cv_cb_name_key(i == 0 ? cb->name : cb->aliases[i - 1], k))
            continue;
        rc = buf_puts(&b, first ? "" : ",") || buf_puts(&b, k);
        first = false;
    }
    if (!rc)
        rc = buf_puts(&b, "\t") || buf_puts(&b, cb->name ? cb->name : "") || buf_puts(&b, "\t");
    for (size_t i = 0; !rc && i < cb->n_accreditations; i++)
        rc = buf_puts(&b, i ? "; " : "") || buf_puts(&b, acc[i]);
    if (!rc)
        rc = cv_buf_append(&b, "", 1);
    for (size_t i = 0; acc && i < cb->n_accreditations; i++)
        free(acc[i]);
    free(acc);
    if (rc || b.overflow) {
        cv_buf_cleanup(&b);
        return NULL;
    }
    return b.data;
}

/* Splits a view into its keys (pointers into 'copy', a malloc'd copy of the view the caller
 * frees), its name and its accreditations. */
static size_t view_parts(const char *view, char **copy, const char **keys, size_t max_keys,
                         const char **name, const char **accreditations)
{
    size_t n = 0;
    char *tab1, *tab2, *p;
    *name = *accreditations = "";
    *copy = strdup(view);
    if (!*copy)
        return 0;
    tab1 = strchr(*copy, '\t');
    tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
    if (!tab1 || !tab2)
        return 0;
    *tab1 = *tab2 = '\0';
    *name = tab1 + 1;
    *accreditations = tab2 + 1;
    for (p = *copy; *p && n < max_keys;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        keys[n++] = p;
        if (!comma)
            break;
        p = comma + 1;
    }
    return n;
}

static int change_add(struct cb_changes *c, const char *field, const char *value)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        struct cb_change *v = realloc(c->items, cap * sizeof(*v));
        if (!v)
            return CV_ERR_NOMEM;
        c->items = v;
        c->cap = cap;
    }
    c->items[c->n].field = strdup(field);
    c->items[c->n].value = value ? strdup(value) : NULL;
    if (!c->items[c->n].field || (value && !c->items[c->n].value)) {
        free(c->items[c->n].field);
        free(c->items[c->n].value);
        return CV_ERR_NOMEM;
    }
    c->n++;
    return CV_OK;
}

/* Announces one CB change and collects the certificates indexed under the keys of 'view'
 * (the old view for a CB that left the listings, else the new one). */
static int cb_announce(struct scan_run *run, struct cb_changes *c, const char *cb_id,
                       const char *old_view, const char *new_view)
{
    const char *keys[CV_STORE_CB_KEYS_MAX], *old_name, *old_acc, *new_name, *new_acc;
    char *old_copy = NULL, *new_copy = NULL, as_of[CV_DATE_STRLEN], count[24];
    char **ids = NULL;
    size_t n_keys, n_ids = 0;
    int rc;

    n_keys = view_parts(new_view ? new_view : old_view, &new_copy, keys, CV_STORE_CB_KEYS_MAX,
                        &new_name, &new_acc);
    if (old_view && new_view)
        view_parts(old_view, &old_copy, NULL, 0, &old_name, &old_acc);
    else if (old_view) {
        old_acc = new_acc;
        new_acc = CB_NOT_LISTED;
    } else {
        old_acc = CB_NOT_LISTED;
    }
    if (!new_copy || (old_view && new_view && !old_copy)) {
        rc = CV_ERR_NOMEM;
        snprintf(run->err, run->cap, "out of memory");
        goto out;
    }
    rc = n_keys ? cv_store_cb_certificates(run->store, keys, n_keys, &ids, &n_ids) : CV_OK;
    if (rc) {
        snprintf(run->err, run->cap, "reading the certificates of %s failed: %s (%s)", cb_id,
                 cv_strerror(rc), cv_store_errstr(run->store));
        goto out;
    }
    cv_date_format(run->opt->as_of, as_of);
    snprintf(count, sizeof(count), "%zu", n_ids);
    const char *names[] = {"type", "certification_body_id", "certification_body", "as_of", "from",
                           "to",   "certificates"};
    const char *values[] = {"cb_accreditation_changed",
                            cb_id,
                            new_name,
                            as_of,
                            old_acc,
                            new_acc[0] ? new_acc : "no accreditation listed",
                            count};
    if (!*old_acc)
        values[4] = "no accreditation listed";
    rc = cv_store_scan_begin(run->store);
    if (!rc)
        rc = emit_fields(run, names, values, sizeof(names) / sizeof(names[0]));
    int frc = cv_store_scan_flush(run->store);
    if (!rc && frc)
        snprintf(run->err, run->cap, "writing an event failed: %s (%s)", cv_strerror(frc),
                 cv_store_errstr(run->store));
    rc = rc ? rc : frc;
    if (rc)
        goto out;
    c->announced++;
    if (c->n_ids + n_ids > c->cap_ids) {
        size_t cap = c->n_ids + n_ids + 64;
        char **v = realloc(c->ids, cap * sizeof(*v));
        if (!v) {
            rc = CV_ERR_NOMEM;
            snprintf(run->err, run->cap, "out of memory");
            goto out;
        }
        c->ids = v;
        c->cap_ids = cap;
    }
    for (size_t i = 0; i < n_ids; i++)
        c->ids[c->n_ids++] = ids[i];
    free(ids);
    ids = NULL;
    n_ids = 0;
    if (c->n_keys + n_keys > c->cap_keys) {
        size_t cap = c->n_keys + n_keys + 16;
        char **v = realloc(c->keys, cap * sizeof(*v));
        if (!v) {
            rc = CV_ERR_NOMEM;
            snprintf(run->err, run->cap, "out of memory");
            goto out;
        }
        c->keys = v;
        c->cap_keys = cap;
    }
    for (size_t i = 0; i < n_keys; i++) {
        if (!(c->keys[c->n_keys] = strdup(keys[i]))) {
            rc = CV_ERR_NOMEM;
            snprintf(run->err, run->cap, "out of memory");
            goto out;
        }
        c->n_keys++;
    }
out:
    cv_store_free_strings(ids, n_ids);
    free(old_copy);
    free(new_copy);
    return rc;
}

/* Compares every listed CB with the view the last scan recorded: a CB that changed, appeared
 * or left the listings is announced (cb_accreditation_changed) and its certificates are
 * collected for re-verification; the new views are kept in 'c' and written after the
 * certificates (cb_commit). The first scan of a store records every CB and announces none. */
static int cb_compare(struct scan_run *run, const struct cv_bodies *bodies, struct cb_changes *c)
{
    char **fields = NULL, **values = NULL;
    size_t n = 0, idx;
    struct cv_strmap stored;
    bool baseline = false, *seen = NULL;
    int rc;

    cv_strmap_init(&stored);
    rc = cv_store_scan_cbs_get(run->store, &fields, &values, &n);
    if (rc) {
        snprintf(run->err, run->cap, "reading the certification bodies' scan state failed: %s (%s)",
                 cv_strerror(rc), cv_store_errstr(run->store));
        goto out;
    }
    seen = calloc(n + 1, sizeof(*seen));
    if (!seen)
        rc = CV_ERR_NOMEM;
    for (size_t i = 0; !rc && i < n; i++) {
        if (!strcmp(fields[i], CB_BASELINE))
            baseline = seen[i] = true;
        else
            rc = cv_strmap_put(&stored, fields[i], i);
    }
    for (size_t i = 0; !rc && bodies && i < bodies->n_cbs; i++) {
        const struct cv_cb *cb = &bodies->cbs[i];
        char *view = cb_view(cb);
        const char *old = NULL;
        if (!view) {
            rc = CV_ERR_NOMEM;
            break;
        }
        if (cv_strmap_get(&stored, cb->id, &idx)) {
            seen[idx] = true;
            old = values[idx];
        }
        if (!old || strcmp(old, view)) {
            if (baseline)
                rc = cb_announce(run, c, cb->id, old, view);
            if (!rc)
                rc = change_add(c, cb->id, view);
        }
        free(view);
    }
    for (size_t i = 0; !rc && i < n; i++) {
        if (seen[i])
            continue;
        rc = cb_announce(run, c, fields[i], values[i], NULL);
        if (!rc)
            rc = change_add(c, fields[i], NULL);
    }
    if (!rc && !baseline) {
        char as_of[CV_DATE_STRLEN];
        cv_date_format(run->opt->as_of, as_of);
        rc = change_add(c, CB_BASELINE, as_of);
    }
    if (rc == CV_ERR_NOMEM)
        snprintf(run->err, run->cap, "out of memory");
out:
    cv_strmap_cleanup(&stored);
    free(seen);
    cv_store_free_strings(fields, n);
    cv_store_free_strings(values, n);
    return rc;
}

/* Writes the CB views collected by cb_compare, after the certificates' events. */
static int cb_commit(struct scan_run *run, const struct cb_changes *c)
{
    for (size_t i = 0; i < c->n; i++) {
        const struct cb_change *ch = &c->items[i];
        int rc = ch->value ? cv_store_scan_cbs_put(run->store, ch->field, ch->value)
                           : cv_store_scan_cbs_del(run->store, ch->field);
        if (rc) {
            snprintf(run->err, run->cap, "writing the scan state of %s failed: %s (%s)", ch->field,
                     cv_strerror(rc), cv_store_errstr(run->store));
            return rc;
        }
    }
    return CV_OK;
}

/* Removes a deleted certificate from the CB index sets the changed CBs' certificates came from
 * (best effort: a leftover only costs a look-up in a later run). */
static void unlink_deleted(struct cv_store *store, const struct cb_changes *c, const char *id)
{
    for (size_t i = 0; i < c->n_keys; i += CV_STORE_CB_KEYS_MAX) {
        size_t n = c->n_keys - i < CV_STORE_CB_KEYS_MAX ? c->n_keys - i : CV_STORE_CB_KEYS_MAX;
        if (cv_store_cb_unlink(store, (const char *const *)c->keys + i, n, id))
            fprintf(stderr, "scan: unlinking deleted %s failed (%s)\n", id, cv_store_errstr(store));
    }
}

/* Verifies one stored record, whose last scan state is 'state_text' (NULL: none), and appends
 * what it calls for to the batch's pipeline: its events, then its invalid-index mark (always:
 * SADD and SREM are idempotent, and the put that last wrote it judged another day) and its new
 * state. */
static int scan_one(struct scan_run *run, const struct cv_refdata *ref, const char *id,
                    const char *record, const char *state_text, struct cv_certificate *cert)
{
    struct cv_verify_options vo;
    struct cv_verification *v = malloc(sizeof(*v));
    struct scan_state st;
    char state[160];
    json_t *doc = NULL;
    int rc;

    if (!v) {
        snprintf(run->err, run->cap, "out of memory");
        return CV_ERR_NOMEM;
    }
    if (cv_record_parse(record, &doc, cert)) {
        free(v);
        return CV_OK; /* unreadable (logged): nothing to compare */
    }
    cv_verify_options_init(&vo);
    cv_verify(cert, ref, run->opt->as_of, &vo, v);
    state_parse(state_text, &st);
    rc = compare(run, id, v, &st);
    if (!rc)
        rc = attend(run, id, cert, v);
    if (rc)
        goto out;
    rc = cv_store_scan_invalid(run->store, id, v->verdict == CV_VERDICT_INVALID);
    state_format(&st, state, sizeof(state));
    if (!rc && (!state_text || strcmp(state, state_text)))
        rc = cv_store_scan_state(run->store, id, state);
    if (rc)
        snprintf(run->err, run->cap, "writing scan state failed: %s (%s)", cv_strerror(rc),
                 cv_store_errstr(run->store));
out:
    json_decref(doc);
    free(v);
    return rc;
}

int cv_scan_run(struct cv_store *store, const struct cv_refdata *ref,
                const struct cv_scan_options *opt, json_t **report, char *err, size_t cap)
{
    struct scan_run run = {store, opt, json_array(), json_array(), 0, 0, 0, 0, err, cap};
    struct cb_changes cbs = {0};
    struct cv_certificate cert;
    char **ids = NULL, **records = NULL, **states = NULL, as_of[CV_DATE_STRLEN];
    size_t n = 0, i, scanned = 0;
    int rc;

    *report = NULL;
    err[0] = '\0';
    cv_certificate_init(&cert, CV_CERT_ARENA_LIMIT);
    if (!run.events || !run.attention) {
        rc = CV_ERR_NOMEM;
        snprintf(err, cap, "out of memory");
        goto out;
    }
    rc = cb_compare(&run, ref->bodies, &cbs);
    if (rc)
        goto out;
    /* What is due: expiry within the largest of --within, the thresholds and 90 days;
     * surveillance due by today; every invalid certificate; the changed CBs' certificates. */
    int horizon = opt->within < 90 ? 90 : opt->within;
    for (i = 0; i < opt->n_thresholds; i++)
        if (opt->thresholds[i] > horizon)
            horizon = opt->thresholds[i];
    rc = cv_store_attention_ids(store, opt->as_of + horizon, opt->as_of, CV_STORE_LIST_MAX,
                                (const char *const *)cbs.ids, cbs.n_ids, &ids, &n);
    if (rc) {
        snprintf(err, cap, "reading the due indexes failed: %s (%s)", cv_strerror(rc),
                 cv_store_errstr(store));
        goto out;
    }
    for (i = 0; i < n; i += FETCH_BATCH) {
        size_t take = n - i < FETCH_BATCH ? n - i : FETCH_BATCH;
        /* One round trip for the records, one for their states, one pipeline for what they
         * call for (events before states, so a crash can only repeat an event). */
        rc = cv_store_get_certificates(store, (const char *const *)ids + i, take, &records);
        if (!rc)
            rc = cv_store_scan_states_get(store, (const char *const *)ids + i, take, &states);
        if (rc) {
            snprintf(err, cap, "reading certificates and their scan state failed: %s (%s)",
                     cv_strerror(rc), cv_store_errstr(store));
            cv_store_free_strings(records, take);
            records = NULL;
            goto out;
        }
        for (size_t j = 0; j < take; j++)
            if (!records[j]) /* deleted: drop it from the CB index if it came from there */
                unlink_deleted(store, &cbs, ids[i + j]);
        rc = cv_store_scan_begin(store);
        for (size_t j = 0; j < take && !rc; j++) {
            if (!records[j])
                continue;
            rc = scan_one(&run, ref, ids[i + j], records[j], states[j], &cert);
            scanned++;
        }
        int frc = cv_store_scan_flush(store);
        if (!rc && frc)
            snprintf(err, cap, "writing events and scan state failed: %s (%s)", cv_strerror(frc),
                     cv_store_errstr(store));
        rc = rc ? rc : frc;
        cv_store_free_strings(records, take);
        cv_store_free_strings(states, take);
        records = states = NULL;
        if (rc)
            goto out;
        if (opt->progress)
            opt->progress(opt->progress_ctx, i + take, n);
    }
    rc = cb_commit(&run, &cbs); /* after the certificates' events: a crash repeats, never loses */
    if (rc)
        goto out;
    run.attention = sorted(run.attention);
    cv_date_format(opt->as_of, as_of);
    *report = json_pack(
        "{s:s, s:i, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:O, s:O}", "as_of", as_of,
        "within", opt->within, "summary", "scanned", (json_int_t)scanned,
        "certification_bodies_changed", (json_int_t)cbs.announced, "events",
        (json_int_t)json_array_size(run.events), "attention",
        (json_int_t)json_array_size(run.attention), "expired", (json_int_t)run.n_expired,
        "expiring", (json_int_t)run.n_expiring, "surveillance_overdue", (json_int_t)run.n_overdue,
        "invalid", (json_int_t)run.n_invalid, "events", run.events, "attention", run.attention);
    if (!*report) {
        rc = CV_ERR_NOMEM;
        snprintf(err, cap, "out of memory");
    }
out:
    cb_changes_cleanup(&cbs);
    cv_store_free_strings(ids, n);
    json_decref(run.events);
    json_decref(run.attention);
    cv_certificate_cleanup(&cert);
    return rc;
}

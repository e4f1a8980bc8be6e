/* The bodies registry: ABs and CBs, indexed by acronym, id and normalized names. */
#include "certvet/bodies.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "certvet/error.h"
#include "certvet/names.h"

#define ACRONYM_PREFIX "acronym:"
#define ID_PREFIX      "id:"
#define NAME_PREFIX    "name:"

void cv_bodies_init(struct cv_bodies *b)
{
    memset(b, 0, sizeof(*b));
    cv_strmap_init(&b->ab_index);
    cv_strmap_init(&b->cb_index);
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void cv_ab_cleanup(struct cv_ab *ab)
{
    if (!ab)
        return;
    free(ab->acronym);
    free(ab->name);
    free(ab->economy);
    free_strings(ab->aliases, ab->n_aliases);
    free(ab->recognitions);
    memset(ab, 0, sizeof(*ab));
}

void cv_cb_cleanup(struct cv_cb *cb)
{
    if (!cb)
        return;
    free(cb->id);
    free(cb->name);
    free(cb->country);
    free_strings(cb->aliases, cb->n_aliases);
    for (size_t i = 0; i < cb->n_accreditations; i++) {
        struct cv_cb_accreditation *a = &cb->accreditations[i];
        free(a->accreditation_body);
        free(a->number);
        free_strings(a->standards, a->n_standards);
    }
    free(cb->accreditations);
    memset(cb, 0, sizeof(*cb));
}

void cv_bodies_cleanup(struct cv_bodies *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n_abs; i++)
        cv_ab_cleanup(&b->abs[i]);
    for (size_t i = 0; i < b->n_cbs; i++)
        cv_cb_cleanup(&b->cbs[i]);
    free(b->abs);
    free(b->cbs);
    cv_strmap_cleanup(&b->ab_index);
    cv_strmap_cleanup(&b->cb_index);
    memset(b, 0, sizeof(*b));
}

/* Index keys: "acronym:UKAS", "id:example-cert", "name:<token set>". */
static void make_key(char *out, size_t cap, const char *prefix, const char *value, int upper)
{
    size_t n = (size_t)snprintf(out, cap, "%s", prefix);
    for (const char *p = value; *p && n + 1 < cap; p++)
        out[n++] = upper ? (char)toupper((unsigned char)*p) : *p;
    out[n] = '\0';
}

static int index_name(struct cv_strmap *m, const char *name, size_t idx)
{
    char nk[CV_NAME_KEY_MAX], key[CV_NAME_KEY_MAX + 8];
    if (!name || !cv_name_key(name, nk))
        return CV_OK;
    make_key(key, sizeof(key), NAME_PREFIX, nk, 0);
    return cv_strmap_put(m, key, idx);
}

/* Indexes the AB at 'idx' under its acronym, name and aliases. */
static int index_ab(struct cv_bodies *b, size_t idx)
{
    char key[CV_NAME_KEY_MAX + 16];
    const struct cv_ab *ab = &b->abs[idx];
    make_key(key, sizeof(key), ACRONYM_PREFIX, ab->acronym, 1);
    int rc = cv_strmap_put(&b->ab_index, key, idx);
    if (!rc)
        rc = index_name(&b->ab_index, ab->name, idx);
    for (size_t i = 0; !rc && i < ab->n_aliases; i++) {
        /* An alias may be another acronym ("ANSI") or a name. */
        make_key(key, sizeof(key), ACRONYM_PREFIX, ab->aliases[i], 1);
        rc = cv_strmap_put(&b->ab_index, key, idx);
        if (!rc)
            rc = index_name(&b->ab_index, ab->aliases[i], idx);
    }
    return rc;
}

/* Indexes the CB at 'idx' under its id, name and aliases. */
static int index_cb(struct cv_bodies *b, size_t idx)
{
    char key[CV_NAME_KEY_MAX + 16];
    const struct cv_cb *cb = &b->cbs[idx];
    make_key(key, sizeof(key), ID_PREFIX, cb->id, 0);
    int rc = cv_strmap_put(&b->cb_index, key, idx);
    if (!rc)
        rc = index_name(&b->cb_index, cb->name, idx);
    for (size_t i = 0; !rc && i < cb->n_aliases; i++)
        rc = index_name(&b->cb_index, cb->aliases[i], idx);
    return rc;
}

/* After a replacement the old names must stop finding the body: rebuild the whole index (a
 * listing refresh is rare; look-ups are not). */
static int reindex_abs(struct cv_bodies *b)
{
    int rc = CV_OK;
    cv_strmap_cleanup(&b->ab_index);
    for (size_t i = 0; i < b->n_abs && !rc; i++)
        rc = index_ab(b, i);
    return rc;
}

static int reindex_cbs(struct cv_bodies *b)
{
    int rc = CV_OK;
    cv_strmap_cleanup(&b->cb_index);
    for (size_t i = 0; i < b->n_cbs && !rc; i++)
        rc = index_cb(b, i);
    return rc;
}

int cv_bodies_put_ab(struct cv_bodies *b, struct cv_ab *ab)
{
    char key[CV_NAME_KEY_MAX + 16];
    size_t idx;
    if (!ab->acronym || !*ab->acronym) {
        cv_ab_cleanup(ab);
        return CV_ERR_INVALID;
    }
    make_key(key, sizeof(key), ACRONYM_PREFIX, ab->acronym, 1);
    bool replaced =
        cv_strmap_get(&b->ab_index, key, &idx) && strcasecmp(b->abs[idx].acronym, ab->acronym) == 0;
    if (replaced) {
        cv_ab_cleanup(&b->abs[idx]);
    } else {
        if (b->n_abs == b->cap_abs) {
            size_t cap = b->cap_abs ? b->cap_abs * 2 : 32;
            struct cv_ab *abs = realloc(b->abs, cap * sizeof(*abs));
            if (!abs) {
                cv_ab_cleanup(ab);
                return CV_ERR_NOMEM;
            }
            b->abs = abs;
            b->cap_abs = cap;
        }
        idx = b->n_abs++;
    }
    b->abs[idx] = *ab;
    memset(ab, 0, sizeof(*ab));
    return replaced ? reindex_abs(b) : index_ab(b, idx);
}

int cv_bodies_put_cb(struct cv_bodies *b, struct cv_cb *cb)
{
    char key[CV_NAME_KEY_MAX + 16];
    size_t idx;
    if (!cb->id || !*cb->id || !cb->name) {
        cv_cb_cleanup(cb);
        return CV_ERR_INVALID;
    }
    make_key(key, sizeof(key), ID_PREFIX, cb->id, 0);
    bool replaced = cv_strmap_get(&b->cb_index, key, &idx);
    if (replaced) {
        cv_cb_cleanup(&b->cbs[idx]);
    } else {
        if (b->n_cbs == b->cap_cbs) {
            size_t cap = b->cap_cbs ? b->cap_cbs * 2 : 32;
            struct cv_cb *cbs = realloc(b->cbs, cap * sizeof(*cbs));
            if (!cbs) {
                cv_cb_cleanup(cb);
                return CV_ERR_NOMEM;
            }
            b->cbs = cbs;
            b->cap_cbs = cap;
        }
        idx = b->n_cbs++;
    }
    b->cbs[idx] = *cb;
    memset(cb, 0, sizeof(*cb));
    return replaced ? reindex_cbs(b) : index_cb(b, idx);
}

const struct cv_ab *cv_bodies_find_ab(const struct cv_bodies *b, const char *printed)
{
    char key[CV_NAME_KEY_MAX + 16], nk[CV_NAME_KEY_MAX];
    size_t idx;
    if (!printed || !*printed)
        return NULL;
    make_key(key, sizeof(key), ACRONYM_PREFIX, printed, 1);
    if (cv_strmap_get(&b->ab_index, key, &idx))
        return &b->abs[idx];
    if (!cv_name_key(printed, nk))
        return NULL;
    make_key(key, sizeof(key), NAME_PREFIX, nk, 0);
    if (cv_strmap_get(&b->ab_index, key, &idx))
        return &b->abs[idx];
    return NULL;
}

const struct cv_cb *cv_bodies_find_cb(const struct cv_bodies *b, const char *id, const char *name)
{
    char key[CV_NAME_KEY_MAX + 16], nk[CV_NAME_KEY_MAX];
    size_t idx;
    if (id && *id) {
        make_key(key, sizeof(key), ID_PREFIX, id, 0);
        if (cv_strmap_get(&b->cb_index, key, &idx))
            return &b->cbs[idx];
    }
    if (name && cv_name_key(name, nk)) {
        make_key(key, sizeof(key), NAME_PREFIX, nk, 0);
        if (cv_strmap_get(&b->cb_index, key, &idx))
            return &b->cbs[idx];
    }
    return NULL;
}

static const char *const arrangement_names[] = {NULL, "IAF MLA", "ILAC MRA", "Global ACI MRA"};

const char *cv_arrangement_name(enum cv_arrangement a)
{
    return (unsigned)a < 4 && arrangement_names[a] ? arrangement_names[a] : "";
}

int cv_arrangement_parse(const char *s, enum cv_arrangement *out)
{
    char nk[CV_NAME_KEY_MAX], ak[CV_NAME_KEY_MAX];
    if (!s || !cv_name_key(s, nk))
        return CV_ERR_INVALID;
    for (int i = 1; i < 4; i++) {
        cv_name_key(arrangement_names[i], ak);
        if (strcmp(nk, ak) == 0) {
            *out = (enum cv_arrangement)i;
            return CV_OK;
        }
    }
    /* "Global ACI" without "MRA" is accepted too. */
    if (strcmp(nk, "aci global") == 0) {
        *out = CV_ARR_GLOBAL_ACI;
        return CV_OK;
    }
    return CV_ERR_INVALID;
}

static const char *const status_names[] = {"active", "suspended", "withdrawn"};

const char *cv_listing_status_name(enum cv_listing_status s)
{
    return (unsigned)s < 3 ? status_names[s] : "";
}

int cv_listing_status_parse(const char *s, enum cv_listing_status *out)
{
    for (int i = 0; s && i < 3; i++) {
        if (strcasecmp(s, status_names[i]) == 0) {
            *out = (enum cv_listing_status)i;
            return CV_OK;
        }
    }
    return CV_ERR_INVALID;
}

/* The bodies registry: accreditation bodies with their recognitions, certification bodies with
 * their accreditations, merged from listing documents. */
#ifndef CERTVET_BODIES_H
#define CERTVET_BODIES_H

#include <stdbool.h>
#include <stddef.h>

#include "certvet/date.h"
#include "certvet/standards.h"
#include "certvet/strmap.h"

enum cv_arrangement {
    CV_ARR_NONE = 0,
    CV_ARR_IAF_MLA,
    CV_ARR_ILAC_MRA,
    CV_ARR_GLOBAL_ACI, /* Global ACI MRA, successor of both since 2026-01-01 */
};

enum cv_listing_status {
    CV_LS_ACTIVE = 0,
    CV_LS_SUSPENDED,
    CV_LS_WITHDRAWN,
};

struct cv_recognition {
    enum cv_arrangement arrangement;
    enum cv_route main_scope;
    unsigned subscopes; /* enum cv_subscope bits */
    enum cv_listing_status status;
    cv_date since; /* or CV_DATE_NONE */
};

struct cv_ab {
    char *acronym;  /* owned */
    char *name;     /* owned */
    char *economy;  /* owned, may be NULL */
    char **aliases; /* owned array of owned strings */
    size_t n_aliases;
    struct cv_recognition *recognitions; /* owned */
    size_t n_recognitions;
};

struct cv_cb_accreditation {
    char *accreditation_body; /* as listed (acronym or name), owned */
    char *number;             /* owned, may be NULL */
    char **standards;         /* families or series in any spelling, owned */
    size_t n_standards;
    enum cv_listing_status status;
    cv_date status_date; /* date of suspension or withdrawal, or NONE */
    cv_date valid_from;  /* or NONE */
    cv_date valid_until; /* or NONE */
};

struct cv_cb {
    char *id;      /* owned */
    char *name;    /* owned */
    char *country; /* owned, may be NULL */
    char **aliases;
    size_t n_aliases;
    struct cv_cb_accreditation *accreditations; /* owned */
    size_t n_accreditations;
};

struct cv_bodies {
    struct cv_ab *abs;
    size_t n_abs, cap_abs;
    struct cv_cb *cbs;
    size_t n_cbs, cap_cbs;
    struct cv_strmap ab_index; /* acronym key and name/alias keys -> index in abs */
    struct cv_strmap cb_index; /* id and name/alias keys -> index in cbs */
};

void cv_bodies_init(struct cv_bodies *b);
void cv_bodies_cleanup(struct cv_bodies *b);

/* Adds '*ab', taking ownership of all its memory (the struct is copied; the caller must not free
 * its members afterwards, on success or failure). An AB with the same acronym is replaced. */
int cv_bodies_put_ab(struct cv_bodies *b, struct cv_ab *ab);

/* Adds '*cb', taking ownership as above. A CB with the same id is replaced. */
int cv_bodies_put_cb(struct cv_bodies *b, struct cv_cb *cb);

/* Frees the members of an AB or CB that was never handed over. Accepts NULL. */
void cv_ab_cleanup(struct cv_ab *ab);
void cv_cb_cleanup(struct cv_cb *cb);

/* Finds an AB by acronym, name or alias (acronyms compare case-insensitively, names through the
 * name normalizer). Returns NULL when unknown. */
const struct cv_ab *cv_bodies_find_ab(const struct cv_bodies *b, const char *printed);

/* Finds a CB by id (exact) or by name/alias through the name normalizer. Either may be NULL. */
const struct cv_cb *cv_bodies_find_cb(const struct cv_bodies *b, const char *id, const char *name);

/* Names and parsers of the enums above; parse returns 0 on success, CV_ERR_INVALID otherwise. */
const char *cv_arrangement_name(enum cv_arrangement a);
int cv_arrangement_parse(const char *s, enum cv_arrangement *out);
const char *cv_listing_status_name(enum cv_listing_status s);
int cv_listing_status_parse(const char *s, enum cv_listing_status *out);

#endif

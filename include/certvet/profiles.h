/* Loading scoring profiles (SPEC 5) from config/profiles.json. */
#ifndef CERTVET_PROFILES_H
#define CERTVET_PROFILES_H

#include <jansson.h>
#include <stddef.h>

#include "certvet/score.h"
#include "certvet/standards.h"

/* Loads {"profiles": [...]} (or a bare array) from 'path' into 'p', which must be empty. Each
 * profile: name (required, unique), title, approve_at (0..100, default 80), max_report_age_days
 * (>= 0, default 0: no limit) and requirements [{family, level required|recommended, weight
 * (> 0, default 10 required / 5 recommended)}]; every family must be one 'catalog' knows;
 * unknown keys are refused (keys starting with '_' are comments).
 * All-or-nothing: on error 'p' is left empty and 'err' names the profile and field, e.g.
 * "profiles[3] (food).requirements[1].level: 'mandatory' is not required or recommended". */
int cv_profiles_load_json(struct cv_profiles *p, const char *path, const struct cv_catalog *catalog,
                          char *err, size_t cap);
int cv_profiles_load_json_mem(struct cv_profiles *p, const char *buf, size_t len, const char *name,
                              const struct cv_catalog *catalog, char *err, size_t cap);

/* The score as JSON (SPEC 5): {scoring, supplier{id,name}, profile, as_of, score, decision,
 * coverage, requirements[{family, level, weight, certificate{number,id}|null, verdict|null,
 * points, covered, findings[codes]}], reasons[]}. 'supplier_name' may be NULL. Returns a new
 * reference (json_decref), or NULL when out of memory. */
json_t *cv_score_to_json(const struct cv_score *s, const char *supplier_id,
                         const char *supplier_name);

/* A profile as JSON: {name, title, approve_at, max_report_age_days, requirements[...]}. */
json_t *cv_profile_to_json(const struct cv_profile *p);

#endif

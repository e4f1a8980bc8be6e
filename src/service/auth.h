/* API-key authentication (private to src/service/): bearer tokens, hashed keys compared in
 * constant time, and the role decision every route goes through. No libmicrohttpd here, so the
 * unit tests drive it directly. */
#ifndef CERTVET_SERVICE_AUTH_H
#define CERTVET_SERVICE_AUTH_H

#include <stddef.h>

#include "certvet/service.h"

#define CV_BEARER_MAX 512 /* bytes of a presented key; longer ones are unknown by definition */

enum cv_auth_decision {
    CV_AUTH_OK = 0,    /* go on: the route is public, no keys are configured, or the role fits */
    CV_AUTH_MISSING,   /* 401: no (usable) Authorization: Bearer header */
    CV_AUTH_UNKNOWN,   /* 401: a bearer key that matches no configured hash */
    CV_AUTH_FORBIDDEN, /* 403: a known key whose role is below the route's */
};

/* Extracts the token of an "Authorization: Bearer TOKEN" header value (scheme compared
 * case-insensitively, blanks around the token dropped). Returns 1 and sets '*tok' (pointing into
 * 'header') and '*len', or 0 when 'header' is NULL, not a bearer header, or the token is empty
 * or longer than CV_BEARER_MAX. */
int cv_auth_bearer(const char *header, const char **tok, size_t *len);

/* Finds the key whose hash is the SHA-256 of 'len' bytes of 'tok', comparing with every
 * configured hash in constant time (no early exit, the match selected without branching on
 * secret data). Returns the key, or NULL when none matches. */
const struct cv_api_key *cv_auth_find(const struct cv_api_key *keys, size_t n_keys, const char *tok,
                                      size_t len);

/* The decision for a request carrying 'authorization' (the header value, or NULL) on a route
 * that needs 'needed'. '*who' is set to the matching key (NULL when none, or when no keys are
 * configured) and '*role' to the request's role: the key's, CV_ROLE_ADMIN when no keys are
 * configured, CV_ROLE_NONE otherwise. Public routes (CV_ROLE_NONE) always answer CV_AUTH_OK. */
enum cv_auth_decision cv_auth_check(const struct cv_api_key *keys, size_t n_keys,
                                    const char *authorization, enum cv_role needed,
                                    const struct cv_api_key **who, enum cv_role *role);

#endif

/* API keys: roles, bearer tokens, and the constant-time match of a presented key's SHA-256
 * against every configured hash. Keys are never logged; only their names are. */
#include "auth.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "certvet/error.h"
#include "certvet/sha256.h"

/* The roles, in order: the single table for names and ordering. */
static const char *const role_names[] = {
    [CV_ROLE_NONE] = "none",
    [CV_ROLE_READ] = "read",
    [CV_ROLE_WRITE] = "write",
    [CV_ROLE_ADMIN] = "admin",
};
#define N_ROLES (sizeof(role_names) / sizeof(role_names[0]))

const char *cv_role_name(enum cv_role r)
{
    return (size_t)r < N_ROLES ? role_names[r] : "unknown";
}

int cv_role_parse(const char *s, enum cv_role *out)
{
    /* "none" is not a role a key can have */
    for (size_t i = CV_ROLE_READ; s && i < N_ROLES; i++) {
        if (strcmp(s, role_names[i]) == 0) {
            *out = (enum cv_role)i;
            return CV_OK;
        }
    }
    return CV_ERR_INVALID;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

int cv_auth_bearer(const char *header, const char **tok, size_t *len)
{
    static const char scheme[] = "Bearer";
    if (!header)
        return 0;
    while (is_blank(*header))
        header++;
    if (strncasecmp(header, scheme, sizeof(scheme) - 1) != 0 ||
        !is_blank(header[sizeof(scheme) - 1]))
        return 0;
    const char *p = header + sizeof(scheme);
    while (is_blank(*p))
        p++;
    size_t n = strlen(p);
    while (n && is_blank(p[n - 1]))
        n--;
    if (n == 0 || n > CV_BEARER_MAX)
        return 0;
    *tok = p;
    *len = n;
    return 1;
}

const struct cv_api_key *cv_auth_find(const struct cv_api_key *keys, size_t n_keys, const char *tok,
                                      size_t len)
{
    char hex[CV_SHA256_HEX_LEN];
    uintptr_t found = 0;
    cv_sha256_hex(tok, len, hex);
    /* Every hash is compared, whatever matched before; the match is folded in with a mask
     * rather than a branch, so the time taken says nothing about which key (if any) matched. */
    for (size_t i = 0; i < n_keys; i++) {
        uintptr_t eq = (uintptr_t)cv_equal_consttime(hex, keys[i].sha256, CV_SHA256_HEX_LEN - 1);
        uintptr_t mask = (uintptr_t)0 - eq;
        found = (found & ~mask) | ((uintptr_t)&keys[i] & mask);
    }
    return (const struct cv_api_key *)found;
}

enum cv_auth_decision cv_auth_check(const struct cv_api_key *keys, size_t n_keys,
                                    const char *authorization, enum cv_role needed,
                                    const struct cv_api_key **who, enum cv_role *role)
{
    const char *tok;
    size_t len;
    *who = NULL;
    *role = CV_ROLE_NONE;
    if (n_keys == 0) {
        *role = CV_ROLE_ADMIN; /* no keys configured: loopback only, everything allowed */
        return CV_AUTH_OK;
    }
    if (needed == CV_ROLE_NONE)
        return CV_AUTH_OK;
    if (!cv_auth_bearer(authorization, &tok, &len))
        return CV_AUTH_MISSING;
    *who = cv_auth_find(keys, n_keys, tok, len);
    if (!*who)
        return CV_AUTH_UNKNOWN;
    *role = (*who)->role;
    return *role >= needed ? CV_AUTH_OK : CV_AUTH_FORBIDDEN;
}

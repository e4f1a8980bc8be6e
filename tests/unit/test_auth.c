/* Unit tests of src/service/auth.c: role names and order, bearer parsing, the constant-time
 * hash match over every key, and the 401/403 decisions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_util.h"

#include <string.h>

#include "auth.h"
#include "certvet/error.h"
#include "certvet/sha256.h"

static const struct {
    const char *name;
    int rc;
    enum cv_role role;
} roles[] = {
    {"read", CV_OK, CV_ROLE_READ},   {"write", CV_OK, CV_ROLE_WRITE},
    {"admin", CV_OK, CV_ROLE_ADMIN}, {"none", CV_ERR_INVALID, CV_ROLE_NONE},
    {"Admin", CV_ERR_INVALID, 0},    {"", CV_ERR_INVALID, 0},
    {"root", CV_ERR_INVALID, 0},     {NULL, CV_ERR_INVALID, 0},
};

static void role_names(void **state)
{
    (void)state;
    int fails = 0;
    for (size_t i = 0; i < N_ELEMS(roles); i++) {
        enum cv_role r = CV_ROLE_NONE;
        int rc = cv_role_parse(roles[i].name, &r);
        EXPECT(fails, rc == roles[i].rc, "case %zu: rc %d\n", i, rc);
        if (rc == CV_OK) {
            EXPECT(fails, r == roles[i].role, "case %zu: role %d\n", i, r);
            EXPECT(fails, strcmp(cv_role_name(r), roles[i].name) == 0, "case %zu: name %s\n", i,
                   cv_role_name(r));
        }
    }
    /* the order the decisions rely on */
    assert_true(CV_ROLE_NONE < CV_ROLE_READ);
    assert_true(CV_ROLE_READ < CV_ROLE_WRITE);
    assert_true(CV_ROLE_WRITE < CV_ROLE_ADMIN);
    assert_string_equal(cv_role_name(CV_ROLE_NONE), "none");
    assert_string_equal(cv_role_name((enum cv_role)42), "unknown");
    assert_int_equal(fails, 0);
}

static const struct {
    const char *header;
    const char *token; /* NULL: refused */
} bearers[] = {
    {"Bearer abc", "abc"},  {"bearer abc", "abc"},
    {"BEARER\tabc", "abc"}, {"  Bearer   abc  ", "abc"},
    {"Bearer a b", "a b"}, /* kept as is: it will not match a key */
    {"Basic abc", NULL},    {"Bearer", NULL},
    {"Bearer ", NULL},      {"Bearer    ", NULL},
    {"Bearerabc", NULL},    {"", NULL},
    {NULL, NULL},
};

static void bearer_parsing(void **state)
{
    (void)state;
    int fails = 0;
    for (size_t i = 0; i < N_ELEMS(bearers); i++) {
        const char *tok = NULL;
        size_t len = 0;
        int ok = cv_auth_bearer(bearers[i].header, &tok, &len);
        EXPECT(fails, ok == (bearers[i].token != NULL), "case %zu: ok %d\n", i, ok);
        if (ok && bearers[i].token)
            EXPECT(fails, len == strlen(bearers[i].token) && !memcmp(tok, bearers[i].token, len),
                   "case %zu: token '%.*s'\n", i, (int)len, tok);
    }
    /* a token longer than CV_BEARER_MAX is refused before hashing */
    char big[CV_BEARER_MAX + 16];
    memcpy(big, "Bearer ", 7);
    memset(big + 7, 'k', sizeof(big) - 8);
    big[sizeof(big) - 1] = '\0';
    const char *tok;
    size_t len;
    assert_int_equal(cv_auth_bearer(big, &tok, &len), 0);
    assert_int_equal(fails, 0);
}

/* Three configured keys, one per role; the hashes are those of the names below. */
static const char *const secrets[] = {"key-for-reading", "key-for-writing", "key-for-admin"};
static struct cv_api_key keys[3];

static int setup_keys(void **state)
{
    (void)state;
    static char names[3][8] = {"reader", "writer", "admin"};
    for (int i = 0; i < 3; i++) {
        keys[i].name = names[i];
        keys[i].role = (enum cv_role)(CV_ROLE_READ + i);
        cv_sha256_hex(secrets[i], strlen(secrets[i]), keys[i].sha256);
    }
    return 0;
}

static void find_by_hash(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++)
        assert_ptr_equal(cv_auth_find(keys, 3, secrets[i], strlen(secrets[i])), &keys[i]);
    assert_null(cv_auth_find(keys, 3, "key-for-readin", 14));   /* a prefix */
    assert_null(cv_auth_find(keys, 3, "key-for-reading!", 16)); /* longer */
    assert_null(cv_auth_find(keys, 3, keys[0].sha256, 64));     /* the hash is not the key */
    assert_null(cv_auth_find(keys, 0, secrets[0], strlen(secrets[0])));
}

/* The match is selected without leaving the loop: with the same hash twice (the config loader
 * refuses that), the last one wins, which shows every entry was compared. */
static void every_key_is_compared(void **state)
{
    (void)state;
    struct cv_api_key twice[4];
    memcpy(twice, keys, sizeof(keys));
    twice[3] = keys[0];
    twice[3].name = "copy";
    assert_ptr_equal(cv_auth_find(twice, 4, secrets[0], strlen(secrets[0])), &twice[3]);
}

static const struct {
    size_t n_keys;
    const char *header;
    enum cv_role needed;
    enum cv_auth_decision decision;
    enum cv_role role;
    const char *who; /* the key's name, or NULL */
} decisions[] = {
    /* public routes never need a key, even a wrong one */
    {3, NULL, CV_ROLE_NONE, CV_AUTH_OK, CV_ROLE_NONE, NULL},
    {3, "Bearer wrong", CV_ROLE_NONE, CV_AUTH_OK, CV_ROLE_NONE, NULL},
    /* no keys configured: everything is admin (loopback only) */
    {0, NULL, CV_ROLE_ADMIN, CV_AUTH_OK, CV_ROLE_ADMIN, NULL},
    {0, "Bearer anything", CV_ROLE_WRITE, CV_AUTH_OK, CV_ROLE_ADMIN, NULL},
    /* 401 */
    {3, NULL, CV_ROLE_READ, CV_AUTH_MISSING, CV_ROLE_NONE, NULL},
    {3, "Basic a2V5", CV_ROLE_READ, CV_AUTH_MISSING, CV_ROLE_NONE, NULL},
    {3, "Bearer ", CV_ROLE_READ, CV_AUTH_MISSING, CV_ROLE_NONE, NULL},
    {3, "Bearer nope", CV_ROLE_READ, CV_AUTH_UNKNOWN, CV_ROLE_NONE, NULL},
    /* role ordering: read < write < admin */
    {3, "Bearer key-for-reading", CV_ROLE_READ, CV_AUTH_OK, CV_ROLE_READ, "reader"},
    {3, "Bearer key-for-reading", CV_ROLE_WRITE, CV_AUTH_FORBIDDEN, CV_ROLE_READ, "reader"},
    {3, "Bearer key-for-reading", CV_ROLE_ADMIN, CV_AUTH_FORBIDDEN, CV_ROLE_READ, "reader"},
    {3, "Bearer key-for-writing", CV_ROLE_READ, CV_AUTH_OK, CV_ROLE_WRITE, "writer"},
    {3, "Bearer key-for-writing", CV_ROLE_WRITE, CV_AUTH_OK, CV_ROLE_WRITE, "writer"},
    {3, "Bearer key-for-writing", CV_ROLE_ADMIN, CV_AUTH_FORBIDDEN, CV_ROLE_WRITE, "writer"},
    {3, "bearer key-for-admin", CV_ROLE_READ, CV_AUTH_OK, CV_ROLE_ADMIN, "admin"},
    {3, "Bearer key-for-admin", CV_ROLE_WRITE, CV_AUTH_OK, CV_ROLE_ADMIN, "admin"},
    {3, "Bearer key-for-admin", CV_ROLE_ADMIN, CV_AUTH_OK, CV_ROLE_ADMIN, "admin"},
};

static void decisions_table(void **state)
{
    (void)state;
    int fails = 0;
    for (size_t i = 0; i < N_ELEMS(decisions); i++) {
        const struct cv_api_key *who = (const struct cv_api_key *)1;
        enum cv_role role = (enum cv_role)99;
        enum cv_auth_decision d = cv_auth_check(keys, decisions[i].n_keys, decisions[i].header,
                                                decisions[i].needed, &who, &role);
        EXPECT(fails, d == decisions[i].decision, "case %zu: decision %d\n", i, d);
        EXPECT(fails, role == decisions[i].role, "case %zu: role %d\n", i, role);
        if (decisions[i].who)
            EXPECT(fails, who && strcmp(who->name, decisions[i].who) == 0, "case %zu: who %s\n", i,
                   who ? who->name : "(none)");
        else
            EXPECT(fails, who == NULL, "case %zu: a key was named\n", i);
    }
    assert_int_equal(fails, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(role_names),
        cmocka_unit_test(bearer_parsing),
        cmocka_unit_test_setup(find_by_hash, setup_keys),
        cmocka_unit_test_setup(every_key_is_compared, setup_keys),
        cmocka_unit_test_setup(decisions_table, setup_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

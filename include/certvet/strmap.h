/* A small open-addressing hash map from strings to indexes, used for reference-data look-ups. */
#ifndef CERTVET_STRMAP_H
#define CERTVET_STRMAP_H

#include <stddef.h>

struct cv_strmap_slot {
    char *key;    /* owned copy; NULL when the slot is empty */
    size_t value; /* the caller's index */
};

struct cv_strmap {
    struct cv_strmap_slot *slots; /* owned; capacity is a power of two */
    size_t cap;
    size_t count;
};

/* Initializes an empty map in caller-provided storage. */
void cv_strmap_init(struct cv_strmap *m);

/* Frees the map's keys and slots; the struct itself stays the caller's. Accepts NULL. */
void cv_strmap_cleanup(struct cv_strmap *m);

/* Sets 'key' to 'value' (replacing an existing value). Returns CV_OK or CV_ERR_NOMEM. */
int cv_strmap_put(struct cv_strmap *m, const char *key, size_t value);

/* Looks 'key' up; returns 1 and sets '*value' when present, 0 otherwise. */
int cv_strmap_get(const struct cv_strmap *m, const char *key, size_t *value);

#endif

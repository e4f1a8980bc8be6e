/* Open addressing with linear probing; keys are copied; the map only grows. */
#include "certvet/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "certvet/error.h"

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

void cv_strmap_init(struct cv_strmap *m)
{
    m->slots = NULL;
    m->cap = 0;
    m->count = 0;
}

void cv_strmap_cleanup(struct cv_strmap *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    cv_strmap_init(m);
}

static struct cv_strmap_slot *find_slot(struct cv_strmap_slot *slots, size_t cap, const char *key)
{
    size_t i = (size_t)hash_str(key) & (cap - 1);
    while (slots[i].key && strcmp(slots[i].key, key) != 0)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

static int grow(struct cv_strmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    struct cv_strmap_slot *slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return CV_ERR_NOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].key)
            *find_slot(slots, cap, m->slots[i].key) = m->slots[i];
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return CV_OK;
}

int cv_strmap_put(struct cv_strmap *m, const char *key, size_t value)
{
    if ((m->count + 1) * 2 > m->cap) {
        int rc = grow(m);
        if (rc)
            return rc;
    }
    struct cv_strmap_slot *s = find_slot(m->slots, m->cap, key);
    if (!s->key) {
        s->key = strdup(key);
        if (!s->key)
            return CV_ERR_NOMEM;
        m->count++;
    }
    s->value = value;
    return CV_OK;
}

int cv_strmap_get(const struct cv_strmap *m, const char *key, size_t *value)
{
    if (!m->cap)
        return 0;
    const struct cv_strmap_slot *s = find_slot(m->slots, m->cap, key);
    if (!s->key)
        return 0;
    *value = s->value;
    return 1;
}

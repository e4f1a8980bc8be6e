/* The supplier registry. */
#include "certvet/supplier.h"

#include <stdlib.h>
#include <string.h>

#include "certvet/error.h"

void cv_suppliers_init(struct cv_suppliers *s)
{
    memset(s, 0, sizeof(*s));
    cv_strmap_init(&s->by_id);
}

void cv_supplier_cleanup(struct cv_supplier *sup)
{
    if (!sup)
        return;
    free(sup->id);
    free(sup->name);
    free(sup->country);
    for (size_t i = 0; i < sup->n_aliases; i++)
        free(sup->aliases[i]);
    free(sup->aliases);
    memset(sup, 0, sizeof(*sup));
}

void cv_suppliers_cleanup(struct cv_suppliers *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->count; i++)
        cv_supplier_cleanup(&s->items[i]);
    free(s->items);
    cv_strmap_cleanup(&s->by_id);
    memset(s, 0, sizeof(*s));
}

int cv_suppliers_put(struct cv_suppliers *s, struct cv_supplier *sup)
{
    size_t idx;
    if (!sup->id || !sup->name) {
        cv_supplier_cleanup(sup);
        return CV_ERR_INVALID;
    }
    if (cv_strmap_get(&s->by_id, sup->id, &idx)) {
        cv_supplier_cleanup(&s->items[idx]);
    } else {
        if (s->count == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 16;
            struct cv_supplier *items = realloc(s->items, cap * sizeof(*items));
            if (!items) {
                cv_supplier_cleanup(sup);
                return CV_ERR_NOMEM;
            }
            s->items = items;
            s->cap = cap;
        }
        idx = s->count++;
    }
    s->items[idx] = *sup;
    memset(sup, 0, sizeof(*sup));
    return cv_strmap_put(&s->by_id, s->items[idx].id, idx);
}

const struct cv_supplier *cv_suppliers_find(const struct cv_suppliers *s, const char *id)
{
    size_t idx;
    if (!id || !cv_strmap_get(&s->by_id, id, &idx))
        return NULL;
    return &s->items[idx];
}

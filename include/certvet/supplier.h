/* Suppliers (SPEC 3.3): who a certificate is meant to cover, indexed by id. */
#ifndef CERTVET_SUPPLIER_H
#define CERTVET_SUPPLIER_H

#include <stddef.h>

#include "certvet/strmap.h"

struct cv_supplier {
    char *id;       /* owned */
    char *name;     /* owned */
    char *country;  /* owned, may be NULL */
    char **aliases; /* owned array of owned strings */
    size_t n_aliases;
};

struct cv_suppliers {
    struct cv_supplier *items; /* owned */
    size_t count, cap;
    struct cv_strmap by_id; /* id -> index */
};

void cv_suppliers_init(struct cv_suppliers *s);
void cv_suppliers_cleanup(struct cv_suppliers *s);

/* Adds '*sup', taking ownership of its members (they are cleared); same id replaces. */
int cv_suppliers_put(struct cv_suppliers *s, struct cv_supplier *sup);

/* Frees the members of a supplier that was never handed over. Accepts NULL. */
void cv_supplier_cleanup(struct cv_supplier *sup);

/* Finds a supplier by id; NULL when unknown or 'id' is NULL. */
const struct cv_supplier *cv_suppliers_find(const struct cv_suppliers *s, const char *id);

#endif

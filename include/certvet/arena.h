/* A bump allocator for the strings of one record: everything is released at once. */
#ifndef CERTVET_ARENA_H
#define CERTVET_ARENA_H

#include <stddef.h>

struct cv_arena_chunk;

struct cv_arena {
    struct cv_arena_chunk *head; /* owned list, newest first */
    size_t limit;                /* bytes the arena may hold in all; 0 = no limit */
    size_t used;                 /* bytes handed out since the last reset */
};

/* Initializes an empty arena that refuses to grow past 'limit' bytes (0: no limit). */
void cv_arena_init(struct cv_arena *a, size_t limit);

/* Releases all memory. Accepts NULL. */
void cv_arena_cleanup(struct cv_arena *a);

/* Forgets every allocation but keeps the first chunk for reuse. */
void cv_arena_reset(struct cv_arena *a);

/* Returns 'n' bytes aligned for any type, or NULL when out of memory or past the limit.
 * The memory belongs to the arena. */
void *cv_arena_alloc(struct cv_arena *a, size_t n);

/* Copies 'len' bytes of 's' and a NUL into the arena. Returns NULL as cv_arena_alloc does. */
char *cv_arena_strndup(struct cv_arena *a, const char *s, size_t len);

#endif

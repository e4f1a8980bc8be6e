/* A bump allocator: one record's strings come from a few chunks and are released together. */
#include "certvet/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_MIN 4096
#define ALIGN     16

struct cv_arena_chunk {
    struct cv_arena_chunk *next;
    size_t size; /* usable bytes after the header */
    size_t used;
    _Alignas(ALIGN) unsigned char data[];
};

void cv_arena_init(struct cv_arena *a, size_t limit)
{
    a->head = NULL;
    a->limit = limit;
    a->used = 0;
}

void cv_arena_cleanup(struct cv_arena *a)
{
    if (!a)
        return;
    struct cv_arena_chunk *c = a->head;
    while (c) {
        struct cv_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->used = 0;
}

void cv_arena_reset(struct cv_arena *a)
{
    if (!a->head)
        return;
    /* Keep the oldest chunk (the last in the list): it is the one sized for typical records. */
    struct cv_arena_chunk *c = a->head, *keep = NULL;
    while (c) {
        struct cv_arena_chunk *next = c->next;
        if (!next)
            keep = c;
        else
            free(c);
        c = next;
    }
    keep->used = 0;
    keep->next = NULL;
    a->head = keep;
    a->used = 0;
}

void *cv_arena_alloc(struct cv_arena *a, size_t n)
{
    size_t need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (need < n)
        return NULL;
    if (a->limit && (need > a->limit || a->used > a->limit - need))
        return NULL;
    struct cv_arena_chunk *c = a->head;
    if (!c || c->size - c->used < need) {
        size_t size = need > CHUNK_MIN ? need : CHUNK_MIN;
        c = malloc(sizeof(*c) + size);
        if (!c)
            return NULL;
        c->size = size;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += need;
    a->used += need;
    return p;
}

char *cv_arena_strndup(struct cv_arena *a, const char *s, size_t len)
{
    char *p = cv_arena_alloc(a, len + 1);
    if (!p)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

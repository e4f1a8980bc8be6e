/* A growable byte buffer with a named limit: past it, appends are dropped and it says so. */
#ifndef CERTVET_BUF_H
#define CERTVET_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct cv_buf {
    char *data;    /* owned; NULL until memory is needed */
    size_t len;    /* bytes held */
    size_t cap;    /* bytes allocated */
    size_t limit;  /* bytes the buffer may ever hold */
    bool overflow; /* an append went past 'limit': the content is incomplete */
};

/* Initializes an empty buffer that will hold at most 'limit' bytes. */
void cv_buf_init(struct cv_buf *b, size_t limit);

/* Frees the memory. Accepts NULL. */
void cv_buf_cleanup(struct cv_buf *b);

/* Allocates room for 'n' bytes up front (at most the limit). Returns CV_OK or CV_ERR_NOMEM. */
int cv_buf_reserve(struct cv_buf *b, size_t n);

/* Empties the buffer and clears 'overflow', keeping its memory. */
void cv_buf_clear(struct cv_buf *b);

/* Appends 'n' bytes. Past the limit nothing more is kept and 'overflow' is set: callers report
 * "too large" once they see it. Returns CV_OK (also when bytes were dropped), or CV_ERR_NOMEM. */
int cv_buf_append(struct cv_buf *b, const void *p, size_t n);

#endif

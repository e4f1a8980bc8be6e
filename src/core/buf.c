/* Bounded growable buffers: capacity doubles up to the buffer's limit, never beyond. */
#include "certvet/buf.h"

#include <stdlib.h>
#include <string.h>

#include "certvet/error.h"

void cv_buf_init(struct cv_buf *b, size_t limit)
{
    memset(b, 0, sizeof(*b));
    b->limit = limit;
}

void cv_buf_cleanup(struct cv_buf *b)
{
    if (!b)
        return;
    free(b->data);
    cv_buf_init(b, b->limit);
}

int cv_buf_reserve(struct cv_buf *b, size_t n)
{
    if (n > b->limit)
        n = b->limit;
    if (n <= b->cap)
        return CV_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < n)
        cap *= 2;
    if (cap > b->limit)
        cap = b->limit;
    char *p = realloc(b->data, cap ? cap : 1);
    if (!p)
        return CV_ERR_NOMEM;
    b->data = p;
    b->cap = cap;
    return CV_OK;
}

void cv_buf_clear(struct cv_buf *b)
{
    b->len = 0;
    b->overflow = false;
}

int cv_buf_append(struct cv_buf *b, const void *p, size_t n)
{
    if (b->overflow || n == 0)
        return CV_OK;
    if (n > b->limit - b->len) {
        b->overflow = true;
        return CV_OK;
    }
    int rc = cv_buf_reserve(b, b->len + n);
    if (rc)
        return rc;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return CV_OK;
}

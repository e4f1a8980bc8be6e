/* SHA-256 (FIPS 180-4), for API-key hashes, certificate ids and cache keys. None of the
 * project's libraries exposes one, so it lives here, checked against the FIPS test vectors. */
#ifndef CERTVET_SHA256_H
#define CERTVET_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define CV_SHA256_LEN     32
#define CV_SHA256_HEX_LEN 65 /* 64 hex digits and a NUL */

struct cv_sha256 {
    uint32_t h[8];
    uint64_t bytes;
    unsigned char block[64];
    size_t used;
};

void cv_sha256_init(struct cv_sha256 *c);
void cv_sha256_update(struct cv_sha256 *c, const void *data, size_t len);
void cv_sha256_final(struct cv_sha256 *c, unsigned char out[CV_SHA256_LEN]);

/* One-shot: the digest of 'len' bytes of 'data' as 64 lower-case hex digits in 'hex'. */
void cv_sha256_hex(const void *data, size_t len, char hex[CV_SHA256_HEX_LEN]);

/* Compares two equal-length byte strings in time that does not depend on where they differ.
 * Returns 1 when equal. */
int cv_equal_consttime(const void *a, const void *b, size_t len);

#endif

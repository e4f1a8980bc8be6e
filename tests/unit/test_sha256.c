/* Unit tests of src/core/sha256.c against the FIPS 180-4 / NIST example vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#include "certvet/sha256.h"

static const struct {
    const char *input;
    const char *digest;
} vectors[] = {
    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmn"
     "opqrsmnopqrstnopqrstu",
     "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
};

static void fips_vectors(void **state)
{
    (void)state;
    int fails = 0;
    char hex[CV_SHA256_HEX_LEN];
    for (size_t i = 0; i < N_ELEMS(vectors); i++) {
        cv_sha256_hex(vectors[i].input, strlen(vectors[i].input), hex);
        EXPECT(fails, strcmp(hex, vectors[i].digest) == 0, "vector %zu: %s\n", i, hex);
    }
    assert_int_equal(fails, 0);
}

static void million_a_in_pieces(void **state)
{
    (void)state;
    /* FIPS 180-4 example: one million 'a', fed in uneven pieces to cross block boundaries. */
    char *a = malloc(1000000);
    memset(a, 'a', 1000000);
    struct cv_sha256 c;
    unsigned char d[CV_SHA256_LEN];
    cv_sha256_init(&c);
    for (size_t off = 0, step = 1; off < 1000000; off += step, step = step % 97 + 13)
        cv_sha256_update(&c, a + off, off + step > 1000000 ? 1000000 - off : step);
    cv_sha256_final(&c, d);
    static const unsigned char want[CV_SHA256_LEN] = {
        0xcd, 0xc7, 0x6e, 0x5c, 0x99, 0x14, 0xfb, 0x92, 0x81, 0xa1, 0xc7,
        0xe2, 0x84, 0xd7, 0x3e, 0x67, 0xf1, 0x80, 0x9a, 0x48, 0xa4, 0x97,
        0x20, 0x0e, 0x04, 0x6d, 0x39, 0xcc, 0xc7, 0x11, 0x2c, 0xd0};
    assert_memory_equal(d, want, CV_SHA256_LEN);
    free(a);
}

static void constant_time_compare(void **state)
{
    (void)state;
    assert_true(cv_equal_consttime("abcd", "abcd", 4));
    assert_false(cv_equal_consttime("abcd", "abce", 4));
    assert_false(cv_equal_consttime("xbcd", "abcd", 4));
    assert_true(cv_equal_consttime("", "", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fips_vectors),
        cmocka_unit_test(million_a_in_pieces),
        cmocka_unit_test(constant_time_compare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

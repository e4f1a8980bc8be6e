/* Unit tests of src/core/buf.c: growth, the named limit, overflow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_util.h"

#include <string.h>

#include "certvet/buf.h"
#include "certvet/error.h"

/* Appends of 'sizes' into a buffer limited to 'limit': what is kept, and whether it overflowed. */
static const struct {
    size_t limit;
    size_t sizes[4];
    size_t kept;
    bool overflow;
} cases[] = {
    {10, {3, 3, 4, 0}, 10, false}, /* exactly the limit */
    {10, {3, 3, 5, 0}, 6, true},   /* the append that would pass it is dropped whole */
    {10, {11, 0, 0, 0}, 0, true},
    {10, {10, 1, 0, 0}, 10, true},
    {1000, {300, 300, 300, 0}, 900, false}, /* growth past the first allocation */
    {0, {1, 0, 0, 0}, 0, true},
};

static void limits(void **state)
{
    (void)state;
    char src[1024];
    memset(src, 'x', sizeof(src));
    int fails = 0;
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        struct cv_buf b;
        cv_buf_init(&b, cases[i].limit);
        for (int k = 0; k < 4 && cases[i].sizes[k]; k++)
            assert_int_equal(cv_buf_append(&b, src, cases[i].sizes[k]), CV_OK);
        EXPECT(fails, b.len == cases[i].kept, "case %zu: kept %zu\n", i, b.len);
        EXPECT(fails, b.overflow == cases[i].overflow, "case %zu: overflow %d\n", i, b.overflow);
        EXPECT(fails, b.cap <= cases[i].limit || cases[i].limit == 0, "case %zu: cap %zu\n", i,
               b.cap);
        cv_buf_cleanup(&b);
    }
    assert_int_equal(fails, 0);
}

static void overflow_sticks_until_cleared(void **state)
{
    (void)state;
    struct cv_buf b;
    cv_buf_init(&b, 4);
    cv_buf_append(&b, "abcde", 5);
    cv_buf_append(&b, "ab", 2); /* dropped: the content is already incomplete */
    assert_true(b.overflow);
    assert_int_equal(b.len, 0);
    cv_buf_clear(&b);
    assert_false(b.overflow);
    cv_buf_append(&b, "abcd", 4);
    assert_memory_equal(b.data, "abcd", 4);
    assert_int_equal(cv_buf_reserve(&b, 100), CV_OK);
    assert_int_equal(b.cap, 4); /* never beyond the limit */
    cv_buf_cleanup(&b);
    cv_buf_cleanup(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(limits),
        cmocka_unit_test(overflow_sticks_until_cleared),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Helpers shared by the table-driven tests: include after <cmocka.h>. */
#ifndef CERTVET_TEST_UTIL_H
#define CERTVET_TEST_UTIL_H

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Table tests report every failing row, then fail once: count failures in 'fails'. */
#define EXPECT(fails, cond, ...)                                                                   \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            print_error(__VA_ARGS__);                                                              \
            (fails)++;                                                                             \
        }                                                                                          \
    } while (0)

#endif

/* Context for the offline rows of SPEC 11: reads a certificate file through certvet's own
 * reader (format by extension, every record mapped and checked) and only counts the records: no
 * rules, no output. Splits `certvet verify`'s time into reading and the rest.
 * Usage: readonly FILE */
#include <stdio.h>

#include "certvet/reader.h"

static int on_cert(void *ctx, struct cv_certificate *cert, const struct cv_record_loc *loc)
{
    (void)cert, (void)loc;
    ++*(long *)ctx;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: readonly FILE\n");
        return 2;
    }
    long n = 0;
    struct cv_reader_sink sink = {.on_certificate = on_cert, .ctx = &n};
    int rc = cv_read_certificates_file(argv[1], CV_FORMAT_AUTO, &sink);
    printf("%ld\n", n);
    return rc ? 2 : 0;
}

/* libFuzzer target: one input through the JSON, CSV or listing reader, chosen at build time by
 * FUZZ_TARGET (1 JSON certificates, 2 CSV certificates, 3 JSON listing, 4 dates). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "certvet/date.h"
#include "certvet/reader.h"
#include "certvet/refdata.h"

static int on_certificate(void *ctx, struct cv_certificate *cert, const struct cv_record_loc *loc)
{
    (void)ctx;
    (void)cert;
    (void)loc;
    return 0;
}

static void on_error(void *ctx, const struct cv_record_error *e)
{
    (void)ctx;
    (void)e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cv_reader_sink sink = {on_certificate, on_error, NULL, NULL};
#if FUZZ_TARGET == 4
    cv_date d;
    cv_date_parse((const char *)data, size, &d);
    (void)sink;
#elif FUZZ_TARGET == 3
    struct cv_bodies b;
    char err[256];
    cv_bodies_init(&b);
    cv_listing_load_json_mem(&b, (const char *)data, size, "fuzz", err, sizeof(err));
    cv_bodies_cleanup(&b);
    (void)sink;
#else
    if (size == 0)
        return 0;
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f)
        return 0;
#if FUZZ_TARGET == 2
    cv_csv_read_certificates(f, "fuzz", &sink);
#else
    cv_json_read_certificates(f, "fuzz", &sink);
#endif
    fclose(f);
#endif
    return 0;
}

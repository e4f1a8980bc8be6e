/* libFuzzer target: one input through the JSON, CSV or listing reader, chosen at build time by
 * FUZZ_TARGET (1 JSON certificates, 2 CSV certificates, 3 JSON listing, 4 dates, 5 HTML listing
 * with the mapping config/sources.json ships for fixtures/listings/ab-directory.html). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "certvet/date.h"
#include "certvet/html_listing.h"
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
#if FUZZ_TARGET == 5
    static const struct cv_html_mapping map = {
        .row_xpath = "//table[@id='cb-directory']/tbody/tr",
        .id = "@data-cb",
        .name = "td[@class='name']/a",
        .aliases = "td[@class='name']/span[@class='aka']",
        .country = "td[@class='country']",
        .accreditation_body = "'NVAS'",
        .number = "td[@class='number']",
        .standards = "td[@class='scope']//li",
        .status = "td[@class='status']",
        .status_date = "td[@class='status-date']",
        .valid_from = "td[@class='from']",
        .valid_until = "td[@class='until']",
    };
    struct cv_bodies b;
    char err[256];
    cv_bodies_init(&b);
    cv_html_listing_load_mem(&b, (const char *)data, size, "fuzz", &map, err, sizeof(err));
    cv_bodies_cleanup(&b);
    (void)sink;
#elif FUZZ_TARGET == 4
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

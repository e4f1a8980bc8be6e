/* libFuzzer target: one input through a reader, chosen at build time by FUZZ_TARGET (1 JSON
 * certificates, 2 CSV certificates, 3 JSON listing, 4 dates, 5 HTML listing with the mapping
 * config/sources.json ships for fixtures/listings/ab-directory.html, 6 XML certificates and 7 XML
 * listing, both validated against the shipped XSDs, 8 the name normalizer). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certvet/date.h"
#include "certvet/html_listing.h"
#include "certvet/names.h"
#include "certvet/reader.h"
#include "certvet/refdata.h"
#include "certvet/xml.h"

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

#if FUZZ_TARGET == 6 || FUZZ_TARGET == 7
/* The shipped schemas, compiled once. */
static const struct cv_xml_schema *schema(void)
{
    static struct cv_xml_schema *s;
    char err[512];
    if (!s && cv_xml_schema_new(CERTVET_SOURCE_DIR "/config/certificate.xsd",
                                CERTVET_SOURCE_DIR "/config/listing.xsd", &s, err, sizeof(err))) {
        fprintf(stderr, "fuzz: %s\n", err);
        abort();
    }
    return s;
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cv_reader_sink sink = {on_certificate, on_error, NULL, NULL};
#if FUZZ_TARGET == 8
    /* the input as a NUL-terminated name, and split at its first NUL into two names to match */
    char *a = malloc(size + 1), key[CV_NAME_KEY_MAX];
    if (!a)
        return 0;
    memcpy(a, data, size);
    a[size] = '\0';
    size_t la = strlen(a);
    const char *b = la < size ? a + la + 1 : "";
    size_t n = cv_name_key(a, key);
    if (n >= CV_NAME_KEY_MAX || key[n] != '\0')
        abort(); /* the key must fit its buffer, NUL-terminated */
    if (cv_names_match(a, b) != cv_names_match(b, a))
        abort(); /* matching is symmetric */
    if (n && !cv_names_match(a, a))
        abort(); /* a name with a key matches itself */
    free(a);
    (void)sink;
#elif FUZZ_TARGET == 7
    struct cv_bodies b;
    char err[256];
    cv_bodies_init(&b);
    cv_xml_load_listing_mem(&b, (const char *)data, size, "fuzz", schema(), err, sizeof(err));
    cv_bodies_cleanup(&b);
    (void)sink;
#elif FUZZ_TARGET == 5
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
#if FUZZ_TARGET == 6
    sink.xml_schema = schema();
    cv_xml_read_certificates_stream(f, "fuzz", &sink);
#elif FUZZ_TARGET == 2
    cv_csv_read_certificates(f, "fuzz", &sink);
#else
    cv_json_read_certificates(f, "fuzz", &sink);
#endif
    fclose(f);
#endif
    return 0;
}

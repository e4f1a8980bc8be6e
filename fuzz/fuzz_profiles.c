/* libFuzzer target: one input through the scoring-profile loader (config/profiles.json shape),
 * against the shipped standards catalog (loaded once from CERTVET_SOURCE_DIR/config). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "certvet/profiles.h"
#include "certvet/refdata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cv_catalog catalog;
    static int loaded;
    char err[512];
    if (!loaded) {
        cv_catalog_init(&catalog);
        if (cv_catalog_load_json(&catalog, CERTVET_SOURCE_DIR "/config/standards.json", err,
                                 sizeof(err))) {
            fprintf(stderr, "%s\n", err);
            abort();
        }
        loaded = 1;
    }
    struct cv_profiles p;
    cv_profiles_init(&p);
    cv_profiles_load_json_mem(&p, (const char *)data, size, "fuzz", &catalog, err, sizeof(err));
    cv_profiles_cleanup(&p);
    return 0;
}

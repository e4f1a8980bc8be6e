/* libFuzzer target: one input through a configuration loader, chosen at build time by
 * FUZZ_TARGET (1 the service config, certvet.sample.json's shape; 2 the listing sources,
 * config/sources.json; 3 the registry connectors, config/registries.json). The loaders read a
 * path, as in production, so each input is written to one temporary file first. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "certvet/registry.h"
#include "certvet/service.h"
#include "certvet/sources.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The temporary file every input is written to (created once, removed at exit). */
static char path[64];

static void remove_file(void)
{
    unlink(path);
}

static const char *write_input(const uint8_t *data, size_t size)
{
    static int fd = -1;
    if (fd < 0) {
        const char *tmp = getenv("TMPDIR");
        snprintf(path, sizeof(path), "%.40s/certvet-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        fd = mkstemp(path);
        if (fd < 0) {
            perror("fuzz: mkstemp");
            abort();
        }
        atexit(remove_file);
    }
    if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size) {
        perror("fuzz: write");
        abort();
    }
    return path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    const char *p = write_input(data, size);
#if FUZZ_TARGET == 3
    struct cv_registry_set *set = NULL;
    if (cv_registry_set_load(p, &set, err, sizeof(err)) == 0)
        cv_registry_set_free(set);
#elif FUZZ_TARGET == 2
    struct cv_sources s;
    memset(&s, 0, sizeof(s));
    cv_sources_load(&s, p, err, sizeof(err));
    cv_sources_cleanup(&s);
#else
    struct cv_service_config c;
    cv_service_config_init(&c);
    cv_service_config_load(&c, p, err, sizeof(err));
    cv_service_config_cleanup(&c);
#endif
    return 0;
}

/* certvet keygen: a new random API key (32 bytes from /dev/urandom, base64url) and the
 * configuration entry that holds only its SHA-256. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "certvet/error.h"
#include "certvet/service.h"
#include "certvet/sha256.h"
#include "commands.h"
#include "options.h"

#define KEY_BYTES    32
#define KEY_PREFIX   "cvk_" /* makes a leaked key easy to recognize (secret scanners) */
#define KEY_NAME_MAX 64

enum opt_id {
    OPT_ROLE = 1000,
    OPT_NAME,
    OPT_HELP,
};

/* The options table: the single source of truth for flags and their help. */
static const struct cv_cli_option options[] = {
    {"role", 1, OPT_ROLE, "R", "the key's role: read, write or admin (required)"},
    {"name", 1, OPT_NAME, "N", "the key's name, logged instead of the key (default ROLE-HASH8)"},
    {"help", 0, OPT_HELP, NULL, "show this help"},
};
#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

static void usage(FILE *out)
{
    cv_cli_usage(out,
                 "usage: certvet keygen --role R [--name N]\n\n"
                 "Prints a new random API key on the first line and, on the second, the entry to\n"
                 "add to auth.keys in the service configuration. Only the key's SHA-256 is\n"
                 "stored there: the key itself is shown once, here.\n",
                 options, N_OPTIONS);
}

static int random_bytes(unsigned char *out, size_t n)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return CV_ERR_IO;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, out + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    return got == n ? CV_OK : CV_ERR_IO;
}

/* base64url without padding (RFC 4648 section 5); 'out' holds 4 * ceil(n / 3) + 1 bytes. */
static void base64url(const unsigned char *in, size_t n, char *out)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = alphabet[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = alphabet[v & 63];
    }
    out[o] = '\0';
}

static int name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > KEY_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return 0;
    }
    return 1;
}

int cv_cmd_keygen(int argc, char **argv)
{
    struct cv_cli_parser parser;
    const char *role_text = NULL, *name = NULL;
    enum cv_role role;
    unsigned char raw[KEY_BYTES];
    char key[sizeof(KEY_PREFIX) + 4 * ((KEY_BYTES + 2) / 3) + 1];
    char hash[CV_SHA256_HEX_LEN], default_name[32];

    cv_cli_parser_init(&parser, options, N_OPTIONS);
    int c;
    while ((c = cv_cli_next(&parser, argc, argv)) != -1) {
        switch (c) {
        case OPT_ROLE:
            role_text = optarg;
            break;
        case OPT_NAME:
            name = optarg;
            break;
        case OPT_HELP:
        case 'h':
            usage(stdout);
            return CV_EXIT_OK;
        default:
            cv_cli_bad_option("keygen", argv);
            usage(stderr);
            return CV_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "certvet keygen: unexpected argument '%s'\n", argv[optind]);
        return CV_EXIT_USAGE;
    }
    if (!role_text || cv_role_parse(role_text, &role)) {
        fprintf(stderr, "certvet keygen: --role must be read, write or admin\n\n");
        usage(stderr);
        return CV_EXIT_USAGE;
    }
    if (name && !name_ok(name)) {
        fprintf(stderr, "certvet keygen: --name must be 1 to %d printable characters\n",
                KEY_NAME_MAX);
        return CV_EXIT_USAGE;
    }
    if (random_bytes(raw, sizeof(raw))) {
        fprintf(stderr, "certvet keygen: cannot read /dev/urandom\n");
        return CV_EXIT_USAGE;
    }
    memcpy(key, KEY_PREFIX, sizeof(KEY_PREFIX) - 1);
    base64url(raw, sizeof(raw), key + sizeof(KEY_PREFIX) - 1);
    memset(raw, 0, sizeof(raw));
    cv_sha256_hex(key, strlen(key), hash);
    if (!name) {
        snprintf(default_name, sizeof(default_name), "%s-%.8s", cv_role_name(role), hash);
        name = default_name;
    }
    json_t *entry =
        json_pack("{s:s, s:s, s:s}", "name", name, "role", cv_role_name(role), "sha256", hash);
    char *text = entry ? json_dumps(entry, JSON_COMPACT) : NULL;
    json_decref(entry);
    if (!text) {
        fprintf(stderr, "certvet keygen: out of memory\n");
        return CV_EXIT_USAGE;
    }
    printf("%s\n%s\n", key, text);
    free(text);
    if (isatty(STDOUT_FILENO) || isatty(STDERR_FILENO))
        fprintf(stderr, "\nThe first line is the key: give it to the client now, it is not stored "
                        "anywhere.\nThe second line goes into \"auth\": {\"keys\": [...]} of the "
                        "service configuration.\n");
    return CV_EXIT_OK;
}

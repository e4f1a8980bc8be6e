/* Command-line options from one table per command. */
#include "options.h"

#include <string.h>

void cv_cli_parser_init(struct cv_cli_parser *p, const struct cv_cli_option *opts, size_t n)
{
    if (n > CV_CLI_MAX_OPTIONS)
        n = CV_CLI_MAX_OPTIONS;
    for (size_t i = 0; i < n; i++)
        p->long_opts[i] = (struct option){opts[i].name, opts[i].has_arg, NULL, opts[i].id};
    p->long_opts[n] = (struct option){0};
    optind = 1;
    opterr = 0;
}

int cv_cli_next(struct cv_cli_parser *p, int argc, char **argv)
{
    return getopt_long(argc, argv, "h", p->long_opts, NULL);
}

void cv_cli_usage(FILE *out, const char *text, const struct cv_cli_option *opts, size_t n)
{
    fputs(text, out);
    fputs("\noptions:\n", out);
    for (size_t i = 0; i < n; i++) {
        char left[40];
        snprintf(left, sizeof(left), "--%s%s%s", opts[i].name, opts[i].arg ? " " : "",
                 opts[i].arg ? opts[i].arg : "");
        fprintf(out, "  %-22s %s\n", left, opts[i].help);
    }
}

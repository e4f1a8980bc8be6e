/* Command-line options from one table per command. */
#include "options.h"

#include <string.h>

#include "certvet/error.h"

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

int cv_cli_date(const char *cmd, const char *option, const char *arg, cv_date *out)
{
    if (cv_date_parse(arg, strlen(arg), out) == CV_OK)
        return CV_OK;
    fprintf(stderr, "certvet %s: --%s: '%s' is not a date (YYYY-MM-DD)\n", cmd, option, arg);
    return CV_ERR_USAGE;
}

int cv_cli_input_format(const char *cmd, const char *arg, enum cv_format *out)
{
    if (cv_format_parse(arg, out) == CV_OK)
        return CV_OK;
    fprintf(stderr, "certvet %s: --input-format: '%s' is not auto, json, csv or xml\n", cmd, arg);
    return CV_ERR_USAGE;
}

int cv_cli_append(const char *cmd, const char *option, const char **list, int *n, int max,
                  const char *arg)
{
    if (*n >= max) {
        fprintf(stderr, "certvet %s: at most %d --%s options\n", cmd, max, option);
        return CV_ERR_USAGE;
    }
    list[(*n)++] = arg;
    return CV_OK;
}

void cv_cli_bad_option(const char *cmd, char **argv)
{
    fprintf(stderr, "certvet %s: unknown or incomplete option '%s'\n\n", cmd, argv[optind - 1]);
}

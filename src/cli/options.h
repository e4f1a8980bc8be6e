/* Command-line options from one table per command: getopt_long set-up and the usage text. */
#ifndef CERTVET_CLI_OPTIONS_H
#define CERTVET_CLI_OPTIONS_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

#include "certvet/date.h"
#include "certvet/reader.h"

#define CV_CLI_MAX_OPTIONS 32

/* One row of a command's options table: the single source of truth for a flag and its help. */
struct cv_cli_option {
    const char *name; /* long name, without "--" */
    int has_arg;      /* 0 or 1 (required_argument) */
    int id;           /* returned by cv_cli_next; commands use values >= 1000 */
    const char *arg;  /* the argument's placeholder in the help ("FILE"), or NULL */
    const char *help;
};

struct cv_cli_parser {
    struct option long_opts[CV_CLI_MAX_OPTIONS + 1];
};

/* Prepares parsing argv[1...] against 'opts' ('n' rows, at most CV_CLI_MAX_OPTIONS). */
void cv_cli_parser_init(struct cv_cli_parser *p, const struct cv_cli_option *opts, size_t n);

/* The next option's id, 'h' for -h, '?' for an unknown option or a missing argument (optarg and
 * optind as getopt_long leaves them), or -1 after the last option. */
int cv_cli_next(struct cv_cli_parser *p, int argc, char **argv);

/* Prints 'text' (usage line and description), then "options:" and one aligned line per row. */
void cv_cli_usage(FILE *out, const char *text, const struct cv_cli_option *opts, size_t n);

/* Value parsers shared by the commands. Each prints "certvet CMD: --OPTION: ..." on standard
 * error and returns CV_ERR_USAGE when 'arg' is wrong, else CV_OK. */
int cv_cli_date(const char *cmd, const char *option, const char *arg, cv_date *out);
int cv_cli_input_format(const char *cmd, const char *arg, enum cv_format *out);

/* Appends 'arg' to 'list' ('*n' of 'max' used) for a repeatable option, or says there are too
 * many. */
int cv_cli_append(const char *cmd, const char *option, const char **list, int *n, int max,
                  const char *arg);

/* Reports the option getopt_long refused (unknown, or missing its argument). */
void cv_cli_bad_option(const char *cmd, char **argv);

#endif

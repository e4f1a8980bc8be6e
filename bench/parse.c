/* Ceiling (c) of SPEC 11: merely parsing a certificate file with the library certvet's reader
 * uses, nothing else. JSON lines: Jansson json_loadb per line (the flags certvet's reader
 * passes), then json_decref. CSV: an RFC 4180 field splitter (quotes, doubled quotes, CRLF)
 * copying each unquoted field into a buffer, as certvet's reader does before it sets fields.
 * Prints the record count. Usage: parse json|csv FILE */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK (1 << 16)

static long parse_json(FILE *f)
{
    char *line = NULL;
    size_t cap = 0, len = 0;
    long n = 0;
    char buf[CHUNK];
    size_t got;
    /* lines assembled from fixed reads, like the reader's own buffer */
    while ((got = fread(buf, 1, sizeof(buf), f)) > 0) {
        for (size_t i = 0; i < got;) {
            char *nl = memchr(buf + i, '\n', got - i);
            size_t take = nl ? (size_t)(nl - (buf + i)) : got - i;
            if (len + take + 1 > cap) {
                cap = (len + take + 1) * 2;
                line = realloc(line, cap);
                if (!line)
                    exit(2);
            }
            memcpy(line + len, buf + i, take);
            len += take;
            i += take;
            if (nl) {
                i++;
                if (len) {
                    json_error_t err;
                    json_t *o =
                        json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
                    if (!o) {
                        fprintf(stderr, "parse: line %ld: %s\n", n + 1, err.text);
                        exit(2);
                    }
                    json_decref(o);
                    n++;
                }
                len = 0;
            }
        }
    }
    free(line);
    return n;
}

static long parse_csv(FILE *f)
{
    char buf[CHUNK], field[8192];
    size_t flen = 0;
    long records = 0, fields = 0;
    unsigned long sum = 0; /* uses every field, so the copies are not optimized away */
    int in_quotes = 0, after_quote = 0, any = 0;
    size_t got;
    while ((got = fread(buf, 1, sizeof(buf), f)) > 0) {
        for (size_t i = 0; i < got; i++) {
            char c = buf[i];
            if (in_quotes) {
                if (c == '"') {
                    in_quotes = 0;
                    after_quote = 1;
                } else if (flen < sizeof(field)) {
                    field[flen++] = c;
                }
                continue;
            }
            if (c == '"') {
                if (after_quote && flen < sizeof(field))
                    field[flen++] = '"'; /* a doubled quote */
                in_quotes = 1;
                after_quote = 0;
                any = 1;
                continue;
            }
            after_quote = 0;
            if (c == ',' || c == '\n') {
                fields++;
                sum += flen + (flen ? (unsigned char)field[flen - 1] : 0);
                flen = 0;
                if (c == '\n') {
                    records += any;
                    any = 0;
                }
                continue;
            }
            if (c == '\r')
                continue;
            if (flen < sizeof(field))
                field[flen++] = c;
            any = 1;
        }
    }
    if (fields < records || sum == 0)
        return -1;
    return records > 0 ? records - 1 : 0; /* the header row is not a record */
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "json") && strcmp(argv[1], "csv"))) {
        fprintf(stderr, "usage: parse json|csv FILE\n");
        return 2;
    }
    FILE *f = fopen(argv[2], "rb");
    if (!f) {
        perror(argv[2]);
        return 2;
    }
    long n = strcmp(argv[1], "json") == 0 ? parse_json(f) : parse_csv(f);
    fclose(f);
    printf("%ld\n", n);
    return n < 0;
}

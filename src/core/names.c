/* The name normalizer: case-fold, strip punctuation, drop legal-form words, compare token sets. */
#include "certvet/names.h"

#include <stdlib.h>
#include <string.h>

#define MAX_TOKENS 48

/* Legal-form and filler words that do not tell two companies apart. Sorted for bsearch. */
static const char *const legal_words[] = {
    "ab",          "ag",   "as",   "bhd",          "bv",  "cia", "co",      "company", "corp",
    "corporation", "gmbh", "inc",  "incorporated", "kg",  "kk",  "limited", "llc",     "llp",
    "lp",          "ltd",  "ltda", "nv",           "oy",  "oyj", "plc",     "pte",     "pty",
    "pvt",         "sa",   "sarl", "sas",          "sdn", "spa", "srl",     "sro",     "the",
};

static int cmp_word(const void *key, const void *elem)
{
    return strcmp((const char *)key, *(const char *const *)elem);
}

static int is_legal_word(const char *w)
{
    return bsearch(w, legal_words, sizeof(legal_words) / sizeof(legal_words[0]),
                   sizeof(legal_words[0]), cmp_word) != NULL;
}

static int cmp_token(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80;
}

size_t cv_name_key(const char *name, char *out)
{
    char buf[CV_NAME_KEY_MAX];
    char *tokens[MAX_TOKENS];
    size_t nt = 0, bl = 0;

    out[0] = '\0';
    if (!name)
        return 0;
    /* Lower-case; '&' and '+' read as "and"-like separators; apostrophes join ("O'Neil"). */
    for (const unsigned char *p = (const unsigned char *)name; *p && nt < MAX_TOKENS;) {
        while (*p) {
            unsigned char c = (unsigned char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
            if (is_word_byte(c))
                break;
            p++;
        }
        if (!*p)
            break;
        size_t start = bl;
        while (*p && bl < sizeof(buf) - 1) {
            unsigned char c = (unsigned char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
            if (c == '\'' || c == '.') { /* "Co." and "O'Neil" stay one token */
                p++;
                continue;
            }
            if (!is_word_byte(c))
                break;
            buf[bl++] = (char)c;
            p++;
        }
        if (bl == start)
            break; /* buffer full */
        buf[bl++] = '\0';
        if (is_legal_word(buf + start)) {
            bl = start;
            continue;
        }
        tokens[nt++] = buf + start;
        if (bl >= sizeof(buf) - 1)
            break;
    }
    qsort(tokens, nt, sizeof(tokens[0]), cmp_token);
    size_t ol = 0;
    for (size_t i = 0; i < nt; i++) {
        if (i > 0 && strcmp(tokens[i], tokens[i - 1]) == 0)
            continue;
        size_t tl = strlen(tokens[i]);
        if (ol + tl + (ol ? 1 : 0) >= CV_NAME_KEY_MAX)
            break;
        if (ol)
            out[ol++] = ' ';
        memcpy(out + ol, tokens[i], tl);
        ol += tl;
    }
    out[ol] = '\0';
    return ol;
}

bool cv_names_match(const char *a, const char *b)
{
    char ka[CV_NAME_KEY_MAX], kb[CV_NAME_KEY_MAX];
    if (!cv_name_key(a, ka) || !cv_name_key(b, kb))
        return false;
    return strcmp(ka, kb) == 0;
}

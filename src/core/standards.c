/* The standards catalog: editions indexed by a normalized spelling key, families, series. */
#include "certvet/standards.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "certvet/error.h"

#define KEY_MAX 128
_Static_assert(sizeof(((struct cv_standard_keys *)0)->family) == KEY_MAX,
               "keys as long as KEY_MAX");

void cv_standard_key(const char *printed, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = printed; p && *p && n + 1 < cap; p++) {
        unsigned char c = (unsigned char)*p;
        if (isalnum(c) || c == ':' || c == '-' || c == '/' || c == '.')
            out[n++] = (char)toupper(c);
    }
    out[n] = '\0';
    /* "ISO/IEC 27001" and "ISO IEC 27001" are "ISO 27001". */
    char *iec;
    /* both spellings hold an 'E': most keys (ISO9001...) have none and skip the searches */
    while (strchr(out, 'E') && ((iec = strstr(out, "/IEC")) || (iec = strstr(out, "ISOIEC")))) {
        size_t skip = iec[0] == '/' ? 4 : 3, at = (size_t)(iec - out) + (iec[0] == '/' ? 0 : 3);
        memmove(out + at, out + at + skip, strlen(out + at + skip) + 1);
    }
    /* "EN ISO 9001", "BS EN ISO 9001", "DIN EN ISO 9001", "AS/NZS ISO 9001": national and
     * regional adoptions that keep the ISO number are the ISO standard. */
    static const char *const prefixes[] = {
        "BSEN",  "BS",   "DINEN",  "DIN",   "NFEN",  "NF",      "UNE-EN", "UNEEN", "UNE",
        "SS-EN", "SSEN", "SS",     "PN-EN", "CSNEN", "SNEN",    "NEN-EN", "NS-EN", "SFS-EN",
        "DS/EN", "EN",   "AS/NZS", "ASNZS", "SANS",  "SIST-EN", "ONORMEN"};
    /* No prefix starts with 'I': the common "ISO..." key skips the loop (a hot path of the
     * accreditation check). */
    for (size_t i = 0; out[0] != 'I' && i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        size_t pl = strlen(prefixes[i]);
        if (strncmp(out, prefixes[i], pl) == 0 &&
            (strncmp(out + pl, "ISO", 3) == 0 || strncmp(out + pl, "OHSAS", 5) == 0)) {
            memmove(out, out + pl, strlen(out + pl) + 1);
            break;
        }
    }
    /* "ISO 9001-2015": a trailing -YYYY after an ISO/OHSAS number is the edition year. */
    size_t len = strlen(out);
    if ((strncmp(out, "ISO", 3) == 0 || strncmp(out, "OHSAS", 5) == 0) && !strchr(out, ':') &&
        len > 5 && out[len - 5] == '-' && isdigit((unsigned char)out[len - 4]) &&
        isdigit((unsigned char)out[len - 3]) && isdigit((unsigned char)out[len - 2]) &&
        isdigit((unsigned char)out[len - 1]) && (out[len - 4] == '1' || out[len - 4] == '2'))
        out[len - 5] = ':';
}

/* The key without its ":YYYY" edition suffix. */
static void strip_year(char *key)
{
    char *colon = strchr(key, ':');
    if (colon)
        *colon = '\0';
}

void cv_catalog_init(struct cv_catalog *c)
{
    memset(c, 0, sizeof(*c));
    cv_strmap_init(&c->by_key);
    cv_strmap_init(&c->families);
}

static void standard_free(struct cv_standard *s)
{
    free(s->id);
    free(s->family);
    free(s->title);
    free(s->superseded_by);
}

void cv_catalog_cleanup(struct cv_catalog *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->count; i++)
        standard_free(&c->items[i]);
    free(c->items);
    cv_strmap_cleanup(&c->by_key);
    cv_strmap_cleanup(&c->families);
    memset(c, 0, sizeof(*c));
}

static char *dup_or_null(const char *s, int *failed)
{
    if (!s)
        return NULL;
    char *p = strdup(s);
    if (!p)
        *failed = 1;
    return p;
}

int cv_catalog_add(struct cv_catalog *c, const struct cv_standard *std, size_t *index)
{
    char key[KEY_MAX];
    if (!std->id || !std->family || !*std->id || !*std->family)
        return CV_ERR_INVALID;
    if (c->count == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 32;
        struct cv_standard *items = realloc(c->items, cap * sizeof(*items));
        if (!items)
            return CV_ERR_NOMEM;
        c->items = items;
        c->cap = cap;
    }
    struct cv_standard s = *std;
    int failed = 0;
    s.id = dup_or_null(std->id, &failed);
    s.family = dup_or_null(std->family, &failed);
    s.title = dup_or_null(std->title, &failed);
    s.superseded_by = dup_or_null(std->superseded_by, &failed);
    if (failed) {
        standard_free(&s);
        return CV_ERR_NOMEM;
    }
    size_t idx = c->count;
    c->items[c->count++] = s;
    cv_standard_key(s.id, key, sizeof(key));
    int rc = cv_strmap_put(&c->by_key, key, idx);
    if (rc)
        return rc;
    cv_standard_key(s.family, key, sizeof(key));
    size_t existing;
    if (!cv_strmap_get(&c->families, key, &existing)) {
        rc = cv_strmap_put(&c->families, key, idx);
        if (rc)
            return rc;
    }
    if (index)
        *index = idx;
    return CV_OK;
}

int cv_catalog_add_alias(struct cv_catalog *c, size_t index, const char *alias)
{
    char key[KEY_MAX];
    if (index >= c->count || !alias)
        return CV_ERR_INVALID;
    cv_standard_key(alias, key, sizeof(key));
    if (!*key)
        return CV_ERR_INVALID;
    return cv_strmap_put(&c->by_key, key, index);
}

/* Looks 'key' up, then each suffix of it that starts at "ISO" or "OHSAS" (so that national and
 * regional prefixes, "BS EN ISO ..." or "GB/T 19001-2016/ISO 9001:2015", fall away). */
static int lookup_with_suffixes(const struct cv_strmap *map, const char *key, size_t *idx)
{
    if (cv_strmap_get(map, key, idx))
        return 1;
    for (const char *p = key + 1; *p; p++) {
        if ((strncmp(p, "ISO", 3) == 0 || strncmp(p, "OHSAS", 5) == 0) &&
            cv_strmap_get(map, p, idx))
            return 1;
    }
    return 0;
}

const struct cv_standard *cv_catalog_find(const struct cv_catalog *c, const char *printed)
{
    char key[KEY_MAX];
    size_t idx;
    if (!printed)
        return NULL;
    cv_standard_key(printed, key, sizeof(key));
    if (!*key || !lookup_with_suffixes(&c->by_key, key, &idx))
        return NULL;
    return &c->items[idx];
}

const char *cv_catalog_family(const struct cv_catalog *c, const char *printed)
{
    const struct cv_standard *s = cv_catalog_find(c, printed);
    if (s)
        return s->family;
    char key[KEY_MAX];
    size_t idx;
    cv_standard_key(printed, key, sizeof(key));
    strip_year(key);
    if (!*key || !lookup_with_suffixes(&c->families, key, &idx))
        return NULL;
    return c->items[idx].family;
}

void cv_standard_keys_init(struct cv_standard_keys *k, const struct cv_standard *std)
{
    cv_standard_key(std->family, k->family, sizeof(k->family));
    cv_standard_key(std->id, k->part, sizeof(k->part));
    strip_year(k->part);
    k->part_len = strlen(k->part);
}

/* The key of a listed standard without its year, through a small per-thread cache: a listing
 * names the same few spellings on every accreditation, and the accreditation check asks for each
 * of them on every certificate. A slot holds the spelling itself and is used only when it is
 * the same text, so what it answers is always what cv_standard_key gives. */
#define ENTRY_CACHE_SLOTS 64
#define ENTRY_RAW_MAX     48
static void entry_key(const char *raw, char out[KEY_MAX])
{
    static _Thread_local struct {
        char raw[ENTRY_RAW_MAX];
        char key[KEY_MAX];
    } cache[ENTRY_CACHE_SLOTS]; /* zeroed: the empty spelling, whose key is empty */
    size_t n = 0;
    unsigned h = 2166136261u;
    if (!raw)
        raw = "";
    for (; raw[n] && n < ENTRY_RAW_MAX; n++)
        h = (h ^ (unsigned char)raw[n]) * 16777619u;
    if (n == ENTRY_RAW_MAX) { /* too long to keep */
        cv_standard_key(raw, out, KEY_MAX);
        strip_year(out);
        return;
    }
    unsigned slot = h % ENTRY_CACHE_SLOTS;
    if (strcmp(cache[slot].raw, raw) != 0) {
        cv_standard_key(raw, cache[slot].key, KEY_MAX);
        strip_year(cache[slot].key);
        memcpy(cache[slot].raw, raw, n + 1);
    }
    memcpy(out, cache[slot].key, strlen(cache[slot].key) + 1);
}

bool cv_standard_keys_cover(const struct cv_standard_keys *k, const char *scope_entry)
{
    char entry[KEY_MAX];
    entry_key(scope_entry, entry);
    if (!*entry)
        return false;
    if (strcmp(entry, k->family) == 0 || strcmp(entry, k->part) == 0)
        return true;
    /* A series name covers its parts: "ISO 8124" covers "ISO 8124-1". */
    size_t el = strlen(entry);
    return el < k->part_len && strncmp(k->part, entry, el) == 0 && k->part[el] == '-';
}

bool cv_standard_covered_by(const struct cv_standard *std, const char *scope_entry)
{
    struct cv_standard_keys k;
    cv_standard_keys_init(&k, std);
    return cv_standard_keys_cover(&k, scope_entry);
}

static const char *const route_names[] = {NULL, "ISO/IEC 17021-1", "ISO/IEC 17065", "ISO/IEC 17025",
                                          "guideline"};

const char *cv_route_name(enum cv_route r)
{
    return (unsigned)r < 5 ? route_names[r] : NULL;
}

enum cv_route cv_route_parse(const char *s)
{
    char key[KEY_MAX], k2[KEY_MAX];
    if (!s)
        return CV_ROUTE_NONE;
    cv_standard_key(s, key, sizeof(key));
    for (int i = 1; i < 5; i++) {
        cv_standard_key(route_names[i], k2, sizeof(k2));
        if (strcmp(key, k2) == 0)
            return (enum cv_route)i;
    }
    return CV_ROUTE_NONE;
}

static const char *const subscope_names[] = {"QMS", "EMS", "OHSMS", "ISMS", "FSMS", "EnMS", "MDMS"};

const char *cv_subscope_name(unsigned bit)
{
    for (unsigned i = 0; i < 7; i++) {
        if (bit == (1u << i))
            return subscope_names[i];
    }
    return NULL;
}

unsigned cv_subscope_parse(const char *s)
{
    for (unsigned i = 0; s && i < 7; i++) {
        if (strcasecmp(s, subscope_names[i]) == 0)
            return 1u << i;
    }
    return CV_SUB_NONE;
}

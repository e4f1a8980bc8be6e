/* Benchmark data generator: a seeded, reproducible set of synthetic certificates (CSV and JSON
 * lines with the same records, shaped like fixtures/sample/), the listing of the invented
 * certification bodies they name (real accreditation bodies and standards from config/), and
 * one certificate for the HTTP benchmarks (one.json, and one-nosup.json without its supplier).
 * Exactly 'due' certificates expire within 90 days of the as_of date (what the nightly scan reads);
 * every other one is neither expiring nor surveillance-due on that date. Usage: gen OUTDIR N
 * SUPPLIERS DUE SEED */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_CBS   200
#define AS_OF_Y 2026
#define AS_OF_M 12
#define AS_OF_D 4

static uint64_t rng_state;

/* splitmix64: small, fast, the same sequence on every machine for one seed */
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static unsigned pick(unsigned n)
{
    return (unsigned)(rnd() % n);
}

/* days from civil (Howard Hinnant's algorithm) and back */
static long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil(long z, char out[16])
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long y = yoe + era * 400;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    long d = doy - (153 * mp + 2) / 5 + 1;
    long m = mp + (mp < 10 ? 3 : -9);
    y += m <= 2;
    snprintf(out, 16, "%04d-%02d-%02d", (int)(y % 10000), (int)m, (int)d);
}

/* same day N years later, clamped (only Feb 29 needs it) */
static long plus_years(long day, int years)
{
    char s[16];
    civil(day, s);
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    if (m == 2 && d == 29)
        d = 28;
    return days_from_civil(y + years, m, d);
}

struct standard {
    const char *printed; /* as a supplier prints it (aliases included) */
    const char *family;
    const char *code; /* for certificate numbers */
};

static const struct standard standards[] = {
    {"ISO 9001:2015", "ISO 9001", "Q"},
    {"ISO 9001:2015", "ISO 9001", "Q"},
    {"ISO 9001:2015", "ISO 9001", "Q"},
    {"GB/T 19001-2016/ISO 9001:2015", "ISO 9001", "Q"},
    {"ISO9001:2015", "ISO 9001", "Q"},
    {"ISO 14001:2015", "ISO 14001", "E"},
    {"ISO 14001:2015", "ISO 14001", "E"},
    {"ISO 45001:2018", "ISO 45001", "S"},
    {"ISO/IEC 27001:2022", "ISO/IEC 27001", "IS"},
    {"ISO 22000:2018", "ISO 22000", "F"},
    {"EN ISO 13485:2016", "ISO 13485", "MD"},
    {"ISO 50001:2018", "ISO 50001", "EN"},
    {"ISO 28000:2022", "ISO 28000", "SC"},
    {"ISO 22301:2019", "ISO 22301", "BC"},
};
#define N_STANDARDS (sizeof(standards) / sizeof(standards[0]))

static const char *const abs_[] = {"UKAS",     "DAkkS", "CNAS", "ANAB", "JAS-ANZ", "COFRAC",
                                   "ACCREDIA", "ENAC",  "RvA",  "JAB",  "SAC",     "SWEDAC"};
#define N_ABS (sizeof(abs_) / sizeof(abs_[0]))

static const char *const countries[] = {"CN", "DE", "GB", "US", "IN", "VN", "TR",
                                        "IT", "FR", "ES", "NL", "JP", "SG", "PL"};
#define N_COUNTRIES (sizeof(countries) / sizeof(countries[0]))

static const char *const words[] = {
    "Northgate", "Harbour",   "Kestrel",   "Lumen",     "Orchid",   "Meridian",    "Talvik",
    "Fennhaven", "Sunmoor",   "Qianhe",    "Starlit",   "Alder",    "Brightwater", "Cobalt",
    "Dunmore",   "Eastfield", "Granite",   "Hollis",    "Ironwood", "Juniper",     "Larch",
    "Marlow",    "Nordic",    "Oakridge",  "Pinecrest", "Redfern",  "Silverline",  "Thornbury",
    "Upland",    "Vantage",   "Westbrook", "Yarrow"};
#define N_WORDS (sizeof(words) / sizeof(words[0]))

static const char *const trades[] = {"Precision Components",
                                     "Moulding",
                                     "Logistics",
                                     "Electronics",
                                     "Packaging",
                                     "Lubricants",
                                     "Foods",
                                     "Textiles",
                                     "Medical Devices",
                                     "Metalworks",
                                     "Plastics",
                                     "Chemicals",
                                     "Software Services",
                                     "Toys",
                                     "Castings"};
#define N_TRADES (sizeof(trades) / sizeof(trades[0]))

static const char *const forms[] = {"Co., Ltd.", "GmbH",      "Ltd",  "Inc.", "S.p.A.",
                                    "B.V.",      "Pvt. Ltd.", "S.A.", "LLC",  "Sp. z o.o."};
#define N_FORMS (sizeof(forms) / sizeof(forms[0]))

static const char *const scopes[] = {
    "Design, manufacture and distribution of %s for industrial customers",
    "Injection moulding and assembly of %s, including warehousing and dispatch",
    "Manufacture of %s; procurement, production planning and quality control",
    "Provision of %s to the automotive and household appliance sectors",
    "Development, production and servicing of %s at the listed sites"};
#define N_SCOPES (sizeof(scopes) / sizeof(scopes[0]))

struct cb {
    char name[96];
    char id[48];
    const char *ab;
    char number[32];
    int suspended;
};

static struct cb cbs[N_CBS];

static void make_cbs(void)
{
    static const char *const kinds[] = {"Certification", "Assurance", "Quality Services",
                                        "Registrar", "Audit and Certification"};
    static const char *const cb_forms[] = {"Ltd", "GmbH", "Inc.", "S.r.l.", "Co., Ltd."};
    for (int i = 0; i < N_CBS; i++) {
        struct cb *c = &cbs[i];
        const char *w = words[i % N_WORDS];
        const char *k = kinds[(i / N_WORDS) % 5];
        snprintf(c->name, sizeof(c->name), "%s %s %d %s", w, k, i, cb_forms[i % 5]);
        snprintf(c->id, sizeof(c->id), "bench-cb-%03d", i);
        c->ab = abs_[i % N_ABS];
        snprintf(c->number, sizeof(c->number), "%s-%04d", c->ab, 100 + i);
        c->suspended = i % 50 == 49; /* 2% of CBs: accreditation suspended */
    }
}

static void write_listing(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/listing.json", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(2);
    }
    fprintf(f, "{\"certification_bodies\": [\n");
    for (int i = 0; i < N_CBS; i++) {
        const struct cb *c = &cbs[i];
        fprintf(f,
                "  {\"id\": \"%s\", \"name\": \"%s\", \"aliases\": [], \"country\": \"%s\", "
                "\"accreditations\": [{\"accreditation_body\": \"%s\", \"number\": \"%s\", "
                "\"standards\": [",
                c->id, c->name, countries[i % N_COUNTRIES], c->ab, c->number);
        for (size_t s = 0, first = 1; s < N_STANDARDS; s++) {
            if (s > 0 && standards[s].family == standards[s - 1].family)
                continue;
            fprintf(f, "%s\"%s\"", first ? "" : ", ", standards[s].family);
            first = 0;
        }
        fprintf(f, "], \"status\": \"%s\"%s, \"valid_from\": \"2005-01-01\"}]}%s\n",
                c->suspended ? "suspended" : "active",
                c->suspended ? ", \"status_date\": \"2026-06-01\"" : "", i + 1 < N_CBS ? "," : "");
    }
    fprintf(f, "]}\n");
    fclose(f);
}

/* CSV cell: quoted when it holds a comma or a quote */
static void csv_cell(FILE *f, const char *s, int last)
{
    if (strpbrk(s, ",\"\n")) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    fputc(last ? '\n' : ',', f);
}

struct cert {
    char number[48];
    const char *standard;
    char holder[128];
    const char *country;
    char supplier[32];
    const char *cb;
    const char *ab;
    const char *acc_number;
    char scope[160];
    char issue[16], expiry[16], original[16], initial_audit[16], surv[16];
    int has_surv;
};

static void make_cert(struct cert *c, long i, long n, long n_suppliers, long due, long as_of)
{
    long supplier = i % n_suppliers;
    const struct standard *st = &standards[pick(N_STANDARDS)];
    unsigned cbi = pick(N_CBS);
    /* the holder's name and country follow the supplier, so its certificates agree */
    uint64_t save = rng_state;
    rng_state = (uint64_t)supplier * 2654435761ULL + 17;
    snprintf(c->holder, sizeof(c->holder), "%s %s %s %s", words[pick(N_WORDS)],
             words[pick(N_WORDS)], trades[pick(N_TRADES)], forms[pick(N_FORMS)]);
    c->country = countries[pick(N_COUNTRIES)];
    const char *trade = trades[pick(N_TRADES)];
    rng_state = save;

    snprintf(c->number, sizeof(c->number), "%s-%s-%07ld", cbs[cbi].id + 9, st->code, i);
    c->standard = st->printed;
    snprintf(c->supplier, sizeof(c->supplier), "SUP-%06ld", supplier);
    unsigned roll = pick(100);
    c->cb = roll < 3 ? "Unlisted Certification Bureau Ltd" : cbs[cbi].name; /* 3% CB_UNKNOWN */
    c->ab = roll >= 3 && roll < 5 ? "DAkkS" : cbs[cbi].ab;                  /* some AB_MISMATCH */
    c->acc_number = cbs[cbi].number;
    char lower[64];
    snprintf(lower, sizeof(lower), "%s", trade);
    for (char *p = lower; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    snprintf(c->scope, sizeof(c->scope), scopes[pick(N_SCOPES)], lower);

    /* due ones are spread evenly: exactly 'due' of the n records; no other one is invalid (the
     * nightly scan also reads the invalid index), so the scan reads exactly 'due' records */
    long suspended_on = days_from_civil(2026, 6, 1); /* the listing's status_date */
    int is_due = due > 0 && (i * due) / n != ((i + 1) * due) / n;
    long issue, expiry;
    if (is_due) {
        expiry = as_of + (long)pick(90); /* within the scan's 90-day horizon */
        issue = plus_years(expiry, -3) + 1;
    } else {
        issue = as_of - 1 - (long)pick(900);
        if (cbs[cbi].suspended && issue >= suspended_on)
            issue = suspended_on - 1 - (long)pick(300); /* issued before: a warning, not invalid */
        expiry = plus_years(issue, 3) - 1;              /* at least as_of + 195 */
    }
    civil(issue, c->issue);
    civil(expiry, c->expiry);
    civil(issue - 365 * 3 - (long)pick(3000), c->original);
    civil(issue - 20 - (long)pick(30), c->initial_audit);
    /* a surveillance audit within the last 300 days (and after issue): next due after as_of */
    long age = as_of - issue;
    c->has_surv = age > 300;
    if (c->has_surv)
        civil(as_of - 1 - (long)pick(age < 300 ? (unsigned)age : 300), c->surv);
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: gen OUTDIR N SUPPLIERS DUE SEED\n");
        return 2;
    }
    const char *dir = argv[1];
    long n = atol(argv[2]), n_suppliers = atol(argv[3]), due = atol(argv[4]);
    rng_state = strtoull(argv[5], NULL, 10);
    if (n <= 0 || n_suppliers <= 0 || due < 0 || due > n) {
        fprintf(stderr, "gen: bad sizes\n");
        return 2;
    }
    long as_of = days_from_civil(AS_OF_Y, AS_OF_M, AS_OF_D);
    make_cbs();
    write_listing(dir);

    char pcsv[4096], pjson[4096], pone[4096], pnosup[4096];
    snprintf(pcsv, sizeof(pcsv), "%s/certs.csv", dir);
    snprintf(pjson, sizeof(pjson), "%s/certs.jsonl", dir);
    snprintf(pone, sizeof(pone), "%s/one.json", dir);
    snprintf(pnosup, sizeof(pnosup), "%s/one-nosup.json", dir);
    FILE *fc = fopen(pcsv, "w"), *fj = fopen(pjson, "w"), *fo = fopen(pone, "w");
    FILE *fn = fopen(pnosup, "w");
    if (!fc || !fj || !fo || !fn) {
        perror(dir);
        return 2;
    }
    static char bc[1 << 16], bj[1 << 16];
    setvbuf(fc, bc, _IOFBF, sizeof(bc));
    setvbuf(fj, bj, _IOFBF, sizeof(bj));
    fputs("certificate_number,type,standard,holder_name,holder_country,supplier_id,"
          "certification_body,accreditation_body,accreditation_number,scope,issue_date,"
          "expiry_date,original_certification_date,last_audit_type,last_audit_date,"
          "declared_status\n",
          fc);
    for (long i = 0; i < n; i++) {
        struct cert c;
        make_cert(&c, i, n, n_suppliers, due, as_of);
        csv_cell(fc, c.number, 0);
        csv_cell(fc, "management_system", 0);
        csv_cell(fc, c.standard, 0);
        csv_cell(fc, c.holder, 0);
        csv_cell(fc, c.country, 0);
        csv_cell(fc, c.supplier, 0);
        csv_cell(fc, c.cb, 0);
        csv_cell(fc, c.ab, 0);
        csv_cell(fc, c.acc_number, 0);
        csv_cell(fc, c.scope, 0);
        csv_cell(fc, c.issue, 0);
        csv_cell(fc, c.expiry, 0);
        csv_cell(fc, c.original, 0);
        csv_cell(fc, c.has_surv ? "surveillance" : "initial", 0);
        csv_cell(fc, c.has_surv ? c.surv : c.initial_audit, 0);
        csv_cell(fc, "active", 1);

        char audits[160];
        int k = snprintf(audits, sizeof(audits), "{\"type\": \"initial\", \"date\": \"%s\"}",
                         c.initial_audit);
        if (c.has_surv)
            snprintf(audits + k, sizeof(audits) - (size_t)k,
                     ", {\"type\": \"surveillance\", \"date\": \"%s\"}", c.surv);
        char line[2048];
        snprintf(line, sizeof(line),
                 "{\"certificate_number\": \"%s\", \"type\": \"management_system\", "
                 "\"standard\": \"%s\", \"holder\": {\"name\": \"%s\", \"country\": \"%s\"}, "
                 "\"supplier_id\": \"%s\", \"certification_body\": {\"name\": \"%s\", "
                 "\"accreditation_number\": \"%s\"}, \"accreditation_body\": \"%s\", "
                 "\"scope\": \"%s\", \"original_certification_date\": \"%s\", "
                 "\"issue_date\": \"%s\", \"expiry_date\": \"%s\", \"audits\": [%s], "
                 "\"declared_status\": \"active\"}",
                 c.number, c.standard, c.holder, c.country, c.supplier, c.cb, c.acc_number, c.ab,
                 c.scope, c.original, c.issue, c.expiry, audits);
        fputs(line, fj);
        fputc('\n', fj);
        if (i == 0) {
            fprintf(fo, "%s\n", line);
            /* the same certificate without a supplier: no supplier record to read */
            char *sup = strstr(line, "\"supplier_id\": ");
            char *next = sup ? strstr(sup, ", \"certification_body\"") : NULL;
            if (next)
                fprintf(fn, "%.*s%s\n", (int)(sup - line), line, next + 2);
        }
    }
    if (fclose(fc) || fclose(fj) || fclose(fo) || fclose(fn)) {
        perror("gen: write");
        return 2;
    }
    return 0;
}

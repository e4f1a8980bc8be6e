/* Prometheus metrics (docs/API.md): request counts by route, method and status, a latency
 * histogram per route, cache and store counters. Every counter is a relaxed C11 atomic: workers
 * only add, /metrics only reads. */
#include <stdatomic.h>
#include <string.h>

#include "certvet/error.h"
#include "internal.h"

/* Methods and statuses counted separately; anything else falls in the last slot. */
static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", "HEAD", "OTHER"};
#define N_METHODS (sizeof(methods) / sizeof(methods[0]))
static const unsigned statuses[] = {200, 204, 400, 401, 403, 404, 405, 408, 409,
                                    413, 415, 422, 431, 500, 501, 503, 0 /* other */};
#define N_STATUSES (sizeof(statuses) / sizeof(statuses[0]))

/* Upper bounds of the latency buckets, seconds (+Inf is implicit). */
static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                 0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define N_BUCKETS (sizeof(buckets) / sizeof(buckets[0]))

#define N_ROUTE_SLOTS (CV_MAX_ROUTES + 1) /* the last one is "unmatched" */

static atomic_ulong requests[N_ROUTE_SLOTS][N_METHODS][N_STATUSES];
static atomic_ulong latency[N_ROUTE_SLOTS][N_BUCKETS + 1]; /* not cumulative; last is +Inf */
static atomic_ullong latency_sum_ns[N_ROUTE_SLOTS];
static atomic_ulong cache_hits, cache_misses, store_errors, store_reconnects;

static size_t route_slot(size_t route)
{
    return route < cv_n_routes && route < CV_MAX_ROUTES ? route : CV_MAX_ROUTES;
}

static size_t method_slot(const char *method)
{
    for (size_t i = 0; i + 1 < N_METHODS; i++) {
        if (strcmp(method, methods[i]) == 0)
            return i;
    }
    return N_METHODS - 1;
}

static size_t status_slot(unsigned status)
{
    for (size_t i = 0; i + 1 < N_STATUSES; i++) {
        if (statuses[i] == status)
            return i;
    }
    return N_STATUSES - 1;
}

void cv_metrics_request(size_t route, const char *method, unsigned status, double seconds)
{
    size_t r = route_slot(route), b = 0;
    atomic_fetch_add_explicit(&requests[r][method_slot(method)][status_slot(status)], 1,
                              memory_order_relaxed);
    while (b < N_BUCKETS && seconds > buckets[b])
        b++;
    atomic_fetch_add_explicit(&latency[r][b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&latency_sum_ns[r], (unsigned long long)(seconds * 1e9),
                              memory_order_relaxed);
}

void cv_metrics_cache(int hit)
{
    atomic_fetch_add_explicit(hit ? &cache_hits : &cache_misses, 1, memory_order_relaxed);
}

void cv_metrics_store(unsigned long errors, unsigned long reconnects)
{
    if (errors)
        atomic_fetch_add_explicit(&store_errors, errors, memory_order_relaxed);
    if (reconnects)
        atomic_fetch_add_explicit(&store_reconnects, reconnects, memory_order_relaxed);
}

static unsigned long get(atomic_ulong *a)
{
    return atomic_load_explicit(a, memory_order_relaxed);
}

static const char *route_label(size_t slot)
{
    return slot < cv_n_routes && slot < CV_MAX_ROUTES ? cv_routes[slot].name : "unmatched";
}

static int render_requests(struct cv_buf *out)
{
    int rc = cv_buf_printf(out, "# HELP certvet_requests_total HTTP requests answered.\n"
                                "# TYPE certvet_requests_total counter\n");
    for (size_t r = 0; r < N_ROUTE_SLOTS && !rc; r++) {
        for (size_t m = 0; m < N_METHODS && !rc; m++) {
            for (size_t s = 0; s < N_STATUSES && !rc; s++) {
                unsigned long n = get(&requests[r][m][s]);
                if (!n)
                    continue;
                char status[16] = "other";
                if (statuses[s])
                    snprintf(status, sizeof(status), "%u", statuses[s]);
                rc = cv_buf_printf(out,
                                   "certvet_requests_total{route=\"%s\",method=\"%s\","
                                   "status=\"%s\"} %lu\n",
                                   route_label(r), methods[m], status, n);
            }
        }
    }
    return rc;
}

static int render_latency(struct cv_buf *out)
{
    int rc = cv_buf_printf(out, "# HELP certvet_request_duration_seconds Time from a request's "
                                "first byte to its answer being sent.\n"
                                "# TYPE certvet_request_duration_seconds histogram\n");
    for (size_t r = 0; r < N_ROUTE_SLOTS && !rc; r++) {
        if (r >= cv_n_routes && r < CV_MAX_ROUTES)
            continue; /* unused rows */
        const char *name = route_label(r);
        unsigned long cum = 0;
        for (size_t b = 0; b <= N_BUCKETS && !rc; b++) {
            cum += get(&latency[r][b]);
            if (b < N_BUCKETS)
                rc = cv_buf_printf(out,
                                   "certvet_request_duration_seconds_bucket{route=\"%s\","
                                   "le=\"%g\"} %lu\n",
                                   name, buckets[b], cum);
            else
                rc = cv_buf_printf(out,
                                   "certvet_request_duration_seconds_bucket{route=\"%s\","
                                   "le=\"+Inf\"} %lu\n",
                                   name, cum);
        }
        if (!rc)
            rc = cv_buf_printf(
                out,
                "certvet_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
                "certvet_request_duration_seconds_count{route=\"%s\"} %lu\n",
                name, (double)atomic_load_explicit(&latency_sum_ns[r], memory_order_relaxed) / 1e9,
                name, cum);
    }
    return rc;
}

int cv_metrics_render(struct cv_buf *out)
{
    int rc = render_requests(out);
    if (!rc)
        rc = render_latency(out);
    if (!rc)
        rc = cv_buf_printf(
            out,
            "# HELP certvet_cache_hits_total Verifications served from the cache.\n"
            "# TYPE certvet_cache_hits_total counter\ncertvet_cache_hits_total %lu\n"
            "# HELP certvet_cache_misses_total Verifications computed (not in the cache).\n"
            "# TYPE certvet_cache_misses_total counter\ncertvet_cache_misses_total %lu\n"
            "# HELP certvet_store_errors_total Failed store (Redis) calls and connects.\n"
            "# TYPE certvet_store_errors_total counter\ncertvet_store_errors_total %lu\n"
            "# HELP certvet_store_reconnects_total Store connections re-established.\n"
            "# TYPE certvet_store_reconnects_total counter\ncertvet_store_reconnects_total %lu\n",
            get(&cache_hits), get(&cache_misses), get(&store_errors), get(&store_reconnects));
    return rc;
}

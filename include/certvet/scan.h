/* The nightly scan (SPEC 10): re-verifies what the due-date indexes return, compares with the last
 * scan's state in Redis, and emits each typed event once. docs/SCAN.md describes a run. */
#ifndef CERTVET_SCAN_H
#define CERTVET_SCAN_H

#include <jansson.h>
#include <stddef.h>

#include "certvet/date.h"
#include "certvet/verify.h"

struct cv_store;

#define CV_SCAN_THRESHOLDS_MAX 16
#define CV_SCAN_LOCK_NAME      "scan"  /* the lock key is "<prefix>{cv}:lock:scan" */
#define CV_SCAN_LOCK_TTL_MS    900000L /* a crashed scan frees the lock after 15 minutes */

struct cv_scan_options {
    cv_date as_of;
    int within; /* days: the attention list holds what expires within this many days */
    int thresholds[CV_SCAN_THRESHOLDS_MAX]; /* days before expiry, each announced once */
    size_t n_thresholds;
    /* Called after each batch of certificates when not NULL ('done' of 'total'). */
    void (*progress)(void *ctx, size_t done, size_t total);
    void *progress_ctx;
};

/* Fills 'o' with the defaults: as_of today (UTC), within 30, thresholds 90/60/30/7/0. */
void cv_scan_options_init(struct cv_scan_options *o);

/* Parses a comma-separated list of 0..3650 day thresholds ("90,60,30,7,0") into 'o'. CV_OK or
 * CV_ERR_USAGE. */
int cv_scan_parse_thresholds(struct cv_scan_options *o, const char *text);

/* Runs one scan: the caller holds the scan lock. Reads the expiry index up to as_of +
 * max(within, the largest threshold) and the surveillance index up to as_of, verifies each
 * certificate as of 'as_of', and for each change writes the event to the "events" stream and
 * then the new state. '*report' receives a new JSON object (caller json_decref's it):
 * {"as_of", "within", "summary": {...}, "events": [...], "attention": [...]} (docs/SCAN.md).
 * Returns CV_OK or a store error, with a message in 'err' ('cap' bytes); events already written
 * stay written (the next run resumes from the state saved so far). */
int cv_scan_run(struct cv_store *store, const struct cv_refdata *ref,
                const struct cv_scan_options *opt, json_t **report, char *err, size_t cap);

#endif

/* Ingest: turning accepted certificates into stored records, in batches, for both
 * POST /v1/certificates and `certvet import`; and verification through the cache. */
#ifndef CERTVET_INGEST_H
#define CERTVET_INGEST_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "certvet/certificate.h"
#include "certvet/refdata.h"
#include "certvet/store.h"
#include "certvet/supplier.h"
#include "certvet/verify.h"

/* A batch being built: records are serialized as they are added, then written in one
 * MULTI/EXEC by cv_ingest_flush. */
struct cv_ingest {
    struct cv_store *store;          /* borrowed */
    const struct cv_reference *refs; /* borrowed */
    const char *actor;               /* who, for the change stream (key name or "cli") */
    cv_date as_of;                   /* for index dates (effective expiry, surveillance due) */
    size_t max_batch;                /* records per MULTI/EXEC */
    struct cv_stored_cert *pending;  /* owned */
    char **pending_json;             /* owned strings behind pending[i].json */
    char **pending_strings;          /* owned copies of ids and supplier ids */
    char (*pending_cb_keys)[2][CV_CB_KEY_LEN]; /* owned: behind pending[i].cb_keys */
    size_t n_pending;
    size_t written; /* records written so far */
    /* Background writing (cv_ingest_background): a full batch is handed to 'writer', which alone
     * uses 'store' until it is joined, while the next batch is built. */
    bool background;
    bool in_flight; /* a batch was handed over and not yet joined */
    bool joinable;  /* 'writer' is a thread (else it ran inline) */
    pthread_t writer;
    struct cv_stored_cert *w_pending;    /* owned: the batch being written */
    char **w_strings;                    /* owned strings behind it */
    char (*w_cb_keys)[2][CV_CB_KEY_LEN]; /* owned keys behind it */
    size_t w_n;                          /* its records */
    int w_rc;                            /* its result, read after the join */
};

void cv_ingest_init(struct cv_ingest *in, struct cv_store *store, const struct cv_reference *refs,
                    const char *actor, cv_date as_of, size_t max_batch);

/* Adds one checked certificate: computes its id (written into 'id_out', may be NULL), its record
 * JSON ({"id", "certificate", "ingested_at", "ingested_by"}) and index dates. Flushes when the
 * batch is full. Returns CV_OK, CV_ERR_NOMEM or a store error from the flush. */
int cv_ingest_add(struct cv_ingest *in, const struct cv_certificate *cert,
                  char id_out[CV_CERT_ID_LEN]);

/* From now on a full batch is written by a second thread while cv_ingest_add builds the next
 * one (`certvet import`: reading and checking overlap Redis' work). The caller must not use the
 * store itself until cv_ingest_flush has returned. A batch's failure is returned by the
 * cv_ingest_add (or cv_ingest_flush) after it; 'written' counts a batch once it is stored. */
void cv_ingest_background(struct cv_ingest *in);

/* Waits for the batch in the background, if any, then writes what is pending (one MULTI/EXEC).
 * On error nothing of the failed batch, nor of any later one, is written. */
int cv_ingest_flush(struct cv_ingest *in);

/* Drops anything pending and frees. */
void cv_ingest_cleanup(struct cv_ingest *in);

/* The verification cache (docs/API.md), in two steps so that the caller can read the entry in
 * the same round trip as the linked supplier. cv_verify_cache_key: the key of 'cert' verified as
 * of 'as_of' with 'opt', leaving out the supplier's names (they are checked through a tag stored
 * with the value, so the key can be known before the supplier is read). */
#define CV_VERIFY_KEY_LEN 48
int cv_verify_cache_key(const struct cv_reference *refs, const struct cv_certificate *cert,
                        cv_date as_of, const struct cv_verify_options *opt,
                        char key[CV_VERIFY_KEY_LEN]);

/* Verifies 'cert' as of 'as_of' with 'opt' (its supplier names included). 'cached' is what the
 * cache held under 'key' (NULL: nothing); when it was written for the same supplier names it is
 * the answer, else the rules run and, with 'store' and 'key', the result is cached (unless it
 * rests on an unavailable registry). '*json' receives the verification JSON text (malloc'd);
 * '*cache_hit' (may be NULL) says whether it came from the cache. A store error is not fatal. */
int cv_verify_cached(struct cv_store *store, const struct cv_reference *refs,
                     const struct cv_certificate *cert, cv_date as_of,
                     const struct cv_verify_options *opt, int ttl_s, const char *key,
                     const char *cached, char **json, int *cache_hit);

#endif

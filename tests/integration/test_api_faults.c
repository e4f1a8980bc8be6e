/* Faults (SPEC 12) on the real service: the disk holding Redis's append-only file fills up (writes
 * answer 503 store-unavailable and store nothing, reads and /v1/verify keep answering, writes
 * come back once space is freed); `kill -9` of the service during a bulk ingest, against an
 * external Redis and against the embedded one (after a restart every acknowledged batch is there
 * and no batch is there in part); Redis killed while requests flow (verify goes on, the rest
 * answers 503, all recovers by itself). The small disk is a tmpfs mounted by the test (it runs as
 * root, as CI does). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BATCH      200 /* certificates per POST */
#define SCOPE_FILL 600 /* bytes of scope text: records of realistic size */

static char mount_dir[IT_PATH_MAX]; /* the tmpfs, unmounted by teardown */
static bool disk_full_expected;     /* a 503 must then say the store cannot persist writes */

static int teardown(void **state)
{
    (void)state;
    if (mount_dir[0])
        umount2(mount_dir, MNT_DETACH);
    it_cleanup_all();
    return 0;
}

/* A JSON array of BATCH certificates, numbered apart by 'first', with a scope of realistic
 * length (malloc'd). */
static char *batch_json(int first)
{
    char prefix[32], scope[SCOPE_FILL + 1];
    size_t i;
    json_t *c;
    snprintf(prefix, sizeof(prefix), "FLT-%07d", first);
    memset(scope, 'x', SCOPE_FILL);
    scope[SCOPE_FILL] = '\0';
    json_t *a = it_synth_certificates(BATCH, prefix, NULL);
    json_array_foreach(a, i, c) json_object_set_new(c, "scope", json_string(scope));
    char *text = json_dumps(a, JSON_COMPACT);
    assert_non_null(text);
    json_decref(a);
    return text;
}

/* POSTs one batch; returns the status (0: no response). */
static long post_batch(const struct it_service *s, int first, bool allow_transport_error)
{
    char *body = batch_json(first);
    struct it_response r;
    struct it_request q = {.method = "POST",
                           .path = "/v1/certificates",
                           .key = IT_KEY_WRITE,
                           .content_type = "application/json",
                           .body = body,
                           .body_len = strlen(body),
                           .timeout_ms = 20000};
    it_do(s, &q, &r, allow_transport_error);
    long status = r.status;
    if (status == 503 && !strstr(r.body ? r.body : "", "store-unavailable"))
        fail_msg("503 without the store-unavailable problem: %s", r.body);
    if (status == 503 && disk_full_expected && !strstr(r.body, "disk is full or failing"))
        fail_msg("the 503 does not say why: %s", r.body);
    it_response_cleanup(&r);
    free(body);
    return status;
}

/* How many certificate records the Redis on 'socket' holds. */
static long count_records(const char *socket)
{
    return it_redis_count_keys(socket, "certvet:{cv}:cert:*");
}

static void expect_get(const struct it_service *s, const char *path, long want)
{
    struct it_response r;
    it_get(s, path, IT_KEY_READ, &r);
    it_expect_status(&r, want, path);
    it_response_cleanup(&r);
}

static void expect_verify_works(const struct it_service *s)
{
    static const char cert[] =
        "{\"certificate_number\":\"FLT-VERIFY\",\"standard\":\"ISO 9001:2015\","
        "\"holder\":{\"name\":\"Fault Test Ltd\",\"country\":\"GB\"},"
        "\"certification_body\":{\"name\":\"Northwind Assurance Ltd\"},"
        "\"accreditation_body\":\"UKAS\",\"issue_date\":\"2025-01-10\","
        "\"expiry_date\":\"2028-01-09\"}";
    struct it_response r;
    it_send(s, "POST", "/v1/verify?as_of=2026-06-01", IT_KEY_READ, "application/json", cert,
            sizeof(cert) - 1, &r);
    it_expect_status(&r, 200, "POST /v1/verify");
    it_response_cleanup(&r);
}

/* The id of the first certificate in a POST reply of the first batch, for reads. */
static void first_id(const struct it_service *s, char *path, size_t cap)
{
    char *body = batch_json(0);
    struct it_response r;
    it_send(s, "POST", "/v1/certificates", IT_KEY_WRITE, "application/json", body, strlen(body),
            &r);
    it_expect_status(&r, 200, "first batch");
    json_t *doc = it_json(&r);
    const char *id = json_string_value(json_array_get(json_object_get(doc, "ids"), 0));
    assert_non_null(id);
    snprintf(path, cap, "/v1/certificates/%s", id);
    json_decref(doc);
    it_response_cleanup(&r);
    free(body);
}

static void fill_disk(const char *dir, long leave_kb)
{
    char cmd[IT_PATH_MAX * 3];
    /* dd stops at ENOSPC; then give back 'leave_kb'. */
    snprintf(cmd, sizeof(cmd),
             "dd if=/dev/zero of='%s/filler' bs=64k 2>/dev/null; truncate -s -%ldK '%s/filler'",
             dir, leave_kb, dir);
    assert_int_equal(system(cmd) == -1, 0);
}

/* The append-only file's disk fills: the write that cannot be persisted is refused (503, nothing
 * of its batch stored), reads and verification go on, and once space is freed writes are taken
 * again without a restart. */
static void test_disk_full_for_the_aof(void **state)
{
    (void)state;
    struct it_redis redis;
    struct it_service svc;
    char path[IT_PATH_MAX + 16], read_path[256];

    snprintf(mount_dir, sizeof(mount_dir), "%s/small-disk", it_tmpdir());
    assert_int_equal(mkdir(mount_dir, 0700), 0);
    if (mount("certvet-test", mount_dir, "tmpfs", 0, "size=16m"))
        fail_msg("mounting a tmpfs at %s failed (the test needs root): %m", mount_dir);
    it_redis_start(&redis, mount_dir, true);
    struct it_service_options o = {.redis_url = redis.url};
    it_service_start(&svc, &o);

    first_id(&svc, read_path, sizeof(read_path));
    long before = count_records(redis.socket);
    assert_int_equal(before, BATCH);
    fill_disk(mount_dir, 256);
    disk_full_expected = true;

    long status = 200;
    int batch = 1, accepted = 1;
    for (; batch < 200 && status == 200; batch++) {
        status = post_batch(&svc, batch * BATCH, false);
        if (status == 200)
            accepted++;
        else if (status != 503)
            fail_msg("batch %d: status %ld", batch, status);
    }
    assert_int_equal(status, 503); /* the disk filled before 200 batches */
    /* A refused batch stores nothing, and every acknowledged one is there. */
    assert_int_equal(count_records(redis.socket), (long)accepted * BATCH);
    /* Reads and verification keep answering. */
    expect_get(&svc, read_path, 200);
    expect_verify_works(&svc);
    expect_get(&svc, "/healthz", 200);
    struct it_response ready; /* not ready, and why */
    it_get(&svc, "/readyz", IT_KEY_NONE, &ready);
    it_expect_status(&ready, 503, "/readyz with the disk full");
    assert_non_null(strstr(ready.body, "disk is full or failing"));
    it_response_cleanup(&ready);

    snprintf(path, sizeof(path), "%s/filler", mount_dir);
    assert_int_equal(unlink(path), 0);
    disk_full_expected = false;
    char *log = it_service_stderr(&svc); /* the operator is told, in Redis's words */
    assert_non_null(strstr(log, "\"msg\":\"store refuses writes\""));
    assert_non_null(strstr(log, "No space left on device"));
    free(log);
    /* Redis retries the append-only file every second: writes come back by themselves. */
    for (int i = 0; i < 100 && status != 200; i++) {
        it_sleep_ms(200);
        status = post_batch(&svc, (batch + i) * BATCH, false);
    }
    assert_int_equal(status, 200);
    assert_int_equal(count_records(redis.socket), (long)(accepted + 1) * BATCH);
    expect_get(&svc, "/readyz", 200);

    assert_int_equal(it_service_stop(&svc, false), 0);
    it_redis_stop(&redis);
    assert_int_equal(umount2(mount_dir, MNT_DETACH), 0);
    mount_dir[0] = '\0';
}

/* Bulk ingest from a thread; kill -9 of the service while it runs. */
struct ingest_run {
    const struct it_service *svc;
    int acked;         /* batches answered 200 */
    int sent;          /* batches sent (the last may have had no answer) */
    volatile int stop; /* set once the service is killed */
};

static void *ingest_loop(void *arg)
{
    struct ingest_run *run = arg;
    for (int b = 0; b < 500 && !run->stop; b++) {
        run->sent = b + 1;
        long status = post_batch(run->svc, 1000000 + b * BATCH, true);
        if (status != 200)
            break;
        __atomic_store_n(&run->acked, b + 1, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

/* Kills the service with SIGKILL once 'min_acked' batches are in, while the loop is sending. */
static void kill_during_ingest(struct it_service *svc, struct ingest_run *run, int min_acked)
{
    pthread_t t;
    run->svc = svc;
    assert_int_equal(pthread_create(&t, NULL, ingest_loop, run), 0);
    for (int i = 0; i < 3000 && __atomic_load_n(&run->acked, __ATOMIC_SEQ_CST) < min_acked; i++)
        it_sleep_ms(10);
    assert_true(__atomic_load_n(&run->acked, __ATOMIC_SEQ_CST) >= min_acked);
    it_sleep_ms(5); /* into the next batch */
    assert_int_equal(kill(svc->pid, SIGKILL), 0);
    run->stop = 1;
    assert_int_equal(it_service_stop(svc, true), 128 + SIGKILL);
    assert_int_equal(pthread_join(t, NULL), 0);
}

/* Every acknowledged batch is there; the one in flight is there whole or not at all. */
static void expect_whole_batches(long records, const struct ingest_run *run, long extra)
{
    long acked = (long)run->acked * BATCH;
    if ((records - extra) % BATCH != 0 || records - extra < acked ||
        records - extra > acked + BATCH)
        fail_msg("%ld records (%ld before the ingest) after %d acknowledged batches of %d", records,
                 extra, run->acked, BATCH);
}

static void test_kill9_during_ingest_external_redis(void **state)
{
    (void)state;
    struct it_redis redis;
    struct it_service svc;
    struct ingest_run run = {0};
    char read_path[256];

    it_redis_start(&redis, it_tmpdir(), true);
    struct it_service_options o = {.redis_url = redis.url};
    it_service_start(&svc, &o);
    first_id(&svc, read_path, sizeof(read_path));
    kill_during_ingest(&svc, &run, 3);
    expect_whole_batches(count_records(redis.socket), &run, BATCH);

    it_service_restart(&svc);
    expect_get(&svc, read_path, 200);
    expect_whole_batches(count_records(redis.socket), &run, BATCH);
    assert_int_equal(post_batch(&svc, 5000000, false), 200); /* and it takes writes again */
    assert_int_equal(it_service_stop(&svc, false), 0);
    it_redis_stop(&redis);
}

/* Embedded Redis: the redis-server child gets SIGTERM when its parent dies (it flushes the
 * append-only file and exits); a restart starts it again on the same data. */
static void test_kill9_during_ingest_embedded(void **state)
{
    (void)state;
    struct it_service svc;
    struct ingest_run run = {0};
    char data_dir[IT_PATH_MAX], socket[IT_PATH_MAX + 16], read_path[256];

    snprintf(data_dir, sizeof(data_dir), "%s/embedded-data", it_tmpdir());
    assert_int_equal(mkdir(data_dir, 0700), 0);
    struct it_service_options o = {.data_dir = data_dir};
    it_service_start(&svc, &o);
    first_id(&svc, read_path, sizeof(read_path));
    kill_during_ingest(&svc, &run, 3);

    /* The orphaned server shuts down by itself; the restart must find the socket free. */
    snprintf(socket, sizeof(socket), "%s/redis.sock", data_dir);
    for (int i = 0; i < 500 && access(socket, F_OK) == 0; i++)
        it_sleep_ms(20);
    it_service_restart(&svc);
    expect_get(&svc, read_path, 200);
    expect_whole_batches(count_records(socket), &run, BATCH);
    assert_int_equal(it_service_stop(&svc, false), 0);
}

/* Mixed load from a thread while Redis is killed and restarted: statuses by kind and phase. */
struct mixed_load {
    const struct it_service *svc;
    volatile int stop;
    volatile int phase;  /* 0 before the kill, 1 Redis down, 2 back */
    long verify_bad;     /* /v1/verify not 200 */
    long other[3][4];    /* [phase][200, 503, other status, no answer] of store routes */
    long ingested_after; /* ingests answered 200 in phase 2 */
};

static void count(struct mixed_load *l, long status)
{
    int k = status == 200 ? 0 : status == 503 ? 1 : status ? 2 : 3;
    __atomic_add_fetch(&l->other[l->phase][k], 1, __ATOMIC_SEQ_CST);
}

static void *mixed_loop(void *arg)
{
    struct mixed_load *l = arg;
    static const char cert[] = "{\"certificate_number\":\"KILL-%d\",\"standard\":\"ISO 9001:2015\","
                               "\"holder\":{\"name\":\"Fault Test Ltd\",\"country\":\"GB\"},"
                               "\"certification_body\":{\"name\":\"Northwind Assurance Ltd\"},"
                               "\"accreditation_body\":\"UKAS\",\"issue_date\":\"2025-01-10\","
                               "\"expiry_date\":\"2028-01-09\"}";
    for (int i = 0; i < 100000 && !l->stop; i++) {
        char body[512];
        struct it_response r;
        int n = snprintf(body, sizeof(body), cert, i);
        struct it_request v = {.method = "POST",
                               .path = "/v1/verify",
                               .key = IT_KEY_READ,
                               .content_type = "application/json",
                               .body = body,
                               .body_len = (size_t)n,
                               .timeout_ms = 10000};
        it_do(l->svc, &v, &r, true);
        if (r.status != 200)
            __atomic_add_fetch(&l->verify_bad, 1, __ATOMIC_SEQ_CST);
        it_response_cleanup(&r);
        struct it_request in = v;
        in.path = "/v1/certificates";
        in.key = IT_KEY_WRITE;
        int phase = l->phase;
        it_do(l->svc, &in, &r, true);
        count(l, r.status);
        if (phase == 2 && r.status == 200)
            __atomic_add_fetch(&l->ingested_after, 1, __ATOMIC_SEQ_CST);
        it_response_cleanup(&r);
        struct it_request alerts = {
            .path = "/v1/alerts?within=30", .key = IT_KEY_READ, .timeout_ms = 10000};
        it_do(l->svc, &alerts, &r, true);
        count(l, r.status);
        it_response_cleanup(&r);
    }
    return NULL;
}

/* Redis killed (SIGKILL) while requests flow: /v1/verify keeps answering 200 (without the
 * cache), what needs the store answers 503 (never another error, never no answer), and once
 * Redis is started again everything recovers by itself. */
static void test_redis_killed_under_load(void **state)
{
    (void)state;
    struct it_redis redis;
    struct it_service svc;
    static struct mixed_load l;
    pthread_t t;

    it_redis_start(&redis, it_tmpdir(), true);
    struct it_service_options o = {.redis_url = redis.url};
    it_service_start(&svc, &o);
    memset(&l, 0, sizeof(l));
    l.svc = &svc;
    assert_int_equal(pthread_create(&t, NULL, mixed_loop, &l), 0);
    it_sleep_ms(500);
    l.phase = 1;
    assert_int_equal(kill(redis.pid, SIGKILL), 0);
    assert_int_equal(waitpid(redis.pid, NULL, 0), redis.pid);
    redis.pid = 0;
    it_sleep_ms(1000);
    it_redis_restart(&redis);
    l.phase = 2;
    for (int i = 0; i < 1000 && __atomic_load_n(&l.ingested_after, __ATOMIC_SEQ_CST) < 20; i++)
        it_sleep_ms(10);
    l.stop = 1;
    assert_int_equal(pthread_join(t, NULL), 0);

    print_message("Redis killed under load: before %ld ok; down %ld ok, %ld 503; back %ld ok, "
                  "%ld 503; verify not 200: %ld\n",
                  l.other[0][0], l.other[1][0], l.other[1][1], l.other[2][0], l.other[2][1],
                  l.verify_bad);
    assert_int_equal(l.verify_bad, 0);
    for (int p = 0; p < 3; p++) {
        assert_int_equal(l.other[p][2], 0); /* no status but 200 and 503 */
        assert_int_equal(l.other[p][3], 0); /* always an answer */
    }
    assert_true(l.other[0][0] > 0);
    assert_int_equal(l.other[0][1], 0);
    assert_true(l.other[1][1] > 0); /* the outage was seen */
    assert_true(l.ingested_after >= 20);
    assert_int_equal(it_service_stop(&svc, false), 0);
    it_redis_stop(&redis);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disk_full_for_the_aof),
        cmocka_unit_test(test_kill9_during_ingest_external_redis),
        cmocka_unit_test(test_kill9_during_ingest_embedded),
        cmocka_unit_test(test_redis_killed_under_load),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}

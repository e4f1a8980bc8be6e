/* Failover under load (issue 7's scale-out story): a Redis primary, two replicas and a Sentinel
 * on loopback; the service connects through the Sentinel (redis-sentinel://...?wait=2, so a write
 * is acknowledged once both replicas have it). While a client ingests batches, the Sentinel
 * promotes a replica: the service follows the new primary by itself, the only failures are 503s
 * during the switch, and every acknowledged batch is on the new primary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BATCH       100 /* certificates per POST */
#define MAX_BATCHES 2000

static pid_t servers[4]; /* primary, two replicas, Sentinel: killed by teardown */

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < 4; i++)
        if (servers[i] > 0) {
            kill(servers[i], SIGKILL);
            waitpid(servers[i], NULL, 0);
        }
    it_cleanup_all();
    return 0;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A loopback port that was free a moment ago. */
static int free_port(void)
{
    unsigned port;
    close(it_listen_loopback(&port));
    return (int)port;
}

/* Starts redis-server with 'args' (NULL-terminated) in its own directory 'name'. */
static pid_t start_server(const char *name, const char *const *args)
{
    char dir[IT_PATH_MAX], log[IT_PATH_MAX + 16];
    const char *argv[32] = {"redis-server"};
    int n = 1;
    snprintf(dir, sizeof(dir), "%s/%s", it_tmpdir(), name);
    mkdir(dir, 0700);
    snprintf(log, sizeof(log), "%s/log", dir);
    for (; args[n - 1] && n < 31; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 || chdir(dir))
            _exit(127);
        execvp("redis-server", (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* redis-cli -p PORT ARGS; the whole output in 'out'. */
static void cli(int port, const char *args, char *out, size_t cap)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "redis-cli -h 127.0.0.1 -p %d %s 2>&1", port, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t len = fread(out, 1, cap - 1, p);
    out[len] = '\0';
    pclose(p);
}

/* Polls 'args' on 'port' until the output contains 'want' (at most 'ms'). */
static void wait_for(int port, const char *args, const char *want, int ms)
{
    char out[4096];
    long long until = now_ms() + ms;
    do {
        cli(port, args, out, sizeof(out));
        if (strstr(out, want))
            return;
        it_sleep_ms(50);
    } while (now_ms() < until);
    fail_msg("port %d: '%s' never gave '%s' (last: %s)", port, args, want, out);
}

/* Polls INFO replication on 'port' until 'n' replicas are online (synchronized). */
static void wait_online(int port, int n, int ms)
{
    char out[4096];
    long long until = now_ms() + ms;
    do {
        int online = 0;
        cli(port, "INFO replication", out, sizeof(out));
        for (const char *p = strstr(out, "state=online"); p; p = strstr(p + 1, "state=online"))
            online++;
        if (online >= n)
            return;
        it_sleep_ms(50);
    } while (now_ms() < until);
    fail_msg("port %d: fewer than %d replicas online: %s", port, n, out);
}

static char *batch_json(int batch)
{
    char prefix[32];
    snprintf(prefix, sizeof(prefix), "FO-%05d", batch);
    json_t *a = it_synth_certificates(BATCH, prefix, NULL);
    char *text = json_dumps(a, JSON_COMPACT);
    assert_non_null(text);
    json_decref(a);
    return text;
}

struct load {
    const struct it_service *svc;
    volatile int stop;
    int n;                          /* batches sent */
    long status[MAX_BATCHES];       /* 0: no answer */
    long long at[MAX_BATCHES];      /* when the answer came */
    char first_id[MAX_BATCHES][32]; /* of an acknowledged batch */
    int acked;                      /* answered 200 */
    char why[512];                  /* the first refusal's body */
};

static void *load_loop(void *arg)
{
    struct load *l = arg;
    for (int b = 0; b < MAX_BATCHES && !l->stop; b++) {
        char *body = batch_json(b);
        struct it_response r;
        struct it_request q = {.method = "POST",
                               .path = "/v1/certificates",
                               .key = IT_KEY_WRITE,
                               .content_type = "application/json",
                               .body = body,
                               .body_len = strlen(body),
                               .timeout_ms = 15000};
        it_do(l->svc, &q, &r, true);
        l->status[b] = r.status;
        l->at[b] = now_ms();
        if (r.status == 200) {
            json_t *doc = json_loads(r.body, 0, NULL);
            const char *id = json_string_value(json_array_get(json_object_get(doc, "ids"), 0));
            snprintf(l->first_id[b], sizeof(l->first_id[b]), "%s", id ? id : "");
            json_decref(doc);
            __atomic_add_fetch(&l->acked, 1, __ATOMIC_SEQ_CST);
        } else {
            if (r.body && !l->why[0])
                snprintf(l->why, sizeof(l->why), "%s", r.body);
            it_sleep_ms(20); /* as a client retrying would */
        }
        __atomic_store_n(&l->n, b + 1, __ATOMIC_SEQ_CST);
        it_response_cleanup(&r);
        free(body);
    }
    return NULL;
}

static void test_sentinel_failover_under_load(void **state)
{
    (void)state;
    int p_primary = free_port(), p_r1 = free_port(), p_r2 = free_port(), p_sentinel = free_port();
    char a[16], b1[16], b2[16], conf[IT_PATH_MAX + 32], url[128], out[4096];
    static struct load l; /* large: not on the stack */
    snprintf(a, sizeof(a), "%d", p_primary);
    snprintf(b1, sizeof(b1), "%d", p_r1);
    snprintf(b2, sizeof(b2), "%d", p_r2);

    /* Two replicas, and a write waits for both (?wait=2): a write acknowledged by the old primary
     * is on the replica the Sentinel promotes. (Waiting for fewer than all replicas loses the
     * writes that only the others confirmed, when the promoted one had already left.) */
    const char *primary[] = {"--port", a, "--bind", "127.0.0.1", "--save", "", NULL};
    const char *replica1[] = {"--port",      b1,          "--bind", "127.0.0.1", "--save", "",
                              "--replicaof", "127.0.0.1", a,        NULL};
    const char *replica2[] = {"--port",      b2,          "--bind", "127.0.0.1", "--save", "",
                              "--replicaof", "127.0.0.1", a,        NULL};
    servers[0] = start_server("primary", primary);
    wait_for(p_primary, "PING", "PONG", 10000);
    servers[1] = start_server("replica1", replica1);
    servers[2] = start_server("replica2", replica2);
    wait_for(p_r1, "INFO replication", "master_link_status:up", 15000);
    wait_for(p_r2, "INFO replication", "master_link_status:up", 15000);

    snprintf(conf, sizeof(conf), "%s/sentinel.conf", it_tmpdir());
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f,
            "port %d\nbind 127.0.0.1\nsentinel monitor mymaster 127.0.0.1 %d 1\n"
            "sentinel down-after-milliseconds mymaster 2000\n"
            "sentinel failover-timeout mymaster 10000\n",
            p_sentinel, p_primary);
    fclose(f);
    const char *sentinel[] = {conf, "--sentinel", NULL};
    servers[3] = start_server("sentinel", sentinel);
    wait_for(p_sentinel, "SENTINEL replicas mymaster", b1, 20000);
    wait_for(p_sentinel, "SENTINEL replicas mymaster", b2, 20000);

    struct it_service svc;
    snprintf(url, sizeof(url), "redis-sentinel://127.0.0.1:%d/mymaster?wait=2", p_sentinel);
    struct it_service_options o = {.redis_url = url};
    it_service_start(&svc, &o);

    pthread_t t;
    memset(&l, 0, sizeof(l));
    l.svc = &svc;
    assert_int_equal(pthread_create(&t, NULL, load_loop, &l), 0);
    for (int i = 0; i < 1000 && __atomic_load_n(&l.acked, __ATOMIC_SEQ_CST) < 5; i++)
        it_sleep_ms(10);
    assert_true(__atomic_load_n(&l.acked, __ATOMIC_SEQ_CST) >= 5);

    long long t_failover = now_ms();
    cli(p_sentinel, "SENTINEL FAILOVER mymaster", out, sizeof(out));
    if (!strstr(out, "OK"))
        fail_msg("SENTINEL FAILOVER: %s", out);
    int p_new = 0;
    for (int i = 0; i < 600 && !p_new; i++) { /* the Sentinel names another primary */
        cli(p_sentinel, "SENTINEL get-master-addr-by-name mymaster", out, sizeof(out));
        if (strstr(out, b1))
            p_new = p_r1;
        else if (strstr(out, b2))
            p_new = p_r2;
        else
            it_sleep_ms(50);
    }
    if (!p_new)
        fail_msg("no new primary: %s", out);
    wait_for(p_new, "ROLE", "master", 30000);
    long long t_promoted = now_ms();
    /* The switch ends once the new primary has both replicas again (the other one, and the old
     * primary, demoted by the Sentinel): before, a write cannot be confirmed by two (?wait=2)
     * and is refused, by design. */
    wait_online(p_new, 2, 60000);
    long long t_switched = now_ms();
    print_message("failover: promoted after %lld ms, both replicas back after %lld ms\n",
                  t_promoted - t_failover, t_switched - t_failover);
    int acked_at_switch = __atomic_load_n(&l.acked, __ATOMIC_SEQ_CST);
    for (int i = 0; i < 3000 && __atomic_load_n(&l.acked, __ATOMIC_SEQ_CST) < acked_at_switch + 10;
         i++)
        it_sleep_ms(10);
    l.stop = 1;
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_true(l.acked >= acked_at_switch + 10); /* it writes to the new primary */

    /* Failures: only 503s, only around the switch (a generous margin: a loaded machine). */
    int failures = 0;
    for (int i = 0; i < l.n; i++) {
        if (l.status[i] == 200)
            continue;
        failures++;
        if (l.status[i] != 503)
            fail_msg("batch %d: status %ld", i, l.status[i]);
        if (l.at[i] < t_failover || l.at[i] > t_switched + 5000)
            fail_msg("batch %d failed outside the switch (%lld ms after it began, which took "
                     "%lld ms): %s",
                     i, l.at[i] - t_failover, t_switched - t_failover, l.why);
    }
    print_message("failover: %d batches, %d acknowledged, %d refused during the switch\n", l.n,
                  l.acked, failures);

    /* Nothing acknowledged was lost: each acknowledged batch reads back, and the new primary
     * holds at least every acknowledged record. */
    for (int i = 0; i < l.n; i++) {
        if (l.status[i] != 200)
            continue;
        char path[96];
        struct it_response r;
        snprintf(path, sizeof(path), "/v1/certificates/%s", l.first_id[i]);
        it_get(&svc, path, IT_KEY_READ, &r);
        if (r.status != 200)
            fail_msg("acknowledged batch %d: GET %s answered %ld", i, path, r.status);
        it_response_cleanup(&r);
    }
    char cmd[256];
    snprintf(cmd, sizeof(cmd),
             "redis-cli -h 127.0.0.1 -p %d --scan --pattern 'certvet:{cv}:cert:*' | wc -l", p_new);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(out, sizeof(out), p));
    pclose(p);
    assert_true(atol(out) >= (long)l.acked * BATCH);
    assert_int_equal(it_service_stop(&svc, false), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sentinel_failover_under_load),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}

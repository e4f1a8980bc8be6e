/* Ceilings (a) and (b) of SPEC 11: a bare libmicrohttpd server (epoll, internal pool of 2
 * threads) that answers every request with a fixed 300-byte JSON, and, given a Redis unix socket,
 * first does one GET of a 1 KB value over one hiredis connection per worker thread. The
 * response is queued on the handler's second call, after the request body has been received
 * (queueing on the first call makes every reply "Connection: close", SPEC 11 pitfall).
 * Usage: ceiling PORT [REDIS_SOCKET]   (stops on SIGINT/SIGTERM) */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEY "bench:ceiling:1k"

static const char *redis_socket;
static struct MHD_Response *reply;
static _Thread_local redisContext *redis; /* one connection per worker thread */
static volatile sig_atomic_t stop;
static char body[301];

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int redis_get(void)
{
    if (!redis) {
        redis = redisConnectUnix(redis_socket);
        if (!redis || redis->err) {
            redisFree(redis);
            redis = NULL;
            return -1;
        }
    }
    redisReply *r = redisCommand(redis, "GET " KEY);
    if (!r) {
        redisFree(redis);
        redis = NULL;
        return -1;
    }
    int ok = r->type == REDIS_REPLY_STRING && r->len == 1024;
    freeReplyObject(r);
    return ok ? 0 : -1;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    static int marker;
    (void)cls, (void)url, (void)method, (void)version, (void)upload_data;
    if (*req_cls == NULL) { /* first call: headers only */
        *req_cls = &marker;
        return MHD_YES;
    }
    if (*upload_data_size) { /* the body arrives: consume it */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (redis_socket && redis_get())
        return MHD_queue_response(conn, MHD_HTTP_SERVICE_UNAVAILABLE, reply);
    return MHD_queue_response(conn, MHD_HTTP_OK, reply);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: ceiling PORT [REDIS_SOCKET]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    redis_socket = argc == 3 ? argv[2] : NULL;
    if (redis_socket) { /* the 1 KB value every request reads */
        redisContext *c = redisConnectUnix(redis_socket);
        char value[1025];
        memset(value, 'x', 1024);
        value[1024] = '\0';
        redisReply *r = c && !c->err ? redisCommand(c, "SET " KEY " %s", value) : NULL;
        if (!r) {
            fprintf(stderr, "ceiling: cannot reach redis at %s\n", redis_socket);
            return 2;
        }
        freeReplyObject(r);
        redisFree(c);
    }
    /* a 300-byte JSON answer */
    int n = snprintf(body, sizeof(body),
                     "{\"certificate_number\":\"QMS-88213\",\"standard\":\"ISO 9001:2015\","
                     "\"family\":\"ISO 9001\",\"as_of\":\"2026-12-04\",\"verdict\":\"valid\","
                     "\"effective_expiry\":\"2028-02-28\",\"days_to_expiry\":451,"
                     "\"surveillance_due\":\"2027-02-20\",\"findings\":[],\"checks\":"
                     "{\"validity\":\"pass\",\"edition\":\"pass\"},\"pad\":\"");
    while (n < 298)
        body[n++] = 'x';
    body[n++] = '"';
    body[n++] = '}';
    body[n] = '\0';
    reply = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_PERSISTENT);
    if (!reply || MHD_add_response_header(reply, "Content-Type", "application/json") != MHD_YES)
        return 2;

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL, on_request,
        NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)2, MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "ceiling: cannot listen on 127.0.0.1:%d\n", port);
        return 2;
    }
    fprintf(stderr, "ceiling: listening on 127.0.0.1:%d%s\n", port,
            redis_socket ? " (one redis GET per request)" : "");
    while (!stop)
        pause();
    MHD_stop_daemon(d);
    MHD_destroy_response(reply);
    return 0;
}

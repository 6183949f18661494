/*
 * The HTTP floor: the least a libmicrohttpd server can do per request,
 * started with the options Keyway's server uses (internal polling thread,
 * epoll, a thread pool, turbo, suspend/resume allowed, a 7 KiB connection
 * pool, the same connection limit and timeout, bound to 127.0.0.1), answering every request
 * with {"status":"ok"} from a buffer, queued on the handler's final call as
 * Keyway queues its responses. Keyway's /healthz and GET/SET are measured
 * against it in the same run (bench/floor.sh).
 *
 *   cc -O2 -o floor floor.c $(pkg-config --cflags --libs libmicrohttpd)
 *   ./floor PORT [THREADS]
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char body[] = "{\"status\":\"ok\"}";

static enum MHD_Result answer(void *cls, struct MHD_Connection *connection, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size, void **state) {
    (void)cls; (void)url; (void)method; (void)version; (void)upload_data;
    if (*state == NULL) {  /* first call: headers in */
        *state = (void *)1;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {  /* body chunks */
        *upload_data_size = 0;
        return MHD_YES;
    }
    struct MHD_Response *response = MHD_create_response_from_buffer(sizeof body - 1, (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(response, "Content-Type", "application/json");
    enum MHD_Result result = MHD_queue_response(connection, MHD_HTTP_OK, response);
    MHD_destroy_response(response);
    return result;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT [THREADS]\n", argv[0]);
        return 2;
    }
    unsigned int port = (unsigned int)atoi(argv[1]);
    unsigned int threads = argc > 2 ? (unsigned int)atoi(argv[2]) : (unsigned int)sysconf(_SC_NPROCESSORS_ONLN);
    struct sockaddr_in loopback;
    memset(&loopback, 0, sizeof loopback);
    loopback.sin_family = AF_INET;
    loopback.sin_port = htons((uint16_t)port);
    loopback.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | MHD_USE_TURBO;
    struct MHD_Daemon *daemon = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, answer, NULL,
                                                 MHD_OPTION_THREAD_POOL_SIZE, threads,
                                                 MHD_OPTION_CONNECTION_LIMIT, 55000u,
                                                 MHD_OPTION_CONNECTION_TIMEOUT, 300u,
                                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(7 * 1024),
                                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&loopback,
                                                 MHD_OPTION_END);
    if (daemon == NULL) {
        fprintf(stderr, "cannot listen on port %u\n", port);
        return 1;
    }
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &signals, NULL);
    int received;
    sigwait(&signals, &received);
    MHD_stop_daemon(daemon);
    return 0;
}

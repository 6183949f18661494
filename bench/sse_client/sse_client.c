/*
 * The subscriber side of bench/sse_fanout.py: opens SUBSCRIBERS connections
 * to GET /v1/subscribe?channel=fanout on 127.0.0.1:PORT, prints "ready" once
 * every one has its subscribe event, then reads all of them with epoll and
 * prints "ARRIVAL round seconds" (CLOCK_MONOTONIC) for every message whose
 * payload is "t<round>-...", and "complete round" once all have it. Ends
 * after ROUNDS rounds, or when nothing arrives for 30 s. One process in C,
 * so that reading 20,000 sockets is not what the benchmark measures.
 *
 *   cc -O2 -o sse_client sse_client.c && ./sse_client PORT SUBSCRIBERS ROUNDS
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CARRY 48
#define MAX_ROUNDS 64

struct subscriber {
    int fd;
    int subscribed;
    size_t carried;
    char carry[CARRY];
};

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s PORT SUBSCRIBERS ROUNDS\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]), count = atoi(argv[2]), rounds = atoi(argv[3]);
    if (rounds > MAX_ROUNDS) rounds = MAX_ROUNDS;
    struct rlimit limit = { (rlim_t)count + 64, (rlim_t)count + 64 };
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
        getrlimit(RLIMIT_NOFILE, &limit);
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
    struct subscriber *subscribers = calloc((size_t)count, sizeof *subscribers);
    int epoll = epoll_create1(0);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    static const char request[] = "GET /v1/subscribe?channel=fanout HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n";
    for (int i = 0; i < count; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
            fprintf(stderr, "connection %d: %s\n", i, strerror(errno));
            return 1;
        }
        if (write(fd, request, sizeof request - 1) != (ssize_t)(sizeof request - 1)) return 1;
        fcntl(fd, F_SETFL, O_NONBLOCK);
        subscribers[i].fd = fd;
        struct epoll_event event = { .events = EPOLLIN, .data.ptr = &subscribers[i] };
        epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
    }
    int subscribed = 0;
    long arrived[MAX_ROUNDS] = { 0 };
    int complete = 0;
    double last = now();
    static char buffer[65536 + CARRY];
    struct epoll_event events[256];
    static const char marker[] = "\"message\":\"t";
    const size_t markerLength = sizeof marker - 1;
    while (complete < rounds && now() - last < 30) {
        int ready = epoll_wait(epoll, events, 256, 1000);
        for (int e = 0; e < ready; e++) {
            struct subscriber *s = events[e].data.ptr;
            memcpy(buffer, s->carry, s->carried);
            ssize_t got = read(s->fd, buffer + s->carried, 65536);
            if (got <= 0) {
                if (got == 0 || errno != EAGAIN) {
                    fprintf(stderr, "a subscriber's connection closed\n");
                    epoll_ctl(epoll, EPOLL_CTL_DEL, s->fd, NULL);
                }
                continue;
            }
            double at = now();
            last = at;
            size_t length = s->carried + (size_t)got;
            if (!s->subscribed && memmem(buffer, length, "event: subscribe", 16)) {
                s->subscribed = 1;
                if (++subscribed == count) {
                    printf("ready\n");
                    fflush(stdout);
                }
            }
            /* Markers wholly inside the carried bytes were counted already. */
            size_t from = 0;
            for (;;) {
                char *hit = memmem(buffer + from, length - from, marker, markerLength);
                if (!hit) break;
                size_t digits = (size_t)(hit - buffer) + markerLength;
                size_t end = digits;
                while (end < length && buffer[end] >= '0' && buffer[end] <= '9') end++;
                if (end == length) break; /* the round number may go on in the next read */
                if (end > s->carried) {
                    int round = atoi(buffer + digits);
                    if (round >= 0 && round < rounds) {
                        printf("ARRIVAL %d %.6f\n", round, at);
                        if (++arrived[round] == count) {
                            printf("complete %d\n", round);
                            complete++;
                        }
                    }
                }
                from = end;
            }
            /* The last bytes, for a marker cut in two by the next read. */
            size_t keep = length < CARRY ? length : CARRY;
            memmove(s->carry, buffer + length - keep, keep);
            s->carried = keep;
            if (complete == rounds) break;
        }
        fflush(stdout);
    }
    fflush(stdout);
    return complete == rounds ? 0 : 1;
}

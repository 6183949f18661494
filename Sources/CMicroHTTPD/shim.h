#ifndef KEYWAY_MHD_SHIM_H
#define KEYWAY_MHD_SHIM_H

/* Non-variadic wrappers around libmicrohttpd, which Swift cannot call
 * directly where the C API is variadic (MHD_start_daemon, *_get_*_info). */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <microhttpd.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <stdio.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <malloc.h>

/// Leaves URL paths and query values exactly as sent; Keyway percent-decodes
/// them to bytes itself, so `%2F` and `%00` survive inside keys.
static size_t keyway_mhd_unescape_nothing(void *cls, struct MHD_Connection *c, char *s) {
    (void)cls; (void)c;
    return strlen(s);
}

/// Starts a daemon with Keyway's standard options; with `cert_callback`
/// (a GnuTLS certificate retrieve function that hands out the current
/// certificate and key, so they can be replaced while the daemon runs) it
/// serves HTTPS, and `trust_pem` (may be NULL) is the CA list client
/// certificates are requested and checked against. `address` may be NULL
/// (bind to all interfaces of the family).
static inline struct MHD_Daemon *keyway_mhd_start_daemon(
    unsigned int flags,
    uint16_t port,
    const struct sockaddr *address,
    unsigned int thread_pool_size,
    unsigned int connection_limit,
    unsigned int per_ip_connection_limit,
    unsigned int connection_timeout_seconds,
    size_t connection_memory_limit,
    MHD_AccessHandlerCallback access_handler,
    void *access_context,
    MHD_RequestCompletedCallback completed_handler,
    void *completed_context,
    MHD_NotifyConnectionCallback connection_handler,
    void *connection_context,
    void *cert_callback,
    const char *trust_pem)
{
    struct MHD_OptionItem options[12];
    int count = 0;
    options[count++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)thread_pool_size, NULL };
    options[count++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, (intptr_t)connection_limit, NULL };
    if (per_ip_connection_limit) options[count++] = (struct MHD_OptionItem){ MHD_OPTION_PER_IP_CONNECTION_LIMIT, (intptr_t)per_ip_connection_limit, NULL };
    options[count++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)connection_timeout_seconds, NULL };
    options[count++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)connection_memory_limit, NULL };
    options[count++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed_handler, completed_context };
    options[count++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)connection_handler, connection_context };
    options[count++] = (struct MHD_OptionItem){ MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)keyway_mhd_unescape_nothing, NULL };
    if (address) options[count++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, (void *)address };
    if (cert_callback) options[count++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_CERT_CALLBACK, 0, cert_callback };
    if (cert_callback && trust_pem) options[count++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0, (void *)trust_pem };
    options[count] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
    return MHD_start_daemon(flags | (cert_callback ? MHD_USE_TLS : 0), port, NULL, NULL,
                            access_handler, access_context,
                            MHD_OPTION_ARRAY, options,
                            MHD_OPTION_END);
}

/// A plain HTTP daemon.
static inline struct MHD_Daemon *keyway_mhd_start(
    unsigned int flags, uint16_t port, const struct sockaddr *address,
    unsigned int thread_pool_size, unsigned int connection_limit, unsigned int per_ip_connection_limit,
    unsigned int connection_timeout_seconds, size_t connection_memory_limit,
    MHD_AccessHandlerCallback access_handler, void *access_context,
    MHD_RequestCompletedCallback completed_handler, void *completed_context,
    MHD_NotifyConnectionCallback connection_handler, void *connection_context)
{
    return keyway_mhd_start_daemon(flags, port, address, thread_pool_size, connection_limit, per_ip_connection_limit,
                                   connection_timeout_seconds, connection_memory_limit,
                                   access_handler, access_context, completed_handler, completed_context,
                                   connection_handler, connection_context, NULL, NULL);
}

/// An HTTPS daemon (see `keyway_mhd_start_daemon`).
static inline struct MHD_Daemon *keyway_mhd_start_tls(
    unsigned int flags, uint16_t port, const struct sockaddr *address,
    unsigned int thread_pool_size, unsigned int connection_limit, unsigned int per_ip_connection_limit,
    unsigned int connection_timeout_seconds, size_t connection_memory_limit,
    MHD_AccessHandlerCallback access_handler, void *access_context,
    MHD_RequestCompletedCallback completed_handler, void *completed_context,
    MHD_NotifyConnectionCallback connection_handler, void *connection_context,
    void *cert_callback, const char *trust_pem)
{
    return keyway_mhd_start_daemon(flags, port, address, thread_pool_size, connection_limit, per_ip_connection_limit,
                                   connection_timeout_seconds, connection_memory_limit,
                                   access_handler, access_context, completed_handler, completed_context,
                                   connection_handler, connection_context, cert_callback, trust_pem);
}

/// The GnuTLS session of an HTTPS connection; NULL on plain HTTP.
static inline void *keyway_mhd_tls_session(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    return info ? info->tls_session : NULL;
}

static inline uint16_t keyway_mhd_bound_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : 0;
}

static inline unsigned int keyway_mhd_connection_count(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return info ? info->num_connections : 0;
}

static inline int keyway_mhd_connection_fd(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    return info ? (int)info->connect_fd : -1;
}

/// Milliseconds since the socket last received data (TCP_INFO's
/// tcpi_last_data_recv), or -1 when unknown.
static inline long keyway_tcp_last_data_received_ms(int fd) {
    struct tcp_info info;
    socklen_t length = sizeof(info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return -1;
    return (long)info.tcpi_last_data_recv;
}

static inline const struct sockaddr *keyway_mhd_client_address(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return info ? info->client_addr : NULL;
}

/// The pointer stored in the connection-notification callback's
/// `socket_context` slot (Keyway's per-connection record).
static inline void *keyway_mhd_socket_context(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

static const int KEYWAY_MHD_CONNECTION_STARTED = MHD_CONNECTION_NOTIFY_STARTED;

/// `ip:port` (`[ip]:port` for IPv6, as Redis prints it) into `out`; empty
/// when the family is unknown.
static inline void keyway_format_address(const struct sockaddr *address, char *out, size_t size) {
    char ip[INET6_ADDRSTRLEN] = "";
    out[0] = 0;
    if (address == NULL) return;
    if (address->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)address;
        inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof ip);
        snprintf(out, size, "%s:%u", ip, (unsigned)ntohs(v4->sin_port));
    } else if (address->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)address;
        inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof ip);
        snprintf(out, size, "[%s]:%u", ip, (unsigned)ntohs(v6->sin6_port));
    }
}

/// The local end of socket `fd` as `ip:port`.
static inline void keyway_format_local_address(int fd, char *out, size_t size) {
    struct sockaddr_storage local;
    socklen_t length = sizeof local;
    out[0] = 0;
    if (getsockname(fd, (struct sockaddr *)&local, &length) == 0) {
        keyway_format_address((const struct sockaddr *)&local, out, size);
    }
}

/// Flag values, named once because Swift imports the C enum without usable cases.
static const unsigned int KEYWAY_MHD_USE_INTERNAL_POLLING_THREAD = MHD_USE_INTERNAL_POLLING_THREAD;
static const unsigned int KEYWAY_MHD_USE_EPOLL = MHD_USE_EPOLL;
static const unsigned int KEYWAY_MHD_ALLOW_SUSPEND_RESUME = MHD_ALLOW_SUSPEND_RESUME;
static const unsigned int KEYWAY_MHD_USE_IPv6 = MHD_USE_IPv6;
static const unsigned int KEYWAY_MHD_USE_ERROR_LOG = MHD_USE_ERROR_LOG;
static const unsigned int KEYWAY_MHD_USE_TURBO = MHD_USE_TURBO;

static const int KEYWAY_MHD_YES = MHD_YES;
static const int KEYWAY_MHD_NO = MHD_NO;


/* epoll helpers for watching suspended connections for hang-ups (Glibc's
 * Swift module does not export sys/epoll.h). */
static inline int keyway_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

/// Watches `fd` for the peer hanging up, once.
static inline int keyway_epoll_watch_hangup(int epfd, int fd) {
    struct epoll_event event;
    memset(&event, 0, sizeof event);
    event.events = EPOLLRDHUP | EPOLLHUP | EPOLLERR | EPOLLONESHOT;
    event.data.fd = fd;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event) == 0) return 0;
    return epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &event);
}

/// Watches `fd` for the peer hanging up, for as long as it is registered:
/// edge-triggered, so a hang-up is reported once.
static inline int keyway_epoll_watch_hangup_until_removed(int epfd, int fd) {
    struct epoll_event event;
    memset(&event, 0, sizeof event);
    event.events = EPOLLRDHUP | EPOLLHUP | EPOLLERR | EPOLLET;
    event.data.fd = fd;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event) == 0) return 0;
    return epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &event);
}

static inline int keyway_epoll_unwatch(int epfd, int fd) {
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
}

/// Waits up to `timeout_ms`; writes the ready descriptors to `fds`.
static inline int keyway_epoll_wait_fds(int epfd, int *fds, int max, int timeout_ms) {
    struct epoll_event events[64];
    if (max > 64) max = 64;
    int n = epoll_wait(epfd, events, max, timeout_ms);
    for (int i = 0; i < n; i++) fds[i] = events[i].data.fd;
    return n;
}

#endif

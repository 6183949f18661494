# syntax=docker/dockerfile:1
#
# Keyway container image.
#
#   docker build -t keyway .
#   export KEYWAY_TOKEN=$(openssl rand -hex 32)     # keep it: clients need it
#   docker run -d --name keyway -p 7379:7379 -v keyway-data:/data \
#       -e KEYWAY_TOKEN keyway
#
# The server refuses to listen beyond loopback without a token, and the default
# CMD binds 0.0.0.0 (a container's loopback is unreachable from outside), so
# pass the token with `-e KEYWAY_TOKEN=...` or `--env-file` (unlike `--token`,
# an environment variable does not show up in `ps` on the host). Clients send
# `Authorization: Bearer <token>`; GET /healthz stays open. Only on a trusted
# private network, run without a token by replacing CMD:
#   docker run ... keyway serve --bind 0.0.0.0 --port 7379 --unprotected
#
# Both stages are Debian 12 (bookworm), so the libmicrohttpd the binary was
# linked against in the build stage is the very version the runtime installs.
# scripts/check-docker-libs.sh checks that every shared library the binary
# needs comes from a package the runtime stage below installs.

ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------- build stage
FROM ${SWIFT_IMAGE} AS build

# Unpinned on purpose (hadolint DL3008): bookworm's point releases replace
# exact versions, which would break a pinned build; the suite is the pin.
# hadolint ignore=DL3008
RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get update \
    && apt-get install -y --no-install-recommends libmicrohttpd-dev libgnutls28-dev pkg-config liblua5.1-0-dev lua-cjson-dev lua-bitop-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# Fetch dependencies before copying the sources, into a BuildKit cache mount
# that later builds reuse (a source change doesn't fetch again). Package.resolved
# is not copied (see .dockerignore): pins made against a local package mirror
# name commits GitHub doesn't have.
COPY Package.swift ./
RUN --mount=type=cache,target=/src/.build,id=keyway-swiftpm,sharing=locked \
    swift package resolve

# Everything else (Sources/ and Tests/: the manifest declares test targets, and
# SwiftPM refuses to load a package whose target folders are missing).
COPY . .

# --static-swift-stdlib links the Swift runtime, Foundation (with its own ICU
# data), Dispatch and Synchronization into the binary; what stays dynamic is
# libc/libm, libgcc_s, libstdc++, liblua5.1 (with cjson and bitop) and libmicrohttpd (plus GnuTLS & co. that
# libmicrohttpd itself pulls in). Debug info is stripped, the symbol table
# kept, so crash backtraces still name functions.
RUN --mount=type=cache,target=/src/.build,id=keyway-swiftpm,sharing=locked \
    swift build -c release --static-swift-stdlib --product keyway \
    && mkdir -p /staging \
    && cp "$(swift build -c release --static-swift-stdlib --show-bin-path)/keyway" /staging/keyway \
    && strip --strip-debug /staging/keyway \
    && cp /usr/libexec/swift/linux/swift-backtrace-static /staging/swift-backtrace-static

# -------------------------------------------------------------- runtime stage
FROM ${RUNTIME_IMAGE}

# Only what `ldd keyway` resolves to, by owning package (`dpkg -S`):
#   libmicrohttpd12  libmicrohttpd.so.12 (its own dependencies, GnuTLS, nettle,
#                    p11-kit, libidn2, ..., come with it)
#   libgnutls30      libgnutls.so.30, linked directly too: HTTPS certificate
#                    reload and client-certificate checks call GnuTLS
#   liblua5.1-0      liblua5.1.so.0, the Lua 5.1 interpreter behind EVAL
#   lua-cjson        liblua5.1-cjson.so.0, scripts' cjson library
#   lua-bitop        liblua5.1-bitop.so.0, scripts' bit library
#   libstdc++6       libstdc++.so.6, needed by the statically linked Swift
#                    runtime/Foundation; present in today's slim image only
#                    because apt needs it, not guaranteed, so named here
#   libc6, libgcc-s1 (libc, libm, libgcc_s, ld.so) are part of every Debian
#                    system (libc6 is in the Essential set's closure)
#   ca-certificates  trust roots for https cache origins (not a linked library:
#                    SwiftNIO's TLS reads /etc/ssl/certs at run time)
# scripts/check-docker-libs.sh parses this line; keep it one apt-get install.
# hadolint ignore=DL3008
RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get update \
    && apt-get install -y --no-install-recommends libmicrohttpd12 libgnutls30 liblua5.1-0 lua-cjson lua-bitop libstdc++6 ca-certificates \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 keyway \
    && useradd --uid 10001 --gid keyway --home-dir /data \
       --no-create-home --shell /usr/sbin/nologin keyway \
    && mkdir -p /data \
    && chown keyway:keyway /data \
    && chmod 0750 /data

COPY --from=build /staging/keyway /usr/local/bin/keyway
COPY --from=build /staging/swift-backtrace-static /usr/libexec/swift/linux/swift-backtrace-static

# Crash reports: the static stdlib has no backtracer next to it, so point the
# runtime at the copy above (non-interactive, secrets sanitized).
ENV SWIFT_BACKTRACE=enable=yes,sanitize=yes,threads=all,images=mentioned,interactive=no,swift-backtrace=/usr/libexec/swift/linux/swift-backtrace-static

# For persistence files (snapshots, AOF); relative paths resolve here too.
VOLUME ["/data"]
WORKDIR /data
# Numeric, so `runAsNonRoot` checks (Kubernetes) can verify it without /etc/passwd.
USER 10001:10001

EXPOSE 7379

# GET /healthz never needs a token. The probe uses bash's /dev/tcp: bash is an
# Essential package, always in debian:bookworm-slim, so the probe adds nothing
# to the image, whereas curl would bring libcurl4, OpenSSL, nghttp2, libssh2,
# LDAP and Kerberos libraries (several MB and more CVE surface) for one request.
# If you change --port in CMD, set -e KEYWAY_HEALTH_PORT=<port> as well. (The
# probe speaks plain HTTP: with TLS enabled, override HEALTHCHECK.)
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${KEYWAY_HEALTH_PORT:-7379} && printf 'GET /healthz HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && IFS= read -r -t 3 status <&3 && [[ $status == HTTP/1.?' 200 '* ]]"]

# PID 1 gets SIGTERM on `docker stop`; keyway handles it and shuts down cleanly.
# (If you wrap it in a shell, use `docker run --init` so signals still arrive.)
ENTRYPOINT ["keyway"]
CMD ["serve", "--bind", "0.0.0.0", "--port", "7379"]

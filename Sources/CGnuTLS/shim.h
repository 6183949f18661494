#ifndef KEYWAY_GNUTLS_SHIM_H
#define KEYWAY_GNUTLS_SHIM_H

/* GnuTLS, which libmicrohttpd uses for HTTPS: Keyway loads the server's
 * certificate and key itself (so SIGHUP can swap them) and checks client
 * certificates on the sessions libmicrohttpd hands out. */

#include <stdio.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/abstract.h>

/// Constants named once because Swift imports the C enums and macros
/// without usable names.
static const int KEYWAY_GNUTLS_X509_FMT_PEM = GNUTLS_X509_FMT_PEM;
static const int KEYWAY_GNUTLS_E_SUCCESS = GNUTLS_E_SUCCESS;
static const int KEYWAY_GNUTLS_E_NO_CERTIFICATE_FOUND = GNUTLS_E_NO_CERTIFICATE_FOUND;
static const int KEYWAY_GNUTLS_E_SHORT_MEMORY_BUFFER = GNUTLS_E_SHORT_MEMORY_BUFFER;

/// Whether the peer sent any certificate.
static inline int keyway_gnutls_peer_has_certificate(gnutls_session_t session) {
    unsigned int count = 0;
    const gnutls_datum_t *list = gnutls_certificate_get_peers(session, &count);
    return list != NULL && count > 0;
}

/// Verifies the peer's certificate chain against the trusted CA list of the
/// session's credentials: 0 when valid, otherwise the GnuTLS status bits
/// (or -1 when the check itself failed).
static inline int keyway_gnutls_verify_peer(gnutls_session_t session) {
    unsigned int status = 0;
    int result = gnutls_certificate_verify_peers2(session, &status);
    if (result < 0) return -1;
    return (int)status;
}

/// Imports up to `*count` PEM certificates into `list`.
static inline int keyway_gnutls_import_pcerts(gnutls_pcert_st *list, unsigned int *count, const unsigned char *pem, unsigned int length) {
    gnutls_datum_t data = { (unsigned char *)pem, length };
    return gnutls_pcert_list_import_x509_raw(list, count, &data, GNUTLS_X509_FMT_PEM, 0);
}

static inline int keyway_gnutls_import_key(gnutls_privkey_t key, const unsigned char *pem, unsigned int length) {
    gnutls_datum_t data = { (unsigned char *)pem, length };
    return gnutls_privkey_import_x509_raw(key, &data, GNUTLS_X509_FMT_PEM, NULL, 0);
}

/// Whether the key belongs to the first certificate, checked the way
/// GnuTLS checks a key pair it is given (GNUTLS_E_CERTIFICATE_KEY_MISMATCH).
static inline int keyway_gnutls_check_pair(const unsigned char *cert, unsigned int cert_length,
                                           const unsigned char *key, unsigned int key_length) {
    gnutls_certificate_credentials_t credentials;
    int result = gnutls_certificate_allocate_credentials(&credentials);
    if (result < 0) return result;
    gnutls_datum_t c = { (unsigned char *)cert, cert_length };
    gnutls_datum_t k = { (unsigned char *)key, key_length };
    result = gnutls_certificate_set_x509_key_mem2(credentials, &c, &k, GNUTLS_X509_FMT_PEM, NULL, 0);
    gnutls_certificate_free_credentials(credentials);
    return result < 0 ? result : 0;
}

/// Parses a PEM CA list; returns how many certificates it holds or a
/// negative GnuTLS error.
static inline int keyway_gnutls_count_trusted(const unsigned char *pem, unsigned int length) {
    gnutls_certificate_credentials_t credentials;
    int result = gnutls_certificate_allocate_credentials(&credentials);
    if (result < 0) return result;
    gnutls_datum_t data = { (unsigned char *)pem, length };
    result = gnutls_certificate_set_x509_trust_mem(credentials, &data, GNUTLS_X509_FMT_PEM);
    gnutls_certificate_free_credentials(credentials);
    return result;
}

/// The serial number of the first PEM certificate as hex, into `out`.
static inline int keyway_gnutls_serial_hex(const unsigned char *pem, unsigned int length, char *out, size_t size) {
    gnutls_x509_crt_t crt;
    unsigned char serial[64];
    size_t serial_size = sizeof serial;
    gnutls_datum_t data = { (unsigned char *)pem, length };
    out[0] = 0;
    if (gnutls_x509_crt_init(&crt) < 0) return -1;
    int result = gnutls_x509_crt_import(crt, &data, GNUTLS_X509_FMT_PEM);
    if (result >= 0) result = gnutls_x509_crt_get_serial(crt, serial, &serial_size);
    gnutls_x509_crt_deinit(crt);
    if (result < 0) return result;
    size_t at = 0;
    for (size_t i = 0; i < serial_size && at + 3 <= size; i++) at += (size_t)snprintf(out + at, size - at, "%02X", serial[i]);
    return 0;
}

#endif

// TLS for CHTTP2's connections. See ch2_tls.h.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "ch2_tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct ch2_tls {
    SSL_CTX *ctx;
    char *name;
    int name_is_ip;
};

// ---- a socket BIO that never raises SIGPIPE ----
// OpenSSL's own socket BIO writes with write(2), which raises SIGPIPE on a connection the server
// closed; a library must not change the process's signal handling, so the writes go through
// send(2) with MSG_NOSIGNAL here.

static int bio_write(BIO *b, const char *data, int len) {
    BIO_clear_retry_flags(b);
    ssize_t n = send((int)(intptr_t)BIO_get_data(b), data, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_write(b);
    return (int)n;
}

static int bio_read(BIO *b, char *out, int len) {
    BIO_clear_retry_flags(b);
    ssize_t n = recv((int)(intptr_t)BIO_get_data(b), out, (size_t)len, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_read(b);
    return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
    (void)b; (void)num; (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b) {
    BIO_set_init(b, 1);
    return 1;
}

static BIO_METHOD *socket_method;
static pthread_once_t socket_method_once = PTHREAD_ONCE_INIT;

static void make_socket_method(void) {
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "ch2 socket");
    if (!m) return;
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    socket_method = m;
}

// ---- the shared context ----

/// The oldest OpenSSL error as text ("unknown" when there is none), and clears the queue.
static const char *openssl_reason(char *buf, size_t len) {
    unsigned long e = ERR_get_error();
    if (e == 0) return "unknown reason";
    ERR_error_string_n(e, buf, len);
    ERR_clear_error();
    return buf;
}

/// Loads every certificate of a PEM into the context's trust store; the count loaded.
static int load_roots(SSL_CTX *ctx, const char *pem) {
    BIO *bio = BIO_new_mem_buf(pem, -1);
    if (!bio) return 0;
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    int loaded = 0;
    X509 *cert;
    while ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (X509_STORE_add_cert(store, cert) == 1) loaded++;
        X509_free(cert);
    }
    ERR_clear_error();  // the end of the PEM reads as an error
    BIO_free(bio);
    return loaded;
}

/// The client certificate (first of the chain) and its intermediates; 0 on failure.
static int load_chain(SSL_CTX *ctx, const char *pem) {
    BIO *bio = BIO_new_mem_buf(pem, -1);
    if (!bio) return 0;
    X509 *leaf = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    int ok = leaf && SSL_CTX_use_certificate(ctx, leaf) == 1;
    X509_free(leaf);
    X509 *extra;
    while (ok && (extra = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
            X509_free(extra);
            ok = 0;
        }
    }
    if (ok) ERR_clear_error();  // the end of the PEM reads as an error
    BIO_free(bio);
    return ok;
}

static int load_key(SSL_CTX *ctx, const char *pem) {
    BIO *bio = BIO_new_mem_buf(pem, -1);
    if (!bio) return 0;
    // An empty passphrase, not OpenSSL's prompt on the terminal, for an encrypted key.
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"");
    int ok = key && SSL_CTX_use_PrivateKey(ctx, key) == 1 && SSL_CTX_check_private_key(ctx) == 1;
    EVP_PKEY_free(key);
    BIO_free(bio);
    return ok;
}

ch2_tls *ch2_tls_create(const char *roots, const char *cert_chain, const char *private_key, const char *name,
                        char **error) {
    char reason[256];
    pthread_once(&socket_method_once, make_socket_method);
    if (!socket_method) {
        *error = ch2_message("cannot set up TLS: %s", openssl_reason(reason, sizeof reason));
        return NULL;
    }
    if ((cert_chain == NULL) != (private_key == NULL)) {
        *error = ch2_message("TLS: a client certificate needs its private key and a key its certificate (give both or neither)");
        return NULL;
    }
    ch2_tls *t = calloc(1, sizeof *t);
    if (!t || !(t->name = strdup(name)) || !(t->ctx = SSL_CTX_new(TLS_client_method()))) {
        *error = ch2_message("cannot set up TLS: %s", openssl_reason(reason, sizeof reason));
        ch2_tls_free(t);
        return NULL;
    }
    static const unsigned char alpn[] = {2, 'h', '2'};
    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(t->ctx, SSL_OP_NO_RENEGOTIATION);  // HTTP/2 forbids it (RFC 9113, 9.2.1)
    SSL_CTX_set_alpn_protos(t->ctx, alpn, sizeof alpn);  // 0 = success
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    if (roots) {
        if (load_roots(t->ctx, roots) == 0) {
            *error = ch2_message("TLS: the server root CA PEM holds no certificate");
            ch2_tls_free(t);
            return NULL;
        }
    } else if (SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
        *error = ch2_message("TLS: cannot load the system's root certificates: %s", openssl_reason(reason, sizeof reason));
        ch2_tls_free(t);
        return NULL;
    }
    if (cert_chain && !load_chain(t->ctx, cert_chain)) {
        *error = ch2_message("TLS: the client certificate PEM does not load: %s", openssl_reason(reason, sizeof reason));
        ch2_tls_free(t);
        return NULL;
    }
    if (private_key && !load_key(t->ctx, private_key)) {
        *error = ch2_message("TLS: the client private key PEM does not load or does not match the certificate: %s",
                             openssl_reason(reason, sizeof reason));
        ch2_tls_free(t);
        return NULL;
    }
    unsigned char address[16];
    t->name_is_ip = inet_pton(AF_INET, name, address) == 1 || inet_pton(AF_INET6, name, address) == 1;
    return t;
}

void ch2_tls_free(ch2_tls *t) {
    if (!t) return;
    SSL_CTX_free(t->ctx);
    free(t->name);
    free(t);
}

// ---- one connection ----

/// Why the handshake failed: the certificate check's verdict if it failed, else OpenSSL's error.
static char *handshake_error(SSL *ssl, const char *authority, const char *name) {
    char reason[256];
    long verdict = SSL_get_verify_result(ssl);
    if (verdict != X509_V_OK) {
        ERR_clear_error();
        return ch2_message("TLS handshake with %s failed: the server's certificate is not trusted for '%s': %s "
                           "(check the server root CA and the server name)",
                           authority, name, X509_verify_cert_error_string(verdict));
    }
    if (ERR_peek_error() == 0) {
        return ch2_message("TLS handshake with %s failed: the server closed the connection (%s; does it speak TLS "
                           "on this port?)",
                           authority, errno ? strerror(errno) : "end of stream");
    }
    return ch2_message("TLS handshake with %s failed: %s", authority, openssl_reason(reason, sizeof reason));
}

SSL *ch2_tls_handshake(ch2_tls *t, int fd, int64_t deadline_ms, const char *authority, char **error) {
    SSL *ssl = SSL_new(t->ctx);
    BIO *bio = ssl ? BIO_new(socket_method) : NULL;
    if (!bio) {
        char reason[256];
        *error = ch2_message("cannot start TLS with %s: %s", authority, openssl_reason(reason, sizeof reason));
        SSL_free(ssl);
        return NULL;
    }
    BIO_set_data(bio, (void *)(intptr_t)fd);
    SSL_set_bio(ssl, bio, bio);
    // Writes resume from wherever the caller's buffer has moved to, and may be partial (as send).
    SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    // One recv for as many records as the socket holds, not two (header, body) per record.
    SSL_set_read_ahead(ssl, 1);
    X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
    int named;  // the certificate's name is checked (never skipped for want of memory)
    if (t->name_is_ip) {
        named = X509_VERIFY_PARAM_set1_ip_asc(param, t->name) == 1;
    } else {
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        named = SSL_set_tlsext_host_name(ssl, t->name) == 1 && X509_VERIFY_PARAM_set1_host(param, t->name, 0) == 1;
    }
    if (!named) {
        *error = ch2_message("cannot start TLS with %s: cannot set the name '%s' to check", authority, t->name);
        SSL_free(ssl);
        return NULL;
    }
    for (;;) {
        ERR_clear_error();
        int r = SSL_connect(ssl);
        if (r == 1) break;
        int e = SSL_get_error(ssl, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            if (e != SSL_ERROR_SYSCALL) errno = 0;
            *error = handshake_error(ssl, authority, t->name);
            SSL_free(ssl);
            return NULL;
        }
        struct pollfd pf = {fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, 0};
        if (ch2_now_ms() >= deadline_ms || poll(&pf, 1, ch2_ms_left(deadline_ms)) == 0) {
            *error = ch2_message("TLS handshake with %s did not finish within the connect timeout", authority);
            SSL_free(ssl);
            return NULL;
        }
    }
    const unsigned char *protocol = NULL;
    unsigned int length = 0;
    SSL_get0_alpn_selected(ssl, &protocol, &length);
    if (length != 2 || memcmp(protocol, "h2", 2) != 0) {
        *error = ch2_message("the server at %s did not agree to HTTP/2 over TLS (ALPN); gRPC needs it", authority);
        SSL_free(ssl);
        return NULL;
    }
    return ssl;
}

ssize_t ch2_tls_send(SSL *ssl, const void *data, size_t len) {
    ERR_clear_error();
    int n = SSL_write(ssl, data, (int)(len > INT_MAX ? INT_MAX : len));
    if (n > 0) return n;
    int e = SSL_get_error(ssl, n);
    ERR_clear_error();  // nothing left for the next user of this thread's error queue
    errno = e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ ? EAGAIN : EPIPE;
    return -1;
}

ssize_t ch2_tls_recv(SSL *ssl, void *buf, size_t len) {
    ERR_clear_error();
    int n = SSL_read(ssl, buf, (int)(len > INT_MAX ? INT_MAX : len));
    if (n > 0) return n;
    int e = SSL_get_error(ssl, n);
    ERR_clear_error();  // nothing left for the next user of this thread's error queue
    if (e == SSL_ERROR_ZERO_RETURN) return 0;
    errno = e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? EAGAIN : ECONNRESET;
    return -1;
}

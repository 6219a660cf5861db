// TLS for CHTTP2's connections, with the system's OpenSSL (internal to the module).
#ifndef CH2_TLS_H
#define CH2_TLS_H
#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// Milliseconds on the monotonic clock; defined in ch2.c, as are the two below.
__attribute__((visibility("hidden"))) int64_t ch2_now_ms(void);
/// Milliseconds until `deadline_ms` (on ch2_now_ms's clock), at least 1: a wait of 0 would not wait.
__attribute__((visibility("hidden"))) int ch2_ms_left(int64_t deadline_ms);
/// A malloc'd printf-formatted message (NULL when out of memory).
__attribute__((format(printf, 1, 2), visibility("hidden"))) char *ch2_message(const char *fmt, ...);

/// What every TLS connection of one ch2_conn shares: the trusted roots, the client certificate,
/// ALPN "h2", and the name the server's certificate must carry.
typedef struct ch2_tls ch2_tls;

/// NULL with a malloc'd message in *error when a PEM does not load. `roots` NULL: the system's
/// roots. `name`: the host name (or IP address) the certificate must match.
__attribute__((visibility("hidden"))) ch2_tls *ch2_tls_create(const char *roots, const char *cert_chain,
                                                               const char *private_key, const char *name,
                                                               char **error);
__attribute__((visibility("hidden"))) void ch2_tls_free(ch2_tls *tls);

/// Runs the handshake on a connected non-blocking socket by `deadline_ms` (ch2_now_ms's clock),
/// and checks that the server agreed to HTTP/2. NULL with a malloc'd message in *error (naming
/// `authority`).
__attribute__((visibility("hidden"))) SSL *ch2_tls_handshake(ch2_tls *tls, int fd, int64_t deadline_ms,
                                                              const char *authority, char **error);

/// Like send(2) and recv(2) on a non-blocking socket: -1 with errno EAGAIN when TLS waits for
/// the socket, -1 with another errno when the connection failed; recv returns 0 at the end.
__attribute__((visibility("hidden"))) ssize_t ch2_tls_send(SSL *ssl, const void *data, size_t len);
__attribute__((visibility("hidden"))) ssize_t ch2_tls_recv(SSL *ssl, void *buf, size_t len);

#endif

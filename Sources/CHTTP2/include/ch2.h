// CHTTP2: unary gRPC calls over one HTTP/2 connection (plaintext, or TLS with the system's
// OpenSSL), framed by libnghttp2.
//
// An alternative to CGRPCShim for the hot calls of a worker: no completion queue, no call
// objects, no channel stack. A call is started (and its frames written) on the caller's thread;
// one reader thread per connection parses what the server sends and reports each call's single
// completion. Reconnects lazily: the first start after a lost connection opens a new one.
#ifndef CH2_H
#define CH2_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ch2_conn ch2_conn;

/// The header list size a connection announces (SETTINGS_MAX_HEADER_LIST_SIZE): below it, no
/// single header can pass nghttp2's 64 KiB limit, which would end the whole connection.
#define CH2_MAX_HEADER_LIST_SIZE 65536

/// One header. Keys are lowercase ASCII; values of keys ending in "-bin" are raw bytes
/// (base64-encoded on the wire by the library, decoded again in trailers).
typedef struct {
    const char *key;
    size_t key_len;
    const char *value;
    size_t value_len;
} ch2_header;

/// The outcome of one call, valid only for the duration of the completion callback.
typedef struct {
    /// A gRPC status code (0 = OK).
    int status;
    const char *details;
    size_t details_len;
    const uint8_t *message;
    size_t message_len;
    int has_message;
    const ch2_header *trailers;
    size_t trailer_count;
} ch2_result;

/// Called exactly once per started call: on the reader thread, on the connect thread (a failed
/// connect), or on the thread that started, cancelled or closed when that is what ended the
/// call — possibly before ch2_unary_start has returned the call's id.
typedef void (*ch2_completion_fn)(void *user_data, const ch2_result *result);

/// Connection settings; zero means the default given for each.
typedef struct {
    /// A PING after this long without a frame from the server (default 30 s; < 0 = never),
    /// and the connection is dropped when its ack takes longer than the timeout (default 15 s).
    int keepalive_time_ms;
    int keepalive_timeout_ms;
    /// How long opening the TCP connection (and its TLS handshake) may take (default 20 s).
    int connect_timeout_ms;
    /// Largest response and request messages (default 4 MiB each).
    int64_t max_receive_message_bytes;
    int64_t max_send_message_bytes;
    /// The user-agent header (default "ch2").
    const char *user_agent;
    /// TLS (h2 negotiated by ALPN) instead of plaintext h2c, when non-zero.
    int use_tls;
    /// PEM of the roots that the server's certificate must chain to (NULL: the system's).
    const char *pem_root_certs;
    /// PEM of a client certificate (and its chain) and its private key, for mutual TLS.
    const char *pem_cert_chain;
    const char *pem_private_key;
    /// The name the server's certificate must carry, when it is not the target's host; also
    /// sent as SNI and as every request's :authority (as gRPC core's target name override).
    const char *server_name_override;
    /// An HTTP proxy to reach the server through (a CONNECT tunnel), and the value of its
    /// Proxy-Authorization header (NULL: none). NULL host: connect directly.
    const char *proxy_host;
    const char *proxy_port;
    const char *proxy_authorization;
} ch2_options;

/// Prepares a connection to host:port (connects on the first call) and starts its reader.
/// Returns NULL and a malloc'd message in *error (free with free()) on failure.
ch2_conn *ch2_conn_create(const char *host, const char *port, const ch2_options *options, char **error);

/// Fails outstanding calls with CANCELLED, closes the socket, joins the reader and frees (what
/// a connect thread still running holds is freed when it ends). A completion that a connect
/// thread took just before the close may still be delivered, on that thread, after this returns.
void ch2_conn_destroy(ch2_conn *conn);

/// Starts a unary call of `path` ("/pkg.Service/Method"); timeout_ms <= 0 means none.
/// Returns the call's id (> 0), after which `done` is invoked exactly once; or 0 with a gRPC
/// status in *status and a malloc'd message in *error, and `done` is never invoked.
/// A call whose deadline passes completes with DEADLINE_EXCEEDED; calls are reset on the wire.
/// A server's GOAWAY sends later calls to a new connection while earlier ones finish.
int64_t ch2_unary_start(ch2_conn *conn, const char *path, const ch2_header *headers, size_t header_count,
                        const uint8_t *request, size_t request_len, int64_t timeout_ms,
                        ch2_completion_fn done, void *user_data, int *status, char **error);

/// Whether the TLS PEMs given load, checked as a TLS connection of this module checks them (the
/// roots hold a certificate, the chain and the key load and match): 0, or -1 with a malloc'd
/// message in *error. For the gRPC core's channels, whose library checks them only when it
/// connects, and then fails every call as if the server could not be reached.
int ch2_tls_check(const char *roots, const char *cert_chain, const char *private_key, char **error);

/// Connections opened so far (for tests of reconnects and GOAWAY).
long ch2_connections_opened(ch2_conn *conn);

/// Cancels the call with that id if it is still running (its completion reports CANCELLED).
void ch2_cancel(ch2_conn *conn, int64_t call_id);

#ifdef __cplusplus
}
#endif
#endif

// CGRPCShim: the project's only C. A small asynchronous layer over libgrpc's core API.
//
// It knows nothing about Temporal: it opens channels, runs unary calls (metadata, request
// bytes, deadline, cancellation) and reports each call's single completion (status, details,
// trailing metadata, response bytes) from a completion-queue thread owned by the channel.
#ifndef CGRPC_SHIM_H
#define CGRPC_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cgrpc_channel cgrpc_channel;
typedef struct cgrpc_call cgrpc_call;

/// One metadata entry. Keys are lowercase ASCII; values of keys ending in "-bin" are raw bytes.
typedef struct {
    const char *key;
    size_t key_len;
    const char *value;
    size_t value_len;
} cgrpc_metadata;

/// Channel settings. Zero or NULL means "library default" for every field.
typedef struct {
    /// 0 = plaintext, 1 = TLS.
    int use_tls;
    /// PEM root certificates; NULL with TLS = the system bundle (/etc/ssl/certs/ca-certificates.crt),
    /// or gRPC's own lookup when GRPC_DEFAULT_SSL_ROOTS_FILE_PATH is set (its override).
    const char *pem_root_certs;
    /// PEM client certificate chain and private key for mutual TLS; both or neither.
    const char *pem_cert_chain;
    const char *pem_private_key;
    /// Overrides the name checked against the server certificate (TLS only).
    const char *server_name_override;
    /// Keepalive ping interval and ping-ack timeout, milliseconds.
    int keepalive_time_ms;
    int keepalive_timeout_ms;
    /// Maximum message sizes in bytes.
    int max_receive_message_bytes;
    int max_send_message_bytes;
    /// Upper bound of the reconnect backoff, milliseconds.
    int max_reconnect_backoff_ms;
    /// Prepended to the user-agent header.
    const char *user_agent;
} cgrpc_channel_options;

/// The outcome of one unary call, valid only for the duration of the completion callback.
typedef struct {
    /// A grpc_status_code (0 = OK).
    int status;
    const char *details;
    size_t details_len;
    /// Response message bytes; has_message = 0 when the server sent none.
    const uint8_t *message;
    size_t message_len;
    int has_message;
    const cgrpc_metadata *trailers;
    size_t trailer_count;
} cgrpc_result;

/// Called exactly once per started call, on the channel's completion-queue thread.
typedef void (*cgrpc_completion_fn)(void *user_data, const cgrpc_result *result);

/// Initialises libgrpc (reference counted) and starts the channel's completion-queue thread.
/// Returns NULL and a malloc'd message in *error (free with cgrpc_free) on failure.
cgrpc_channel *cgrpc_channel_create(const char *target, const cgrpc_channel_options *options, char **error);

/// Cancels the channel's outstanding calls, waits for their completions to be delivered,
/// joins the completion thread and releases the channel. What gRPC holds for it (the channel,
/// the queue, its share of grpc_init) goes once the caller has released every call too.
/// Called from one of the channel's own completion callbacks, it cannot wait: it returns at
/// once, and the other cancelled calls' callbacks run after it (their user data must outlive
/// them).
void cgrpc_channel_destroy(cgrpc_channel *channel);

/// The channel's connectivity state (a grpc_connectivity_state); try_to_connect != 0 starts connecting.
int cgrpc_channel_state(cgrpc_channel *channel, int try_to_connect);

/// Starts a unary call of `method` (e.g. "/pkg.Service/Method").
/// timeout_ms <= 0 means no deadline. On success returns a call handle that the caller must
/// release with cgrpc_call_release once it no longer needs to cancel it; `done` is invoked
/// exactly once. On failure returns NULL, sets *error_code to a grpc_call_error and never
/// invokes `done`. Starts may run concurrently with each other, but not with
/// cgrpc_channel_destroy (the caller keeps them apart: GRPCChannel counts its starts).
cgrpc_call *cgrpc_unary_start(cgrpc_channel *channel, const char *method,
                              const cgrpc_metadata *metadata, size_t metadata_count,
                              const uint8_t *request, size_t request_len, int64_t timeout_ms,
                              cgrpc_completion_fn done, void *user_data, int *error_code);

/// Requests cancellation; the completion then reports CANCELLED (unless it already completed).
void cgrpc_call_cancel(cgrpc_call *call);

/// Drops the caller's reference to the call.
void cgrpc_call_release(cgrpc_call *call);

/// Frees a string returned by the shim.
void cgrpc_free(void *pointer);

/// Number of calls started but not yet fully released, across all channels (for leak tests).
long cgrpc_live_calls(void);

/// Number of channels whose gRPC resources are not released yet: destroyed ones count until
/// the caller released their last call (for leak tests).
long cgrpc_live_channels(void);

#ifdef __cplusplus
}
#endif
#endif

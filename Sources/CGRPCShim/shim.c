// Implementation of cgrpc_shim.h over libgrpc's core C API.
//
// Lifetime rules:
// - A call holds two references: one owned by the completion path (dropped after the
//   completion callback has run) and one owned by the caller (dropped by cgrpc_call_release).
//   So cancelling a call that has already completed is always safe.
// - A channel keeps its outstanding calls in a list so that destroying it can cancel them,
//   then shuts its completion queue down and joins the thread once every completion is drained
//   (destroyed from a completion callback, on that thread, it detaches it instead).
// - A channel is reference counted too: its owner holds one (dropped by cgrpc_channel_destroy),
//   its completion thread one (dropped when its loop ends) and every call one (dropped when the
//   call is freed). The gRPC channel, the queue and
//   grpc_shutdown go with the last, so a call a caller still holds after the channel was
//   destroyed is released before gRPC shuts down, as grpc_shutdown requires.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE // pthread_setname_np
#endif
#include "cgrpc_shim.h"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cgrpc_channel {
    atomic_int refs;
    grpc_channel *channel;
    grpc_completion_queue *cq;
    pthread_t thread;
    pthread_mutex_t lock;
    cgrpc_call *calls; // doubly linked list of outstanding calls
    int closing;
};

struct cgrpc_call {
    atomic_int refs;
    cgrpc_channel *owner;
    grpc_call *call;
    cgrpc_call *prev, *next;
    cgrpc_completion_fn done;
    void *user_data;

    grpc_metadata *send_md;
    size_t send_md_count;
    grpc_byte_buffer *send_message;
    grpc_metadata_array recv_initial;
    grpc_metadata_array recv_trailing;
    grpc_byte_buffer *recv_message;
    grpc_status_code status;
    grpc_slice status_details;
};

static atomic_long live_calls = 0;
static atomic_long live_channels = 0;

static char *copy_string(const char *s) {
    size_t n = strlen(s);
    char *r = malloc(n + 1);
    if (r) memcpy(r, s, n + 1);
    return r;
}

void cgrpc_free(void *pointer) { free(pointer); }

long cgrpc_live_calls(void) { return atomic_load(&live_calls); }

long cgrpc_live_channels(void) { return atomic_load(&live_channels); }

static void channel_unref(cgrpc_channel *ch) {
    if (atomic_fetch_sub(&ch->refs, 1) != 1) return;
    grpc_completion_queue_destroy(ch->cq);
    grpc_channel_destroy(ch->channel);
    pthread_mutex_destroy(&ch->lock);
    free(ch);
    grpc_shutdown();
    // Last: once it reads 0, nothing of the channel runs (its completion thread may be the
    // one here, when the channel was destroyed from its own callback).
    atomic_fetch_sub(&live_channels, 1);
}

static void call_free(cgrpc_call *c) {
    for (size_t i = 0; i < c->send_md_count; i++) {
        grpc_slice_unref(c->send_md[i].key);
        grpc_slice_unref(c->send_md[i].value);
    }
    free(c->send_md);
    if (c->send_message) grpc_byte_buffer_destroy(c->send_message);
    if (c->recv_message) grpc_byte_buffer_destroy(c->recv_message);
    grpc_metadata_array_destroy(&c->recv_initial);
    grpc_metadata_array_destroy(&c->recv_trailing);
    grpc_slice_unref(c->status_details);
    if (c->call) grpc_call_unref(c->call);
    cgrpc_channel *owner = c->owner;
    free(c);
    atomic_fetch_sub(&live_calls, 1);
    channel_unref(owner);
}

static void call_unref(cgrpc_call *c) {
    if (atomic_fetch_sub(&c->refs, 1) == 1) call_free(c);
}

static void unlink_call(cgrpc_call *c) {
    cgrpc_channel *ch = c->owner;
    pthread_mutex_lock(&ch->lock);
    if (c->prev) c->prev->next = c->next; else ch->calls = c->next;
    if (c->next) c->next->prev = c->prev;
    c->prev = c->next = NULL;
    pthread_mutex_unlock(&ch->lock);
}

static void deliver(cgrpc_call *c) {
    cgrpc_result r;
    memset(&r, 0, sizeof r);
    r.status = (int)c->status;
    r.details = (const char *)GRPC_SLICE_START_PTR(c->status_details);
    r.details_len = GRPC_SLICE_LENGTH(c->status_details);

    grpc_slice body = grpc_empty_slice();
    if (c->recv_message) {
        grpc_byte_buffer_reader reader;
        if (grpc_byte_buffer_reader_init(&reader, c->recv_message)) {
            body = grpc_byte_buffer_reader_readall(&reader);
            grpc_byte_buffer_reader_destroy(&reader);
            r.has_message = 1;
        }
        // readall copied it: gRPC's buffer goes before the callback copies the message again,
        // so a large response is held twice at most, not three times (a 128 MiB history page).
        grpc_byte_buffer_destroy(c->recv_message);
        c->recv_message = NULL;
    }
    r.message = GRPC_SLICE_START_PTR(body);
    r.message_len = GRPC_SLICE_LENGTH(body);

    size_t n = c->recv_trailing.count;
    cgrpc_metadata *trailers = n ? calloc(n, sizeof *trailers) : NULL;
    if (trailers) {
        for (size_t i = 0; i < n; i++) {
            grpc_metadata *m = &c->recv_trailing.metadata[i];
            trailers[i].key = (const char *)GRPC_SLICE_START_PTR(m->key);
            trailers[i].key_len = GRPC_SLICE_LENGTH(m->key);
            trailers[i].value = (const char *)GRPC_SLICE_START_PTR(m->value);
            trailers[i].value_len = GRPC_SLICE_LENGTH(m->value);
        }
        r.trailers = trailers;
        r.trailer_count = n;
    }
    c->done(c->user_data, &r);
    free(trailers);
    grpc_slice_unref(body);
}

static void *completion_loop(void *arg) {
    cgrpc_channel *ch = arg;
    // Named so that `top -H`, `perf` and debuggers tell it apart from the threads that start calls.
#ifdef __APPLE__
    pthread_setname_np("grpc-completion");
#else
    pthread_setname_np(pthread_self(), "grpc-completion");
#endif
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(ch->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN) break;
        if (ev.type != GRPC_OP_COMPLETE || ev.tag == NULL) continue;
        cgrpc_call *c = ev.tag;
        if (!ev.success && c->status == GRPC_STATUS_OK) {
            // The batch failed without a status from the server (should not happen for a
            // client unary batch, but never report success for it).
            c->status = GRPC_STATUS_INTERNAL;
        }
        unlink_call(c);
        // Frees gRPC's buffer of the message once copied, not when the caller's reference goes
        // (after its task runs again, which a busy pool may delay).
        deliver(c);
        call_unref(c);
    }
    channel_unref(ch);
    return NULL;
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); buf = NULL; }
    if (buf) buf[n] = 0;
    fclose(f);
    return buf;
}

static grpc_arg int_arg(const char *key, int value) {
    grpc_arg a;
    a.type = GRPC_ARG_INTEGER;
    a.key = (char *)key;
    a.value.integer = value;
    return a;
}

static grpc_arg string_arg(const char *key, const char *value) {
    grpc_arg a;
    a.type = GRPC_ARG_STRING;
    a.key = (char *)key;
    a.value.string = (char *)value;
    return a;
}

// Debian and Ubuntu build abseil without NDEBUG, so every absl::Mutex lock inside gRPC runs
// abseil's debug-mode deadlock detector (a lock graph per thread): about 4 % of a worker's
// instructions per workflow task under callgrind. Release builds of abseil have it off; this
// switches it off the same way (absl::SetMutexDeadlockDetectionMode(kIgnore)), looked up by
// its mangled names because the inline namespace differs per distribution. Nothing happens
// where the symbol is absent. TEMPORAL_GRPC_ABSL_DEADLOCK_DETECTION=1 keeps the detector.
static void disable_absl_debug_deadlock_detection(void) {
    static atomic_int done;
    if (atomic_exchange(&done, 1)) return;
    const char *keep = getenv("TEMPORAL_GRPC_ABSL_DEADLOCK_DETECTION");
    if (keep && strcmp(keep, "1") == 0) return;
    static const char *const names[] = {
        "_ZN4absl7debian329SetMutexDeadlockDetectionModeENS0_15OnDeadlockCycleE",      // Debian 12
        "_ZN4absl12lts_2023080229SetMutexDeadlockDetectionModeENS0_15OnDeadlockCycleE", // Ubuntu 24.04
        "_ZN4absl12lts_2022062329SetMutexDeadlockDetectionModeENS0_15OnDeadlockCycleE", // upstream 20220623
        "_ZN4absl12lts_2024011629SetMutexDeadlockDetectionModeENS0_15OnDeadlockCycleE",
        "_ZN4absl12lts_2024072229SetMutexDeadlockDetectionModeENS0_15OnDeadlockCycleE",
        "_ZN4absl29SetMutexDeadlockDetectionModeENS_15OnDeadlockCycleE",                // no inline namespace
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        void (*set_mode)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, names[i]);
        if (set_mode) {
            set_mode(0); // absl::OnDeadlockCycle::kIgnore
            return;
        }
    }
}

cgrpc_channel *cgrpc_channel_create(const char *target, const cgrpc_channel_options *o, char **error) {
    static const cgrpc_channel_options defaults;
    if (!o) o = &defaults;
    if (error) *error = NULL;
    disable_absl_debug_deadlock_detection();
    grpc_init();

    if (o->use_tls && !o->pem_cert_chain != !o->pem_private_key) {
        // Half a pair would connect without a client certificate, and the server's refusal
        // would read like any failed handshake.
        if (error)
            *error = copy_string(o->pem_cert_chain ? "a TLS client certificate was given without its private key: give both for mTLS, or neither"
                                                   : "a TLS client key was given without its certificate: give both for mTLS, or neither");
        grpc_shutdown();
        return NULL;
    }
    grpc_channel_credentials *creds = NULL;
    char *system_roots = NULL;
    if (o->use_tls) {
        const char *roots = o->pem_root_certs;
        const char *grpc_roots = getenv("GRPC_DEFAULT_SSL_ROOTS_FILE_PATH");
        if (!roots && !(grpc_roots && *grpc_roots)) {
            // The system's bundle, unless the user named gRPC's own (its documented override,
            // say for a TLS-inspecting proxy's CA): that one must win.
            system_roots = read_file("/etc/ssl/certs/ca-certificates.crt");
            roots = system_roots; // NULL lets grpc fall back to its own default roots
        }
        grpc_ssl_pem_key_cert_pair pair = {o->pem_private_key, o->pem_cert_chain};
        int have_pair = o->pem_cert_chain && o->pem_private_key;
        creds = grpc_ssl_credentials_create(roots, have_pair ? &pair : NULL, NULL, NULL);
    } else {
        creds = grpc_insecure_credentials_create();
    }
    if (!creds) {
        free(system_roots);
        if (error) *error = copy_string("could not create channel credentials (check the TLS certificate and key PEM)");
        grpc_shutdown();
        return NULL;
    }

    grpc_arg args[12];
    size_t n = 0;
    args[n++] = int_arg(GRPC_ARG_KEEPALIVE_TIME_MS, o->keepalive_time_ms > 0 ? o->keepalive_time_ms : 30000);
    args[n++] = int_arg(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, o->keepalive_timeout_ms > 0 ? o->keepalive_timeout_ms : 15000);
    args[n++] = int_arg(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    args[n++] = int_arg(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
    args[n++] = int_arg(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
                        o->max_receive_message_bytes > 0 ? o->max_receive_message_bytes : 128 * 1024 * 1024);
    args[n++] = int_arg(GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
                        o->max_send_message_bytes > 0 ? o->max_send_message_bytes : 128 * 1024 * 1024);
    // The header list size advertised to the server: a failed call's trailers carry its message
    // twice (grpc-message, and base64 in grpc-status-details-bin), and past the core's default
    // of 8 KiB the server resets the stream, so the caller saw INTERNAL instead of the failure.
    // 16 MiB, as grpc-go (the Go SDK) allows.
    args[n++] = int_arg(GRPC_ARG_MAX_METADATA_SIZE, 16 * 1024 * 1024);
    args[n++] = int_arg(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
                        o->max_reconnect_backoff_ms > 0 ? o->max_reconnect_backoff_ms : 5000);
    // Off (libgrpc's default is on): retries are the client's policy (WorkflowService). In
    // Debian's libgrpc 1.51 the retry filter reads a call's status from its trailers without
    // checking it is there, so a response whose trailers lack grpc-status (a proxy that drops
    // them, a server that is not a gRPC one) aborted the whole worker process. Without it the
    // call fails with UNKNOWN, which the client retries. The filter's transparent retries (of a
    // call refused by GOAWAY or REFUSED_STREAM, which the server never started) are lost: such a
    // call fails with UNAVAILABLE, and the client's policy sends it again.
    args[n++] = int_arg(GRPC_ARG_ENABLE_RETRIES, 0);
    if (o->user_agent) args[n++] = string_arg(GRPC_ARG_PRIMARY_USER_AGENT_STRING, o->user_agent);
    if (o->use_tls && o->server_name_override) args[n++] = string_arg(GRPC_SSL_TARGET_NAME_OVERRIDE_ARG, o->server_name_override);
    grpc_channel_args channel_args = {n, args};

    grpc_channel *channel = grpc_channel_create(target, creds, &channel_args);
    grpc_channel_credentials_release(creds);
    free(system_roots);
    if (!channel) {
        if (error) *error = copy_string("grpc_channel_create returned no channel");
        grpc_shutdown();
        return NULL;
    }

    cgrpc_channel *ch = calloc(1, sizeof *ch);
    if (!ch) {
        grpc_channel_destroy(channel);
        grpc_shutdown();
        if (error) *error = copy_string("out of memory");
        return NULL;
    }
    // One reference for the caller (dropped by cgrpc_channel_destroy), one for the completion
    // thread (dropped when its queue has shut down).
    atomic_init(&ch->refs, 2);
    atomic_fetch_add(&live_channels, 1);
    ch->channel = channel;
    ch->cq = grpc_completion_queue_create_for_next(NULL);
    pthread_mutex_init(&ch->lock, NULL);
    if (pthread_create(&ch->thread, NULL, completion_loop, ch) != 0) {
        grpc_completion_queue_shutdown(ch->cq);
        grpc_completion_queue_destroy(ch->cq);
        grpc_channel_destroy(channel);
        pthread_mutex_destroy(&ch->lock);
        free(ch);
        atomic_fetch_sub(&live_channels, 1);
        grpc_shutdown();
        if (error) *error = copy_string("could not start the completion-queue thread");
        return NULL;
    }
    return ch;
}

void cgrpc_channel_destroy(cgrpc_channel *ch) {
    if (!ch) return;
    pthread_mutex_lock(&ch->lock);
    ch->closing = 1;
    for (cgrpc_call *c = ch->calls; c; c = c->next) grpc_call_cancel(c->call, NULL);
    pthread_mutex_unlock(&ch->lock);
    // Pending batches still complete (as CANCELLED) before the queue reports shutdown.
    grpc_completion_queue_shutdown(ch->cq);
    if (pthread_equal(pthread_self(), ch->thread)) {
        // Called from a completion callback (the caller released the channel there): the
        // thread cannot wait for itself; it drops its own reference when its loop ends.
        pthread_detach(ch->thread);
    } else {
        pthread_join(ch->thread, NULL);
    }
    channel_unref(ch); // the rest goes with the last call a caller still holds
}

int cgrpc_channel_state(cgrpc_channel *ch, int try_to_connect) {
    return (int)grpc_channel_check_connectivity_state(ch->channel, try_to_connect);
}

cgrpc_call *cgrpc_unary_start(cgrpc_channel *ch, const char *method,
                              const cgrpc_metadata *metadata, size_t metadata_count,
                              const uint8_t *request, size_t request_len, int64_t timeout_ms,
                              cgrpc_completion_fn done, void *user_data, int *error_code) {
    if (error_code) *error_code = GRPC_CALL_OK;
    cgrpc_call *c = calloc(1, sizeof *c);
    if (!c) {
        if (error_code) *error_code = GRPC_CALL_ERROR;
        return NULL;
    }
    atomic_fetch_add(&live_calls, 1);
    atomic_init(&c->refs, 2);
    atomic_fetch_add(&ch->refs, 1);
    c->owner = ch;
    c->done = done;
    c->user_data = user_data;
    c->status_details = grpc_empty_slice();
    grpc_metadata_array_init(&c->recv_initial);
    grpc_metadata_array_init(&c->recv_trailing);

    if (metadata_count) {
        c->send_md = calloc(metadata_count, sizeof *c->send_md);
        if (!c->send_md) {
            call_free(c);
            if (error_code) *error_code = GRPC_CALL_ERROR;
            return NULL;
        }
        c->send_md_count = metadata_count;
        for (size_t i = 0; i < metadata_count; i++) {
            c->send_md[i].key = grpc_slice_from_copied_buffer(metadata[i].key, metadata[i].key_len);
            c->send_md[i].value = grpc_slice_from_copied_buffer(metadata[i].value, metadata[i].value_len);
        }
    }
    grpc_slice payload = grpc_slice_from_copied_buffer((const char *)request, request_len);
    c->send_message = grpc_raw_byte_buffer_create(&payload, 1);
    grpc_slice_unref(payload);

    gpr_timespec deadline = timeout_ms > 0
        ? gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(timeout_ms, GPR_TIMESPAN))
        : gpr_inf_future(GPR_CLOCK_REALTIME);
    grpc_slice method_slice = grpc_slice_from_copied_string(method);

    c->call = grpc_channel_create_call(ch->channel, NULL, GRPC_PROPAGATE_DEFAULTS, ch->cq,
                                       method_slice, NULL, deadline, NULL);
    grpc_slice_unref(method_slice);
    if (!c->call) {
        call_free(c);
        if (error_code) *error_code = GRPC_CALL_ERROR;
        return NULL;
    }

    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = c->send_md_count;
    ops[0].data.send_initial_metadata.metadata = c->send_md;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = c->send_message;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &c->recv_initial;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &c->recv_message;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &c->recv_trailing;
    ops[5].data.recv_status_on_client.status = &c->status;
    ops[5].data.recv_status_on_client.status_details = &c->status_details;

    // The lock covers the list only: linked before the batch starts (its completion, on the
    // queue's thread, unlinks it), but the start itself, which writes to the socket, runs
    // unlocked so that concurrent starts and the completion thread do not queue behind it.
    pthread_mutex_lock(&ch->lock);
    if (ch->closing) {
        // Not reached while callers keep starts and cgrpc_channel_destroy apart (the header's
        // rule, which GRPCChannel enforces): the batch below starts unlocked, so this check
        // alone could not keep a start from racing the completion queue's shutdown.
        pthread_mutex_unlock(&ch->lock);
        call_free(c);
        if (error_code) *error_code = GRPC_CALL_ERROR_ALREADY_FINISHED;
        return NULL;
    }
    c->next = ch->calls;
    if (ch->calls) ch->calls->prev = c;
    ch->calls = c;
    pthread_mutex_unlock(&ch->lock);

    grpc_call_error err = grpc_call_start_batch(c->call, ops, 6, c, NULL);
    if (err != GRPC_CALL_OK) {
        unlink_call(c);
        call_free(c);
        if (error_code) *error_code = (int)err;
        return NULL;
    }
    return c;
}

void cgrpc_call_cancel(cgrpc_call *c) {
    if (c && c->call) grpc_call_cancel(c->call, NULL);
}

void cgrpc_call_release(cgrpc_call *c) {
    if (c) call_unref(c);
}

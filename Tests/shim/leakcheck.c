// Exercises CGRPCShim outside Swift so that valgrind / LeakSanitizer see only the shim and
// libgrpc: successful calls, a deadline, a cancellation, calls outstanding when the channel is
// destroyed, a channel to a port where nothing listens, and a channel released in its own
// completion callback.
// Usage: leakcheck HOST:PORT CLOSED_PORT   (see scripts/leakcheck-shim)
#include "../../Sources/CGRPCShim/include/cgrpc_shim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static void on_done(void *user, const cgrpc_result *r) { waiter_done(user, r->status); }

// The caller releases the channel inside the completion callback, on the channel's own thread.
typedef struct {
    waiter *w;
    cgrpc_channel *ch;
} releasing;
static void on_done_release(void *user, const cgrpc_result *r) {
    releasing *rel = user;
    cgrpc_channel_destroy(rel->ch);
    waiter_done(rel->w, r->status);
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s HOST:PORT CLOSED_PORT\n", argv[0]); return 2; }
    char *err = NULL;
    cgrpc_channel *ch = cgrpc_channel_create(argv[1], NULL, &err);
    if (!ch) { fprintf(stderr, "channel: %s\n", err); cgrpc_free(err); return 1; }
    waiter w = WAITER_INIT;
    cgrpc_metadata md[] = {{"client-name", 11, "leakcheck", 9}, {"temporal-namespace", 18, "default", 7}};
    int code = 0, failures = 0;

    // 1. 200 successful calls.
    for (int i = 0; i < 200; i++) {
        cgrpc_call *c = cgrpc_unary_start(ch, SYSINFO, md, 2, NULL, 0, 5000, on_done, &w, &code);
        if (!c) { fprintf(stderr, "start failed: %d\n", code); return 1; }
        wait_for(&w, i + 1);
        if (w.last_status != 0) failures++;
        cgrpc_call_release(c);
    }
    // 2. A deadline against a peer that accepts TCP but never speaks HTTP/2: DEADLINE_EXCEEDED = 4.
    int silent;
    char silent_target[64];
    snprintf(silent_target, sizeof silent_target, "127.0.0.1:%d", silent_port(&silent));
    cgrpc_channel *mute = cgrpc_channel_create(silent_target, NULL, &err);
    cgrpc_call *c = cgrpc_unary_start(mute, SYSINFO, md, 2, NULL, 0, 300, on_done, &w, &code);
    wait_for(&w, 201);
    if (w.last_status != 4) { fprintf(stderr, "deadline: status %d\n", w.last_status); failures++; }
    cgrpc_call_release(c);
    cgrpc_channel_destroy(mute);
    close(silent);
    // 3. Cancellation, and cancelling again after completion: CANCELLED = 1.
    c = cgrpc_unary_start(ch, POLL, md, 2, POLL_REQ, sizeof POLL_REQ, 60000, on_done, &w, &code);
    usleep(100000);
    cgrpc_call_cancel(c);
    wait_for(&w, 202);
    cgrpc_call_cancel(c);
    if (w.last_status != 1) { fprintf(stderr, "cancel: status %d\n", w.last_status); failures++; }
    cgrpc_call_release(c);
    // 4. Calls still outstanding when the channel is destroyed (released before and after).
    cgrpc_call *a = cgrpc_unary_start(ch, POLL, md, 2, POLL_REQ, sizeof POLL_REQ, 60000, on_done, &w, &code);
    cgrpc_call *b = cgrpc_unary_start(ch, POLL, md, 2, POLL_REQ, sizeof POLL_REQ, 60000, on_done, &w, &code);
    cgrpc_call_release(a);
    usleep(100000);
    cgrpc_channel_destroy(ch);
    wait_for(&w, 204);
    // gRPC must not shut down while the application still holds a call (grpc_shutdown's
    // contract): the channel's gRPC resources, and its grpc_init share, wait for b's release.
    if (cgrpc_live_channels() != 1) { fprintf(stderr, "the channel was released while a call was still held\n"); failures++; }
    cgrpc_call_release(b);
    if (cgrpc_live_channels() != 0) { fprintf(stderr, "the channel outlived its last call\n"); failures++; }

    // 5. Nothing listening: UNAVAILABLE = 14.
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%s", argv[2]);
    ch = cgrpc_channel_create(target, NULL, &err);
    c = cgrpc_unary_start(ch, SYSINFO, md, 2, NULL, 0, 5000, on_done, &w, &code);
    wait_for(&w, 205);
    if (w.last_status != 14) { fprintf(stderr, "closed port: status %d\n", w.last_status); failures++; }
    cgrpc_call_release(c);
    cgrpc_channel_destroy(ch);

    // 6. The channel destroyed from its own completion callback: the thread cannot join itself
    // (it tried, failed, and went on with a channel freed under it).
    ch = cgrpc_channel_create(argv[1], NULL, &err);
    releasing rel = {&w, ch};
    c = cgrpc_unary_start(ch, SYSINFO, md, 2, NULL, 0, 5000, on_done_release, &rel, &code);
    wait_for(&w, 206);
    if (w.last_status != 0) { fprintf(stderr, "release in callback: status %d\n", w.last_status); failures++; }
    cgrpc_call_release(c);
    for (int i = 0; i < 100 && cgrpc_live_channels() != 0; i++) usleep(10000);  // the thread ends on its own
    if (cgrpc_live_channels() != 0) { fprintf(stderr, "the channel released in its callback was never freed\n"); failures++; }

    long live = cgrpc_live_calls();
    printf("calls completed: %d, failures: %d, live calls left: %ld\n", w.done, failures, live);
    return failures || live ? 1 : 0;
}

// Exercises CHTTP2 outside Swift so that valgrind sees only it and libnghttp2: successful
// calls, an error with trailers, a deadline, a keepalive ping that is never answered, calls
// queued behind the stream limit, a cancellation, calls outstanding when the connection is
// destroyed, a port where nothing listens, and — given a TLS proxy in front of the server — calls
// over TLS and a certificate for another name.
// Usage: leakcheck-h2 HOST PORT CLOSED_PORT [TLS_PORT CA_FILE]   (see scripts/leakcheck-shim)
#include "../../Sources/CHTTP2/include/ch2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static void on_done(void *user, const ch2_result *r) { waiter_done(user, r->status); }

static const char *NOSUCH = "/temporal.api.workflowservice.v1.WorkflowService/NoSuchRpc";

static int expect(const char *what, int status, int want) {
    if (status == want) return 0;
    fprintf(stderr, "%s: status %d, expected %d\n", what, status, want);
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: %s HOST PORT CLOSED_PORT\n", argv[0]); return 2; }
    char *err = NULL;
    int status = 0, failures = 0;
    ch2_conn *conn = ch2_conn_create(argv[1], argv[2], NULL, &err);
    if (!conn) { fprintf(stderr, "connection: %s\n", err); free(err); return 1; }
    waiter w = WAITER_INIT;
    ch2_header md[] = {{"client-name", 11, "leakcheck", 9}, {"x-trace-bin", 11, "\x01\x02\x03", 3}};

    // 1. 200 successful calls, then one the server rejects (status and trailers).
    for (int i = 0; i < 200; i++) {
        if (!ch2_unary_start(conn, SYSINFO, md, 2, NULL, 0, 5000, on_done, &w, &status, &err)) {
            fprintf(stderr, "start failed: %s\n", err);
            return 1;
        }
        wait_for(&w, i + 1);
        failures += expect("call", w.last_status, 0);
    }
    ch2_unary_start(conn, NOSUCH, md, 2, NULL, 0, 5000, on_done, &w, &status, &err);
    wait_for(&w, 201);
    failures += expect("unknown method", w.last_status, 12);

    // 2. A peer that accepts TCP but never speaks HTTP/2: the deadline (DEADLINE_EXCEEDED = 4),
    //    then, without a deadline, the unanswered keepalive ping (UNAVAILABLE = 14).
    int silent;
    char silent_port_text[16];
    snprintf(silent_port_text, sizeof silent_port_text, "%d", silent_port(&silent));
    ch2_options quick = {.keepalive_time_ms = 200, .keepalive_timeout_ms = 200};
    ch2_conn *mute = ch2_conn_create("127.0.0.1", silent_port_text, &quick, &err);
    ch2_unary_start(mute, SYSINFO, md, 2, NULL, 0, 150, on_done, &w, &status, &err);
    wait_for(&w, 202);
    failures += expect("deadline", w.last_status, 4);
    ch2_unary_start(mute, SYSINFO, md, 2, NULL, 0, 0, on_done, &w, &status, &err);
    wait_for(&w, 203);
    failures += expect("keepalive", w.last_status, 14);
    ch2_conn_destroy(mute);
    // 150 calls with a deadline: 50 of them queue inside nghttp2 (100 streams until SETTINGS).
    mute = ch2_conn_create("127.0.0.1", silent_port_text, NULL, &err);
    for (int i = 0; i < 150; i++) ch2_unary_start(mute, SYSINFO, md, 2, NULL, 0, 150, on_done, &w, &status, &err);
    wait_for(&w, 353);
    failures += expect("queued deadline", w.last_status, 4);
    ch2_conn_destroy(mute);
    close(silent);

    // 3. Cancellation, and cancelling again after completion: CANCELLED = 1.
    int64_t id = ch2_unary_start(conn, POLL, md, 2, POLL_REQ, sizeof POLL_REQ, 60000, on_done, &w, &status, &err);
    usleep(100000);
    ch2_cancel(conn, id);
    wait_for(&w, 354);
    ch2_cancel(conn, id);
    failures += expect("cancel", w.last_status, 1);

    // 4. Calls still outstanding when the connection is destroyed.
    ch2_unary_start(conn, POLL, md, 2, POLL_REQ, sizeof POLL_REQ, 60000, on_done, &w, &status, &err);
    ch2_unary_start(conn, POLL, md, 2, POLL_REQ, sizeof POLL_REQ, 60000, on_done, &w, &status, &err);
    usleep(100000);
    ch2_conn_destroy(conn);
    wait_for(&w, 356);
    failures += expect("destroy", w.last_status, 1);

    // 5. Nothing listening: UNAVAILABLE (= 14) through the completion.
    conn = ch2_conn_create("127.0.0.1", argv[3], NULL, &err);
    ch2_unary_start(conn, SYSINFO, md, 2, NULL, 0, 5000, on_done, &w, &status, &err);
    wait_for(&w, 357);
    failures += expect("closed port", w.last_status, 14);
    ch2_conn_destroy(conn);

    // 6. Destroyed while the connect thread is still connecting (it frees what is left).
    conn = ch2_conn_create("127.0.0.1", argv[2], NULL, &err);
    ch2_unary_start(conn, SYSINFO, md, 2, NULL, 0, 5000, on_done, &w, &status, &err);
    ch2_conn_destroy(conn);
    wait_for(&w, 358);
    usleep(300000);  // let the connect thread end before the leak check

    // 7. Over TLS (nginx in front of the server): 50 calls, then a name the certificate lacks
    //    (UNAVAILABLE), then calls outstanding when the connection is destroyed (CANCELLED).
    if (argc >= 6) {
        FILE *f = fopen(argv[5], "rb");
        static char ca[65536];
        size_t n = f ? fread(ca, 1, sizeof ca - 1, f) : 0;
        if (f) fclose(f);
        ca[n] = 0;
        ch2_options tls = {.use_tls = 1, .pem_root_certs = ca, .server_name_override = "temporal.test"};
        conn = ch2_conn_create("127.0.0.1", argv[4], &tls, &err);
        if (!conn) { fprintf(stderr, "TLS connection: %s\n", err); free(err); return 1; }
        for (int i = 0; i < 50; i++) {
            ch2_unary_start(conn, SYSINFO, md, 2, NULL, 0, 5000, on_done, &w, &status, &err);
            wait_for(&w, 359 + i);
            failures += expect("TLS call", w.last_status, 0);
        }
        ch2_unary_start(conn, POLL, md, 2, POLL_REQ, sizeof POLL_REQ, 60000, on_done, &w, &status, &err);
        usleep(100000);
        ch2_conn_destroy(conn);
        wait_for(&w, 409);
        failures += expect("TLS destroy", w.last_status, 1);
        tls.server_name_override = "not-the-server.example";
        conn = ch2_conn_create("127.0.0.1", argv[4], &tls, &err);
        ch2_unary_start(conn, SYSINFO, md, 2, NULL, 0, 5000, on_done, &w, &status, &err);
        wait_for(&w, 410);
        failures += expect("TLS wrong name", w.last_status, 14);
        ch2_conn_destroy(conn);
    }

    printf("calls completed: %d, failures: %d\n", w.done, failures);
    return failures ? 1 : 0;
}

// Unary gRPC over HTTP/2 (h2c, or h2 over TLS) with libnghttp2. See include/ch2.h.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "ch2.h"
#include "ch2_tls.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/timerfd.h>
#endif

enum {
    CH2_OK = 0, CH2_CANCELLED = 1, CH2_UNKNOWN = 2, CH2_DEADLINE_EXCEEDED = 4, CH2_RESOURCE_EXHAUSTED = 8,
    CH2_INTERNAL = 13, CH2_UNAVAILABLE = 14
};

typedef struct buf {
    uint8_t *data;
    size_t len, cap;
} buf;

static int buf_append(buf *b, const void *data, size_t len) {
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + len) cap *= 2;
        uint8_t *p = realloc(b->data, cap);
        if (!p) return -1;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}


/// One TCP connection and its HTTP/2 session. Only the reader thread frees a link (after it
/// is marked dead), so a pointer to one stays valid while the connection's lock is held.
typedef struct h2link {
    struct h2link *next;
    ch2_conn *conn;
    int fd;
    SSL *tls;  // NULL: plaintext
    nghttp2_session *session;
    int dead;  // dropped: the reader closes the socket and frees the link
    int goaway;  // the server said GOAWAY: no new calls
    int open_calls;
    int64_t last_activity_ms;  // last read from the server (or the connect)
    int64_t ping_sent_ms;  // keepalive PING awaiting its ack; 0 = none
    buf out;  // frames not yet taken by the socket (it is non-blocking: nobody waits in send)
    size_t out_sent;
    int failed;  // a write failed while walking the calls: dropped after the walk
    int needs_flush;  // frames submitted while walking the calls: written after the walk
    // TLS holds bytes it took from the socket that may make whole records (a read stopped at
    // its round cap, or a new link whose handshake read ahead): read again without waiting.
    // Not SSL_has_pending alone: with read-ahead it is also true for a partial record, which
    // only more bytes from the socket complete, and polling without a wait then spins.
    int tls_more;
    int tls_read_wants_write;  // a TLS read must write first (a key update's answer): wait for POLLOUT
    // What the server's GOAWAY said, if it named an error or a reason (" (the server had said
    // GOAWAY …)"), for the calls the link then loses: empty otherwise.
    char goaway_said[128];
} h2link;

typedef struct stream {
    struct stream *prev, *next;  // the connection's list of open calls
    h2link *link;  // NULL while waiting for a connection
    int32_t id;  // HTTP/2 stream id once submitted
    int64_t call_id;  // ours, from 1: what ch2_cancel names
    nghttp2_nv *nv;  // the request's headers, owned (one block with their bytes)
    size_t nv_count;
    int failed_status;  // set when the call failed before reaching the server (with grpc_message)
    uint8_t *request;  // gRPC frame: flag, length, message
    size_t request_len, request_sent;
    buf response;  // DATA payload
    buf trailer_bytes;  // keys and values of trailers, back to back
    size_t trailer_spans[32][4];
    size_t trailer_count;
    int http_status;
    int grpc_status;  // -1 until seen
    char *grpc_message;
    size_t grpc_message_len;
    int cancelled, expired, too_large;
    int64_t receive_limit;  // when too_large: the limit it passed
    int reset_sent;  // RST_STREAM submitted (once: twice would reach the wire for a stream never opened)
    int closed_error;  // HTTP/2 error code of the server's RST_STREAM or the close (0 = none)
    int lost;  // the connection ended before the response
    char lost_note[128];  // why, when the server said (its GOAWAY's error and reason)
    int ended_by_headers;  // the server ended the stream with a HEADERS frame (trailers, or trailers only)
    int ended_by_data;     // the server ended the stream with a DATA frame (no trailers at all)
    int retries;  // transparent retries so far (see requeue)
    char *timeout_value;  // the grpc-timeout header's value in nv (room for 24 bytes); NULL = none
    size_t timeout_index;  // its index in nv
    int64_t deadline_ms;  // 0 = none
    int64_t timeout_ms;
    ch2_completion_fn done;
    void *user_data;
} stream;

struct ch2_conn {
    pthread_mutex_t lock;
    char *host, *port, *authority, *user_agent;
    // The reader's receive buffer (65536 bytes), made with the connection so that its failure
    // is the connection's error.
    uint8_t *in;
    // What requests name as :authority: the TLS server name override when one is set (as gRPC
    // core and grpc-go make it the default authority), else host:port (also the proxy's CONNECT).
    char *request_authority;
    ch2_tls *tls;  // NULL: plaintext (h2c)
    char *proxy_host, *proxy_port, *proxy_authorization;  // an HTTP proxy's CONNECT tunnel; NULL = direct
    int keepalive_time_ms, keepalive_timeout_ms, connect_timeout_ms;
    int64_t max_receive, max_send;
    h2link *links;  // every live or dead-but-not-reaped link
    h2link *current;  // where new calls go; NULL = connect on the next call
    long opened;
    int closing;
    int connecting;  // a connect thread is running
    int connect_unstartable;  // a connect thread could not start: the reader fails the waiting calls
    int refs;  // the owner, plus a running connect thread; the last one frees
    int64_t next_call_id;
    stream *open;  // doubly linked
    stream *finished;  // singly linked through next, delivered outside the lock
    int wake[2];  // a pipe that interrupts the reader's poll
#if defined(__linux__)
    int timer;  // timerfd armed at the earliest deadline of a call
    int64_t timer_armed_ms;  // 0 = not armed
    int timer_broken;  // arming failed once: deadlines are looked for on every wake
#endif
    pthread_t reader;
};

// The clock, and the time left before a deadline on it, for ch2_tls.c too (see ch2_tls.h).
int64_t ch2_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ch2_ms_left(int64_t deadline_ms) {
    int64_t left = deadline_ms - ch2_now_ms();
    return left < 1 ? 1 : left > INT32_MAX ? INT32_MAX : (int)left;
}

static void list_remove(ch2_conn *c, stream *s) {
    if (s->prev) s->prev->next = s->next; else c->open = s->next;
    if (s->next) s->next->prev = s->prev;
    s->prev = s->next = NULL;
}

static void wake_reader(ch2_conn *c);
static int requeue(ch2_conn *c, stream *s);

/// One call fewer on `l` (lock held; NULL: the call had no connection yet). The reader closes
/// a connection no longer current once its last call is gone.
static void release_call(ch2_conn *c, h2link *l) {
    if (l && --l->open_calls == 0 && l != c->current && !l->dead) wake_reader(c);
}

static void finish(ch2_conn *c, stream *s) {
    list_remove(c, s);
    release_call(c, s->link);
    s->next = c->finished;
    c->finished = s;
}

/// Why a call failed before reaching the server: its status, and `message` (malloc'd, taken; NULL
/// = none) in place of any earlier one.
static void set_failure(stream *s, int status, char *message) {
    s->failed_status = status;
    free(s->grpc_message);
    s->grpc_message = message;
    s->grpc_message_len = message ? strlen(message) : 0;
}

/// Whether nghttp2 still queues the call's HEADERS (behind the server's stream limit, or not yet
/// flushed): it opens a stream, and attaches the call to it, only when it writes them.
static int headers_unsent(h2link *l, stream *s) {
    return nghttp2_session_get_stream_user_data(l->session, s->id) != s;
}

/// A malloc'd printf-formatted message (NULL when out of memory).
char *ch2_message(const char *fmt, ...) {
    char *m = malloc(512);
    if (!m) return NULL;
    va_list args;
    va_start(args, fmt);
    vsnprintf(m, 512, fmt, args);
    va_end(args);
    return m;
}

static void wake_reader(ch2_conn *c) {
    char one = 1;
    ssize_t r = write(c->wake[1], &one, 1);
    (void)r;
}

// ---- base64 and percent-decoding ----

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t b64_encode(const uint8_t *in, size_t len, char *out) {
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64chars[v >> 18 & 63]; out[o++] = b64chars[v >> 12 & 63];
        out[o++] = b64chars[v >> 6 & 63]; out[o++] = b64chars[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = b64chars[v >> 18 & 63]; out[o++] = b64chars[v >> 12 & 63];
        if (i + 1 < len) out[o++] = b64chars[v >> 6 & 63];
    }
    return o;  // unpadded, as gRPC allows
}

static int b64_value(uint8_t ch) {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+' || ch == '-') return 62;
    if (ch == '/' || ch == '_') return 63;
    return -1;
}

static size_t b64_decode(const uint8_t *in, size_t len, uint8_t *out) {
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64_value(in[i]);
        if (v < 0) continue;  // padding or junk
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) { bits -= 8; out[o++] = (uint8_t)(acc >> bits); }
    }
    return o;
}

static int hex(uint8_t ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/// grpc-timeout: at most 8 digits and a unit (m, S, M or H, the finest that fits).
static void format_timeout(char *out, int64_t ms, size_t *len) {
    int n;
    if (ms < 100000000) n = snprintf(out, 24, "%lldm", (long long)ms);
    else if (ms / 1000 < 100000000) n = snprintf(out, 24, "%lldS", (long long)(ms / 1000));
    else if (ms / 60000 < 100000000) n = snprintf(out, 24, "%lldM", (long long)(ms / 60000));
    else n = snprintf(out, 24, "%lldH", (long long)(ms / 3600000 < 99999999 ? ms / 3600000 : 99999999));
    *len = (size_t)n;
}

/// A decimal number of up to 3 digits; -1 when it is not one.
static int parse_status(const uint8_t *value, size_t len) {
    if (len == 0 || len > 3) return -1;
    int n = 0;
    for (size_t i = 0; i < len; i++) {
        if (value[i] < '0' || value[i] > '9') return -1;
        n = n * 10 + (value[i] - '0');
    }
    return n;
}

// ---- nghttp2 callbacks (all run under the connection's lock; user data = the link) ----

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *user) {
    (void)flags; (void)user;
    stream *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!s) return 0;
    if (namelen == 7 && memcmp(name, ":status", 7) == 0) {
        s->http_status = parse_status(value, valuelen);
    } else if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && namelen > 5 && memcmp(name, "grpc-", 5) == 0) {
        // A status counts only from the frame that ends the stream (trailers, or trailers
        // only): one in the response headers would pass a call whose stream the server then
        // reset or dropped.
    } else if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0) {
        int status = parse_status(value, valuelen);
        // A code outside gRPC's (a proxy's own) goes up as it is: Swift reads it as UNKNOWN and
        // keeps the number in the message.
        s->grpc_status = status >= 0 ? status : CH2_UNKNOWN;
    } else if (namelen == 12 && memcmp(name, "grpc-message", 12) == 0) {
        free(s->grpc_message);
        s->grpc_message_len = 0;
        s->grpc_message = malloc(valuelen + 1);
        if (!s->grpc_message) return 0;
        size_t o = 0;
        for (size_t i = 0; i < valuelen; i++) {
            if (value[i] == '%' && i + 2 < valuelen && hex(value[i + 1]) >= 0 && hex(value[i + 2]) >= 0) {
                s->grpc_message[o++] = (char)(hex(value[i + 1]) << 4 | hex(value[i + 2]));
                i += 2;
            } else {
                s->grpc_message[o++] = (char)value[i];
            }
        }
        s->grpc_message_len = o;
    } else if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && name[0] != ':' && s->trailer_count < 32 &&
               !(namelen == 12 && memcmp(name, "content-type", 12) == 0)) {
        size_t *span = s->trailer_spans[s->trailer_count++];
        span[0] = s->trailer_bytes.len;
        buf_append(&s->trailer_bytes, name, namelen);
        span[1] = s->trailer_bytes.len;
        span[2] = s->trailer_bytes.len;
        if (namelen > 4 && memcmp(name + namelen - 4, "-bin", 4) == 0) {
            uint8_t *tmp = malloc(valuelen + 1);
            if (tmp) {
                size_t n = b64_decode(value, valuelen, tmp);
                buf_append(&s->trailer_bytes, tmp, n);
                free(tmp);
            }
        } else {
            buf_append(&s->trailer_bytes, value, valuelen);
        }
        span[3] = s->trailer_bytes.len;
    }
    return 0;
}

static int on_data(nghttp2_session *session, uint8_t flags, int32_t stream_id, const uint8_t *data, size_t len,
                   void *user) {
    (void)flags;
    h2link *l = user;
    stream *s = nghttp2_session_get_stream_user_data(session, stream_id);
    if (!s || s->too_large) return 0;
    if (s->response.cap == 0 && len >= 5) {
        // The gRPC prefix says how long the message is: one allocation instead of a doubling series.
        uint64_t want = 5 + ((uint64_t)data[1] << 24 | (uint64_t)data[2] << 16 | (uint64_t)data[3] << 8 | data[4]);
        if (want <= (uint64_t)l->conn->max_receive + 5 && want >= len && (s->response.data = malloc(want))) {
            s->response.cap = want;
        }
    }
    // Unsigned: a limit of INT64_MAX ("no limit") plus the prefix must not wrap.
    if ((uint64_t)s->response.len + len > (uint64_t)l->conn->max_receive + 5 || buf_append(&s->response, data, len) != 0) {
        s->too_large = 1;
        s->receive_limit = l->conn->max_receive;
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_CANCEL);
    }
    return 0;
}

static int on_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code, void *user) {
    h2link *l = user;
    stream *s = nghttp2_session_get_stream_user_data(session, stream_id);
    if (!s) return 0;
    nghttp2_session_set_stream_user_data(session, stream_id, NULL);
    if (error_code == NGHTTP2_REFUSED_STREAM && requeue(l->conn, s)) return 0;
    s->closed_error = (int)error_code;
    finish(l->conn, s);
    return 0;
}

/// After a GOAWAY: the calls nghttp2 still queues on the link (behind the server's stream
/// limit) would wait for a stream the server may hold for a minute (a long poll), only to be
/// refused then. Their queued HEADERS are cancelled (a reset of a stream nghttp2 has not opened
/// drops its HEADERS: nothing is sent, and the item no longer names the call), and each goes
/// to a new connection now (see requeue) or, when it cannot go again, ends now.
static void move_queued_calls(h2link *l) {
    ch2_conn *c = l->conn;
    for (stream *s = c->open; s;) {
        stream *next = s->next;
        if (s->link == l && !s->reset_sent && headers_unsent(l, s)) {
            nghttp2_session_set_stream_user_data(l->session, s->id, NULL);
            nghttp2_submit_rst_stream(l->session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_REFUSED_STREAM);
            if (!requeue(c, s)) {
                if (!s->cancelled && !s->expired) {
                    set_failure(s, CH2_UNAVAILABLE,
                                ch2_message("the server went away (GOAWAY) before the call was sent, and it was sent "
                                            "again too often"));
                }
                finish(c, s);
            }
        }
        s = next;
    }
}

static int on_frame(nghttp2_session *session, const nghttp2_frame *frame, void *user) {
    h2link *l = user;
    if (frame->hd.type == NGHTTP2_GOAWAY) {
        l->goaway = 1;
        const nghttp2_goaway *g = &frame->goaway;
        if (g->error_code != NGHTTP2_NO_ERROR || g->opaque_data_len) {
            // Its reason is the server's text (grpc-go: "too_many_pings", "max_age"): kept
            // printable, for the message of the calls this connection then loses.
            char said[64];
            size_t n = g->opaque_data_len < sizeof said - 1 ? g->opaque_data_len : sizeof said - 1;
            for (size_t i = 0; i < n; i++) said[i] = g->opaque_data[i] >= 32 && g->opaque_data[i] < 127 ? (char)g->opaque_data[i] : '?';
            said[n] = 0;
            snprintf(l->goaway_said, sizeof l->goaway_said, " (the server had said GOAWAY, HTTP/2 error %u%s%s)",
                     g->error_code, n ? ": " : "", said);
            // grpc-go's answer to pings it finds too frequent: ping half as often from now on,
            // as grpc's clients do, or every new connection is closed the same way.
            if (g->error_code == NGHTTP2_ENHANCE_YOUR_CALM && strstr(said, "too_many_pings") &&
                l->conn->keepalive_time_ms > 0 && l->conn->keepalive_time_ms < 3600000) {
                l->conn->keepalive_time_ms *= 2;
            }
        }
        if (l->conn->current == l) l->conn->current = NULL;
        move_queued_calls(l);
    } else if (frame->hd.type == NGHTTP2_PING && (frame->hd.flags & NGHTTP2_FLAG_ACK)) {
        l->ping_sent_ms = 0;
    } else if (frame->hd.type == NGHTTP2_DATA && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        stream *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
        if (s) s->ended_by_data = 1;
    } else if (frame->hd.type == NGHTTP2_HEADERS && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        stream *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
        if (s) {
            s->ended_by_headers = 1;
            // The server answered before taking the whole request (a status for a request it
            // refuses, e.g. too large) and may neither reset the stream nor open its window:
            // the rest of the request is reset away (NO_ERROR, as grpc-go does), which closes
            // the stream and ends the call with the server's status now, not at its deadline.
            if (s->request_sent < s->request_len && !s->reset_sent) {
                s->reset_sent = 1;
                nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
                l->needs_flush = 1;
            }
        }
    }
    return 0;
}

static ssize_t read_request(nghttp2_session *session, int32_t stream_id, uint8_t *out, size_t length,
                            uint32_t *flags, nghttp2_data_source *source, void *user) {
    (void)session; (void)stream_id; (void)user;
    stream *s = source->ptr;
    size_t n = s->request_len - s->request_sent;
    if (n > length) n = length;
    memcpy(out, s->request + s->request_sent, n);
    s->request_sent += n;
    if (s->request_sent == s->request_len) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

/// A request nghttp2 gave up on before sending it (e.g. after the server's GOAWAY): the call
/// ends with UNAVAILABLE (it never reached the server), or is freed if it already completed.
static int on_not_sent(nghttp2_session *session, const nghttp2_frame *frame, int error, void *user) {
    h2link *l = user;
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    for (stream *s = l->conn->open; s; s = s->next) {
        if (s->link == l && s->id == frame->hd.stream_id) {
            // nghttp2 may close the stream next: its on_close must not finish the call again.
            nghttp2_session_set_stream_user_data(session, s->id, NULL);
            // Refused to start (the session is going away): the request never left, it may go
            // again. Other errors (a header block too large) would fail again.
            if (error == NGHTTP2_ERR_START_STREAM_NOT_ALLOWED && requeue(l->conn, s)) break;
            if (!s->cancelled && !s->expired) {
                // A header block over nghttp2's limit (64 KiB of metadata) fails the same way every
                // time: RESOURCE_EXHAUSTED, as gRPC says of metadata too large, is not retried.
                int too_large = error == NGHTTP2_ERR_FRAME_SIZE_ERROR || error == NGHTTP2_ERR_HEADER_COMP;
                set_failure(s, too_large ? CH2_RESOURCE_EXHAUSTED : CH2_UNAVAILABLE,
                            ch2_message(too_large ? "the request's metadata is too large to send (%s)"
                                                  : "the request could not be sent: %s",
                                        nghttp2_strerror(error)));
            }
            finish(l->conn, s);
            break;
        }
    }
    return 0;
}

// ---- links ----

/// Bytes to the link's socket (through TLS if it has it), as send(2) on a non-blocking socket.
static ssize_t link_send(h2link *l, const uint8_t *data, size_t len) {
    if (l->tls) return ch2_tls_send(l->tls, data, len);
    return send(l->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/// Bytes from the link's socket (through TLS if it has it), as recv(2) on a non-blocking socket.
static ssize_t link_recv(h2link *l, uint8_t *buf, size_t len) {
    if (l->tls) return ch2_tls_recv(l->tls, buf, len);
    return recv(l->fd, buf, len, MSG_DONTWAIT);
}

/// Writes what the socket takes of the link's pending frames: 0 = all written, 1 = some left
/// (the reader writes the rest when the socket is writable), -1 = the connection failed.
static int write_pending(h2link *l) {
    while (l->out_sent < l->out.len) {
        ssize_t w = link_send(l, l->out.data + l->out_sent, l->out.len - l->out_sent);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 1;
            return -1;
        }
        l->out_sent += (size_t)w;
        if (l->out_sent < l->out.len && l->out_sent >= 65536 && l->out_sent >= l->out.len / 2) {
            // A socket that keeps lagging: drop what was sent instead of keeping it all.
            memmove(l->out.data, l->out.data + l->out_sent, l->out.len - l->out_sent);
            l->out.len -= l->out_sent;
            l->out_sent = 0;
        }
    }
    l->out.len = l->out_sent = 0;
    if (l->out.cap > (1 << 20)) {  // give a burst's memory back
        free(l->out.data);
        l->out.data = NULL;
        l->out.cap = 0;
    }
    return 0;
}

/// How many serialised bytes may wait for the socket before frames are left inside nghttp2.
/// nghttp2 counts the control frames it holds (PING and SETTINGS acknowledgements, RST_STREAM)
/// and ends a session that lets 1000 pile up; frames taken out of it no longer count. So a
/// server that sends PINGs and reads nothing would grow an unbounded backlog here, unless the
/// backlog stops taking frames.
#define CH2_OUT_BACKLOG_CAP (1 << 20)

/// Serialises the frames nghttp2 has for the link (up to the backlog cap) and writes what the
/// socket takes, without ever waiting for it (lock held). -1 when the connection failed.
static int flush(ch2_conn *c, h2link *l) {
    if (!l->session) return -1;
    int had_pending = l->out_sent < l->out.len;
    for (;;) {
        const uint8_t *data;
        ssize_t n = 0;
        size_t taken = 0;
        while (l->out.len - l->out_sent < CH2_OUT_BACKLOG_CAP && (n = nghttp2_session_mem_send(l->session, &data)) > 0) {
            if (buf_append(&l->out, data, (size_t)n) != 0) return -1;
            taken += (size_t)n;
        }
        if (n < 0) return -1;
        if (taken == 0 && !had_pending) return 0;  // nothing to send (or only what flow control holds)
        if (had_pending) return 0;  // the reader is already waiting to write
        int r = write_pending(l);
        if (r == 1) wake_reader(c);  // to poll for POLLOUT
        if (r != 0) return r < 0 ? -1 : 0;
        // All written: take what the cap left inside nghttp2, if anything.
        if (!nghttp2_session_want_write(l->session)) return 0;
    }
}

/// Ends a link (lock held): fails its calls (CANCELLED when `cancelled`, else UNAVAILABLE),
/// frees its session and shuts its socket down. A call whose HEADERS nghttp2 still held (queued
/// behind the server's stream limit) never reached the server: unless the link ends because
/// the channel closes, it goes again on another connection (see requeue). Only the reader
/// closes the socket and frees the link (closing under the reader's poll could hand the number
/// to the next socket).
static void drop_link(ch2_conn *c, h2link *l, int cancelled) {
    if (l->dead) return;
    // Retired first, so that a call requeued below goes elsewhere.
    l->goaway = 1;
    if (c->current == l) c->current = NULL;
    stream *s = c->open;
    while (s) {
        stream *next = s->next;
        if (s->link == l) {
            if (!cancelled && l->session && headers_unsent(l, s) && requeue(c, s)) {
                s = next;
                continue;
            }
            s->cancelled = s->cancelled || cancelled;
            s->lost = 1;
            memcpy(s->lost_note, l->goaway_said, sizeof s->lost_note);
            finish(c, s);
        }
        s = next;
    }
    if (l->session) nghttp2_session_del(l->session);
    l->session = NULL;
    shutdown(l->fd, SHUT_RDWR);
    l->dead = 1;
}

/// Closes and frees dead links (reader thread, or the closing thread after the join).
static void reap(ch2_conn *c) {
    h2link **p = &c->links;
    while (*p) {
        h2link *l = *p;
        if (l->dead) {
            *p = l->next;
            SSL_free(l->tls);
            close(l->fd);
            free(l->out.data);
            free(l);
        } else {
            p = &l->next;
        }
    }
}

/// Opens a TCP connection by `deadline` (the connect's, which the tunnel and the handshake share);
/// -1 with *error set on failure.
static int open_socket(ch2_conn *c, const char *host, const char *port, int64_t deadline, char **error) {
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        *error = ch2_message("cannot resolve '%s': %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1, err = 0, left = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next) left++;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next, left--) {
#if defined(__linux__)
        // Close-on-exec from the start: a process an activity spawns on another thread between
        // socket() and fcntl() would inherit the connection.
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
        if (fd < 0) { err = errno; continue; }
#else
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd < 0) { err = errno; continue; }
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
#endif
        if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            err = errno;
            if (err == EINPROGRESS) {
                struct pollfd pf = {fd, POLLOUT, 0};
                socklen_t len = sizeof err;
                int ready;
                // A signal handled on this thread (the worker's SIGTERM, say) interrupts the poll,
                // which is never restarted: wait on, not fail the address.
                // Each address gets its share of the time left (the last one all of it), so that
                // one that never answers (a blackholed IPv6 route) leaves time for the next.
                int64_t now = ch2_now_ms();
                int64_t until = now >= deadline ? now : now + (deadline - now) / (left > 0 ? left : 1);
                do ready = poll(&pf, 1, ch2_now_ms() >= until ? 0 : ch2_ms_left(until));
                while (ready < 0 && errno == EINTR);
                if (ready == 0) err = ETIMEDOUT;
                else if (ready < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
            }
            if (err != 0) { close(fd); fd = -1; }
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        *error = c->proxy_host ? ch2_message("cannot connect to the HTTP proxy %s:%s: %s", host, port, strerror(err))
                               : ch2_message("cannot connect to %s: %s", c->authority, strerror(err));
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/// Makes a new link of a connected socket (and its TLS, or NULL) and makes it current (lock
/// held). NULL with *error set (and the socket closed) on failure.
static h2link *install_link(ch2_conn *c, int fd, SSL *tls, char **error) {
    h2link *l = calloc(1, sizeof *l);
    nghttp2_session_callbacks *cb;
    if (!l || nghttp2_session_callbacks_new(&cb) != 0) {
        free(l);
        SSL_free(tls);
        close(fd);
        *error = ch2_message("out of memory");
        return NULL;
    }
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame);
    nghttp2_session_callbacks_set_on_frame_not_send_callback(cb, on_not_sent);
    nghttp2_option *option = NULL;
    int rc = nghttp2_option_new(&option);
    if (rc == 0) {
#if NGHTTP2_VERSION_NUM >= 0x013200
        // grpc-go sends the spaces of a grpc-message as they are: one that begins or ends with a
        // space fails RFC 9113's field-value rule, and nghttp2 (1.50 on) drops the header
        // without a word (the call failed with its code and no message).
        nghttp2_option_set_no_rfc9113_leading_and_trailing_ws_validation(option, 1);
#endif
        rc = nghttp2_session_client_new2(&l->session, cb, l, option);
        nghttp2_option_del(option);
    }
    nghttp2_session_callbacks_del(cb);
    if (rc != 0) {
        free(l);
        SSL_free(tls);
        close(fd);
        *error = ch2_message("cannot start an HTTP/2 session: %s", nghttp2_strerror(rc));
        return NULL;
    }
    // The header list limit keeps every header of a response under nghttp2's 64 KiB per header:
    // a longer one (a long grpc-message, and its status details) is a COMPRESSION_ERROR that ends
    // the whole connection and every call on it, and again on each retry. A server that honours
    // the limit resets only that call instead (gRPC core announces 16 KiB).
    nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 16 << 20},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, CH2_MAX_HEADER_LIST_SIZE},
    };
    nghttp2_submit_settings(l->session, NGHTTP2_FLAG_NONE, settings, 3);
    nghttp2_session_set_local_window_size(l->session, NGHTTP2_FLAG_NONE, 0, 64 << 20);
    l->conn = c;
    l->fd = fd;
    l->tls = tls;
    l->tls_more = tls != NULL;
    l->last_activity_ms = ch2_now_ms();
    l->next = c->links;
    c->links = l;
    c->current = l;
    c->opened++;
    wake_reader(c);  // to poll the new socket
    return l;
}

/// Hands a call to the link's session (lock held); the caller flushes. On failure the call is
/// finished with INTERNAL.
static void submit(ch2_conn *c, h2link *l, stream *s) {
    if (s->timeout_value) {
        // The time left, not the whole timeout: the call may have waited for the connection.
        int64_t left = s->deadline_ms - ch2_now_ms();
        format_timeout(s->timeout_value, left < 1 ? 1 : left, &s->nv[s->timeout_index].valuelen);
    }
    nghttp2_data_provider provider = {.source = {.ptr = s}, .read_callback = read_request};
    int32_t sid = nghttp2_submit_request(l->session, NULL, s->nv, s->nv_count, &provider, s);
    if (sid == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE) {
        // This connection has used all its stream ids: retire it like after a GOAWAY; the call
        // waits for the next one.
        l->goaway = 1;
        if (c->current == l) c->current = NULL;
        return;
    }
    if (sid < 0) {
        set_failure(s, CH2_INTERNAL, ch2_message("cannot submit the request: %s", nghttp2_strerror(sid)));
        finish(c, s);
        return;
    }
    s->id = sid;
    s->link = l;
    l->open_calls++;
}

/// Finishes every call still waiting for a connection (lock held).
static void fail_waiting(ch2_conn *c, int status, const char *message) {
    for (stream *s = c->open; s;) {
        stream *next = s->next;
        if (!s->link) {
            set_failure(s, status, message ? strdup(message) : NULL);
            finish(c, s);
        }
        s = next;
    }
}

static void release(ch2_conn *c);

/// Ends a call on the client's side (cancelled or past its deadline; lock held). A call still
/// waiting for a connection finishes at once. Any other is reset (for one nghttp2 still queues
/// behind the server's stream limit, that drops its HEADERS) and completes now, while its
/// stream stays, without a callback, until nghttp2 or the link lets go of it: a sent call used
/// to complete only once its RST_STREAM was written, which a socket that stopped draining with
/// a full output buffer delayed until keepalive dropped the link (never, without keepalive).
static void end_call(ch2_conn *c, stream *s) {
    h2link *l = s->link;
    if (!l) {
        finish(c, s);
        return;
    }
    // A stream already reset after the server's status keeps that status: it completes when
    // nghttp2 closes it.
    if (!l->session || !s->done || s->reset_sent) return;
    s->reset_sent = 1;
    nghttp2_submit_rst_stream(l->session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_CANCEL);
    {
        stream *notice = calloc(1, sizeof *notice);
        if (notice) {
            notice->done = s->done;
            notice->user_data = s->user_data;
            notice->cancelled = s->cancelled;
            notice->expired = s->expired;
            notice->timeout_ms = s->timeout_ms;
            notice->grpc_status = -1;
            notice->next = c->finished;
            c->finished = notice;
            s->done = NULL;
        }
    }
    l->needs_flush = 1;
}

/// Writes the frames of links marked while walking the calls, and drops the links whose
/// writes failed (lock held; after the walk, so no call list changes under it). A flush can
/// mark another link (a call nghttp2 gave up on is requeued there), so it goes round again.
static void flush_marked(ch2_conn *c) {
    int again = 1;
    for (int round = 0; again && round < 4; round++) {
        again = 0;
        for (h2link *l = c->links; l; l = l->next) {
            if (!l->needs_flush) continue;
            l->needs_flush = 0;
            if (!l->dead && flush(c, l) != 0) l->failed = 1;
            again = 1;
        }
        for (h2link *l = c->links; l; l = l->next) {
            if (l->failed && !l->dead) drop_link(c, l, 0);
        }
    }
    if (again) wake_reader(c);  // links still marked: the reader's next round flushes them
}
static void deliver(stream *list);
static stream *take_finished(ch2_conn *c);
static void *connect_main(void *arg);

/// Starts connecting on a thread of its own unless a connect is running (lock held): the caller
/// may be one of Swift's few pool threads, and DNS or a slow connect can take seconds. Never
/// finishes a call itself (callers walk the list of calls).
static void start_connect(ch2_conn *c) {
    if (c->current || c->connecting || c->closing) return;
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    c->connecting = 1;
    c->refs++;
    if (pthread_create(&t, &attr, connect_main, c) != 0) {
        c->connecting = 0;
        c->refs--;
        // Failed by the reader, not here: the caller may be walking the list of calls.
        c->connect_unstartable = 1;
        wake_reader(c);
    }
    pthread_attr_destroy(&attr);
}

/// The connection new calls go to (lock held), or NULL: connect. A session nghttp2 is ending by
/// itself (it refuses new streams without a GOAWAY from the server, or a write failed) is
/// retired here as after a GOAWAY, so that calls do not go where they would be refused.
static h2link *usable_link(ch2_conn *c) {
    h2link *l = c->current;  // never dead nor gone away (both clear it)
    if (l && (l->failed || !nghttp2_session_check_request_allowed(l->session))) {
        l->goaway = 1;
        c->current = NULL;
        return NULL;
    }
    return l;
}

enum { MAX_TRANSPARENT_RETRIES = 3 };

/// gRPC's transparent retry (lock held): a call the server refused before its application saw
/// it (RST_STREAM REFUSED_STREAM, or above a GOAWAY's last stream id, which nghttp2 reports
/// the same way) or whose HEADERS nghttp2 would no longer start (the session is going away)
/// goes again, on the current connection if it still takes new streams or else a new one,
/// with the time it has left. 1 = requeued; 0 = the call ends as it is: cancelled, past its
/// deadline, anything of a response seen (headers, data, a status), or retried
/// MAX_TRANSPARENT_RETRIES times.
static int requeue(ch2_conn *c, stream *s) {
    if (s->cancelled || s->expired || !s->done || c->closing || s->retries >= MAX_TRANSPARENT_RETRIES ||
        s->grpc_status >= 0 || s->http_status != 0 || s->response.len > 0 || s->too_large) {
        return 0;
    }
    if (s->deadline_ms && ch2_now_ms() >= s->deadline_ms) {
        s->expired = 1;  // ends as DEADLINE_EXCEEDED rather than going out with 1 ms left
        return 0;
    }
    release_call(c, s->link);
    s->retries++;
    s->link = NULL;
    s->id = 0;
    s->request_sent = 0;
    s->reset_sent = 0;
    s->closed_error = 0;
    s->trailer_bytes.len = 0;
    s->trailer_count = 0;
    free(s->grpc_message);
    s->grpc_message = NULL;
    s->grpc_message_len = 0;
    h2link *l = usable_link(c);
    if (l) {
        submit(c, l, s);  // may finish the call (INTERNAL) or leave it waiting (ids used up)
        l->needs_flush = 1;
    }
    start_connect(c);  // when the call still waits for a connection
    return 1;
}

/// Asks the HTTP proxy on `fd` for a tunnel to the target (CONNECT), by `deadline_ms`; 0 when
/// it answered 2xx, -1 with *error set. Reads its answer byte by byte: nothing after it is ours.
static int open_tunnel(ch2_conn *c, int fd, int64_t deadline_ms, char **error) {
    char request[1024];
    int n = snprintf(request, sizeof request, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s%s%s\r\n", c->authority,
                     c->authority, c->proxy_authorization ? "Proxy-Authorization: " : "",
                     c->proxy_authorization ? c->proxy_authorization : "", c->proxy_authorization ? "\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof request) {
        *error = ch2_message("the proxy request for %s is too long", c->authority);
        return -1;
    }
    char answer[4096];
    size_t sent = 0, got = 0;
    while (got < 4 || memcmp(answer + got - 4, "\r\n\r\n", 4) != 0) {
        struct pollfd pf = {fd, sent < (size_t)n ? POLLOUT : POLLIN, 0};
        if (ch2_now_ms() >= deadline_ms || poll(&pf, 1, ch2_ms_left(deadline_ms)) == 0) {
            *error = ch2_message("the HTTP proxy %s:%s did not open a tunnel to %s in time", c->proxy_host, c->proxy_port,
                                 c->authority);
            return -1;
        }
        ssize_t r = sent < (size_t)n ? send(fd, request + sent, (size_t)n - sent, MSG_NOSIGNAL | MSG_DONTWAIT)
                                     : recv(fd, answer + got, 1, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
        if (r <= 0 || got == sizeof answer - 1) {
            *error = ch2_message("the HTTP proxy %s:%s closed the connection instead of opening a tunnel to %s",
                                 c->proxy_host, c->proxy_port, c->authority);
            return -1;
        }
        if (sent < (size_t)n) sent += (size_t)r; else got += (size_t)r;
    }
    answer[got] = 0;
    char *line_end = strstr(answer, "\r\n");
    if (line_end) *line_end = 0;
    if (strncmp(answer, "HTTP/1.", 7) != 0 || strlen(answer) < 12 || answer[9] != '2') {
        *error = ch2_message("the HTTP proxy %s:%s refused a tunnel to %s: %s (check the proxy settings: grpc_proxy, "
                             "https_proxy, http_proxy, no_proxy)",
                             c->proxy_host, c->proxy_port, c->authority, answer);
        return -1;
    }
    return 0;
}

/// Resolves and connects off the callers' threads (DNS and a slow connect may take seconds),
/// then sends the calls that waited, or fails them with UNAVAILABLE and the reason.
static void *connect_main(void *arg) {
    ch2_conn *c = arg;
#if defined(__linux__)
    pthread_setname_np(pthread_self(), "h2-connect");
#endif
    char *error = NULL;
    // Host, port, proxy, timeout and TLS never change: no lock needed. The connect, the proxy's
    // tunnel and the TLS handshake share one connect timeout.
    int64_t deadline = ch2_now_ms() + c->connect_timeout_ms;
    int fd = c->proxy_host ? open_socket(c, c->proxy_host, c->proxy_port, deadline, &error)
                           : open_socket(c, c->host, c->port, deadline, &error);
    if (fd >= 0 && c->proxy_host && open_tunnel(c, fd, deadline, &error) != 0) {
        close(fd);
        fd = -1;
    }
    SSL *tls = NULL;
    if (fd >= 0 && c->tls && !(tls = ch2_tls_handshake(c->tls, fd, deadline, c->authority, &error))) {
        close(fd);
        fd = -1;
    }
    pthread_mutex_lock(&c->lock);
    c->connecting = 0;
    if (c->closing) {
        SSL_free(tls);
        if (fd >= 0) close(fd);
    } else if (fd < 0) {
        fail_waiting(c, CH2_UNAVAILABLE, error);
    } else {
        h2link *l = install_link(c, fd, tls, &error);
        if (!l) {
            fail_waiting(c, CH2_UNAVAILABLE, error);
        } else {
            // Oldest first (the list is newest first): under a stream limit the oldest go out first.
            stream *tail = c->open;
            while (tail && tail->next) tail = tail->next;
            for (stream *s = tail; s;) {
                stream *prev = s->prev;
                if (!s->link) submit(c, l, s);
                s = prev;
            }
            if (flush(c, l) != 0) drop_link(c, l, 0);
            flush_marked(c);  // calls requeued while flushing (see requeue)
        }
    }
    // While closing, ch2_conn_destroy delivers what finished, before it returns.
    stream *done = c->closing ? NULL : take_finished(c);
    pthread_mutex_unlock(&c->lock);
    deliver(done);
    free(error);
    release(c);
    return NULL;
}

// ---- completions ----

static void deliver(stream *list) {
    while (list) {
        stream *s = list;
        list = s->next;
        ch2_result r = {0};
        ch2_header trailers[32];
        for (size_t i = 0; i < s->trailer_count; i++) {
            size_t *span = s->trailer_spans[i];
            trailers[i].key = (const char *)s->trailer_bytes.data + span[0];
            trailers[i].key_len = span[1] - span[0];
            trailers[i].value = (const char *)s->trailer_bytes.data + span[2];
            trailers[i].value_len = span[3] - span[2];
        }
        r.trailers = trailers;
        r.trailer_count = s->trailer_count;
        r.details = s->grpc_message;
        r.details_len = s->grpc_message_len;
        char reason[320];
        reason[0] = 0;
        // The server's final status, once received, is the call's: a cancel or deadline that
        // comes while the rest of the request is reset away (the reset waits behind what the
        // socket has not taken yet) does not replace it.
        int settled = s->grpc_status >= 0 && s->ended_by_headers;
        if (s->cancelled && !settled) {
            r.status = CH2_CANCELLED;
            snprintf(reason, sizeof reason, "the call was cancelled");
        } else if (s->failed_status) {
            r.status = s->failed_status;
        } else if (s->expired && !settled) {
            r.status = CH2_DEADLINE_EXCEEDED;
            snprintf(reason, sizeof reason, "no response within the deadline of %lld ms", (long long)s->timeout_ms);
        } else if (s->too_large) {
            r.status = CH2_RESOURCE_EXHAUSTED;
            snprintf(reason, sizeof reason, "the response is larger than the limit of %lld bytes", (long long)s->receive_limit);
        } else if (s->grpc_status >= 0) {
            r.status = s->grpc_status;
            if (r.status == CH2_OK) {
                const uint8_t *p = s->response.data;
                size_t len = s->response.len;
                uint32_t mlen = len >= 5 ? (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4] : 0;
                if (len == 0) {
                    r.has_message = 0;
                } else if (len < 5 || p[0] != 0 || (size_t)mlen + 5 != len) {
                    r.status = CH2_INTERNAL;
                    snprintf(reason, sizeof reason,
                             "malformed gRPC response: %zu bytes, compressed flag %d, length %u", len,
                             len ? p[0] : -1, mlen);
                } else {
                    r.message = p + 5;
                    r.message_len = mlen;
                    r.has_message = 1;
                }
            }
        } else if (s->lost || s->closed_error == NGHTTP2_REFUSED_STREAM) {
            r.status = CH2_UNAVAILABLE;
            snprintf(reason, sizeof reason, "%s%s",
                     s->lost ? "the connection to the server was lost before the response"
                     : s->http_status ? "the server reset the call (REFUSED_STREAM) after its response headers"
                                      : "the server refused the call before processing it",
                     s->lost ? s->lost_note : "");
        } else if (s->http_status != 0 && s->http_status != 200) {
            // How gRPC maps an HTTP status without a gRPC one (a proxy answered).
            switch (s->http_status) {
            case 400: r.status = CH2_INTERNAL; break;
            case 401: r.status = 16; break;  // UNAUTHENTICATED
            case 403: r.status = 7; break;  // PERMISSION_DENIED
            case 404: r.status = 12; break;  // UNIMPLEMENTED
            case 429: case 502: case 503: case 504: r.status = CH2_UNAVAILABLE; break;
            default: r.status = CH2_UNKNOWN;
            }
            snprintf(reason, sizeof reason, "HTTP status %d without a gRPC status (a proxy in the way?)", s->http_status);
        } else if (s->closed_error == 0 && (s->ended_by_headers || s->ended_by_data)) {
            // Trailers without grpc-status, or none (the stream ended by DATA): UNKNOWN, as gRPC
            // core reads them ("No status received"); a reset is not what happened.
            r.status = CH2_UNKNOWN;
            snprintf(reason, sizeof reason,
                     "the server ended the call without a gRPC status (HTTP status %d%s; a proxy in the way, or not a gRPC server?)",
                     s->http_status, s->ended_by_headers ? "" : ", no trailers");
        } else {
            // RST_STREAM codes as the gRPC spec maps them (NO_ERROR and the rest: INTERNAL).
            r.status = s->closed_error == NGHTTP2_CANCEL ? CH2_CANCELLED
                       : s->closed_error == NGHTTP2_ENHANCE_YOUR_CALM ? CH2_RESOURCE_EXHAUSTED
                       : s->closed_error == NGHTTP2_INADEQUATE_SECURITY ? 7  // PERMISSION_DENIED
                       : CH2_INTERNAL;
            snprintf(reason, sizeof reason, "the server reset the call without a gRPC status (HTTP/2 error %d)%s",
                     s->closed_error,
                     s->closed_error == NGHTTP2_INTERNAL_ERROR && (s->http_status == 200 || s->http_status == 0)
                         ? "; a server resets so a failure whose message is too long for the 64 KiB of trailers this "
                           "transport accepts: the gRPC core transport (TEMPORAL_TRANSPORT=grpc) shows it"
                         : "");
        }
        if (reason[0]) {
            r.details = reason;
            r.details_len = strlen(reason);
        }
        if (s->done) s->done(s->user_data, &r);  // NULL: completed earlier (see end_call)
        free(s->nv);
        free(s->request);
        free(s->response.data);
        free(s->trailer_bytes.data);
        free(s->grpc_message);
        free(s);
    }
}

static stream *take_finished(ch2_conn *c) {
    stream *f = c->finished;
    c->finished = NULL;
    return f;
}

#if defined(__linux__)
/// Arms the timer for `deadline` unless it is armed for an earlier one (lock held).
static void arm_timer(ch2_conn *c, int64_t deadline) {
    if (c->timer_armed_ms != 0 && c->timer_armed_ms <= deadline) return;
    struct itimerspec t = {{0, 0}, {deadline / 1000, (deadline % 1000) * 1000000}};
    if (timerfd_settime(c->timer, TFD_TIMER_ABSTIME, &t, NULL) == 0) c->timer_armed_ms = deadline;
    else c->timer_broken = 1;
}
#endif

/// Resets calls past their deadline, pings idle links, drops links that do not answer a
/// ping and drained links without calls. Reader thread, lock held. On Linux the calls are only
/// scanned when the timer fired: it is always armed at or before the earliest deadline.
static void housekeeping(ch2_conn *c, int64_t now, int timer_fired) {
#if defined(__linux__)
    // The timer is armed at or before every call's deadline (arm_timer), so only its firing can
    // find a call past its deadline; without a working timer, every wake looks.
    if (timer_fired) c->timer_armed_ms = 0;
    if (timer_fired || c->timer_broken)
#endif
    {
        int64_t next_deadline = 0;
        for (stream *s = c->open; s;) {
            stream *next = s->next;
            if (s->deadline_ms && !s->expired && s->deadline_ms <= now) {
                s->expired = 1;
                end_call(c, s);
            } else if (s->deadline_ms && !s->expired && (next_deadline == 0 || s->deadline_ms < next_deadline)) {
                next_deadline = s->deadline_ms;
            }
            s = next;
        }
#if defined(__linux__)
        if (next_deadline) arm_timer(c, next_deadline);
#endif
    }
    if (c->connect_unstartable) {
        c->connect_unstartable = 0;
        fail_waiting(c, CH2_UNAVAILABLE, "cannot start a thread to connect");
    }
    for (h2link *l = c->links; l; l = l->next) {
        if (l->dead) continue;
        if (l != c->current && l->open_calls == 0) {
            drop_link(c, l, 0);  // drained after a GOAWAY
        } else if (c->keepalive_time_ms > 0) {
            if (l->ping_sent_ms && now - l->ping_sent_ms >= c->keepalive_timeout_ms) {
                drop_link(c, l, 0);
            } else if (!l->ping_sent_ms && now - l->last_activity_ms >= c->keepalive_time_ms) {
                nghttp2_submit_ping(l->session, NGHTTP2_FLAG_NONE, NULL);
                l->ping_sent_ms = now;
                l->needs_flush = 1;
            }
        }
    }
    flush_marked(c);  // resets of expired calls, pings, calls requeued meanwhile
}

static void *reader_main(void *arg) {
    ch2_conn *c = arg;
#if defined(__linux__)
    pthread_setname_np(pthread_self(), "h2-reader");
#endif
    uint8_t *in = c->in;
    size_t capacity = 0;
    struct pollfd *fds = NULL;
    h2link **polled = NULL;
    pthread_mutex_lock(&c->lock);
    while (!c->closing) {
        reap(c);
        size_t links = 0;
        for (h2link *l = c->links; l; l = l->next) links++;
        if (links + 2 > capacity) {
            capacity = links + 8;
            fds = realloc(fds, capacity * sizeof *fds);
            polled = realloc(polled, capacity * sizeof *polled);
            if (!fds || !polled) abort();
        }
        int n = 0;
        fds[n++] = (struct pollfd){c->wake[0], POLLIN, 0};
#if defined(__linux__)
        fds[n++] = (struct pollfd){c->timer, POLLIN, 0};
#endif
        int first_link = n;
        int64_t now = ch2_now_ms(), wake_at = INT64_MAX;
        int tls_pending = 0;  // TLS holds bytes already taken from a socket: do not wait
        for (h2link *l = c->links; l; l = l->next) {
            polled[n] = l;
            // A TLS read that must write first waits for the socket to take bytes: POLLIN alone
            // (data waiting) would read again at once, to be refused again, spinning.
            short events = l->tls_read_wants_write ? POLLOUT : POLLIN | (l->out_sent < l->out.len ? POLLOUT : 0);
            fds[n++] = (struct pollfd){l->fd, events, 0};
            if (l->tls_more && !l->dead) tls_pending = 1;
            if (c->keepalive_time_ms > 0) {
                int64_t at = l->ping_sent_ms ? l->ping_sent_ms + c->keepalive_timeout_ms
                                             : l->last_activity_ms + c->keepalive_time_ms;
                if (at < wake_at) wake_at = at;
            }
        }
        // Deadlines wake the poll where no timer does: off Linux, and on Linux once arming the
        // timer failed (nothing else would wake the reader at a deadline).
#if defined(__linux__)
        if (c->timer_broken)
#endif
            for (stream *s = c->open; s; s = s->next)
                if (s->deadline_ms && !s->expired && s->deadline_ms < wake_at) wake_at = s->deadline_ms;
        int timeout = wake_at == INT64_MAX ? -1 : wake_at <= now ? 0 : (int)(wake_at - now > 3600000 ? 3600000 : wake_at - now);
        if (tls_pending) timeout = 0;
        pthread_mutex_unlock(&c->lock);
        poll(fds, (nfds_t)n, timeout);
        pthread_mutex_lock(&c->lock);
        if (c->closing) break;
        if (fds[0].revents) {
            char drain[64];
            while (read(c->wake[0], drain, sizeof drain) == (ssize_t)sizeof drain) {}
        }
#if defined(__linux__)
        if (fds[1].revents) {
            uint64_t expirations;
            ssize_t r = read(c->timer, &expirations, sizeof expirations);
            (void)r;
        }
#endif
        now = ch2_now_ms();
        for (int i = first_link; i < n; i++) {
            h2link *l = polled[i];
            if (l->dead) continue;
            if (l->tls_more) fds[i].revents |= POLLIN;
            // The socket took bytes again: the read that had to write first can go on.
            if (l->tls_read_wants_write && (fds[i].revents & (POLLOUT | POLLERR | POLLHUP))) {
                l->tls_read_wants_write = 0;
                fds[i].revents |= POLLIN;
            }
            if (!fds[i].revents) continue;
            if (fds[i].revents & POLLOUT) {
                // Drained: take the frames the backlog cap left inside nghttp2 (flush loops).
                int w = write_pending(l);
                if (w < 0 || (w == 0 && nghttp2_session_want_write(l->session) && flush(c, l) != 0)) {
                    drop_link(c, l, 0);
                    continue;
                }
            }
            if (!(fds[i].revents & (POLLIN | POLLERR | POLLHUP))) continue;
            // Over TLS, read while TLS holds bytes it has taken from the socket (they would not
            // wake the poll; what is still in the socket does), a few rounds at a time so that
            // callers waiting for the lock get their turn (the next poll does not wait then).
            int rounds = 0;
            l->tls_more = 0;
            do {
                ssize_t got = link_recv(l, in, 65536);
                // EAGAIN over TLS: what it holds (if anything) is a partial record; the socket
                // wakes the poll when the rest arrives. Unless the read wanted to write (a TLS 1.3
                // key update answered into a full socket): then read again once the socket can
                // take bytes (reading again at once spun the reader while it stayed full).
                if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
                    if (l->tls && SSL_want_write(l->tls)) l->tls_read_wants_write = 1;
                    break;
                }
                if (got <= 0 || nghttp2_session_mem_recv(l->session, in, (size_t)got) < 0 || flush(c, l) != 0 ||
                    (!nghttp2_session_want_read(l->session) && !nghttp2_session_want_write(l->session))) {
                    drop_link(c, l, 0);
                    break;
                }
                l->last_activity_ms = now;
                if (++rounds >= 16) {
                    l->tls_more = l->tls && !l->dead && SSL_has_pending(l->tls);
                    break;
                }
            } while (l->tls && !l->dead && SSL_has_pending(l->tls));
        }
        int timer_fired = 0;
#if defined(__linux__)
        timer_fired = fds[1].revents != 0;
#endif
        housekeeping(c, now, timer_fired);
        stream *done = take_finished(c);
        if (done) {
            pthread_mutex_unlock(&c->lock);
            deliver(done);
            pthread_mutex_lock(&c->lock);
        }
    }
    pthread_mutex_unlock(&c->lock);
    free(fds);
    free(polled);
    return NULL;
}

// ---- public API ----

int ch2_tls_check(const char *roots, const char *cert_chain, const char *private_key, char **error) {
    if (!roots && !cert_chain && !private_key) return 0;  // nothing given to check (no system bundle parsed)
    ch2_tls *tls = ch2_tls_create(roots, cert_chain, private_key, "localhost", error);
    if (!tls) return -1;
    ch2_tls_free(tls);
    return 0;
}

ch2_conn *ch2_conn_create(const char *host, const char *port, const ch2_options *o, char **error) {
    ch2_tls *tls = NULL;
    if (o && o->use_tls) {
        const char *name = o->server_name_override ? o->server_name_override : host;
        tls = ch2_tls_create(o->pem_root_certs, o->pem_cert_chain, o->pem_private_key, name, error);
        if (!tls) return NULL;
    }
    ch2_conn *c = calloc(1, sizeof *c);
    if (!c) {
        ch2_tls_free(tls);
        *error = ch2_message("out of memory");
        return NULL;
    }
    c->tls = tls;
    // Close-on-exec: processes activities spawn do not inherit the wake pipe.
#if defined(__linux__)
    int piped = pipe2(c->wake, O_CLOEXEC | O_NONBLOCK);
#else
    int piped = pipe(c->wake);
#endif
    if (piped != 0) {
        *error = ch2_message("cannot create a pipe: %s", strerror(errno));
        ch2_tls_free(tls);
        free(c);
        return NULL;
    }
#if !defined(__linux__)
    for (int i = 0; i < 2; i++) {
        fcntl(c->wake[i], F_SETFD, FD_CLOEXEC);
        fcntl(c->wake[i], F_SETFL, O_NONBLOCK);
    }
#endif
#if defined(__linux__)
    c->timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (c->timer < 0) {
        *error = ch2_message("cannot create a timer: %s", strerror(errno));
        close(c->wake[0]);
        close(c->wake[1]);
        ch2_tls_free(tls);
        free(c);
        return NULL;
    }
#endif
    pthread_mutex_init(&c->lock, NULL);
    c->host = strdup(host);
    c->port = strdup(port);
    size_t alen = strlen(host) + strlen(port) + 4;
    c->authority = malloc(alen);
    if (c->authority) snprintf(c->authority, alen, strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
    const char *requested = tls && o->server_name_override && *o->server_name_override ? o->server_name_override : c->authority;
    c->request_authority = requested ? strdup(requested) : NULL;
    c->user_agent = strdup(o && o->user_agent ? o->user_agent : "ch2");
    c->in = malloc(65536);
    if (o && o->proxy_host && o->proxy_port) {
        c->proxy_host = strdup(o->proxy_host);
        c->proxy_port = strdup(o->proxy_port);
        c->proxy_authorization = o->proxy_authorization ? strdup(o->proxy_authorization) : NULL;
    }
    c->keepalive_time_ms = o && o->keepalive_time_ms ? o->keepalive_time_ms : 30000;
    c->keepalive_timeout_ms = o && o->keepalive_timeout_ms > 0 ? o->keepalive_timeout_ms : 15000;
    c->connect_timeout_ms = o && o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 20000;
    c->max_receive = o && o->max_receive_message_bytes > 0 ? o->max_receive_message_bytes : 4 << 20;
    c->max_send = o && o->max_send_message_bytes > 0 ? o->max_send_message_bytes : 4 << 20;
    c->refs = 1;
    int proxy_lost = o && o->proxy_host && o->proxy_port &&
        (!c->proxy_host || !c->proxy_port || (o->proxy_authorization && !c->proxy_authorization));
    if (!c->host || !c->port || !c->authority || !c->request_authority || !c->user_agent || !c->in || proxy_lost) {
        // A NULL authority went to snprintf and the request headers; without the buffer every
        // read failed (EFAULT) and dropped its link: every call UNAVAILABLE, for good.
        *error = ch2_message("out of memory");
        release(c);  // the only reference: frees everything made above
        return NULL;
    }
    if (pthread_create(&c->reader, NULL, reader_main, c) != 0) {
        *error = ch2_message("cannot start the reader thread: %s", strerror(errno));
        release(c);  // the only reference: frees everything made above
        return NULL;
    }
    return c;
}

static void release(ch2_conn *c) {
    pthread_mutex_lock(&c->lock);
    int last = --c->refs == 0;
    pthread_mutex_unlock(&c->lock);
    if (!last) return;
    close(c->wake[0]);
    close(c->wake[1]);
#if defined(__linux__)
    close(c->timer);
#endif
    free(c->host); free(c->port); free(c->authority); free(c->request_authority); free(c->user_agent);
    free(c->proxy_host); free(c->proxy_port); free(c->proxy_authorization); free(c->in);
    ch2_tls_free(c->tls);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void ch2_conn_destroy(ch2_conn *c) {
    pthread_mutex_lock(&c->lock);
    c->closing = 1;
    for (h2link *l = c->links; l; l = l->next) drop_link(c, l, 1);
    fail_waiting(c, CH2_CANCELLED, "the connection was closed while the call waited for it");
    wake_reader(c);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->reader, NULL);
    pthread_mutex_lock(&c->lock);
    reap(c);
    stream *done = take_finished(c);
    pthread_mutex_unlock(&c->lock);
    deliver(done);
    release(c);  // a connect thread still running frees the rest when it ends
}

long ch2_connections_opened(ch2_conn *c) {
    pthread_mutex_lock(&c->lock);
    long n = c->opened;
    pthread_mutex_unlock(&c->lock);
    return n;
}

/// Copies the request's headers into one block the call owns (it may wait for a connection).
static int build_headers(ch2_conn *c, stream *s, const char *path, const ch2_header *headers, size_t header_count,
                         int64_t timeout_ms) {
    int timeout_len = timeout_ms > 0 ? 24 : 0;  // room for any grpc-timeout (see format_timeout)
    const char *fixed[][2] = {
        {":method", "POST"}, {":scheme", c->tls ? "https" : "http"}, {":path", path}, {":authority", c->request_authority},
        {"content-type", "application/grpc"}, {"te", "trailers"}, {"user-agent", c->user_agent},
    };
    size_t nfixed = sizeof fixed / sizeof fixed[0];
    size_t bytes = (size_t)timeout_len;
    for (size_t i = 0; i < nfixed; i++) bytes += strlen(fixed[i][1]);
    for (size_t i = 0; i < header_count; i++) bytes += headers[i].key_len + headers[i].value_len * 4 / 3 + 4;
    size_t count = nfixed + (timeout_len ? 1 : 0) + header_count;
    s->nv = malloc(count * sizeof(nghttp2_nv) + bytes);
    if (!s->nv) return -1;
    uint8_t *p = (uint8_t *)(s->nv + count);
    size_t n = 0;
    for (size_t i = 0; i < nfixed; i++) {
        size_t len = strlen(fixed[i][1]);
        memcpy(p, fixed[i][1], len);
        s->nv[n++] = (nghttp2_nv){(uint8_t *)fixed[i][0], p, strlen(fixed[i][0]), len, NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE};
        p += len;
    }
    if (timeout_len) {
        size_t len;
        format_timeout((char *)p, timeout_ms, &len);
        s->timeout_value = (char *)p;
        s->timeout_index = n;
        s->nv[n++] = (nghttp2_nv){(uint8_t *)"grpc-timeout", p, 12, len, NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE};
        p += timeout_len;
    }
    for (size_t i = 0; i < header_count; i++) {
        const ch2_header *h = &headers[i];
        uint8_t *key = p;
        memcpy(p, h->key, h->key_len);
        p += h->key_len;
        size_t vlen;
        if (h->key_len > 4 && memcmp(h->key + h->key_len - 4, "-bin", 4) == 0) {
            vlen = b64_encode((const uint8_t *)h->value, h->value_len, (char *)p);
        } else {
            memcpy(p, h->value, h->value_len);
            vlen = h->value_len;
        }
        s->nv[n++] = (nghttp2_nv){key, p, h->key_len, vlen, NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE};
        p += vlen;
    }
    s->nv_count = n;
    return 0;
}

int64_t ch2_unary_start(ch2_conn *c, const char *path, const ch2_header *headers, size_t header_count,
                        const uint8_t *request, size_t request_len, int64_t timeout_ms,
                        ch2_completion_fn done, void *user_data, int *status, char **error) {
    // gRPC's length prefix has 4 bytes: a larger message cannot be framed, whatever the limit.
    if ((int64_t)request_len > c->max_send || (uint64_t)request_len > UINT32_MAX) {
        *status = CH2_RESOURCE_EXHAUSTED;
        *error = ch2_message("the request of %zu bytes is larger than the limit for %s", request_len, path);
        return 0;
    }
    stream *s = calloc(1, sizeof *s);
    if (!s || !(s->request = malloc(request_len + 5)) || build_headers(c, s, path, headers, header_count, timeout_ms) != 0) {
        if (s) free(s->request);
        free(s);
        *status = CH2_RESOURCE_EXHAUSTED;
        *error = ch2_message("out of memory");
        return 0;
    }
    s->request[0] = 0;
    s->request[1] = (uint8_t)(request_len >> 24);
    s->request[2] = (uint8_t)(request_len >> 16);
    s->request[3] = (uint8_t)(request_len >> 8);
    s->request[4] = (uint8_t)request_len;
    if (request_len) memcpy(s->request + 5, request, request_len);
    s->request_len = request_len + 5;
    s->grpc_status = -1;
    s->done = done;
    s->user_data = user_data;
    s->timeout_ms = timeout_ms;

    int64_t id = 0;
    pthread_mutex_lock(&c->lock);
    if (c->closing) {
        *status = CH2_CANCELLED;
        *error = ch2_message("the connection is closed");
    } else {
        id = s->call_id = ++c->next_call_id;
        s->next = c->open;
        if (c->open) c->open->prev = s;
        c->open = s;
        if (timeout_ms > 0) {
            // At most ten years: later would overflow the clock's arithmetic and the timer.
            if (timeout_ms > 315360000000LL) timeout_ms = s->timeout_ms = 315360000000LL;
            s->deadline_ms = ch2_now_ms() + timeout_ms;
#if defined(__linux__)
            arm_timer(c, s->deadline_ms);
#else
            wake_reader(c);  // to poll with this deadline in view
#endif
        }
        h2link *l = usable_link(c);
        if (l) {
            submit(c, l, s);
            if (flush(c, l) != 0) {
                drop_link(c, l, 0);  // the call fails through its completion
                wake_reader(c);
            }
            flush_marked(c);  // calls requeued while flushing (see requeue)
        }
        start_connect(c);
    }
    stream *finished = take_finished(c);
    pthread_mutex_unlock(&c->lock);
    deliver(finished);
    if (id == 0) {
        free(s->nv);
        free(s->request);
        free(s);
    }
    return id;
}

void ch2_cancel(ch2_conn *c, int64_t call_id) {
    pthread_mutex_lock(&c->lock);
    stream *s = c->open;
    while (s && s->call_id != call_id) s = s->next;
    if (s && !s->cancelled && s->done) {
        s->cancelled = 1;
        h2link *l = s->link;
        end_call(c, s);
        if (l && l->needs_flush) {
            flush_marked(c);
            if (l->dead) wake_reader(c);  // to reap it
        }
    }
    stream *finished = take_finished(c);
    pthread_mutex_unlock(&c->lock);
    deliver(finished);
}

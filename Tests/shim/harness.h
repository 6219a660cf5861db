// What both C exercisers (leakcheck.c for the gRPC shim, leakcheck-h2.c for CHTTP2) share:
// counting completions across threads, the RPCs they call, and a port that never answers.
#ifndef LEAKCHECK_HARNESS_H
#define LEAKCHECK_HARNESS_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
    int last_status;
} waiter;

#define WAITER_INIT {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, -1}

/// Records one completion with its gRPC status.
static void waiter_done(waiter *w, int status) {
    pthread_mutex_lock(&w->lock);
    w->done++;
    w->last_status = status;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

/// Waits until `n` completions in all.
static void wait_for(waiter *w, int n) {
    pthread_mutex_lock(&w->lock);
    while (w->done < n) pthread_cond_wait(&w->cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
}

static const char *SYSINFO = "/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo";
static const char *POLL = "/temporal.api.workflowservice.v1.WorkflowService/PollActivityTaskQueue";
// PollActivityTaskQueueRequest{namespace:"default", task_queue:{name:"leakcheck"}}
static const uint8_t POLL_REQ[] = {0x0a, 7, 'd','e','f','a','u','l','t', 0x12, 11, 0x0a, 9, 'l','e','a','k','c','h','e','c','k'};

/// A loopback port that accepts TCP (through the backlog) but never speaks: *fd to close later.
static int silent_port(int *fd) {
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    bind(*fd, (struct sockaddr *)&sa, sizeof sa);
    listen(*fd, 4);
    getsockname(*fd, (struct sockaddr *)&sa, &len);
    return ntohs(sa.sin_port);
}

#endif

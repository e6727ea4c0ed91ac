/* 8 threads share one executor: every thread runs its own links and reads the
 * others' through batch calls; 8 threads routing the same uid at once all end
 * up on one pod; failures stay in the failing thread's last error. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "test_util.h"

enum { THREADS = 8, ITERATIONS = 150 };

static SrExecutor *exec;
static char ns[128];

struct worker {
    int id;
    int failures;
    int64_t routed;
    pthread_barrier_t *barrier;
};

#define WCHECK(w, cond)                                                               \
    do {                                                                              \
        if (!(cond)) {                                                                \
            (w)->failures++;                                                          \
            fprintf(stderr, "  thread %d: %s failed (%s)\n", (w)->id, #cond,          \
                    sr_last_error_message());                                         \
        }                                                                             \
    } while (0)

static void *work(void *arg) {
    struct worker *w = (struct worker *)arg;
    char uid[32], other[32];
    int i;
    for (i = 0; i < ITERATIONS; i++) {
        int64_t prev = 0, pod = -5;
        bool ok = false;
        snprintf(uid, sizeof uid, "t%d-u%d", w->id, i);
        WCHECK(w, sr_set_linked_pod(exec, ns, uid, "chat", w->id, -1, &prev) == SR_OK);
        WCHECK(w, prev == SR_NO_POD);
        WCHECK(w, sr_get_linked_pod(exec, ns, uid, "chat", &pod) == SR_OK && pod == w->id);
        WCHECK(w, sr_try_set_linked_pod(exec, ns, uid, "chat", w->id + 100, -1, &ok, &pod) ==
                      SR_OK &&
                  !ok && pod == w->id);
        /* an invalid call on this thread: its error stays here */
        WCHECK(w, sr_get_linked_pod(exec, ns, "", "chat", &pod) == SR_INVALID_ARGUMENT);
        WCHECK(w, strstr(sr_last_error_message(), "uid") != NULL);
        if (i % 10 == 0) {
            /* read what another thread wrote (or has not written yet) */
            const char *uids[2];
            SrPodGroups *groups = NULL;
            snprintf(other, sizeof other, "t%d-u%d", (w->id + 1) % THREADS, i);
            uids[0] = uid;
            uids[1] = other;
            WCHECK(w, sr_batch_get_linked_pod(exec, ns, uids, 2, "chat", &groups) == SR_OK);
            WCHECK(w, groups != NULL && groups->len >= 1);
            sr_pod_groups_free(groups);
        }
        if (i % 3 == 0) {
            bool existed = false;
            WCHECK(w, sr_remove_linked_pod(exec, ns, uid, "chat", -1, &existed) == SR_OK &&
                          existed);
        }
    }
    /* all threads route the same uid at the same moment */
    pthread_barrier_wait(w->barrier);
    WCHECK(w, sr_compute_linked_pod(exec, ns, "shared-uid", "game", -1, NULL, &w->routed) ==
                  SR_OK);
    return NULL;
}

static void test_eight_threads_share_one_executor(void) {
    pthread_t threads[THREADS];
    struct worker workers[THREADS];
    pthread_barrier_t barrier;
    SrServicePods *links = NULL;
    int i;
    int64_t stamp;
    snprintf(ns, sizeof ns, "%s", t_ns("threads"));
    for (i = 0; i < 4; i++) CHECK_OK(sr_set_pod_load(exec, ns, "game", i, 10 + i, 0, &stamp));
    pthread_barrier_init(&barrier, NULL, THREADS);
    for (i = 0; i < THREADS; i++) {
        workers[i].id = i;
        workers[i].failures = 0;
        workers[i].routed = -2;
        workers[i].barrier = &barrier;
        pthread_create(&threads[i], NULL, work, &workers[i]);
    }
    for (i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&barrier);
    for (i = 0; i < THREADS; i++) {
        CHECK_EQ_INT(workers[i].failures, 0);
        CHECK_EQ_INT(workers[i].routed, workers[0].routed); /* one pod for all */
    }
    CHECK_EQ_INT(workers[0].routed, 0); /* the least loaded */
    /* the main thread saw no failure */
    CHECK_EQ_INT(sr_last_error_status(), SR_OK);
    /* the links left: 2 of every 3 per thread */
    for (i = 0; i < THREADS; i++) {
        char uid[32];
        int64_t pod;
        snprintf(uid, sizeof uid, "t%d-u1", i);
        CHECK_OK(sr_get_linked_pod(exec, ns, uid, "chat", &pod));
        CHECK_EQ_INT(pod, i);
    }
    CHECK_OK(sr_get_link_service(exec, ns, "shared-uid", &links));
    CHECK(links != NULL && links->len == 1);
    sr_service_pods_free(links);
}

struct closer {
    int calls_ok, calls_closed, other;
};

static SrExecutor *closing;

static void *call_until_closed(void *arg) {
    struct closer *c = (struct closer *)arg;
    int i;
    for (i = 0; i < 2000; i++) {
        int64_t pod;
        SrStatus s = sr_get_linked_pod(closing, "t:close", "u1", "chat", &pod);
        if (s == SR_OK) c->calls_ok++;
        else if (s == SR_CLOSED) {
            c->calls_closed++;
            break;
        } else c->other++;
    }
    return NULL;
}

static void test_close_while_threads_call(void) {
    pthread_t threads[4];
    struct closer counts[4];
    int i;
    closing = t_executor("");
    memset(counts, 0, sizeof counts);
    for (i = 0; i < 4; i++) pthread_create(&threads[i], NULL, call_until_closed, &counts[i]);
    usleep(20 * 1000);
    CHECK_OK(sr_executor_close(closing));
    for (i = 0; i < 4; i++) pthread_join(threads[i], NULL);
    for (i = 0; i < 4; i++) {
        CHECK_EQ_INT(counts[i].other, 0);
        /* each thread either finished its calls or saw SR_CLOSED */
        CHECK(counts[i].calls_closed == 1 || counts[i].calls_ok == 2000);
    }
    sr_executor_free(closing);
}

int main(void) {
    exec = t_executor("");
    RUN(test_eight_threads_share_one_executor);
    RUN(test_close_while_threads_call);
    sr_executor_free(exec);
    return t_finish("threads");
}

/* The C ABI contender of benches/contenders.py: the PERFORMANCE.md mixed workload
 * through the shared library (sr_* calls of stateful_redis.h), N threads sharing one
 * executor, each with one call in flight (the C ABI is blocking, so N in flight
 * needs N threads; the core's runtime thread does the I/O for all of them).
 *
 * Usage: mixed_c <redis-url> [threads] [duration-s] [warmup-s] [thread-connections]
 * (the option thread_connections: round trips on the calling threads; 0, the
 * default, is off).
 * Prints one JSON line: ops, ops_per_s, p50_us, p99_us, errors.
 *
 * Mix (as cli/src/workload.rs): 40% get, 25% set, 15% set-if-absent, 10% remove,
 * 10% batch-get of 100 random uids; 10,000 uids x 4 services, 32 pods; half of the
 * writes persistent, half TTL 300; removes keep -1 or 60. The data set is the one
 * `stateful-redis bench` prepares (the driver writes it first). */
#define _POSIX_C_SOURCE 199309L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "stateful_redis.h"

#define NS "bench:region:logic"
#define UIDS 10000
#define PODS 32
#define BATCH 100

static const char *SERVICES[4] = {"svc0", "svc1", "svc2", "svc3"};
static char UID_NAMES[UIDS][8];
static SrExecutor *EXEC;

struct caller {
    int worker;
    double deadline;
    double *lat; /* microseconds */
    size_t len, cap;
    long errors;
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t next(uint64_t *s) { /* xorshift64 */
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void *caller_main(void *arg) {
    struct caller *c = arg;
    uint64_t rng = 0x5eedULL ^ ((uint64_t)c->worker * 0x9e3779b97f4a7c15ULL) ^ 1;
    const char *batch[BATCH];
    while (now_s() < c->deadline) {
        int pick = (int)(next(&rng) % 100), i;
        const char *uid = UID_NAMES[next(&rng) % UIDS];
        const char *svc = SERVICES[next(&rng) % 4];
        int64_t pod = (int64_t)(next(&rng) % PODS), out;
        int64_t persist = next(&rng) % 2 ? -1 : 300;
        enum SrStatus st;
        double started;
        bool existed;
        if (pick >= 90)
            for (i = 0; i < BATCH; i++) batch[i] = UID_NAMES[next(&rng) % UIDS];
        started = now_s();
        if (pick < 40) {
            st = sr_get_linked_pod(EXEC, NS, uid, svc, &out);
        } else if (pick < 65) {
            st = sr_set_linked_pod(EXEC, NS, uid, svc, pod, persist, &out);
        } else if (pick < 80) {
            st = sr_set_linked_pod_if_absent(EXEC, NS, uid, svc, pod, persist, &out);
        } else if (pick < 90) {
            st = sr_remove_linked_pod(EXEC, NS, uid, svc, next(&rng) % 2 ? -1 : 60, &existed);
        } else {
            SrPodGroups *groups = NULL;
            st = sr_batch_get_linked_pod(EXEC, NS, batch, BATCH, svc, &groups);
            if (st == SR_OK) sr_pod_groups_free(groups);
        }
        if (c->len == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 65536;
            c->lat = realloc(c->lat, c->cap * sizeof *c->lat);
            if (!c->lat) abort();
        }
        c->lat[c->len++] = (now_s() - started) * 1e6;
        if (st != SR_OK) c->errors++;
    }
    return NULL;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Runs `threads` callers for `seconds`; fills the merged latencies. */
static double run(int threads, double seconds, double **lat, size_t *len, long *errors) {
    struct caller *cs = calloc((size_t)threads, sizeof *cs);
    pthread_t *ts = calloc((size_t)threads, sizeof *ts);
    double started = now_s();
    int t;
    *len = 0;
    *errors = 0;
    for (t = 0; t < threads; t++) {
        cs[t].worker = t;
        cs[t].deadline = started + seconds;
        pthread_create(&ts[t], NULL, caller_main, &cs[t]);
    }
    for (t = 0; t < threads; t++) pthread_join(ts[t], NULL);
    double elapsed = now_s() - started;
    for (t = 0; t < threads; t++) *len += cs[t].len;
    *lat = malloc((*len + 1) * sizeof **lat);
    *len = 0;
    for (t = 0; t < threads; t++) {
        for (size_t i = 0; i < cs[t].len; i++) (*lat)[(*len)++] = cs[t].lat[i];
        *errors += cs[t].errors;
        free(cs[t].lat);
    }
    free(cs);
    free(ts);
    return elapsed;
}

int main(int argc, char **argv) {
    char config[512];
    int threads = argc > 2 ? atoi(argv[2]) : 1, i;
    double duration = argc > 3 ? atof(argv[3]) : 5, warmup = argc > 4 ? atof(argv[4]) : 1;
    double *lat, elapsed;
    size_t len;
    long errors;
    int thread_connections = argc > 5 ? atoi(argv[5]) : 0;
    if (argc < 2 || threads < 1 || thread_connections < 0) {
        fprintf(stderr,
                "usage: mixed_c <redis-url> [threads] [duration-s] [warmup-s] [thread-connections]\n");
        return 2;
    }
    for (i = 0; i < UIDS; i++) snprintf(UID_NAMES[i], sizeof UID_NAMES[i], "u%d", i);
    snprintf(config, sizeof config, "{\"url\": \"%s\", \"thread_connections\": %d}", argv[1],
             thread_connections);
    if (sr_executor_new(config, &EXEC) != SR_OK) {
        fprintf(stderr, "mixed_c: %s\n", sr_last_error_message());
        return 1;
    }
    if (warmup > 0) {
        run(threads, warmup, &lat, &len, &errors);
        free(lat);
    }
    elapsed = run(threads, duration, &lat, &len, &errors);
    qsort(lat, len, sizeof *lat, cmp);
    printf("{\"impl\":\"c-abi\",\"concurrency\":%d,\"duration_s\":%.3f,\"ops\":%zu,\"errors\":%ld,"
           "\"ops_per_s\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f}\n",
           threads, elapsed, len, errors, (double)len / elapsed, len ? lat[len / 2] : 0.0,
           len ? lat[(size_t)(0.99 * (double)len)] : 0.0);
    free(lat);
    sr_executor_free(EXEC);
    return 0;
}

/* The C half of benches/c_abi_overhead.sh: sr_get_linked_pod called from C
 * through the shared library, the same calls the Rust half times.
 *
 * Usage: abi_overhead_c <redis-url> [calls-per-round] [rounds]
 * Prints one JSON object per round and a summary with the median. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "stateful_redis.h"

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    char config[256];
    SrExecutor *exec;
    int64_t pod, prev;
    long calls = argc > 2 ? atol(argv[2]) : 20000, i;
    int rounds = argc > 3 ? atoi(argv[3]) : 5, r;
    double io[64], noio[64];
    if (argc < 2 || rounds < 1 || rounds > 64) {
        fprintf(stderr, "usage: abi_overhead_c <redis-url> [calls] [rounds<=64]\n");
        return 2;
    }
    snprintf(config, sizeof config, "{\"url\": \"%s\"}", argv[1]);
    if (sr_executor_new(config, &exec) != SR_OK) {
        fprintf(stderr, "%s\n", sr_last_error_message());
        return 1;
    }
    if (sr_set_linked_pod(exec, "bench:eu:logic", "u1", "chat", 7, -1, &prev) != SR_OK) return 1;
    for (i = 0; i < calls / 4; i++)
        if (sr_get_linked_pod(exec, "bench:eu:logic", "u1", "chat", &pod) != SR_OK || pod != 7)
            return 1;
    for (r = 0; r < rounds; r++) {
        double start = now_ns();
        for (i = 0; i < calls; i++)
            if (sr_get_linked_pod(exec, "bench:eu:logic", "u1", "chat", &pod) != SR_OK) return 1;
        io[r] = (now_ns() - start) / (double)calls;
        start = now_ns();
        for (i = 0; i < calls * 20; i++)
            if (sr_get_linked_pod(exec, "bench:eu:logic", "", "chat", &pod) !=
                SR_INVALID_ARGUMENT)
                return 1;
        noio[r] = (now_ns() - start) / (double)(calls * 20);
        printf("{\"round\":%d,\"calls\":%ld,\"c_from_c_ns\":%.0f,\"c_from_c_no_io_ns\":%.1f}\n",
               r, calls, io[r], noio[r]);
    }
    qsort(io, (size_t)rounds, sizeof io[0], cmp);
    qsort(noio, (size_t)rounds, sizeof noio[0], cmp);
    printf("{\"summary\":true,\"rounds\":%d,\"c_from_c_median_ns\":%.0f,"
           "\"c_from_c_no_io_median_ns\":%.1f}\n",
           rounds, io[rounds / 2], noio[rounds / 2]);
    sr_executor_free(exec);
    return 0;
}

/* A C service routing users to pods through stateful-redis.
 *
 * Build against an installed prefix (see README.md beside this file):
 *   cc main.c $(pkg-config --cflags --libs stateful_redis) -o route
 *   ./route redis://127.0.0.1:6379
 */
#include <stdio.h>
#include <stdlib.h>

#include <stateful_redis.h>

/* Prints the last error of this thread and returns 1. */
static int fail(const char *what, SrStatus status) {
    fprintf(stderr, "%s failed: %s: %s%s\n", what, sr_status_name(status),
            sr_last_error_message(), sr_last_error_retryable() ? " (retryable)" : "");
    return 1;
}

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : getenv("STATEFUL_REDIS_URL");
    const char *ns = "example:eu:logic";
    char config[512];
    SrExecutor *exec = NULL;
    SrStatus status;
    int64_t stamp, previous, pod;
    const char *uids[] = {"alice", "bob", "carol"};
    SrPodGroups *groups = NULL;
    size_t i, j;

    if (sr_abi_version() != SR_ABI_VERSION) {
        fprintf(stderr, "libstateful_redis has ABI %u, this program was built for %d\n",
                sr_abi_version(), SR_ABI_VERSION);
        return 1;
    }
    printf("stateful-redis %s (ABI %u)\n", sr_version(), sr_abi_version());

    /* The options of every binding, as JSON. */
    snprintf(config, sizeof config, "{\"url\": \"%s\", \"command_timeout_ms\": 500}",
             url ? url : "redis://127.0.0.1:6379");
    if ((status = sr_executor_new(config, &exec)) != SR_OK) return fail("connect", status);

    /* Pods report their load; the router links each user to the least loaded. */
    for (pod = 0; pod < 3; pod++) {
        status = sr_set_pod_load(exec, ns, "game", pod, 100 - 30 * pod, 0, &stamp);
        if (status != SR_OK) return fail("set_pod_load", status);
    }
    for (i = 0; i < 3; i++) {
        status = sr_compute_linked_pod(exec, ns, uids[i], "game", 300, NULL, &pod);
        if (status != SR_OK) return fail("compute_linked_pod", status);
        printf("%s -> pod %lld\n", uids[i], (long long)pod);
    }
    /* A sticky, persistent link for carol. */
    status = sr_set_linked_pod(exec, ns, "carol", "game", 0, -1, &previous);
    if (status != SR_OK) return fail("set_linked_pod", status);
    printf("carol moved from pod %lld to pod 0\n", (long long)previous);

    status = sr_batch_get_linked_pod(exec, ns, uids, 3, "game", &groups);
    if (status != SR_OK) return fail("batch_get_linked_pod", status);
    for (i = 0; i < groups->len; i++) {
        printf("pod %lld:", (long long)groups->items[i].pod);
        for (j = 0; j < groups->items[i].uids_len; j++) printf(" %s", groups->items[i].uids[j]);
        printf("\n");
    }
    sr_pod_groups_free(groups); /* one free for the list and every string in it */

    /* Bad input is refused before anything is sent. */
    status = sr_set_linked_pod(exec, ns, "dave", "game", -3, -1, &previous);
    printf("a negative pod: %s: %s\n", sr_status_name(status), sr_last_error_message());

    sr_executor_free(exec);
    return 0;
}

/* Every operation of SPEC section 3 through the C ABI, checked against the
 * results and against the keys in Redis. */
#include <stdlib.h>
#include <sys/time.h>
#include <unistd.h>

#include "test_util.h"

static SrExecutor *exec;
static redisContext *redis;
static char ns[128];

static void new_ns(const char *tag) { snprintf(ns, sizeof ns, "%s", t_ns(tag)); }

static long long now_ms(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void test_version(void) {
    CHECK_EQ_STR(sr_version(), SR_VERSION);
    CHECK_EQ_INT(sr_abi_version(), SR_ABI_VERSION);
    CHECK_EQ_INT(SR_NO_POD, -1);
}

static void test_service_state(void) {
    SrPodStates *states = NULL;
    char key[256];
    new_ns("svcstate");
    CHECK_OK(sr_set_service_state(exec, ns, "chat", 2, "online"));
    CHECK_OK(sr_set_service_state(exec, ns, "chat", 10, "draining"));
    CHECK_OK(sr_set_service_state(exec, ns, "chat", 1, ""));
    snprintf(key, sizeof key, "sf:{%s:state:chat}", ns);
    /* a field that is not a pod id is skipped */
    CHECK_EQ_INT(t_cmd_int(redis, "HSET %s notapod x", key), 1);
    CHECK_OK(sr_get_service_state(exec, ns, "chat", &states));
    CHECK(states != NULL);
    if (!states) return;
    CHECK_EQ_INT(states->len, 3);
    if (states->len == 3) {
        CHECK_EQ_INT(states->items[0].pod, 1);
        CHECK_EQ_STR(states->items[0].state, "");
        CHECK_EQ_INT(states->items[1].pod, 2);
        CHECK_EQ_STR(states->items[1].state, "online");
        CHECK_EQ_INT(states->items[2].pod, 10);
        CHECK_EQ_STR(states->items[2].state, "draining");
    }
    sr_pod_states_free(states);
    /* an unknown service: an empty list with NULL items */
    states = NULL;
    CHECK_OK(sr_get_service_state(exec, ns, "nothing", &states));
    CHECK(states != NULL && states->len == 0 && states->items == NULL);
    sr_pod_states_free(states);
}

static void test_workload_state(void) {
    char *state = (char *)"sentinel";
    SrServiceStates *states = NULL;
    const char *svcs[] = {"game", "absent", "chat"};
    new_ns("workload");
    CHECK_OK(sr_get_workload_state(exec, ns, "chat", &state));
    CHECK(state == NULL); /* none: NULL */
    CHECK_OK(sr_set_workload_state(exec, ns, "chat", "ready"));
    CHECK_OK(sr_set_workload_state(exec, ns, "game", "maintenance"));
    CHECK_OK(sr_get_workload_state(exec, ns, "chat", &state));
    CHECK_EQ_STR(state, "ready");
    sr_string_free(state);
    CHECK_OK(sr_get_workload_states(exec, ns, svcs, 3, &states));
    CHECK(states != NULL);
    if (!states) return;
    CHECK_EQ_INT(states->len, 2);
    if (states->len == 2) {
        CHECK_EQ_STR(states->items[0].svc, "chat");
        CHECK_EQ_STR(states->items[0].state, "ready");
        CHECK_EQ_STR(states->items[1].svc, "game");
        CHECK_EQ_STR(states->items[1].state, "maintenance");
    }
    sr_service_states_free(states);
    states = NULL;
    CHECK_OK(sr_get_workload_states(exec, ns, NULL, 0, &states));
    CHECK(states != NULL && states->len == 0);
    sr_service_states_free(states);
}

static void test_pod_loads(void) {
    int64_t stamp = 0, stamp2 = 0;
    SrPodLoads *loads = NULL;
    char key[256];
    long long before = now_ms();
    new_ns("loads");
    CHECK_OK(sr_set_pod_load(exec, ns, "game", 3, 40, 0, &stamp));
    /* the server's clock, close to ours (same machine) */
    CHECK(stamp >= before - 5000 && stamp <= now_ms() + 5000);
    CHECK_OK(sr_set_pod_load(exec, ns, "game", 1, 7, 2, &stamp2));
    snprintf(key, sizeof key, "sf:{%s:state:game}", ns);
    CHECK_EQ_INT(t_cmd_int(redis, "HSET %s 5 online", key), 1);    /* not a record */
    CHECK_EQ_INT(t_cmd_int(redis, "HSET %s 6 1-1000-0", key), 1);  /* a stale record */
    CHECK_OK(sr_get_pod_loads(exec, ns, "game", NULL, &loads));
    CHECK(loads != NULL);
    if (!loads) return;
    CHECK_EQ_INT(loads->len, 3);
    if (loads->len == 3) {
        CHECK_EQ_INT(loads->items[0].pod, 1);
        CHECK_EQ_INT(loads->items[0].load, 7);
        CHECK_EQ_INT(loads->items[0].state, 2);
        CHECK_EQ_INT(loads->items[0].updated_ms, stamp2);
        CHECK_EQ_INT(loads->items[1].pod, 3);
        CHECK_EQ_INT(loads->items[1].load, 40);
        CHECK_EQ_INT(loads->items[2].pod, 6);
        CHECK_EQ_INT(loads->items[2].updated_ms, 1000);
    }
    sr_pod_loads_free(loads);
    loads = NULL;
    {
        int64_t since = stamp - 60000;
        CHECK_OK(sr_get_pod_loads(exec, ns, "game", &since, &loads));
        CHECK(loads != NULL && loads->len == 2);
        sr_pod_loads_free(loads);
    }
}

static void test_set_and_get_linked_pod(void) {
    int64_t previous = 99, pod = 99;
    char link[256], index[256];
    new_ns("link");
    snprintf(link, sizeof link, "sf:{%s:lk:u1}chat", ns);
    snprintf(index, sizeof index, "sf:{%s:lk:u1}", ns);
    CHECK_OK(sr_get_linked_pod(exec, ns, "u1", "chat", &pod));
    CHECK_EQ_INT(pod, SR_NO_POD);
    CHECK_OK(sr_set_linked_pod(exec, ns, "u1", "chat", 3, -1, &previous));
    CHECK_EQ_INT(previous, SR_NO_POD);
    CHECK_EQ_INT(t_cmd_int(redis, "TTL %s", link), -1);
    CHECK_EQ_INT(t_cmd_int(redis, "HEXISTS %s chat", index), 1);
    CHECK_OK(sr_get_linked_pod(exec, ns, "u1", "chat", &pod));
    CHECK_EQ_INT(pod, 3);
    CHECK_OK(sr_get_linked_pod_if_persist(exec, ns, "u1", "chat", &pod));
    CHECK_EQ_INT(pod, 3);
    /* temporary: TTL set, index entry gone, "if persist" sees none */
    CHECK_OK(sr_set_linked_pod(exec, ns, "u1", "chat", 4, 300, &previous));
    CHECK_EQ_INT(previous, 3);
    CHECK(t_cmd_int(redis, "TTL %s", link) > 290);
    CHECK_EQ_INT(t_cmd_int(redis, "EXISTS %s", index), 0);
    CHECK_OK(sr_get_linked_pod(exec, ns, "u1", "chat", &pod));
    CHECK_EQ_INT(pod, 4);
    CHECK_OK(sr_get_linked_pod_if_persist(exec, ns, "u1", "chat", &pod));
    CHECK_EQ_INT(pod, SR_NO_POD);
}

static void test_try_set_linked_pod(void) {
    bool ok = false;
    int64_t pod = -7;
    new_ns("try");
    CHECK_OK(sr_try_set_linked_pod(exec, ns, "u1", "chat", 2, -1, &ok, &pod));
    CHECK(ok);
    CHECK_EQ_INT(pod, 2);
    /* a persistent link to another pod refuses */
    CHECK_OK(sr_try_set_linked_pod(exec, ns, "u1", "chat", 5, -1, &ok, &pod));
    CHECK(!ok);
    CHECK_EQ_INT(pod, 2);
    /* the same pod is fine */
    CHECK_OK(sr_try_set_linked_pod(exec, ns, "u1", "chat", 2, 60, &ok, &pod));
    CHECK(ok);
    CHECK_EQ_INT(pod, 2);
    /* now temporary: another pod may take it */
    CHECK_OK(sr_try_set_linked_pod(exec, ns, "u1", "chat", 5, -1, &ok, &pod));
    CHECK(ok);
    CHECK_EQ_INT(pod, 5);
}

static void test_set_linked_pod_if_absent(void) {
    int64_t pod = -7;
    char link[256];
    new_ns("absent");
    snprintf(link, sizeof link, "sf:{%s:lk:u1}chat", ns);
    CHECK_OK(sr_set_linked_pod_if_absent(exec, ns, "u1", "chat", 8, 30, &pod));
    CHECK_EQ_INT(pod, 8);
    CHECK_OK(sr_set_linked_pod_if_absent(exec, ns, "u1", "chat", 9, 600, &pod));
    CHECK_EQ_INT(pod, 8); /* kept, TTL refreshed */
    CHECK(t_cmd_int(redis, "TTL %s", link) > 590);
    CHECK_OK(sr_set_linked_pod_if_absent(exec, ns, "u1", "chat", 9, -1, &pod));
    CHECK_EQ_INT(pod, 8); /* persist -1 on a temporary link never deletes it */
    CHECK_EQ_INT(t_cmd_int(redis, "EXISTS %s", link), 1);
}

static void test_batch_get_linked_pod(void) {
    const char *uids[] = {"u5", "u1", "nobody", "u3", "u2"};
    SrPodGroups *groups = NULL;
    int64_t prev;
    new_ns("batch");
    CHECK_OK(sr_set_linked_pod(exec, ns, "u1", "chat", 2, -1, &prev));
    CHECK_OK(sr_set_linked_pod(exec, ns, "u2", "chat", 1, 300, &prev));
    CHECK_OK(sr_set_linked_pod(exec, ns, "u3", "chat", 2, -1, &prev));
    CHECK_OK(sr_set_linked_pod(exec, ns, "u5", "chat", 2, -1, &prev));
    CHECK_OK(sr_batch_get_linked_pod(exec, ns, uids, 5, "chat", &groups));
    CHECK(groups != NULL);
    if (!groups) return;
    CHECK_EQ_INT(groups->len, 2);
    if (groups->len == 2) {
        CHECK_EQ_INT(groups->items[0].pod, 1);
        CHECK_EQ_INT(groups->items[0].uids_len, 1);
        CHECK_EQ_STR(groups->items[0].uids[0], "u2");
        CHECK_EQ_INT(groups->items[1].pod, 2);
        CHECK_EQ_INT(groups->items[1].uids_len, 3);
        if (groups->items[1].uids_len == 3) { /* input order */
            CHECK_EQ_STR(groups->items[1].uids[0], "u5");
            CHECK_EQ_STR(groups->items[1].uids[1], "u1");
            CHECK_EQ_STR(groups->items[1].uids[2], "u3");
        }
    }
    sr_pod_groups_free(groups);
    groups = NULL;
    CHECK_OK(sr_batch_get_linked_pod(exec, ns, NULL, 0, "chat", &groups));
    CHECK(groups != NULL && groups->len == 0 && groups->items == NULL);
    sr_pod_groups_free(groups);
}

static void test_batch_of_many_uids(void) {
    /* more than one MGET chunk (1,000 keys) */
    enum { N = 2500 };
    static char names[N][16];
    const char *uids[N];
    SrPodGroups *groups = NULL;
    int64_t prev;
    int i;
    new_ns("bigbatch");
    for (i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "u%d", i);
        uids[i] = names[i];
    }
    CHECK_OK(sr_set_linked_pod(exec, ns, "u0", "chat", 4, -1, &prev));
    CHECK_OK(sr_set_linked_pod(exec, ns, "u2499", "chat", 4, -1, &prev));
    CHECK_OK(sr_batch_get_linked_pod(exec, ns, uids, N, "chat", &groups));
    CHECK(groups != NULL && groups->len == 1);
    if (groups && groups->len == 1) {
        CHECK_EQ_INT(groups->items[0].uids_len, 2);
        CHECK_EQ_STR(groups->items[0].uids[1], "u2499");
    }
    sr_pod_groups_free(groups);
}

static void test_remove_linked_pod(void) {
    bool existed = false;
    int64_t prev, pod;
    char link[256], index[256];
    new_ns("remove");
    snprintf(link, sizeof link, "sf:{%s:lk:u1}chat", ns);
    snprintf(index, sizeof index, "sf:{%s:lk:u1}", ns);
    CHECK_OK(sr_remove_linked_pod(exec, ns, "u1", "chat", -1, &existed));
    CHECK(!existed);
    CHECK_OK(sr_set_linked_pod(exec, ns, "u1", "chat", 3, -1, &prev));
    /* keep > 0: readable as a temporary link for keep seconds; index entry gone */
    CHECK_OK(sr_remove_linked_pod(exec, ns, "u1", "chat", 60, &existed));
    CHECK(existed);
    CHECK(t_cmd_int(redis, "TTL %s", link) > 50);
    CHECK_EQ_INT(t_cmd_int(redis, "EXISTS %s", index), 0);
    CHECK_OK(sr_get_linked_pod(exec, ns, "u1", "chat", &pod));
    CHECK_EQ_INT(pod, 3);
    CHECK_OK(sr_remove_linked_pod(exec, ns, "u1", "chat", -1, &existed));
    CHECK(existed);
    CHECK_EQ_INT(t_cmd_int(redis, "EXISTS %s", link), 0);
}

static void test_remove_linked_pod_with_id(void) {
    bool removed = true;
    int64_t prev;
    new_ns("removeid");
    CHECK_OK(sr_set_linked_pod(exec, ns, "u1", "chat", 3, -1, &prev));
    CHECK_OK(sr_remove_linked_pod_with_id(exec, ns, "u1", "chat", -1, 4, &removed));
    CHECK(!removed);
    CHECK_OK(sr_remove_linked_pod_with_id(exec, ns, "u1", "chat", -1, 3, &removed));
    CHECK(removed);
}

static void test_get_link_service(void) {
    SrServicePods *links = NULL;
    int64_t prev;
    new_ns("linksvc");
    CHECK_OK(sr_set_linked_pod(exec, ns, "u1", "game", 7, -1, &prev));
    CHECK_OK(sr_set_linked_pod(exec, ns, "u1", "chat", 3, -1, &prev));
    CHECK_OK(sr_set_linked_pod(exec, ns, "u1", "voice", 1, 300, &prev)); /* not persistent */
    CHECK_OK(sr_get_link_service(exec, ns, "u1", &links));
    CHECK(links != NULL);
    if (!links) return;
    CHECK_EQ_INT(links->len, 2);
    if (links->len == 2) {
        CHECK_EQ_STR(links->items[0].svc, "chat");
        CHECK_EQ_INT(links->items[0].pod, 3);
        CHECK_EQ_STR(links->items[1].svc, "game");
        CHECK_EQ_INT(links->items[1].pod, 7);
    }
    sr_service_pods_free(links);
}

static void test_compute_linked_pod(void) {
    int64_t stamp, pod = 99;
    SrRoutingPolicy policy = sr_routing_policy_default();
    char link[256];
    new_ns("compute");
    CHECK_EQ_INT(policy.max_age_ms, 60000);
    CHECK_EQ_INT(policy.max_state, INT64_MAX);
    /* no pods: none, nothing written */
    CHECK_OK(sr_compute_linked_pod(exec, ns, "u1", "game", -1, NULL, &pod));
    CHECK_EQ_INT(pod, SR_NO_POD);
    snprintf(link, sizeof link, "sf:{%s:lk:u1}game", ns);
    CHECK_EQ_INT(t_cmd_int(redis, "EXISTS %s", link), 0);
    CHECK_OK(sr_set_pod_load(exec, ns, "game", 1, 50, 0, &stamp));
    CHECK_OK(sr_set_pod_load(exec, ns, "game", 2, 10, 3, &stamp));
    CHECK_OK(sr_set_pod_load(exec, ns, "game", 4, 20, 0, &stamp));
    /* the default policy takes the least loaded pod */
    CHECK_OK(sr_compute_linked_pod(exec, ns, "u1", "game", -1, NULL, &pod));
    CHECK_EQ_INT(pod, 2);
    /* max_state 1 excludes pod 2 */
    policy.max_state = 1;
    CHECK_OK(sr_compute_linked_pod(exec, ns, "u2", "game", 120, &policy, &pod));
    CHECK_EQ_INT(pod, 4);
    /* an existing link wins */
    CHECK_OK(sr_compute_linked_pod(exec, ns, "u1", "game", -1, &policy, &pod));
    CHECK_EQ_INT(pod, 2);
    /* nothing eligible: nothing written */
    policy.max_state = -1;
    CHECK_OK(sr_compute_linked_pod(exec, ns, "u3", "game", -1, &policy, &pod));
    CHECK_EQ_INT(pod, SR_NO_POD);
    snprintf(link, sizeof link, "sf:{%s:lk:u3}game", ns);
    CHECK_EQ_INT(t_cmd_int(redis, "EXISTS %s", link), 0);
    policy.max_age_ms = 0; /* invalid */
    CHECK_STATUS(sr_compute_linked_pod(exec, ns, "u3", "game", -1, &policy, &pod),
                 SR_INVALID_ARGUMENT);
}

static void test_close(void) {
    SrExecutor *other = t_executor("");
    int64_t pod = 42;
    CHECK_OK(sr_get_linked_pod(other, "ns", "u1", "chat", &pod));
    CHECK_OK(sr_executor_close(other));
    pod = 42;
    CHECK_STATUS(sr_get_linked_pod(other, "ns", "u1", "chat", &pod), SR_CLOSED);
    CHECK_EQ_INT(pod, 42); /* outputs untouched on failure */
    CHECK_EQ_INT(sr_last_error_status(), SR_CLOSED);
    CHECK_EQ_STR(sr_last_error_operation(), "get_linked_pod");
    CHECK(!sr_last_error_retryable());
    CHECK_OK(sr_executor_close(other)); /* closing twice is fine */
    sr_executor_free(other);
}

static void test_options_reach_the_core(void) {
    /* the Java key schema, chosen in the JSON configuration */
    SrExecutor *java = t_executor("\"key_schema\": \"java\", \"monitor\": false");
    int64_t prev = 5;
    char ns3[160], link[256];
    snprintf(ns3, sizeof ns3, "app:java%ld:logic", (long)getpid());
    CHECK_OK(sr_set_linked_pod(java, ns3, "u1", "chat", 6, -1, &prev));
    CHECK_EQ_INT(prev, SR_NO_POD);
    snprintf(link, sizeof link, "slug-lk:{%s:u1:chat}", ns3);
    CHECK_EQ_INT(t_cmd_int(redis, "EXISTS %s", link), 1);
    /* a Java-schema namespace must have three parts */
    CHECK_STATUS(sr_set_linked_pod(java, "two:parts", "u1", "chat", 6, -1, &prev),
                 SR_INVALID_ARGUMENT);
    sr_executor_free(java);
}

int main(void) {
    exec = t_executor("");
    redis = t_redis();
    RUN(test_version);
    RUN(test_service_state);
    RUN(test_workload_state);
    RUN(test_pod_loads);
    RUN(test_set_and_get_linked_pod);
    RUN(test_try_set_linked_pod);
    RUN(test_set_linked_pod_if_absent);
    RUN(test_batch_get_linked_pod);
    RUN(test_batch_of_many_uids);
    RUN(test_remove_linked_pod);
    RUN(test_remove_linked_pod_with_id);
    RUN(test_get_link_service);
    RUN(test_compute_linked_pod);
    RUN(test_close);
    RUN(test_options_reach_the_core);
    sr_executor_free(exec);
    redisFree(redis);
    return t_finish("ops");
}

/* The library's log events through sr_set_log_callback: an alert firing and a
 * connection lost and re-established arrive with their level, target and
 * message; a level filters; NULL turns the forwarding off; the callback cannot
 * replace itself from inside. Events are awaited with a generous deadline (a
 * busy machine is slow), never bounded tightly. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "test_util.h"

#define MAX_EVENTS 256

struct event {
    int level;
    char target[96];
    char message[512];
};

static struct {
    pthread_mutex_t lock;
    struct event events[MAX_EVENTS];
    int count;
    int calls_with_user_data;
    int set_inside_status;
} seen = {PTHREAD_MUTEX_INITIALIZER, {{0, "", ""}}, 0, 0, -1};

static void on_log(int level, const char *target, const char *message, void *user_data) {
    pthread_mutex_lock(&seen.lock);
    if (user_data == &seen) seen.calls_with_user_data++;
    if (seen.count < MAX_EVENTS) {
        struct event *e = &seen.events[seen.count++];
        e->level = level;
        snprintf(e->target, sizeof e->target, "%s", target);
        snprintf(e->message, sizeof e->message, "%s", message);
    }
    /* Refused from inside the callback (it would wait for itself). */
    if (seen.set_inside_status == -1)
        seen.set_inside_status = (int)sr_set_log_callback(SR_LOG_OFF, NULL, NULL);
    pthread_mutex_unlock(&seen.lock);
}

/* The first event whose message starts with `prefix`, waiting up to 20 s; a copy
 * in `out`. Returns 0 when none came. */
static int wait_for(const char *prefix, struct event *out) {
    int i, tries;
    for (tries = 0; tries < 2000; tries++) {
        pthread_mutex_lock(&seen.lock);
        for (i = 0; i < seen.count; i++) {
            if (strncmp(seen.events[i].message, prefix, strlen(prefix)) == 0) {
                *out = seen.events[i];
                pthread_mutex_unlock(&seen.lock);
                return 1;
            }
        }
        pthread_mutex_unlock(&seen.lock);
        usleep(10 * 1000);
    }
    fprintf(stderr, "  no event starting with \"%s\" (%d events)\n", prefix, seen.count);
    return 0;
}

static int count_events(void) {
    int n;
    pthread_mutex_lock(&seen.lock);
    n = seen.count;
    pthread_mutex_unlock(&seen.lock);
    return n;
}

static void test_levels_are_checked(void) {
    CHECK_STATUS(sr_set_log_callback(6, on_log, &seen), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_set_log_callback(-1, on_log, &seen), SR_INVALID_ARGUMENT);
    CHECK_EQ_STR(sr_last_error_operation(), "");
    CHECK_OK(sr_set_log_callback(SR_LOG_OFF, NULL, NULL));
}

static void test_alert_and_reconnect_reach_the_callback(void) {
    struct event e;
    int64_t pod = SR_NO_POD, previous = SR_NO_POD;
    char *events = NULL;
    const char *ns = t_ns("log");
    SrExecutor *exec;
    redisContext *redis = t_redis();

    CHECK_OK(sr_set_log_callback(SR_LOG_INFO, on_log, &seen));
    exec = t_executor("");
    CHECK_OK(sr_set_linked_pod(exec, ns, "u1", "chat", 1, -1, &previous));
    CHECK_OK(sr_set_alert_threshold(exec, "set_linked_pod.p99_ms", 0.000001));
    CHECK_OK(sr_evaluate_alerts(exec, &events));
    sr_string_free(events);
    if (wait_for("alert firing", &e)) {
        CHECK_EQ_INT(e.level, SR_LOG_WARN);
        CHECK_EQ_STR(e.target, "stateful_redis::monitor");
        CHECK(strstr(e.message, " metric=set_linked_pod.p99_ms ") != NULL);
    } else {
        CHECK(!"alert firing logged");
    }
    pthread_mutex_lock(&seen.lock);
    CHECK_EQ_INT(seen.set_inside_status, SR_INVALID_ARGUMENT);
    pthread_mutex_unlock(&seen.lock);

    /* Every client but this one: the executor's connection is cut. */
    freeReplyObject(t_cmd(redis, "CLIENT KILL TYPE normal SKIPME yes"));
    /* A read retries by itself after the loss. */
    CHECK_OK(sr_get_linked_pod(exec, ns, "u1", "chat", &pod));
    CHECK_EQ_INT(pod, 1);
    if (wait_for("connection lost", &e)) {
        CHECK_EQ_INT(e.level, SR_LOG_WARN);
    } else {
        CHECK(!"connection lost logged");
    }
    if (wait_for("connection re-established", &e)) {
        CHECK_EQ_INT(e.level, SR_LOG_INFO);
        CHECK_EQ_STR(e.target, "stateful_redis::connection");
    } else {
        CHECK(!"connection re-established logged");
    }
    pthread_mutex_lock(&seen.lock);
    CHECK_EQ_INT(seen.calls_with_user_data, seen.count);
    pthread_mutex_unlock(&seen.lock);

    /* Off: nothing more arrives, whatever happens. */
    CHECK_OK(sr_set_log_callback(SR_LOG_TRACE, NULL, &seen));
    {
        int before = count_events();
        freeReplyObject(t_cmd(redis, "CLIENT KILL TYPE normal SKIPME yes"));
        CHECK_OK(sr_get_linked_pod(exec, ns, "u1", "chat", &pod));
        CHECK_EQ_INT(count_events(), before);
    }
    sr_executor_free(exec);
    redisFree(redis);
}

int main(void) {
    RUN(test_levels_are_checked);
    RUN(test_alert_and_reconnect_reach_the_callback);
    return t_finish("logging");
}

/* The monitor through the C ABI: the snapshot (JSON), Prometheus text, reset,
 * application operations, alert rules, alert callbacks (on the calling thread
 * and on the executor's tick thread; userdata; no call after the subscription
 * is freed; freeing it from inside its own callback), suggestions, both
 * optimizers, recording to a file. The snapshot's schema is validated in Rust
 * (bindings/c/tests/snapshot_schema.rs); here its content is checked. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

#include "test_util.h"

static SrExecutor *exec;
static redisContext *redis;

/* An evaluation less than 250 ms after the previous one does nothing
 * (core/src/monitor/alerts.rs, MIN_WINDOW): wait a little longer. */
#define EVALUATION_WINDOW_US (300 * 1000)

#define CHECK_MESSAGE_HAS(needle) CHECK(strstr(sr_last_error_message(), (needle)) != NULL)

/* Takes a JSON string returned by the library: parses it and frees it. */
static json_t *take_json(char *text) {
    json_error_t err;
    json_t *v;
    if (text == NULL) return NULL;
    v = json_loads(text, JSON_DECODE_ANY, &err);
    if (v == NULL) fprintf(stderr, "  not JSON (%s): %.200s\n", err.text, text);
    sr_string_free(text);
    return v;
}

static json_t *operation(json_t *snapshot, const char *name) {
    size_t i;
    json_t *op;
    json_array_foreach(json_object_get(snapshot, "operations"), i, op) {
        if (strcmp(json_string_value(json_object_get(op, "name")), name) == 0) return op;
    }
    return NULL;
}

static long long op_int(json_t *snapshot, const char *name, const char *field) {
    json_t *op = operation(snapshot, name);
    return op ? (long long)json_integer_value(json_object_get(op, field)) : -1;
}

static json_t *metrics(SrExecutor *e) {
    char *text = NULL;
    CHECK_OK(sr_metrics(e, &text));
    return take_json(text);
}

static void test_snapshot_counts_every_operation(void) {
    static const char *builtins[] = {
        "set_service_state", "get_service_state", "set_workload_state", "get_workload_state",
        "get_workload_states", "set_pod_load", "get_pod_loads", "set_linked_pod",
        "try_set_linked_pod", "set_linked_pod_if_absent", "get_linked_pod",
        "get_linked_pod_if_persist", "batch_get_linked_pod", "remove_linked_pod",
        "remove_linked_pod_with_id", "get_link_service", "compute_linked_pod"};
    char *text = NULL;
    json_t *s;
    int64_t pod;
    size_t i;
    CHECK_OK(sr_reset_metrics(exec, &text));
    json_decref(take_json(text));
    for (i = 0; i < 25; i++) CHECK_OK(sr_get_linked_pod(exec, "t:mon", "u1", "chat", &pod));
    CHECK_STATUS(sr_get_linked_pod(exec, "t:mon", "", "chat", &pod), SR_INVALID_ARGUMENT);
    s = metrics(exec);
    CHECK(s != NULL);
    if (!s) return;
    CHECK_EQ_INT(json_integer_value(json_object_get(s, "schema_version")), 1);
    for (i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        CHECK(operation(s, builtins[i]) != NULL); /* all 17, always listed */
    CHECK_EQ_INT(op_int(s, "get_linked_pod", "count"), 26);
    CHECK_EQ_INT(op_int(s, "get_linked_pod", "errors"), 1);
    CHECK_EQ_INT(op_int(s, "set_linked_pod", "count"), 0);
    CHECK_EQ_INT(json_integer_value(
                     json_object_get(json_object_get(s, "errors_by_code"), "INVALID_ARGUMENT")),
                 1);
    CHECK_EQ_INT(json_object_size(json_object_get(s, "errors_by_code")), 11);
    CHECK(json_is_object(json_object_get(s, "pool")));
    CHECK(json_is_object(json_object_get(s, "scripts")));
    CHECK(json_is_array(json_object_get(s, "alerts")));
    CHECK(json_is_object(json_object_get(operation(s, "get_linked_pod"), "latency_ms")));
    json_decref(s);
}

static void test_record_operation_and_reset(void) {
    char *text = NULL;
    json_t *s, *closed;
    CHECK_OK(sr_record_operation(exec, "checkout", 2500000, true));
    CHECK_OK(sr_record_operation(exec, "checkout", 7000000, false));
    CHECK_STATUS(sr_record_operation(exec, NULL, 1, true), SR_INVALID_ARGUMENT);
    s = metrics(exec);
    CHECK_EQ_INT(op_int(s, "checkout", "count"), 2);
    CHECK_EQ_INT(op_int(s, "checkout", "errors"), 1);
    CHECK_EQ_STR(json_string_value(json_object_get(operation(s, "checkout"), "kind")),
                 "application");
    json_decref(s);
    /* reset returns the period it closed; the next one starts at zero */
    CHECK_OK(sr_reset_metrics(exec, &text));
    closed = take_json(text);
    CHECK_EQ_INT(op_int(closed, "checkout", "count"), 2);
    json_decref(closed);
    s = metrics(exec);
    CHECK(op_int(s, "checkout", "count") <= 0);
    CHECK_EQ_INT(op_int(s, "get_linked_pod", "count"), 0);
    json_decref(s);
}

static void test_prometheus_text(void) {
    char *text = NULL;
    int64_t pod;
    CHECK_OK(sr_get_linked_pod(exec, "t:mon", "u1", "chat", &pod));
    CHECK_OK(sr_metrics_prometheus(exec, &text));
    CHECK(text != NULL);
    if (!text) return;
    CHECK(strstr(text, "# TYPE ") != NULL);
    CHECK(strstr(text, "get_linked_pod") != NULL);
    sr_string_free(text);
}

/* Every sample line (not a `#` line) of an exposition carries `label`. */
static void check_every_sample_has(const char *text, const char *label) {
    int samples = 0;
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > 0 && line[0] != '#') {
            char sample[1024];
            snprintf(sample, sizeof sample, "%.*s", (int)len, line);
            samples++;
            if (strstr(sample, label) == NULL)
                t_fail(__FILE__, __LINE__, "sample without %s: %s", label, sample);
        }
        line = end ? end + 1 : NULL;
    }
    CHECK(samples > 0);
}

/* Const labels (option `metrics_labels`): two executors of one process stay
 * apart in one scrape; a bad label is CONFIG, names the label, never echoes
 * its value, and makes nothing. */
static void test_metrics_labels(void) {
    SrExecutor *orders = t_executor("\"metrics_labels\": {\"executor\": \"orders\"}");
    SrExecutor *billing = t_executor("\"metrics_labels\": {\"executor\": \"billing\"}");
    SrExecutor *out = (SrExecutor *)0x1;
    char *text = NULL, json[256];
    int64_t pod;
    CHECK_OK(sr_get_linked_pod(orders, "t:lab", "u1", "chat", &pod));
    CHECK_OK(sr_metrics_prometheus(orders, &text));
    if (text) {
        check_every_sample_has(text, "executor=\"orders\"");
        CHECK(strstr(text, "billing") == NULL);
        CHECK(strstr(text, "stateful_redis_build_info{") != NULL);
        sr_string_free(text);
    }
    text = NULL;
    CHECK_OK(sr_metrics_prometheus(billing, &text));
    if (text) {
        check_every_sample_has(text, "executor=\"billing\"");
        CHECK(strstr(text, "orders") == NULL);
        sr_string_free(text);
    }
    sr_executor_free(orders);
    sr_executor_free(billing);

    const char *bad[] = {"\"le\": \"hush-1\"", "\"__x\": \"hush-2\"", "\"a-b\": \"hush-3\"",
                         "\"ok\": \"\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(json, sizeof json, "{\"url\": \"%s\", \"metrics_labels\": {%s}}", t_url(0),
                 bad[i]);
        CHECK_STATUS(sr_executor_new(json, &out), SR_CONFIG);
        CHECK(strstr(sr_last_error_message(), "metrics_labels") != NULL);
        CHECK(strstr(sr_last_error_message(), "hush") == NULL);
        CHECK(out == (SrExecutor *)0x1);
    }
}

struct alerts_seen {
    pthread_mutex_t lock;
    int events, firing;
    int on_main_thread, on_other_thread;
    pthread_t main_thread;
    char last_metric[128];
    SrAlertSubscription *self; /* for the callback that frees its subscription */
};

static void on_alert(const char *event_json, void *userdata) {
    struct alerts_seen *seen = (struct alerts_seen *)userdata;
    json_error_t err;
    json_t *e = json_loads(event_json, 0, &err);
    pthread_mutex_lock(&seen->lock);
    seen->events++;
    if (e) {
        if (strcmp(json_string_value(json_object_get(e, "state")), "firing") == 0) seen->firing++;
        snprintf(seen->last_metric, sizeof seen->last_metric, "%s",
                 json_string_value(json_object_get(e, "metric")));
        json_decref(e);
    }
    if (pthread_equal(pthread_self(), seen->main_thread)) seen->on_main_thread++;
    else seen->on_other_thread++;
    pthread_mutex_unlock(&seen->lock);
}

static void seen_init(struct alerts_seen *seen) {
    memset(seen, 0, sizeof *seen);
    pthread_mutex_init(&seen->lock, NULL);
    seen->main_thread = pthread_self();
}

static void test_alert_rules_are_checked(void) {
    bool removed = true;
    CHECK_STATUS(sr_set_alert_threshold(exec, "nonsense", 1.0), SR_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("nonsense");
    CHECK_STATUS(sr_set_alert_threshold(exec, NULL, 1.0), SR_INVALID_ARGUMENT);
    CHECK_OK(sr_set_alert_threshold(exec, "set_linked_pod.p99_ms", 250.0));
    CHECK_OK(sr_set_alert(exec, "pool.wait_ms_p99",
                          "{\"threshold\": 5, \"sustain\": 3000, \"direction\": \"above\"}"));
    CHECK_STATUS(sr_set_alert(exec, "pool.wait_ms_p99", "{\"threshold\": "), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_set_alert(exec, "pool.wait_ms_p99", "{\"nope\": 1}"), SR_INVALID_ARGUMENT);
    CHECK_OK(sr_remove_alert(exec, "pool.wait_ms_p99", &removed));
    CHECK(removed);
    CHECK_OK(sr_remove_alert(exec, "pool.wait_ms_p99", &removed));
    CHECK(!removed);
    CHECK_OK(sr_remove_alert(exec, "set_linked_pod.p99_ms", &removed));
}

/* Without the monitor's tick (monitor off), events come only from
 * sr_evaluate_alerts, on the calling thread: deterministic. */
static void test_alert_callback_on_the_calling_thread(void) {
    SrExecutor *quiet = t_executor("\"monitor\": false");
    SrAlertSubscription *sub = NULL;
    struct alerts_seen seen;
    char *events = NULL;
    json_t *list;
    int i;
    seen_init(&seen);
    CHECK_STATUS(sr_subscribe_alerts(quiet, NULL, &seen, &sub), SR_INVALID_ARGUMENT);
    CHECK_OK(sr_subscribe_alerts(quiet, on_alert, &seen, &sub));
    CHECK_OK(sr_set_alert_threshold(quiet, "payment.errors", 0.5));
    for (i = 0; i < 3; i++) CHECK_OK(sr_record_operation(quiet, "payment", 1000000, false));
    usleep(EVALUATION_WINDOW_US);
    CHECK_OK(sr_evaluate_alerts(quiet, &events));
    list = take_json(events);
    CHECK(json_is_array(list) && json_array_size(list) == 1);
    json_decref(list);
    CHECK_EQ_INT(seen.events, 1);
    CHECK_EQ_INT(seen.firing, 1);
    CHECK_EQ_INT(seen.on_main_thread, 1);
    CHECK_EQ_STR(seen.last_metric, "payment.errors");
    /* the snapshot lists it as active */
    {
        json_t *s = metrics(quiet);
        CHECK_EQ_INT(json_array_size(json_object_get(s, "alerts")), 1);
        json_decref(s);
    }
    /* after the subscription is freed, the callback is never called again */
    sr_alert_subscription_free(sub);
    CHECK_OK(sr_set_alert_threshold(quiet, "refund.errors", 0.5));
    CHECK_OK(sr_record_operation(quiet, "refund", 1000000, false));
    usleep(EVALUATION_WINDOW_US);
    CHECK_OK(sr_evaluate_alerts(quiet, &events));
    list = take_json(events);
    CHECK(json_array_size(list) >= 1); /* events happened (refund fired, payment resolved)... */
    json_decref(list);
    CHECK_EQ_INT(seen.events, 1); /* ...but was not delivered */
    sr_executor_free(quiet);
    pthread_mutex_destroy(&seen.lock);
}

/* With the monitor on, the executor's tick evaluates rules once a second and
 * calls back on its own thread. */
static void test_alert_callback_on_the_tick_thread(void) {
    SrExecutor *ticking = t_executor("");
    SrAlertSubscription *sub = NULL;
    struct alerts_seen seen;
    int i, waited;
    seen_init(&seen);
    CHECK_OK(sr_subscribe_alerts(ticking, on_alert, &seen, &sub));
    CHECK_OK(sr_set_alert_threshold(ticking, "*.error_rate", 0.5));
    for (waited = 0; waited < 60; waited++) {
        int firing;
        for (i = 0; i < 5; i++) CHECK_OK(sr_record_operation(ticking, "login", 1000, false));
        pthread_mutex_lock(&seen.lock);
        firing = seen.firing;
        pthread_mutex_unlock(&seen.lock);
        if (firing) break;
        usleep(100 * 1000);
    }
    sr_alert_subscription_free(sub);
    /* the subscription is gone: userdata may be reused at once */
    CHECK(seen.firing >= 1);
    CHECK(seen.on_other_thread >= 1);
    CHECK_EQ_INT(seen.on_main_thread, 0);
    CHECK_EQ_STR(seen.last_metric, "login.error_rate");
    sr_executor_free(ticking);
    pthread_mutex_destroy(&seen.lock);
}

static void free_own_subscription(const char *event_json, void *userdata) {
    struct alerts_seen *seen = (struct alerts_seen *)userdata;
    (void)event_json;
    seen->events++;
    sr_alert_subscription_free(seen->self); /* must not deadlock */
    seen->self = NULL;
}

static void test_subscription_freed_inside_its_callback(void) {
    SrExecutor *quiet = t_executor("\"monitor\": false");
    struct alerts_seen seen;
    char *events = NULL;
    seen_init(&seen);
    CHECK_OK(sr_subscribe_alerts(quiet, free_own_subscription, &seen, &seen.self));
    CHECK_OK(sr_set_alert_threshold(quiet, "a.errors", 0.5));
    CHECK_OK(sr_set_alert_threshold(quiet, "b.errors", 0.5));
    CHECK_OK(sr_record_operation(quiet, "a", 1000, false));
    CHECK_OK(sr_record_operation(quiet, "b", 1000, false));
    usleep(EVALUATION_WINDOW_US);
    CHECK_OK(sr_evaluate_alerts(quiet, &events)); /* two events, one delivery */
    sr_string_free(events);
    CHECK_EQ_INT(seen.events, 1);
    CHECK(seen.self == NULL);
    sr_executor_free(quiet);
    pthread_mutex_destroy(&seen.lock);
}

static void test_suggestions_and_optimizers(void) {
    char *text = NULL;
    json_t *v;
    int64_t pod;
    int i;
    for (i = 0; i < 30; i++) CHECK_OK(sr_get_linked_pod(exec, "t:opt", "u1", "chat", &pod));
    CHECK_OK(sr_optimization_suggestions(exec, &text));
    v = take_json(text);
    CHECK(json_is_array(v));
    json_decref(v);
    /* scripts flushed behind the library's back: preloaded again */
    freeReplyObject(t_cmd(redis, "SCRIPT FLUSH"));
    CHECK_OK(sr_optimize_lua_scripts(exec, &text));
    v = take_json(text);
    CHECK(json_is_true(json_object_get(v, "changed")));
    CHECK(json_array_size(json_object_get(v, "missing_before")) >= 1);
    CHECK(json_integer_value(json_object_get(v, "scripts")) >= 1);
    json_decref(v);
    CHECK_OK(sr_optimize_lua_scripts(exec, &text));
    v = take_json(text);
    CHECK(json_is_false(json_object_get(v, "changed")));
    json_decref(v);
    CHECK_OK(sr_optimize_connection_pool(exec, &text));
    v = take_json(text);
    CHECK(json_is_boolean(json_object_get(v, "changed")));
    CHECK(json_is_string(json_object_get(v, "reason")));
    json_decref(v);
}

static void test_recording(void) {
    char path[] = "/tmp/stateful-redis-c-recording-XXXXXX";
    SrRecorder *rec = NULL;
    uint64_t written = 0;
    int fd = mkstemp(path), lines = 0, c;
    FILE *f;
    close(fd);
    CHECK_STATUS(sr_start_recording(exec, path, 0, &rec), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_start_recording(exec, "/nonexistent-dir/x.jsonl", 10, &rec),
                 SR_INVALID_ARGUMENT);
    CHECK(rec == NULL);
    CHECK_OK(sr_start_recording(exec, path, 50, &rec));
    usleep(300 * 1000);
    CHECK_OK(sr_recorder_stop(rec, &written));
    CHECK(written >= 2);
    CHECK_OK(sr_recorder_stop(rec, &written)); /* stopped already */
    CHECK_EQ_INT(written, 0);
    sr_recorder_free(rec);
    sr_recorder_free(NULL);
    f = fopen(path, "r");
    CHECK(f != NULL);
    if (f) {
        while ((c = fgetc(f)) != EOF) lines += c == '\n';
        fclose(f);
    }
    CHECK(lines >= 2);
    unlink(path);
    /* a recorder freed while running stops cleanly */
    CHECK_OK(sr_start_recording(exec, path, 1000, &rec));
    sr_recorder_free(rec);
    unlink(path);
}

static void test_null_arguments(void) {
    char *text = (char *)"untouched";
    SrAlertSubscription *sub = (SrAlertSubscription *)0x1;
    CHECK_STATUS(sr_metrics(exec, NULL), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_metrics(NULL, &text), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_metrics_prometheus(exec, NULL), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_reset_metrics(exec, NULL), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_evaluate_alerts(exec, NULL), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_optimization_suggestions(exec, NULL), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_optimize_connection_pool(exec, NULL), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_optimize_lua_scripts(NULL, &text), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_set_alert(exec, "a.errors", NULL), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_remove_alert(exec, "a.errors", NULL), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_subscribe_alerts(exec, on_alert, NULL, NULL), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_subscribe_alerts(NULL, on_alert, NULL, &sub), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_recorder_stop(NULL, NULL), SR_INVALID_ARGUMENT);
    CHECK_EQ_STR(text, "untouched");
    CHECK(sub == (SrAlertSubscription *)0x1);
    sr_alert_subscription_free(NULL);
}

static void test_closed_executor(void) {
    SrExecutor *closing = t_executor("");
    char *text = NULL;
    CHECK_OK(sr_executor_close(closing));
    CHECK_STATUS(sr_optimize_lua_scripts(closing, &text), SR_CLOSED);
    CHECK_STATUS(sr_optimize_connection_pool(closing, &text), SR_CLOSED);
    CHECK(text == NULL);
    /* the figures stay readable */
    CHECK_OK(sr_metrics(closing, &text));
    sr_string_free(text);
    sr_executor_free(closing);
}

int main(void) {
    exec = t_executor("");
    redis = t_redis();
    RUN(test_snapshot_counts_every_operation);
    RUN(test_record_operation_and_reset);
    RUN(test_prometheus_text);
    RUN(test_metrics_labels);
    RUN(test_alert_rules_are_checked);
    RUN(test_alert_callback_on_the_calling_thread);
    RUN(test_alert_callback_on_the_tick_thread);
    RUN(test_subscription_freed_inside_its_callback);
    RUN(test_suggestions_and_optimizers);
    RUN(test_recording);
    RUN(test_null_arguments);
    RUN(test_closed_executor);
    sr_executor_free(exec);
    redisFree(redis);
    return t_finish("monitor");
}

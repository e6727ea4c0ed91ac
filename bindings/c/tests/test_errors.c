/* Every error path of the C ABI: NULL pointers, invalid UTF-8, malformed and
 * unknown configuration, connection and authentication failures, timeouts,
 * refusals, unreadable data, closed executors; outputs untouched on failure;
 * the last error kept per thread; free functions accepting NULL. */
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <unistd.h>

#include "test_util.h"

static SrExecutor *exec;
static redisContext *redis;

#define CHECK_MESSAGE_HAS(needle)                                                          \
    do {                                                                                   \
        if (strstr(sr_last_error_message(), (needle)) == NULL)                              \
            t_fail(__FILE__, __LINE__, "last error \"%s\" lacks \"%s\"",                   \
                   sr_last_error_message(), (needle));                                     \
    } while (0)

static void test_config_errors(void) {
    SrExecutor *out = (SrExecutor *)0x1;
    char json[256];
    CHECK_STATUS(sr_executor_new(NULL, &out), SR_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("config_json is NULL");
    CHECK(out == (SrExecutor *)0x1); /* untouched */
    CHECK_STATUS(sr_executor_new("{}", NULL), SR_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("out_executor");
    CHECK_STATUS(sr_executor_new("{\"url\": ", &out), SR_CONFIG);
    CHECK_STATUS(sr_executor_new("[1, 2]", &out), SR_CONFIG);
    CHECK_STATUS(sr_executor_new("{\"no_such_option\": 1}", &out), SR_CONFIG);
    CHECK_MESSAGE_HAS("no_such_option");
    CHECK_STATUS(sr_executor_new("{\"command_timeout_ms\": \"fast\"}", &out), SR_CONFIG);
    CHECK_STATUS(sr_executor_new("{\"url\": \"http://127.0.0.1:1\"}", &out), SR_CONFIG);
    CHECK_STATUS(sr_executor_new("{\"connections\": 0}", &out), SR_CONFIG);
    CHECK_STATUS(sr_executor_new("{\"connections\": 65}", &out), SR_CONFIG);
    CHECK_STATUS(sr_executor_new("{\"thread_connections\": 1025}", &out), SR_CONFIG);
    CHECK_MESSAGE_HAS("thread_connections");
    CHECK_EQ_STR(sr_last_error_operation(), "");
    CHECK_STATUS(sr_executor_new("{\"url\": \"redis://127.0.0.1:6379\xff\"}", &out),
                 SR_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("UTF-8");
    /* the password never appears in a message */
    snprintf(json, sizeof json, "{\"url\": \"http://bob:hunter2@127.0.0.1:1\"}");
    CHECK_STATUS(sr_executor_new(json, &out), SR_CONFIG);
    CHECK(strstr(sr_last_error_message(), "hunter2") == NULL);
    CHECK(out == (SrExecutor *)0x1);
}

/* `name=<name>` lines of CLIENT LIST. */
static int clients_named(redisContext *c, const char *name) {
    char needle[160];
    int count = 0;
    redisReply *list = t_cmd(c, "CLIENT LIST");
    snprintf(needle, sizeof needle, " name=%s ", name);
    for (const char *at = list->str; at && (at = strstr(at, needle)) != NULL; at += strlen(needle))
        count++;
    freeReplyObject(list);
    return count;
}

/* An executor whose connections are named `<prefix>-<pid>` (written to `name`),
 * with more JSON members `options` beside `client_name`. */
static SrExecutor *named_executor(char name[64], const char *prefix, const char *options) {
    char json[256];
    snprintf(name, 64, "%s-%ld", prefix, (long)getpid());
    snprintf(json, sizeof json, "\"client_name\": \"%s\", %s", name, options);
    return t_executor(json);
}

static void test_client_name(void) {
    SrExecutor *out = (SrExecutor *)0x1;
    char name[64], json[256];
    redisContext *raw = t_redis();
    const char *bad[] = {"two words", "line\\nbreak", "", "caf\u00e9"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(json, sizeof json, "{\"url\": \"%s\", \"client_name\": \"%s\"}", t_url(0), bad[i]);
        CHECK_STATUS(sr_executor_new(json, &out), SR_CONFIG);
        CHECK_MESSAGE_HAS("client_name");
        CHECK(out == (SrExecutor *)0x1); /* nothing made, nothing connected */
    }
    CHECK(strstr(sr_last_error_message(), "caf") == NULL);
    SrExecutor *ex = named_executor(name, "c-router", "\"connections\": 2");
    CHECK_EQ_INT(clients_named(raw, name), 2);
    sr_executor_free(ex);
    redisFree(raw);
}

/* Closes the connections named `name` (CLIENT KILL ID of each), leaving the
 * test's own connections alone. */
static void kill_clients_named(redisContext *c, const char *name) {
    char needle[160];
    redisReply *list = t_cmd(c, "CLIENT LIST");
    snprintf(needle, sizeof needle, " name=%s ", name);
    for (char *line = list->str; line && *line;) {
        char *end = strchr(line, '\n');
        if (end)
            *end = '\0';
        long long id;
        if (strstr(line, needle) && sscanf(line, "id=%lld", &id) == 1) {
            char kill[64];
            snprintf(kill, sizeof kill, "CLIENT KILL ID %lld", id);
            freeReplyObject(t_cmd(c, kill));
        }
        line = end ? end + 1 : NULL;
    }
    freeReplyObject(list);
}

/* thread_connections: a call's round trip on the calling thread opens one
 * named connection beside the shared one; a killed one is replaced (a read
 * retries) and freeing the executor closes them all. */
static void test_thread_connections(void) {
    char name[64];
    int64_t pod = 0;
    redisContext *raw = t_redis();
    SrExecutor *ex = named_executor(name, "c-threads", "\"thread_connections\": 2");
    CHECK_EQ_INT(clients_named(raw, name), 1);
    CHECK_OK(sr_set_linked_pod(ex, "c:tc", "u1", "chat", 7, -1, &pod));
    CHECK_EQ_INT(pod, SR_NO_POD);
    CHECK_OK(sr_get_linked_pod(ex, "c:tc", "u1", "chat", &pod));
    CHECK_EQ_INT(pod, 7);
    CHECK_EQ_INT(clients_named(raw, name), 2);
    kill_clients_named(raw, name);
    CHECK_EQ_INT(clients_named(raw, name), 0);
    pod = 0;
    CHECK_OK(sr_get_linked_pod(ex, "c:tc", "u1", "chat", &pod));
    CHECK_EQ_INT(pod, 7);
    sr_executor_free(ex);
    redisFree(raw);
    raw = t_redis();
    /* The server sees the shared connection's close a moment later. */
    for (int i = 0; i < 100 && clients_named(raw, name) > 0; i++)
        usleep(50 * 1000);
    CHECK_EQ_INT(clients_named(raw, name), 0);
    freeReplyObject(t_cmd(raw, "FLUSHALL")); /* the later tests count keys */
    redisFree(raw);
}

/* event_loop_connection (Node's option): the blocking API has no event loop,
 * so it is accepted and opens nothing beside the shared connection. */
static void test_event_loop_connection_opens_nothing(void) {
    char name[64];
    int64_t pod = 0;
    redisContext *raw = t_redis();
    SrExecutor *ex = named_executor(name, "c-el", "\"event_loop_connection\": true");
    CHECK_OK(sr_get_linked_pod(ex, "c:el", "u1", "chat", &pod));
    CHECK_EQ_INT(pod, SR_NO_POD);
    CHECK_EQ_INT(clients_named(raw, name), 1);
    sr_executor_free(ex);
    redisFree(raw);
}

static int closed_port(void) {
    /* a port nobody listens on: let the kernel pick a free one, then close it */
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&addr, sizeof addr);
    getsockname(fd, (struct sockaddr *)&addr, &len);
    port = ntohs(addr.sin_port);
    close(fd);
    return port;
}

static void test_connection_refused(void) {
    SrExecutor *out = NULL;
    char json[256];
    snprintf(json, sizeof json,
             "{\"url\": \"redis://:hunter2@127.0.0.1:%d\", \"connect_timeout_ms\": 500}",
             closed_port());
    CHECK_STATUS(sr_executor_new(json, &out), SR_CONNECTION);
    CHECK(out == NULL);
    CHECK(strstr(sr_last_error_message(), "hunter2") == NULL);
}

static void test_wrong_password_is_auth(void) {
    SrExecutor *out = NULL;
    char json[256];
    redisReply *r = t_cmd(redis, "CONFIG SET requirepass s3cret-pw");
    freeReplyObject(r);
    snprintf(json, sizeof json, "{\"url\": \"%s\", \"password\": \"wrong-pw\"}", t_url(0));
    CHECK_STATUS(sr_executor_new(json, &out), SR_AUTH);
    CHECK(strstr(sr_last_error_message(), "wrong-pw") == NULL);
    snprintf(json, sizeof json, "{\"url\": \"%s\"}", t_url(0));
    CHECK_STATUS(sr_executor_new(json, &out), SR_AUTH); /* NOAUTH */
    snprintf(json, sizeof json, "{\"url\": \"%s\", \"password\": \"s3cret-pw\"}", t_url(0));
    CHECK_OK(sr_executor_new(json, &out));
    sr_executor_free(out);
    /* this connection authenticated before the password was set */
    r = t_cmd(redis, "CONFIG SET requirepass %s", "");
    freeReplyObject(r);
}

static void test_null_pointers(void) {
    int64_t pod = 77, stamp = 77;
    bool flag = true;
    char *state = (char *)"untouched";
    SrPodStates *states = (SrPodStates *)0x1;
    SrServiceStates *sstates = (SrServiceStates *)0x1;
    SrPodLoads *loads = (SrPodLoads *)0x1;
    SrPodGroups *groups = (SrPodGroups *)0x1;
    SrServicePods *links = (SrServicePods *)0x1;
    const char *uids[] = {"u1", NULL};
    const char *ns = "t:null";

    CHECK_STATUS(sr_get_linked_pod(NULL, ns, "u1", "chat", &pod), SR_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("executor is NULL");
    CHECK_EQ_STR(sr_last_error_operation(), "get_linked_pod");
    CHECK_STATUS(sr_get_linked_pod(exec, NULL, "u1", "chat", &pod), SR_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("ns is NULL");
    CHECK_STATUS(sr_get_linked_pod(exec, ns, NULL, "chat", &pod), SR_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("uid is NULL");
    CHECK_STATUS(sr_get_linked_pod(exec, ns, "u1", NULL, &pod), SR_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("svc is NULL");
    CHECK_STATUS(sr_get_linked_pod(exec, ns, "u1", "chat", NULL), SR_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("out_pod is NULL");
    CHECK_EQ_INT(pod, 77);

    /* every operation refuses a NULL output and a NULL string */
    CHECK_STATUS(sr_set_service_state(exec, ns, "chat", 1, NULL), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_get_service_state(exec, ns, "chat", NULL), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_get_service_state(exec, ns, NULL, &states), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_set_workload_state(exec, ns, "chat", NULL), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_get_workload_state(exec, ns, "chat", NULL), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_get_workload_state(exec, NULL, "chat", &state), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_get_workload_states(exec, ns, NULL, 2, &sstates), SR_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("svcs is NULL");
    CHECK_STATUS(sr_get_workload_states(exec, ns, uids, 2, &sstates), SR_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("svcs[1] is NULL");
    CHECK_STATUS(sr_get_workload_states(exec, ns, uids, 1, NULL), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_set_pod_load(exec, ns, "game", 1, 1, 0, NULL), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_set_pod_load(exec, ns, NULL, 1, 1, 0, &stamp), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_get_pod_loads(exec, ns, "game", NULL, NULL), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_get_pod_loads(exec, NULL, "game", NULL, &loads), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_set_linked_pod(exec, ns, "u1", "chat", 1, -1, NULL), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_set_linked_pod(exec, ns, NULL, "chat", 1, -1, &pod), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_try_set_linked_pod(exec, ns, "u1", "chat", 1, -1, NULL, &pod),
                 SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_try_set_linked_pod(exec, ns, "u1", "chat", 1, -1, &flag, NULL),
                 SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_set_linked_pod_if_absent(exec, ns, "u1", "chat", 1, -1, NULL),
                 SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_get_linked_pod_if_persist(exec, ns, "u1", "chat", NULL),
                 SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_batch_get_linked_pod(exec, ns, uids, 2, "chat", &groups),
                 SR_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("uids[1] is NULL");
    CHECK_STATUS(sr_batch_get_linked_pod(exec, ns, NULL, 3, "chat", &groups),
                 SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_batch_get_linked_pod(exec, ns, uids, 1, "chat", NULL), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_remove_linked_pod(exec, ns, "u1", "chat", -1, NULL), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_remove_linked_pod_with_id(exec, ns, "u1", "chat", -1, 1, NULL),
                 SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_get_link_service(exec, ns, "u1", NULL), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_get_link_service(exec, ns, NULL, &links), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_compute_linked_pod(exec, ns, "u1", "chat", -1, NULL, NULL),
                 SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_executor_close(NULL), SR_INVALID_ARGUMENT);
    /* nothing was written, outputs untouched */
    CHECK_EQ_INT(t_cmd_int(redis, "DBSIZE"), 0);
    CHECK_EQ_INT(pod, 77);
    CHECK_EQ_INT(stamp, 77);
    CHECK(flag);
    CHECK_EQ_STR(state, "untouched");
    CHECK(states == (SrPodStates *)0x1 && sstates == (SrServiceStates *)0x1);
    CHECK(loads == (SrPodLoads *)0x1 && groups == (SrPodGroups *)0x1);
    CHECK(links == (SrServicePods *)0x1);
}

static void test_invalid_utf8_and_bad_values(void) {
    int64_t pod = 5;
    const char *bad = "u\xc3\x28"; /* an invalid 2-byte sequence */
    const char *uids[] = {"ok", bad};
    SrPodGroups *groups = NULL;
    CHECK_STATUS(sr_set_linked_pod(exec, "t:utf8", bad, "chat", 1, -1, &pod),
                 SR_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("uid is not valid UTF-8");
    CHECK_EQ_STR(sr_last_error_operation(), "set_linked_pod");
    CHECK(!sr_last_error_retryable());
    CHECK_STATUS(sr_set_service_state(exec, "t:utf8", "chat", 1, "\xff"), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_batch_get_linked_pod(exec, "t:utf8", uids, 2, "chat", &groups),
                 SR_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("uids[1] is not valid UTF-8");
    /* the core's validation, reported through the same channel */
    CHECK_STATUS(sr_set_linked_pod(exec, "t:utf8", "u1", "chat", -1, -1, &pod),
                 SR_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("pod");
    CHECK_STATUS(sr_set_linked_pod(exec, "t:utf8", "u1", "chat", 1, 0, &pod),
                 SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_set_linked_pod(exec, "", "u1", "chat", 1, -1, &pod), SR_INVALID_ARGUMENT);
    CHECK_STATUS(sr_set_linked_pod(exec, "t", "u\tx", "chat", 1, -1, &pod),
                 SR_INVALID_ARGUMENT);
    CHECK_EQ_INT(pod, 5);
    CHECK_EQ_INT(t_cmd_int(redis, "DBSIZE"), 0);
    CHECK(groups == NULL);
}

static void test_unreadable_link_is_data(void) {
    int64_t pod = 5;
    redisReply *r = t_cmd(redis, "SET %s %s", "sf:{t:data:lk:u1}chat", "not-a-pod");
    freeReplyObject(r);
    CHECK_STATUS(sr_get_linked_pod(exec, "t:data", "u1", "chat", &pod), SR_DATA);
    CHECK_MESSAGE_HAS("sf:{t:data:lk:u1}chat");
    CHECK_EQ_STR(sr_last_error_operation(), "get_linked_pod");
    CHECK_EQ_INT(pod, 5);
    CHECK_EQ_INT(sr_last_error_status(), SR_DATA);
    CHECK_EQ_INT(t_cmd_int(redis, "DEL %s", "sf:{t:data:lk:u1}chat"), 1);
}

/* A DEBUG SLEEP that is known to have started: the command is sent from the
 * calling thread, then a probe connection with a short timeout PINGs until a
 * PING goes unanswered (the server is asleep). Only then does a thread wait for
 * the sleep's reply. Without the probe, on a busy machine the sleep could start
 * after the call it is meant to delay, and the case would fail for the wrong
 * reason. */
struct server_sleep {
    pthread_t thread;
    redisContext *c;
};

static void *await_sleep_reply(void *arg) {
    struct server_sleep *sleep = (struct server_sleep *)arg;
    void *reply = NULL;
    if (redisGetReply(sleep->c, &reply) == REDIS_OK) freeReplyObject(reply);
    redisFree(sleep->c);
    return NULL;
}

static void start_server_sleep(struct server_sleep *sleep, const char *seconds) {
    int done = 0;
    struct timeval probe_timeout = {0, 50 * 1000};
    sleep->c = t_redis();
    redisAppendCommand(sleep->c, "DEBUG SLEEP %s", seconds);
    while (!done) {
        if (redisBufferWrite(sleep->c, &done) != REDIS_OK) {
            fprintf(stderr, "DEBUG SLEEP could not be sent\n");
            exit(2);
        }
    }
    for (int attempt = 0; attempt < 400; attempt++) {
        redisContext *probe = t_redis();
        redisReply *pong;
        redisSetTimeout(probe, probe_timeout);
        pong = redisCommand(probe, "PING");
        redisFree(probe);
        if (pong == NULL) break; /* unanswered: the server sleeps */
        freeReplyObject(pong);
        usleep(5 * 1000);
    }
    pthread_create(&sleep->thread, NULL, await_sleep_reply, sleep);
}

static void join_server_sleep(struct server_sleep *sleep) {
    pthread_join(sleep->thread, NULL);
}

static void test_timeout(void) {
    SrExecutor *fast = t_executor("\"command_timeout_ms\": 200");
    struct server_sleep sleeper;
    int64_t pod = 5;
    CHECK_OK(sr_get_linked_pod(fast, "t:timeout", "u1", "chat", &pod)); /* connected */
    start_server_sleep(&sleeper, "2");
    pod = 5;
    CHECK_STATUS(sr_get_linked_pod(fast, "t:timeout", "u1", "chat", &pod), SR_TIMEOUT);
    CHECK(sr_last_error_retryable()); /* a read: safe to repeat */
    CHECK_EQ_INT(pod, 5);
    join_server_sleep(&sleeper);
    /* service resumes by itself */
    CHECK_OK(sr_get_linked_pod(fast, "t:timeout", "u1", "chat", &pod));
    CHECK_EQ_INT(pod, SR_NO_POD);
    sr_executor_free(fast);
}

struct busy_call {
    SrExecutor *exec;
    SrStatus status;
    volatile int calling;
};

static void *call_during_sleep(void *arg) {
    struct busy_call *call = (struct busy_call *)arg;
    int64_t pod;
    __atomic_store_n(&call->calling, 1, __ATOMIC_SEQ_CST);
    call->status = sr_get_linked_pod(call->exec, "t:busy", "u1", "chat", &pod);
    return NULL;
}

static void test_in_flight_limit_is_busy(void) {
    SrExecutor *one = t_executor("\"max_in_flight\": 1, \"command_timeout_ms\": 5000");
    struct server_sleep sleeper;
    pthread_t caller;
    struct busy_call call = {one, SR_INTERNAL, 0};
    int64_t pod = 5;
    CHECK_OK(sr_get_linked_pod(one, "t:busy", "u1", "chat", &pod));
    start_server_sleep(&sleeper, "3");
    pthread_create(&caller, NULL, call_during_sleep, &call);
    while (!__atomic_load_n(&call.calling, __ATOMIC_SEQ_CST)) usleep(1000);
    usleep(300 * 1000); /* the caller's request now waits for the sleeping server */
    CHECK_STATUS(sr_get_linked_pod(one, "t:busy", "u1", "chat", &pod), SR_BUSY);
    CHECK_MESSAGE_HAS("max_in_flight");
    pthread_join(caller, NULL);
    join_server_sleep(&sleeper);
    CHECK_EQ_INT(call.status, SR_OK);
    sr_executor_free(one);
}

static void *fail_on_other_thread(void *unused) {
    int64_t pod;
    (void)unused;
    /* this thread saw no failure yet */
    if (sr_last_error_status() != SR_OK) return (void *)1;
    if (sr_get_linked_pod(exec, "", "u", "s", &pod) != SR_INVALID_ARGUMENT) return (void *)2;
    if (strstr(sr_last_error_message(), "ns") == NULL) return (void *)3;
    return NULL;
}

static void test_last_error_is_per_thread(void) {
    pthread_t t;
    void *result = (void *)9;
    int64_t pod;
    CHECK_STATUS(sr_get_linked_pod(exec, "t", "u", "chat", NULL), SR_INVALID_ARGUMENT);
    pthread_create(&t, NULL, fail_on_other_thread, NULL);
    pthread_join(t, &result);
    CHECK(result == NULL);
    /* ours is unchanged by the other thread's failure */
    CHECK_MESSAGE_HAS("out_pod is NULL");
    /* and a success leaves it alone */
    CHECK_OK(sr_get_linked_pod(exec, "t", "u", "chat", &pod));
    CHECK_MESSAGE_HAS("out_pod is NULL");
}

static void test_free_functions_accept_null(void) {
    sr_executor_free(NULL);
    sr_string_free(NULL);
    sr_pod_states_free(NULL);
    sr_service_states_free(NULL);
    sr_pod_loads_free(NULL);
    sr_pod_groups_free(NULL);
    sr_service_pods_free(NULL);
    CHECK(1);
}

int main(void) {
    exec = t_executor("");
    redis = t_redis();
    freeReplyObject(t_cmd(redis, "FLUSHALL"));
    RUN(test_config_errors);
    RUN(test_client_name);
    RUN(test_thread_connections);
    RUN(test_event_loop_connection_opens_nothing);
    RUN(test_connection_refused);
    RUN(test_wrong_password_is_auth);
    RUN(test_null_pointers);
    RUN(test_invalid_utf8_and_bad_values);
    RUN(test_unreadable_link_is_data);
    RUN(test_timeout);
    RUN(test_in_flight_limit_is_busy);
    RUN(test_last_error_is_per_thread);
    RUN(test_free_functions_accept_null);
    sr_executor_free(exec);
    redisFree(redis);
    return t_finish("errors");
}

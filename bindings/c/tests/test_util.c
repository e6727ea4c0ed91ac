#include "test_util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

int t_case_failed;
static int passed, failed;

void t_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "  %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    t_case_failed = 1;
}

void t_run(const char *name, void (*fn)(void)) {
    t_case_failed = 0;
    fn();
    if (t_case_failed) {
        failed++;
        printf("FAIL %s\n", name);
    } else {
        passed++;
        printf("ok   %s\n", name);
    }
    fflush(stdout);
}

int t_finish(const char *suite) {
    printf("%s: %d passed, %d failed\n", suite, passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}

static int port(void) {
    const char *p = getenv("SR_TEST_REDIS_PORT");
    if (p == NULL || atoi(p) <= 0) {
        fprintf(stderr, "SR_TEST_REDIS_PORT is not set: run scripts/test.d/c.sh, "
                        "which starts a private redis-server\n");
        exit(2);
    }
    return atoi(p);
}

const char *t_url(int db) {
    static char url[96];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/%d", port(), db);
    return url;
}

/* Generous timeouts unless a test sets its own: the suite also runs under
 * valgrind on a busy machine (SR_TEST_TIMEOUT_MS, default 5000). */
static void add_timeout(char *json, size_t size, const char *extra, const char *option) {
    const char *ms = getenv("SR_TEST_TIMEOUT_MS");
    size_t used = strlen(json);
    if (extra != NULL && strstr(extra, option) != NULL) return;
    snprintf(json + used, size - used, ", \"%s\": %s", option, ms && *ms ? ms : "5000");
}

SrExecutor *t_executor(const char *extra_options) {
    char json[1024];
    SrExecutor *exec = NULL;
    size_t used;
    snprintf(json, sizeof json, "{\"url\": \"%s\"", t_url(0));
    add_timeout(json, sizeof json, extra_options, "command_timeout_ms");
    add_timeout(json, sizeof json, extra_options, "connect_timeout_ms");
    used = strlen(json);
    snprintf(json + used, sizeof json - used, "%s%s}",
             extra_options && *extra_options ? ", " : "", extra_options ? extra_options : "");
    if (sr_executor_new(json, &exec) != SR_OK) {
        fprintf(stderr, "sr_executor_new(%s): %s\n", json, sr_last_error_message());
        exit(2);
    }
    return exec;
}

redisContext *t_redis(void) {
    struct timeval timeout = {5, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port(), timeout);
    if (c == NULL || c->err) {
        fprintf(stderr, "cannot connect to redis: %s\n", c ? c->errstr : "out of memory");
        exit(2);
    }
    return c;
}

static redisReply *vcmd(redisContext *c, const char *fmt, va_list ap) {
    redisReply *r = redisvCommand(c, fmt, ap);
    if (r == NULL) {
        fprintf(stderr, "redis command %s failed: %s\n", fmt, c->errstr);
        exit(2);
    }
    return r;
}

redisReply *t_cmd(redisContext *c, const char *fmt, ...) {
    va_list ap;
    redisReply *r;
    va_start(ap, fmt);
    r = vcmd(c, fmt, ap);
    va_end(ap);
    return r;
}

long long t_cmd_int(redisContext *c, const char *fmt, ...) {
    va_list ap;
    redisReply *r;
    long long v;
    va_start(ap, fmt);
    r = vcmd(c, fmt, ap);
    va_end(ap);
    if (r->type != REDIS_REPLY_INTEGER) {
        fprintf(stderr, "redis command %s: not an integer reply (type %d: %s)\n", fmt, r->type,
                r->str ? r->str : "");
        exit(2);
    }
    v = r->integer;
    freeReplyObject(r);
    return v;
}

const char *t_ns(const char *tag) {
    static char ns[128];
    static int n;
    snprintf(ns, sizeof ns, "test:%s:%ld-%d", tag, (long)getpid(), ++n);
    return ns;
}

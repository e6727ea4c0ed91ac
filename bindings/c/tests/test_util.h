/* Helpers of the C tests: a tiny test runner, the executor under test and a raw
 * Redis connection (hiredis) to inspect the keyspace. The tests need a Redis
 * server on 127.0.0.1:$SR_TEST_REDIS_PORT (scripts/test.d/c.sh starts one). */
#ifndef SR_TEST_UTIL_H
#define SR_TEST_UTIL_H

#include <stdio.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "stateful_redis.h"

#ifdef __cplusplus
extern "C" {
#endif

extern int t_case_failed;

void t_fail(const char *file, int line, const char *fmt, ...);

#define CHECK(cond)                                                    \
    do {                                                               \
        if (!(cond)) t_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);   \
    } while (0)

#define CHECK_EQ_INT(actual, expected)                                              \
    do {                                                                            \
        long long _a = (long long)(actual), _e = (long long)(expected);             \
        if (_a != _e)                                                               \
            t_fail(__FILE__, __LINE__, "%s == %lld, expected %lld", #actual, _a, _e); \
    } while (0)

#define CHECK_EQ_STR(actual, expected)                                               \
    do {                                                                             \
        const char *_a = (actual), *_e = (expected);                                 \
        if (_a == NULL || strcmp(_a, _e) != 0)                                       \
            t_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #actual,     \
                   _a ? _a : "(null)", _e);                                          \
    } while (0)

/* The call must return `expected`; on a mismatch the last error is printed. */
#define CHECK_STATUS(call, expected)                                                   \
    do {                                                                               \
        SrStatus _s = (call);                                                          \
        if (_s != (expected))                                                          \
            t_fail(__FILE__, __LINE__, "%s returned %s (%s), expected %s", #call,      \
                   sr_status_name(_s), _s ? sr_last_error_message() : "",              \
                   sr_status_name(expected));                                          \
    } while (0)

#define CHECK_OK(call) CHECK_STATUS(call, SR_OK)

/* Runs one test case and counts it. */
#define RUN(fn) t_run(#fn, fn)
void t_run(const char *name, void (*fn)(void));
/* Prints "<suite>: N passed, N failed" and returns the exit status. */
int t_finish(const char *suite);

/* The Redis URL of the tests (database `db`). */
const char *t_url(int db);
/* A new executor on the test server with extra JSON options (may be ""),
 * e.g. "\"command_timeout_ms\": 200". Aborts the program if it fails. */
SrExecutor *t_executor(const char *extra_options);
/* A raw connection to the test server (hiredis), or aborts. */
redisContext *t_redis(void);
/* Sends a raw command; returns the reply (freeReplyObject it) or aborts. */
redisReply *t_cmd(redisContext *c, const char *fmt, ...);
/* Sends a raw command whose reply is an integer, and returns it. */
long long t_cmd_int(redisContext *c, const char *fmt, ...);
/* A namespace unique to this process and call (no FLUSHALL needed between
 * cases); a static buffer: copy it to keep two at once. */
const char *t_ns(const char *tag);

#ifdef __cplusplus
}
#endif

#endif

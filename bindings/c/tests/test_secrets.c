/* No password in sr_last_error_message() (SPEC section 4, docs/secrets.md),
 * whatever the shape of the password and of the URL in the JSON options of
 * sr_executor_new: misspelled schemes, unix:// with ?pass=, options of the wrong
 * type, an unreachable server, a wrong password. The canary's "7Qz" is looked
 * for, so a percent-encoded copy counts as a leak too. */
#include <stdlib.h>

#include "test_util.h"

#define MARK "7Qz"
#define NUMBER "7731000000" /* a password given as a number */

static const char *const PASSWORDS[] = {
    "Canary-7Qz!pw", "Can@ry-7Qz@pw", "a:b/7Qz:c", "x%40y-7Qz", "has space 7Qz", "7Qz//x",
};
#define N_PASSWORDS (sizeof PASSWORDS / sizeof PASSWORDS[0])

/* URL shapes; %s is the password. */
static const char *const BAD_URLS[] = {
    "redis://u:%s@127.0.0.1:notaport",
    "redis:/u:%s@127.0.0.1:6379",
    "redis//u:%s@127.0.0.1:6379",
    "redis:u:%s@127.0.0.1:6379",
    "redis://:%s@127.0.0.1:bad",
    "rediss://u:%s@127.0.0.1:bad",
    "http://u:%s@127.0.0.1:6379",
    "u:%s@127.0.0.1:6379",
    "unix://?pass=%s",
    "unix:relative?password=%s",
    "redis://u:%s@127.0.0.1:1",
};

/* Options of the wrong type; %s is the password. */
static const char *const WRONG_TYPES[] = {
    "{\"password\": 7731000000}",
    "{\"password\": true}",
    "{\"password\": [\"%s\"]}",
    "{\"password\": {\"value\": \"%s\"}}",
    "{\"database\": \"%s\"}",
    "{\"connections\": \"%s\"}",
    "{\"username\": \"u\", \"password\": \"%s\", \"connect_timeout_ms\": \"%s\"}",
    "{\"retry\": {\"max_attempts\": \"%s\"}}",
    "{\"key_schema\": \"%s\"}",
    "{\"cluster_nodes\": \"redis://u:%s@127.0.0.1:7000\"}",
    "{\"cluster_nodes\": [7, \"%s\"]}",
    "{\"url\": [\"redis://h\", \"%s\"]}",
    "{\"monitor\": \"%s\"}",
    "[\"%s\"]",
    "\"%s\"",
    "{\"password\": \"%s\"",
    "{\"password\": %s}",
};

/* sr_executor_new(json) must fail, and its message must not hold the password. */
static SrStatus check_refused(const char *json) {
    SrExecutor *out = (SrExecutor *)0x1;
    SrStatus status = sr_executor_new(json, &out);
    if (status == SR_OK) {
        t_fail(__FILE__, __LINE__, "%s was accepted", json);
        sr_executor_free(out);
        return status;
    }
    CHECK(out == (SrExecutor *)0x1);
    if (strstr(sr_last_error_message(), NUMBER) != NULL)
        t_fail(__FILE__, __LINE__, "%s: number printed: %s", json, sr_last_error_message());
    if (strstr(sr_last_error_message(), MARK) != NULL)
        t_fail(__FILE__, __LINE__, "%s: password printed: %s", json, sr_last_error_message());
    if (strstr(sr_last_error_operation(), MARK) != NULL)
        t_fail(__FILE__, __LINE__, "%s: password in the operation", json);
    return status;
}

static void test_bad_urls(void) {
    char url[256], json[512];
    for (size_t p = 0; p < N_PASSWORDS; p++) {
        for (size_t u = 0; u < sizeof BAD_URLS / sizeof BAD_URLS[0]; u++) {
            snprintf(url, sizeof url, BAD_URLS[u], PASSWORDS[p]);
            snprintf(json, sizeof json, "{\"url\": \"%s\", \"connect_timeout_ms\": 300}", url);
            check_refused(json);
            snprintf(json, sizeof json,
                     "{\"cluster_nodes\": [\"redis://127.0.0.1:7000\", \"%s\"]}", url);
            check_refused(json);
        }
    }
}

static void test_options_of_the_wrong_type(void) {
    char json[512];
    for (size_t p = 0; p < N_PASSWORDS; p++) {
        for (size_t w = 0; w < sizeof WRONG_TYPES / sizeof WRONG_TYPES[0]; w++) {
            snprintf(json, sizeof json, WRONG_TYPES[w], PASSWORDS[p], PASSWORDS[p]);
            CHECK_EQ_INT(check_refused(json), SR_CONFIG);
        }
    }
    check_refused("{\"password\": 1234}");
    CHECK(strstr(sr_last_error_message(), "`password`") != NULL);
    CHECK(strstr(sr_last_error_message(), "1234") == NULL);
}

/* A user that does not exist: WRONGPASS, without changing the shared server. */
static void test_wrong_password(void) {
    char json[512];
    for (size_t p = 0; p < N_PASSWORDS; p++) {
        snprintf(json, sizeof json,
                 "{\"url\": \"%s\", \"username\": \"nobody-secrets\", \"password\": \"%s\"}",
                 t_url(0), PASSWORDS[p]);
        CHECK_EQ_INT(check_refused(json), SR_AUTH);
    }
}

int main(void) {
    RUN(test_bad_urls);
    RUN(test_options_of_the_wrong_type);
    RUN(test_wrong_password);
    return t_finish("secrets");
}

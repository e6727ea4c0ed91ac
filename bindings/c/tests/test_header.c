/* The header: included twice (its guard), compiled as strict C99 with every
 * warning an error, version macros equal to Cargo.toml's version (passed in by
 * CMake as SR_EXPECTED_VERSION), status numbers equal to the core's codes. */
#include "stateful_redis.h"
#include "stateful_redis.h"

#include <stddef.h>
#include <stdio.h>

#include "test_util.h"

/* Defined in test_header_again.c, a second translation unit that includes the
 * header too: the header defines nothing that would clash at link time. */
int header_again(void);

static void test_version_macros_match_cargo_toml(void) {
    char joined[64];
    CHECK_EQ_STR(SR_VERSION, SR_EXPECTED_VERSION);
    snprintf(joined, sizeof joined, "%d.%d.%d", SR_VERSION_MAJOR, SR_VERSION_MINOR,
             SR_VERSION_PATCH);
    CHECK_EQ_STR(joined, SR_EXPECTED_VERSION);
    CHECK_EQ_STR(sr_version(), SR_EXPECTED_VERSION);
    CHECK_EQ_INT(sr_abi_version(), SR_ABI_VERSION);
    CHECK(SR_ABI_VERSION >= 1);
}

static void test_status_numbers_are_stable(void) {
    static const char *names[] = {"OK",      "INVALID_ARGUMENT", "CONFIG", "CONNECTION",
                                  "TIMEOUT", "AUTH",             "SCRIPT", "CLUSTER",
                                  "BUSY",    "DATA",             "CLOSED", "INTERNAL"};
    int i;
    CHECK_EQ_INT(SR_OK, 0);
    CHECK_EQ_INT(SR_INVALID_ARGUMENT, 1);
    CHECK_EQ_INT(SR_CONFIG, 2);
    CHECK_EQ_INT(SR_CONNECTION, 3);
    CHECK_EQ_INT(SR_TIMEOUT, 4);
    CHECK_EQ_INT(SR_AUTH, 5);
    CHECK_EQ_INT(SR_SCRIPT, 6);
    CHECK_EQ_INT(SR_CLUSTER, 7);
    CHECK_EQ_INT(SR_BUSY, 8);
    CHECK_EQ_INT(SR_DATA, 9);
    CHECK_EQ_INT(SR_CLOSED, 10);
    CHECK_EQ_INT(SR_INTERNAL, 11);
    for (i = 0; i < 12; i++) CHECK_EQ_STR(sr_status_name(i), names[i]);
    CHECK_EQ_STR(sr_status_name(-1), "UNKNOWN");
    CHECK_EQ_STR(sr_status_name(12), "UNKNOWN");
    CHECK_EQ_INT(sizeof(SrStatus), sizeof(int));
}

static void test_struct_layouts(void) {
    /* The ABI rule (docs/c-abi.md): published structs never change layout. */
    CHECK_EQ_INT(sizeof(SrPodLoad), 32);
    CHECK_EQ_INT(offsetof(SrPodLoad, updated_ms), 24);
    CHECK_EQ_INT(sizeof(SrRoutingPolicy), 16);
    CHECK_EQ_INT(offsetof(SrPodGroup, uids_len), 16);
    CHECK_EQ_INT(offsetof(SrPodStates, len), sizeof(void *));
    CHECK_EQ_INT(SR_NO_POD, -1);
}

static void test_second_translation_unit(void) { CHECK_EQ_INT(header_again(), SR_ABI_VERSION); }

static void test_no_error_before_any_failure(void) {
    CHECK_EQ_INT(sr_last_error_status(), SR_OK);
    CHECK_EQ_STR(sr_last_error_message(), "");
    CHECK_EQ_STR(sr_last_error_operation(), "");
    CHECK(!sr_last_error_retryable());
}

int main(void) {
    RUN(test_no_error_before_any_failure);
    RUN(test_version_macros_match_cargo_toml);
    RUN(test_status_numbers_are_stable);
    RUN(test_struct_layouts);
    RUN(test_second_translation_unit);
    return t_finish("header");
}

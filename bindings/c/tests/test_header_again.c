/* A second translation unit including the header (twice) for test_header. */
#include "stateful_redis.h"
#include "stateful_redis.h"

int header_again(void);

int header_again(void) { return (int)sr_abi_version(); }

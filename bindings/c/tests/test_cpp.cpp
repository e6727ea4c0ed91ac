// The header from C++17: included twice, used through RAII owners, with one
// executor shared by 8 std::threads.
#include "stateful_redis.h"
#include "stateful_redis.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace {

struct ExecutorFree {
    void operator()(SrExecutor *e) const { sr_executor_free(e); }
};
struct GroupsFree {
    void operator()(SrPodGroups *g) const { sr_pod_groups_free(g); }
};
struct StringFree {
    void operator()(char *s) const { sr_string_free(s); }
};
using Executor = std::unique_ptr<SrExecutor, ExecutorFree>;
using Groups = std::unique_ptr<SrPodGroups, GroupsFree>;
using String = std::unique_ptr<char, StringFree>;

Executor exec;

static_assert(sizeof(SrPodLoad) == 32, "SrPodLoad layout");
static_assert(SR_OK == 0 && SR_INTERNAL == 11, "status numbers");

void test_version_in_cpp() {
    CHECK_EQ_STR(SR_VERSION, SR_EXPECTED_VERSION);
    CHECK_EQ_STR(sr_version(), SR_VERSION);
}

void test_raii_owners() {
    std::string ns = t_ns("cpp");
    int64_t previous = 0;
    CHECK_OK(sr_set_workload_state(exec.get(), ns.c_str(), "chat", "ready"));
    char *raw = nullptr;
    CHECK_OK(sr_get_workload_state(exec.get(), ns.c_str(), "chat", &raw));
    String state(raw);
    CHECK_EQ_STR(state.get(), "ready");
    CHECK_OK(sr_set_linked_pod(exec.get(), ns.c_str(), "u1", "chat", 4, -1, &previous));
    std::vector<std::string> names = {"u1", "u2"};
    std::vector<const char *> uids;
    for (const auto &n : names) uids.push_back(n.c_str());
    SrPodGroups *g = nullptr;
    CHECK_OK(sr_batch_get_linked_pod(exec.get(), ns.c_str(), uids.data(), uids.size(), "chat", &g));
    Groups groups(g);
    CHECK(groups && groups->len == 1 && groups->items[0].pod == 4);
}

void test_eight_std_threads() {
    std::string ns = t_ns("cppthreads");
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; t++) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 100; i++) {
                std::string uid = "t" + std::to_string(t) + "-" + std::to_string(i);
                int64_t prev = 0, pod = -5;
                if (sr_set_linked_pod(exec.get(), ns.c_str(), uid.c_str(), "chat", t, 60, &prev) !=
                    SR_OK)
                    failures++;
                if (sr_get_linked_pod(exec.get(), ns.c_str(), uid.c_str(), "chat", &pod) != SR_OK ||
                    pod != t)
                    failures++;
            }
        });
    }
    for (auto &th : threads) th.join();
    CHECK_EQ_INT(failures.load(), 0);
}

}  // namespace

int main() {
    exec = Executor(t_executor(""));
    RUN(test_version_in_cpp);
    RUN(test_raii_owners);
    RUN(test_eight_std_threads);
    exec.reset();
    return t_finish("cpp");
}

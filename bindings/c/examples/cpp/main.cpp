// A C++ service using stateful-redis through a small RAII wrapper: errors become
// exceptions carrying the status, every returned list is owned by a
// std::unique_ptr with its free function.
//
//   cmake -S . -B build -DCMAKE_PREFIX_PATH=/opt/stateful-redis && cmake --build build
//   ./build/route_cpp redis://127.0.0.1:6379
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <stateful_redis.h>

namespace sr {

class Error : public std::runtime_error {
  public:
    explicit Error(SrStatus status)
        : std::runtime_error(std::string(sr_status_name(status)) + ": " + sr_last_error_message()),
          status_(status), retryable_(sr_last_error_retryable()) {}
    SrStatus status() const { return status_; }
    bool retryable() const { return retryable_; }

  private:
    SrStatus status_;
    bool retryable_;
};

inline void check(SrStatus status) {
    if (status != SR_OK) throw Error(status);
}

class Client {
  public:
    explicit Client(const std::string &config_json) {
        SrExecutor *raw = nullptr;
        check(sr_executor_new(config_json.c_str(), &raw));
        exec_.reset(raw);
    }

    std::optional<int64_t> linked_pod(const std::string &ns, const std::string &uid,
                                      const std::string &svc) const {
        int64_t pod = SR_NO_POD;
        check(sr_get_linked_pod(exec_.get(), ns.c_str(), uid.c_str(), svc.c_str(), &pod));
        if (pod == SR_NO_POD) return std::nullopt;
        return pod;
    }

    std::optional<int64_t> link(const std::string &ns, const std::string &uid,
                                const std::string &svc, int64_t pod, int64_t persist) const {
        int64_t previous = SR_NO_POD;
        check(sr_set_linked_pod(exec_.get(), ns.c_str(), uid.c_str(), svc.c_str(), pod, persist,
                                &previous));
        if (previous == SR_NO_POD) return std::nullopt;
        return previous;
    }

    // The persistent links of a uid: (service, pod) pairs.
    std::vector<std::pair<std::string, int64_t>> links(const std::string &ns,
                                                       const std::string &uid) const {
        SrServicePods *raw = nullptr;
        check(sr_get_link_service(exec_.get(), ns.c_str(), uid.c_str(), &raw));
        std::unique_ptr<SrServicePods, decltype(&sr_service_pods_free)> owned(
            raw, &sr_service_pods_free);
        std::vector<std::pair<std::string, int64_t>> out;
        for (size_t i = 0; i < owned->len; i++)
            out.emplace_back(owned->items[i].svc, owned->items[i].pod);
        return out;
    }

  private:
    std::unique_ptr<SrExecutor, decltype(&sr_executor_free)> exec_{nullptr, &sr_executor_free};
};

}  // namespace sr

int main(int argc, char **argv) {
    const char *env = std::getenv("STATEFUL_REDIS_URL");
    std::string url = argc > 1 ? argv[1] : env ? env : "redis://127.0.0.1:6379";
    std::cout << "stateful-redis " << sr_version() << " (header " << SR_VERSION << ")\n";
    try {
        sr::Client client("{\"url\": \"" + url + "\"}");
        const std::string ns = "example:eu:logic";
        client.link(ns, "erin", "chat", 2, -1);
        client.link(ns, "erin", "voice", 5, -1);
        auto previous = client.link(ns, "erin", "chat", 3, -1);
        std::cout << "erin: chat moved from pod " << previous.value_or(SR_NO_POD) << "\n";
        for (const auto &[svc, pod] : client.links(ns, "erin"))
            std::cout << "  " << svc << " -> pod " << pod << "\n";
        std::cout << "frank: "
                  << (client.linked_pod(ns, "frank", "chat") ? "linked" : "no link") << "\n";
        client.link(ns, "", "chat", 1, -1);  // refused: an empty uid
    } catch (const sr::Error &e) {
        std::cout << "error as expected: " << e.what() << "\n";
        return e.status() == SR_INVALID_ARGUMENT ? 0 : 1;
    }
    return 1;
}

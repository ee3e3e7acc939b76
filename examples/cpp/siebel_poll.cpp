// A pull-mode client, as a legacy CTI driver (e.g. Siebel) would use libcce:
// no callbacks, the host thread polls events with a timeout. RAII wrappers own
// every handle and string; errors become exceptions on the C++ side only.
//
// Build: c++ -std=c++17 siebel_poll.cpp -I include -L target/debug -lcce -o siebel_poll
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

#include "cce.h"

namespace {

struct CceError : std::runtime_error {
    cce_status status;
    long long cti_status;
    CceError(const char *what, cce_status s)
        : std::runtime_error(std::string(what) + ": " + cce_last_error()),
          status(s),
          cti_status(cce_last_error_cti_status()) {}
};

void check(cce_status s, const char *what) {
    if (s != CCE_OK) throw CceError(what, s);
}

struct CString {
    char *p = nullptr;
    ~CString() { cce_string_free(p); }
    std::string str() const { return p ? p : ""; }
};

class Simulator {
  public:
    Simulator() { check(cce_sim_start("{}", &sim_), "cce_sim_start"); }
    ~Simulator() { cce_sim_stop(sim_); }
    Simulator(const Simulator &) = delete;
    Simulator &operator=(const Simulator &) = delete;
    uint16_t port() const {
        uint16_t p = 0;
        check(cce_sim_port(sim_, &p), "cce_sim_port");
        return p;
    }
    void inject_call(const std::string &json) {
        check(cce_sim_inject_call(sim_, json.c_str(), nullptr), "cce_sim_inject_call");
    }

  private:
    cce_sim *sim_ = nullptr;
};

class Session {
  public:
    explicit Session(const std::string &config) {
        check(cti_open(config.c_str(), nullptr, nullptr, &s_), "cti_open");
    }
    ~Session() {
        if (s_) cti_close(s_);
    }
    Session(const Session &) = delete;
    Session &operator=(const Session &) = delete;
    std::string request(const std::string &json) {
        uint32_t type = 0;
        CString out;
        check(cti_request(s_, json.c_str(), 0, &type, &out.p), "cti_request");
        return out.str();
    }
    // Returns false on timeout.
    bool poll(uint32_t timeout_ms, uint32_t &type, std::string &json) {
        CString out;
        cce_status s = cti_poll_event(s_, timeout_ms, &type, &out.p);
        if (s == CCE_ERR_TIMEOUT) return false;
        check(s, "cti_poll_event");
        json = out.str();
        return true;
    }
    void close() {
        check(cti_close(s_), "cti_close");
        s_ = nullptr;
    }

  private:
    cti_session *s_ = nullptr;
};

}  // namespace

int main() {
    try {
        Simulator sim;
        Session session("{\"address\":\"127.0.0.1:" + std::to_string(sim.port()) +
                        "\",\"client_id\":\"siebel-driver\",\"version\":15,"
                        "\"services\":\"CTI_SERVICE_CLIENT_EVENTS|CTI_SERVICE_CLIENT_CONTROL\","
                        "\"peripheral_id\":5000,\"agent_extension\":\"5001\"}");
        session.request(
            "{\"MessageName\":\"SET_AGENT_STATE_REQ\",\"PeripheralID\":5000,"
            "\"AgentState\":\"AGENT_STATE_AVAILABLE\",\"AgentInstrument\":\"5001\"}");
        uint32_t type = 0;
        std::string json;
        bool ready = false, ended = false;
        for (int i = 0; i < 100 && !ended; ++i) {
            if (!session.poll(10000, type, json)) throw std::runtime_error("no event within 10 s");
            std::printf("%s\n", json.c_str());
            if (type == 30 && !ready) {
                ready = true;
                sim.inject_call("{\"ani\":\"5551234\",\"dnis\":\"8000\",\"call_variables\":[\"acct-42\"]}");
            }
            if (type == 24) ended = true;  // END_CALL_EVENT
        }
        if (!ended) throw std::runtime_error("call did not end");
        session.close();
        // A closed handle is an error, not a crash.
        return 0;
    } catch (const CceError &e) {
        std::fprintf(stderr, "libcce error %d (cti status %lld): %s\n", (int)e.status, e.cti_status, e.what());
    } catch (const std::exception &e) {
        std::fprintf(stderr, "error: %s\n", e.what());
    }
    return 1;
}

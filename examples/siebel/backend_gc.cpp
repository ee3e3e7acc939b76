// Backend=GC: the Expertflow Generic Connector over an ActiveMQ (STOMP) broker through
// libcce's gc_* API. One GC session (destination topic) per Siebel service.

#include <unistd.h>

#include <map>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "cce.h"
#include "driver.h"

namespace cce_siebel {
namespace {

using nlohmann::json;

std::string sval(const json &j, const char *k) {
    auto it = j.find(k);
    if (it == j.end() || it->is_null()) return "";
    if (it->is_string()) return it->get<std::string>();
    return it->dump();
}

bool ended(const std::string &st) { return st == "DROPPED" || st == "DROP" || st == "DELETED"; }

class GcBackend : public Backend {
  public:
    GcBackend(const Params &p, Sink &sink, Post post) : p_(p), sink_(sink), post_(std::move(post)) {
        agent_ = p.get("AgentId");
        ext_ = p.get("Extension");
        timeout_ms_ = p.num("TimeoutMs", 5000);
    }

    bool start(std::string &err) override {
        std::string brokers = p_.get("Brokers", p_.get("Broker"));
        if (brokers.empty()) {
            err = "parameter Brokers (host:port[;host:port]) is missing";
            return false;
        }
        json list = json::array();
        size_t start = 0;
        while (start <= brokers.size()) {
            size_t end = brokers.find(';', start);
            if (end == std::string::npos) end = brokers.size();
            if (end > start) list.push_back(brokers.substr(start, end - start));
            start = end + 1;
        }
        json cfg = {
            {"brokers", list},
            {"destination", p_.get("Destination", "siebel-" + agent_ + "-" + std::to_string(getpid()))},
            {"request_queue", p_.get("RequestQueue", "Connector1")},
            {"heartbeat_ms", p_.num("HeartbeatMs", 10000)},
            {"connect_timeout_ms", timeout_ms_},
            {"receipt_timeout_ms", timeout_ms_},
        };
        if (!p_.get("BrokerLogin").empty()) cfg["broker_login"] = p_.get("BrokerLogin");
        if (!p_.get("BrokerPasscode").empty()) cfg["broker_passcode"] = p_.get("BrokerPasscode");
        cce_status st = gc_open(cfg.dump().c_str(), &GcBackend::callback, this, &s_);
        if (st != CCE_OK) {
            err = "gc_open: status " + std::to_string(static_cast<int>(st)) + ": " + cce_last_error();
            s_ = nullptr;
            return false;
        }
        return true;
    }

    void close() override {
        if (s_) {
            gc_close(s_);
            s_ = nullptr;
        }
    }

    void on_event(const std::string &text) override {
        json j = json::parse(text, nullptr, false);
        if (j.is_discarded()) return;
        std::string ev = sval(j, "event");
        if (ev == "Connected") return sink_.status("libcce: connected to broker " + sval(j, "broker"));
        if (ev == "Disconnected")
            return sink_.status("libcce: broker " + sval(j, "broker") + " lost; reconnecting");
        if (ev == "Notice") return sink_.status("libcce: GC " + sval(j, "notice"));
        if (ev == "System") return sink_.status("libcce: GC " + sval(j, "status") + sval(j, "state"));
        if (ev == "Closed" || ev == "BadMessage") return;
        std::string agent = sval(j, "agent_id");
        if (!agent.empty() && !agent_.empty() && agent != agent_) return;
        if (ev == "Error") {
            sink_.error(last_track_, "GC error " + sval(j, "code"));
            return;
        }
        if (ev == "State") return state(j);
        std::string tid = sval(j, "dialog_id");
        if (tid.empty()) return;
        std::string st = sval(j, "state");
        Fields f = call_data(j, tid);
        if (ev == "NewInboundCall") {
            if (!ended_.count(tid)) {
                calls_.insert(tid);
                sink_.call_ringing(tid, f);
            }
        } else if (ev == "InboundCall" || ev == "ConsultCall") {
            if (ended(st)) {
                if (ended_.size() > 1000) ended_.clear();  // bounded; IDs are not reused soon
                ended_.insert(tid);
                calls_.erase(tid);
                if (!consult_of_.count(tid)) last_ended_ = tid;
                consult_of_.erase(tid);
                sink_.call_ended(tid);
                return;
            }
            if (ended_.count(tid)) return;
            if (ev == "ConsultCall" && !consult_of_.count(tid) && !pending_consult_.empty()) {
                consult_of_[tid] = pending_consult_;
                pending_consult_.clear();
            }
            if (st == "ALERTING") {
                sink_.call_ringing(tid, f);
            } else if (st == "INITIATED" || st == "INITIATING") {
                if (ev == "InboundCall" && !pending_dial_.empty()) {
                    f.emplace_back("DialedNumber", pending_dial_);
                    pending_dial_.clear();
                }
                sink_.call_dialing(tid, f);
            } else if (st == "ACTIVE") {
                if (!sink_.has_call(tid)) sink_.call_dialing(tid, f);
                sink_.call_connected(tid, f);
                if (conferencing_.erase(tid)) sink_.event("OnCallConferenced", Fields{{"TrackingID", tid}}, tid);
            } else if (st == "HELD") {
                sink_.call_held(tid);
            }
            calls_.insert(tid);
        }
    }

    void command(const Command &c) override {
        const std::string &n = c.name;
        last_track_ = c.track_id;
        std::string reason = c.params.get("ReasonCode", c.str);
        json cmd = {{"agent_id", agent_}};
        if (n == "LogIn") {
            agent_ = c.params.get("AgentId", agent_);
            cmd = {{"command", "Login"},
                   {"agent_id", agent_},
                   {"password", c.params.get("Password", p_.get("Password"))},
                   {"extension", c.params.get("Extension", ext_)}};
        } else if (n == "LogOut") {
            cmd["command"] = reason.empty() ? "Logout" : "LogoutWithReason";
            if (!reason.empty()) cmd["reason_code"] = reason;
        } else if (n == "Ready") {
            cmd["command"] = "MakeReady";
        } else if (n == "NotReady") {
            cmd["command"] = reason.empty() ? "MakeNotReady" : "MakeNotReadyWithReason";
            if (!reason.empty()) cmd["reason_code"] = reason;
        } else if (n == "MakeCall") {
            cmd["command"] = "MakeCall";
            cmd["number"] = c.params.get("PhoneNumber", c.str);
            pending_dial_ = cmd["number"].get<std::string>();
        } else {
            std::string tid = pick(c);
            if (tid.empty()) return;
            cmd["dialog_id"] = tid;
            if (n == "AnswerCall") cmd["command"] = "AnswerCall";
            else if (n == "ReleaseCall") cmd["command"] = "ReleaseCall";
            else if (n == "HoldCall") cmd["command"] = "HoldCall";
            else if (n == "RetrieveCall") cmd["command"] = "RetrieveCall";
            else if (n == "ConsultCall" || n == "BlindTransfer") {
                cmd["command"] = n == "ConsultCall" ? "ConsultCall" : "SingleStepTransfer";
                cmd["number"] = c.params.get("PhoneNumber", c.str);
                if (n == "ConsultCall") pending_consult_ = tid;
            } else if (n == "TransferCall" || n == "ConferenceCall") {
                cmd["command"] = n;
                if (n == "ConferenceCall") conferencing_.insert(tid);
            } else if (n == "WrapUp") {
                if (reason.empty()) return sink_.error(c.track_id, "WrapUp: ReasonCode is missing");
                cmd["command"] = "WrapUp";
                cmd["reason"] = reason;
            } else {
                return sink_.error(c.track_id, n + ": not supported on the GC backend");
            }
        }
        cce_status st = gc_send(s_, cmd.dump().c_str());
        if (st != CCE_OK) {
            sink_.error(c.track_id, n + " failed: status " + std::to_string(static_cast<int>(st)) + ": " +
                                        cce_last_error());
            return;
        }
        if ((n == "TransferCall" || n == "BlindTransfer")) {
            // GC reports the transfer as the end of the call for this agent.
            sink_.event("OnCallTransferred", Fields{{"TrackingID", cmd["dialog_id"].get<std::string>()}},
                        cmd["dialog_id"].get<std::string>());
        }
    }

  private:
    static void callback(void *user, const char *json_text) {
        auto *self = static_cast<GcBackend *>(user);
        if (json_text) self->post_(json_text);
    }

    Fields call_data(const json &j, const std::string &tid) {
        Fields f{{"CallId", tid}};
        std::string ani = sval(j, "ani");
        if (ani.empty()) ani = sval(j, "from_address");
        if (!ani.empty()) f.emplace_back("ANI", ani);
        std::string to = sval(j, "to_address");
        if (!to.empty()) f.emplace_back("DialedNumber", to);
        auto vars = j.find("call_variables");
        if (vars != j.end() && vars->is_object()) {
            for (auto it = vars->begin(); it != vars->end(); ++it) {
                std::string k = it.key();
                if (k == "ani") continue;
                if (k.rfind("callVariable", 0) == 0) k[0] = 'C';
                f.emplace_back(k, it->is_string() ? it->get<std::string>() : it->dump());
            }
        }
        return f;
    }

    void state(const json &j) {
        std::string st = sval(j, "state");
        std::string reason = sval(j, "reason_code");
        AgentState s;
        if (st == "LOGOUT") s = AgentState::LoggedOut;
        else if (st == "NOT_READY") s = AgentState::NotReady;
        else if (st == "READY") s = AgentState::Ready;
        else if (st == "WORK" || st == "WORK_READY") s = AgentState::WrapUp;
        else if (st == "TALKING" || st == "HOLD" || st == "RESERVED") s = AgentState::Busy;
        else return;
        sink_.agent_state(s, reason, st);
    }

    std::string pick(const Command &c) {
        std::string tid = c.params.get("TrackingID");
        if (!tid.empty()) {
            if (!sink_.has_call(tid) && !(c.name == "WrapUp" && ended_.count(tid))) {
                sink_.error(c.track_id, c.name + ": unknown TrackingID " + tid);
                return "";
            }
            return tid;
        }
        std::string any;
        for (const auto &t : calls_) {
            if (!sink_.has_call(t)) continue;
            bool consult = consult_of_.count(t) != 0;
            if ((c.name == "TransferCall" || c.name == "ConferenceCall" || c.name == "ConsultCall") && consult)
                continue;
            any = t;
        }
        // Wrap-up normally follows the call: default to the call that ended last.
        if (any.empty() && c.name == "WrapUp") any = last_ended_;
        if (any.empty()) sink_.error(c.track_id, c.name + ": no call");
        return any;
    }

    Params p_;
    Sink &sink_;
    Post post_;
    gc_session *s_ = nullptr;
    std::string agent_, ext_, last_track_ = "0";
    long timeout_ms_;
    std::set<std::string> calls_, ended_, conferencing_;
    std::map<std::string, std::string> consult_of_;  // consult dialog -> original dialog
    std::string pending_consult_, last_ended_, pending_dial_;
};

}  // namespace

std::unique_ptr<Backend> make_gc_backend(const Params &p, Sink &sink, Backend::Post post) {
    return std::make_unique<GcBackend>(p, sink, std::move(post));
}

}  // namespace cce_siebel

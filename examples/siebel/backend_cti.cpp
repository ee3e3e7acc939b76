// Backend=CTI: the agent's own CTI Server session (agent mode, sides A/B, heartbeats)
// through libcce's cti_* API.

#include <map>
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

const char *status_name(cce_status s) { return cce_status_name(s); }

struct CtiCall {
    uint32_t id = 0;
    std::string device;  // ConnectionDeviceID of our party
    Fields data;
    std::string consult_of;  // tracking ID of the held call, for a consult call we made
};

class CtiBackend : public Backend {
  public:
    CtiBackend(const Params &p, Sink &sink, Post post) : p_(p), sink_(sink), post_(std::move(post)) {
        ext_ = p.get("Extension", p.get("AgentExtension"));
        instrument_ = p.get("Instrument", ext_);
        agent_ = p.get("AgentId");
        peripheral_ = p.num("PeripheralId", 5000);
        timeout_ms_ = static_cast<uint32_t>(p.num("TimeoutMs", 5000));
    }

    bool start(std::string &err) override {
        json cfg = {
            {"address", p_.get("ServerA", p_.get("Server"))},
            {"client_id", p_.get("ClientId", "siebel-" + (agent_.empty() ? ext_ : agent_))},
            {"version", p_.num("ProtocolVersion", 24)},
            {"services", "CTI_SERVICE_CLIENT_EVENTS|CTI_SERVICE_CLIENT_CONTROL|CTI_SERVICE_CALL_DATA_UPDATE"},
            {"peripheral_id", peripheral_},
            {"agent_extension", ext_},
            {"agent_instrument", instrument_},
            {"heartbeat_ms", p_.num("HeartbeatMs", 5000)},
            {"open_timeout_ms", timeout_ms_},
            {"request_timeout_ms", timeout_ms_},
            {"close_timeout_ms", timeout_ms_},
        };
        if (!p_.get("ClientPassword").empty()) cfg["client_password"] = p_.get("ClientPassword");
        std::string b = p_.get("ServerB");
        if (!b.empty()) {
            cfg["address_b"] = b;
            cfg["reconnect"] = true;
            cfg["connect_timeout_ms"] = timeout_ms_;
            // Test hook: shrink the guide's reconnect waits (1.0 in production).
            std::string scale = p_.get("ReconnectTimeScale");
            if (!scale.empty()) cfg["reconnect_time_scale"] = std::strtod(scale.c_str(), nullptr);
        }
        if (cfg["address"].get<std::string>().empty()) {
            err = "parameter ServerA (host:port of CTI Server side A) is missing";
            return false;
        }
        cce_status st = cti_open(cfg.dump().c_str(), &CtiBackend::callback, this, &s_);
        if (st != CCE_OK) {
            err = std::string(status_name(st)) + ": " + cce_last_error();
            s_ = nullptr;
            return false;
        }
        sink_.status("libcce: connected to CTI Server side A (" + cfg["address"].get<std::string>() + ")");
        return true;
    }

    void close() override {
        if (s_) {
            cti_close(s_);
            s_ = nullptr;
        }
    }

    void on_event(const std::string &text) override {
        json j = json::parse(text, nullptr, false);
        if (j.is_discarded()) return;
        std::string name = sval(j, "MessageName");
        if (name == "CONNECTION_STATE") return connection_state(j);
        if (name == "SESSION_CLOSED") {
            if (s_) sink_.status("libcce: CTI session closed (" + sval(j, "reason") + ")");
            return;
        }
        if (name == "FAILURE_EVENT") {
            sink_.status("libcce: CTI Server reports " + sval(j, "Status_name"));
            return;
        }
        if (name == "AGENT_STATE_EVENT" || name == "QUERY_AGENT_STATE_CONF") return agent_state(j);
        std::string tid = sval(j, "ConnectionCallID");
        if (name == "CALL_TRANSFERRED_EVENT" || name == "CALL_CONFERENCED_EVENT") {
            // Primary: the held (original) call; secondary: the consultation call.
            tid = sval(j, "PrimaryCallID");
            if (!calls_.count(tid)) tid = sval(j, "SecondaryCallID");
        }
        if (tid.empty()) return;
        if (name == "BEGIN_CALL_EVENT") {
            CtiCall &c = calls_[tid];
            c.id = static_cast<uint32_t>(std::strtoul(tid.c_str(), nullptr, 10));
            if (c.device.empty()) c.device = sval(j, "ConnectionDeviceID");
            c.data = call_data(j, tid);
            return;
        }
        auto it = calls_.find(tid);
        if (it == calls_.end()) return;
        CtiCall &c = it->second;
        if (name == "CALL_DELIVERED_EVENT") {
            if (sval(j, "LocalConnectionState_name") == "LCS_ALERTING" && sval(j, "AlertingDeviceID") == ext_)
                sink_.call_ringing(tid, c.data);
        } else if (name == "CALL_SERVICE_INITIATED_EVENT" || name == "CALL_ORIGINATED_EVENT") {
            std::string dialed = sval(j, "CalledDeviceID");
            if (!dialed.empty()) set(c.data, "DialedNumber", dialed);
            sink_.call_dialing(tid, c.data);
        } else if (name == "CALL_ESTABLISHED_EVENT") {
            sink_.call_connected(tid, c.data);
        } else if (name == "CALL_HELD_EVENT") {
            sink_.call_held(tid);
        } else if (name == "CALL_RETRIEVED_EVENT") {
            sink_.call_retrieved(tid);
        } else if (name == "CALL_TRANSFERRED_EVENT") {
            sink_.event("OnCallTransferred", Fields{{"TrackingID", tid}}, tid);
        } else if (name == "CALL_CONFERENCED_EVENT") {
            sink_.event("OnCallConferenced", Fields{{"TrackingID", tid}}, tid);
        } else if (name == "CALL_DATA_UPDATE_EVENT") {
            Fields f = call_data(j, tid);
            for (const auto &kv : f) set(c.data, kv.first, kv.second);
            sink_.call_data(tid, f);
        } else if (name == "END_CALL_EVENT") {
            calls_.erase(it);
            consult_of_.erase(tid);
            sink_.call_ended(tid);
        }
    }

    void command(const Command &c) override {
        const std::string &n = c.name;
        std::string reason = c.params.get("ReasonCode", c.str);
        json f = {{"PeripheralID", peripheral_}};
        if (n == "LogIn") {
            f["AgentState"] = "AGENT_STATE_LOGIN";
            f["AgentID"] = c.params.get("AgentId", agent_);
            f["AgentPassword"] = c.params.get("Password", p_.get("Password"));
            f["AgentInstrument"] = c.params.get("Extension", instrument_);
            request(c, "SET_AGENT_STATE_REQ", f);
        } else if (n == "LogOut" || n == "Ready" || n == "NotReady") {
            f["AgentState"] = n == "LogOut" ? "AGENT_STATE_LOGOUT"
                              : n == "Ready" ? "AGENT_STATE_AVAILABLE"
                                             : "AGENT_STATE_NOT_READY";
            f["AgentInstrument"] = instrument_;
            f["AgentID"] = agent_;
            if (!reason.empty()) f["EventReasonCode"] = std::strtol(reason.c_str(), nullptr, 10);
            request(c, "SET_AGENT_STATE_REQ", f);
        } else if (n == "MakeCall") {
            std::string number = c.params.get("PhoneNumber", c.str);
            if (number.empty()) return sink_.error(c.track_id, "MakeCall: PhoneNumber is missing");
            f["DialedNumber"] = number;
            f["AgentInstrument"] = instrument_;
            request(c, "MAKE_CALL_REQ", f);
        } else if (n == "AnswerCall" || n == "ReleaseCall" || n == "HoldCall" || n == "RetrieveCall" ||
                   n == "WrapUp") {
            CtiCall *call = pick(c);
            if (!call) return;
            std::string device = call->device.empty() ? ext_ : call->device;
            if (n == "RetrieveCall") {
                f["HeldConnectionCallID"] = call->id;
                f["HeldConnectionDeviceID"] = device;
            } else {
                f["ConnectionCallID"] = call->id;
                f["ConnectionDeviceID"] = device;
            }
            const char *req = n == "AnswerCall"     ? "ANSWER_CALL_REQ"
                              : n == "ReleaseCall"  ? "CLEAR_CONNECTION_REQ"
                              : n == "HoldCall"     ? "HOLD_CALL_REQ"
                              : n == "RetrieveCall" ? "RETRIEVE_CALL_REQ"
                                                    : "SET_CALL_DATA_REQ";
            if (n == "WrapUp") {
                if (reason.empty()) return sink_.error(c.track_id, "WrapUp: ReasonCode is missing");
                f["CallWrapupData"] = reason;
            }
            request(c, req, f);
        } else if (n == "ConsultCall" || n == "BlindTransfer") {
            std::string number = c.params.get("PhoneNumber", c.str);
            if (number.empty()) return sink_.error(c.track_id, n + ": PhoneNumber is missing");
            CtiCall *call = pick(c);
            if (!call) return;
            f["ActiveConnectionCallID"] = call->id;
            f["ActiveConnectionDeviceID"] = call->device.empty() ? ext_ : call->device;
            f["DialedNumber"] = number;
            if (n == "BlindTransfer") {
                f["HeldConnectionCallID"] = 0xFFFFFFFFu;
                f["HeldConnectionDeviceIDType"] = 0xFFFF;
                request(c, "TRANSFER_CALL_REQ", f);
                return;
            }
            json conf;
            std::string held = std::to_string(call->id);
            if (request(c, "CONSULTATION_CALL_REQ", f, &conf)) {
                std::string consult = sval(conf, "NewConnectionCallID");
                consult_of_[consult] = held;
            }
        } else if (n == "TransferCall" || n == "ConferenceCall") {
            CtiCall *held = pick(c);
            if (!held) return;
            std::string held_tid = std::to_string(held->id);
            // The consultation call is known from its confirmation, possibly before its
            // events have been processed.
            std::string consult;
            for (const auto &kv : consult_of_)
                if (kv.second == held_tid) consult = kv.first;
            if (consult.empty()) return sink_.error(c.track_id, n + ": no consultation call for " + held_tid);
            auto active = calls_.find(consult);
            f["ActiveConnectionCallID"] = std::strtoul(consult.c_str(), nullptr, 10);
            f["ActiveConnectionDeviceID"] =
                active == calls_.end() || active->second.device.empty() ? ext_ : active->second.device;
            f["HeldConnectionCallID"] = held->id;
            f["HeldConnectionDeviceID"] = held->device.empty() ? ext_ : held->device;
            request(c, n == "TransferCall" ? "TRANSFER_CALL_REQ" : "CONFERENCE_CALL_REQ", f);
        } else {
            sink_.error(c.track_id, n + ": not supported on the CTI backend");
        }
    }

  private:
    static void callback(void *user, uint32_t, const char *json_text) {
        auto *self = static_cast<CtiBackend *>(user);
        if (json_text) self->post_(json_text);
    }

    static void set(Fields &f, const std::string &k, const std::string &v) {
        for (auto &kv : f)
            if (kv.first == k) {
                kv.second = v;
                return;
            }
        f.emplace_back(k, v);
    }

    Fields call_data(const json &j, const std::string &tid) {
        Fields f{{"CallId", tid}};
        for (const char *k : {"ANI", "DNIS", "DialedNumber", "CallType_name", "CallerEnteredDigits", "CallWrapupData"}) {
            std::string v = sval(j, k);
            if (!v.empty()) f.emplace_back(std::string(k) == "CallType_name" ? "CallType" : k, v);
        }
        for (int i = 1; i <= 10; ++i) {
            std::string k = "CallVariable" + std::to_string(i);
            std::string v = sval(j, k.c_str());
            if (!v.empty()) f.emplace_back(k, v);
        }
        // ECC variables: "NamedVariable" entries as [name, value] pairs or objects.
        auto nv = j.find("NamedVariable");
        if (nv != j.end() && nv->is_array()) {
            for (const auto &e : *nv) {
                if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string())
                    f.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
                else if (e.is_object() && e.contains("Name") && e.contains("Value"))
                    f.emplace_back(sval(e, "Name"), sval(e, "Value"));
            }
        }
        return f;
    }

    void connection_state(const json &j) {
        std::string st = sval(j, "state"), side = sval(j, "side");
        if (st == "Disconnected") {
            sink_.status("libcce: CTI link to side " + side + " lost; reconnecting");
        } else if (st == "AttemptFailed") {
            sink_.status("libcce: CTI side " + side + " not reachable; trying the other side");
        } else if (st == "Connected") {
            sink_.status("libcce: connected to CTI Server side " + side + " (" + sval(j, "address") + ")");
        } else if (st == "BecameActive") {
            sink_.status("libcce: CTI side " + side + " is active");
        } else if (st == "Resynchronized") {
            sink_.status("libcce: CTI session resynchronized");
        }
    }

    void agent_state(const json &j) {
        std::string st = sval(j, "AgentState_name");
        std::string reason = sval(j, "EventReasonCode");
        if (reason == "0") reason = "";
        AgentState s;
        if (st == "AGENT_STATE_LOGOUT") s = AgentState::LoggedOut;
        else if (st == "AGENT_STATE_NOT_READY" || st == "AGENT_STATE_LOGIN") s = AgentState::NotReady;
        else if (st == "AGENT_STATE_AVAILABLE") s = AgentState::Ready;
        else if (st == "AGENT_STATE_WORK_NOT_READY" || st == "AGENT_STATE_WORK_READY") s = AgentState::WrapUp;
        else if (st == "AGENT_STATE_TALKING" || st == "AGENT_STATE_HOLD" || st == "AGENT_STATE_RESERVED") s = AgentState::Busy;
        else return;
        if (st == "AGENT_STATE_LOGIN") return;  // LOGIN is followed by NOT_READY
        sink_.agent_state(s, reason, st);
    }

    /// The call a command applies to: TrackingID, else the first suitable one.
    CtiCall *pick(const Command &c) {
        std::string tid = c.params.get("TrackingID");
        if (!tid.empty()) {
            auto it = calls_.find(tid);
            if (it == calls_.end()) {
                sink_.error(c.track_id, c.name + ": unknown TrackingID " + tid);
                return nullptr;
            }
            return &it->second;
        }
        CtiCall *any = nullptr;
        for (auto &kv : calls_) {
            bool is_consult = consult_of_.count(kv.first) != 0;
            if ((c.name == "TransferCall" || c.name == "ConferenceCall") && is_consult) continue;
            if (!any || (c.name == "ConsultCall" && !is_consult)) any = &kv.second;
        }
        if (!any) sink_.error(c.track_id, c.name + ": no call");
        return any;
    }

    /// Sends a request and waits for its confirmation (at most TimeoutMs); a failure
    /// goes to HandleError with libcce's status name, CTI code and text.
    bool request(const Command &c, const char *req, const json &fields, json *conf = nullptr) {
        uint32_t type = 0;
        char *out = nullptr;
        cce_status st = cti_call(s_, req, fields.dump().c_str(), timeout_ms_, &type, &out);
        if (st != CCE_OK) {
            std::string text = c.name + " failed: " + status_name(st) + " (" + std::to_string(static_cast<int>(st)) +
                               "): " + cce_last_error();
            long long cti = cce_last_error_cti_status();
            if (cti >= 0) text += " [CTI status " + std::to_string(cti) + "]";
            sink_.error(c.track_id, text);
            return false;
        }
        if (conf && out) *conf = json::parse(out, nullptr, false);
        cce_string_free(out);
        return true;
    }

    Params p_;
    Sink &sink_;
    Post post_;
    cti_session *s_ = nullptr;
    std::string ext_, instrument_, agent_;
    long peripheral_;
    uint32_t timeout_ms_;
    std::map<std::string, CtiCall> calls_;
    std::map<std::string, std::string> consult_of_;  // consult tid -> held tid
};

}  // namespace

std::unique_ptr<Backend> make_cti_backend(const Params &p, Sink &sink, Backend::Post post) {
    return std::make_unique<CtiBackend>(p, sink, std::move(post));
}

}  // namespace cce_siebel

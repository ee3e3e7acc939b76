// libcce_siebel: a Siebel communications driver (Adaptive Communications API) over libcce.
// Exports the driver-handle and service-handle methods; each service (one per agent)
// owns a backend (GC or CTI) and one worker thread that runs commands and delivers every
// client-handle call in order. See docs/siebel.md.

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <set>

#include "driver.h"

namespace cce_siebel {

// ---------------------------------------------------------------------------
// Commands and events.

const std::vector<CommandSpec> kCommands = {
    {"LogIn", "AgentId?,Password?,Extension?", "Log the agent in (defaults: service parameters)"},
    {"LogOut", "ReasonCode?", "Log the agent out"},
    {"Ready", "", "Make the agent ready"},
    {"NotReady", "ReasonCode?", "Make the agent not ready, with a reason code"},
    {"MakeCall", "PhoneNumber", "Place a call (the number may also be the string parameter)"},
    {"AnswerCall", "TrackingID?", "Answer the ringing call"},
    {"ReleaseCall", "TrackingID?", "Hang up the call"},
    {"HoldCall", "TrackingID?", "Put the active call on hold"},
    {"RetrieveCall", "TrackingID?", "Take the held call back"},
    {"ConsultCall", "PhoneNumber,TrackingID?", "Hold the call and dial a consultation call"},
    {"TransferCall", "TrackingID?", "Complete the transfer of the held call to the consulted party"},
    {"ConferenceCall", "TrackingID?", "Join the held call and the consulted party"},
    {"BlindTransfer", "PhoneNumber,TrackingID?", "Single-step transfer of the call"},
    {"WrapUp", "ReasonCode,TrackingID?", "Record the wrap-up reason of the call"},
};

const std::vector<CommandSpec> kEvents = {
    {"OnLogin", "AgentId,State", "the agent logged in"},
    {"OnLogout", "AgentId,State,ReasonCode", "the agent logged out"},
    {"OnReady", "AgentId,State", "the agent is ready"},
    {"OnNotReady", "AgentId,State,ReasonCode", "the agent is not ready"},
    {"OnWrapUp", "AgentId,State", "the agent is in after-call work"},
    {"OnAgentBusy", "AgentId,State", "the agent is reserved, talking or holding"},
    {"OnCallRinging", "TrackingID,CallId,ANI,DNIS,CallType,CallVariable1..10,<ECC variables>",
     "an inbound call rings"},
    {"OnCallDialing", "TrackingID,CallId,DialedNumber,CallType,<call data>", "an outbound or consult call"},
    {"OnCallConnected", "TrackingID,<call data>", "the call is connected"},
    {"OnCallHeld", "TrackingID", "the call is on hold"},
    {"OnCallRetrieved", "TrackingID", "the call is back from hold"},
    {"OnCallTransferred", "TrackingID", "the call was transferred"},
    {"OnCallConferenced", "TrackingID", "the call became a conference"},
    {"OnCallDataChanged", "TrackingID,<call data>", "call variables changed"},
    {"OnCallReleased", "TrackingID", "the call ended for this agent"},
};

// ---------------------------------------------------------------------------
// Parameters.

Params::Params(const Fields &f) {
    for (const auto &kv : f) v_[lower(kv.first)] = kv.second;
}

std::string Params::get(const std::string &key, const std::string &def) const {
    auto it = v_.find(lower(key));
    return it == v_.end() || it->second.empty() ? def : it->second;
}

long Params::num(const std::string &key, long def) const {
    std::string s = get(key);
    if (s.empty()) return def;
    char *end = nullptr;
    long n = std::strtol(s.c_str(), &end, 10);
    return (end && *end == 0) ? n : def;
}

Params Params::merged(const Params &other) const {
    Params p = *this;
    for (const auto &kv : other.v_) p.v_[kv.first] = kv.second;
    return p;
}

namespace {

constexpr const char *kChannelStrings[] = {"libcce", "CTC Phone", "Voice"};

bool channel_supported(const std::string &media) {
    std::string m = lower(media);
    for (const char *c : kChannelStrings)
        if (m == lower(c)) return true;
    // Extra channel strings: CCE_SIEBEL_CHANNELS="A;B".
    if (const char *extra = std::getenv("CCE_SIEBEL_CHANNELS")) {
        std::string all = std::string(";") + lower(extra) + ";";
        if (all.find(";" + m + ";") != std::string::npos) return true;
    }
    return false;
}

// ---------------------------------------------------------------------------
// The driver handle.

struct Driver {
    Params params;
    std::string media;
};

// ---------------------------------------------------------------------------
// The service handle.

struct WorkItem {
    Fields fields;
    bool inbound = true;
    bool started = false;
    bool held = false;
};

/// A bounded FIFO of jobs for the worker. Policy: a producer waits up to the queue
/// timeout for room, then the job is refused (commands: SC_EC_ERROR to Siebel; library
/// events: counted and reported once through HandleError).
class JobQueue {
  public:
    using Job = std::function<void()>;
    explicit JobQueue(size_t cap) : cap_(cap) {}
    bool push(Job j, std::chrono::milliseconds wait) {
        std::unique_lock<std::mutex> l(mu_);
        if (!cv_room_.wait_for(l, wait, [&] { return stopped_ || q_.size() < cap_; })) return false;
        if (stopped_) return false;
        q_.push_back(std::move(j));
        cv_.notify_one();
        return true;
    }
    /// Next job; false once stopped and empty.
    bool pop(Job &j) {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [&] { return stopped_ || !q_.empty(); });
        if (q_.empty()) return false;
        j = std::move(q_.front());
        q_.pop_front();
        cv_room_.notify_one();
        return true;
    }
    void stop() {
        std::lock_guard<std::mutex> l(mu_);
        stopped_ = true;
        cv_.notify_all();
        cv_room_.notify_all();
    }

  private:
    size_t cap_;
    std::mutex mu_;
    std::condition_variable cv_, cv_room_;
    std::deque<Job> q_;
    bool stopped_ = false;
};

class Service : public Sink {
  public:
    Service(const ISC_CLIENT_INTERFACE &client, Params p)
        : client_(client),
          params_(std::move(p)),
          agent_(params_.get("AgentId")),
          queue_(static_cast<size_t>(std::max(16L, params_.num("QueueCapacity", 4096)))),
          queue_wait_(std::max(1L, params_.num("QueueTimeoutMs", 1000))) {}

    ~Service() override {
        if (worker_.joinable()) stop();
    }

    /// Creates the backend and starts the worker (which connects first).
    bool start(std::string &err) {
        std::string kind = lower(params_.get("Backend", "CTI"));
        auto post = [this](std::string json) {
            if (!queue_.push([this, j = std::move(json)] { backend_->on_event(j); }, queue_wait_))
                dropped_.fetch_add(1);
        };
        if (kind == "cti") {
            backend_ = make_cti_backend(params_, *this, post);
        } else if (kind == "gc") {
            backend_ = make_gc_backend(params_, *this, post);
        } else {
            err = "Backend must be CTI or GC, not '" + params_.get("Backend") + "'";
            return false;
        }
        if (!backend_) {
            err = "backend could not be created";
            return false;
        }
        queue_.push(
            [this] {
                std::string e;
                if (backend_->start(e)) {
                    connected_ = true;
                } else {
                    status("libcce: not connected: " + e);
                    error("0", "connect failed: " + e);
                }
                push_command_info();
            },
            queue_wait_);
        worker_ = std::thread([this] { run(); });
        return true;
    }

    /// Drops the commands still queued, delivers the queued events, closes the backend and
    /// stops the worker: at most one running command and the close (each bounded by
    /// TimeoutMs). After it returns no client-handle call happens.
    void stop() {
        stopping_ = true;  // commands still queued are dropped: release waits for one at most
        queue_.push(
            [this] {
                fenced_ = true;
                backend_->close();
            },
            queue_wait_);
        queue_.stop();
        if (worker_.joinable()) worker_.join();
        if (!fenced_) {
            // The queue refused the close job (full): close from here, fenced.
            fenced_ = true;
            backend_->close();
        }
    }

    /// Queues a command; SC_EC_OK once accepted.
    ISC_RESULT invoke(Command c) {
        auto it = std::find_if(kCommands.begin(), kCommands.end(),
                               [&](const CommandSpec &s) { return lower(s.name) == lower(c.name); });
        if (it == kCommands.end()) return SC_EC_CMD_NOT_SUPPORTED;
        c.name = it->name;
        bool ok = queue_.push(
            [this, c] {
                if (stopping_) return;
                if (!connected_) {
                    error(c.track_id, c.name + ": not connected");
                    return;
                }
                backend_->command(c);
            },
            queue_wait_);
        return ok ? SC_EC_OK : SC_EC_ERROR;
    }

    /// The tracking ID itself when known, else an error code for the caller.
    ISC_RESULT invoke_on_item(const std::string &command, const std::string &tid) {
        Command c;
        c.name = command;
        c.track_id = "0";
        c.params = Params(Fields{{"TrackingID", tid}});
        return invoke(c);
    }

    // --- Sink (worker thread only) ---------------------------------------

    void status(const std::string &text) override {
        if (fenced_) return;
        U16 t(text);
        CCE_ISC_CLIENT_CALL(&client_, ShowStatusText, t.get());
    }

    void error(const std::string &track_id, const std::string &text) override {
        if (fenced_) return;
        U16 id(track_id.empty() ? "0" : track_id), t(text);
        CCE_ISC_CLIENT_CALL(&client_, HandleError, id.get(), t.get());
    }

    void event(const std::string &name, const Fields &f, const std::string &tid) override {
        if (fenced_) return;
        report_dropped();
        U16 n(name), t(tid);
        OwnedKV kv(f);
        CCE_ISC_CLIENT_CALL(&client_, HandleEvent, n.get(), kv.get(), 0, t.get());
    }

    void agent_state(AgentState s, const std::string &reason, const std::string &raw) override {
        if (s == state_ && reason == reason_) return;
        state_ = s;
        reason_ = reason;
        const char *name = "OnAgentBusy";
        switch (s) {
            case AgentState::LoggedOut: name = "OnLogout"; break;
            case AgentState::NotReady: name = logged_in_ ? "OnNotReady" : "OnLogin"; break;
            case AgentState::Ready: name = logged_in_ ? "OnReady" : "OnLogin"; break;
            case AgentState::WrapUp: name = "OnWrapUp"; break;
            case AgentState::Busy: name = "OnAgentBusy"; break;
        }
        bool was_in = logged_in_;
        logged_in_ = s != AgentState::LoggedOut;
        Fields f{{"AgentId", agent_}, {"State", raw}, {"ReasonCode", reason}};
        if (!was_in && logged_in_) {
            event("OnLogin", f, "");
            if (s == AgentState::NotReady) event("OnNotReady", f, "");
            if (s == AgentState::Ready) event("OnReady", f, "");
        } else {
            event(name, f, "");
        }
        if (fenced_) return;
        OwnedKV info(Fields{{std::to_string(SC_OP_ISLOGON), logged_in_ ? "TRUE" : "FALSE"},
                            {std::to_string(SC_OP_ISNOTREADY), s == AgentState::NotReady ? "TRUE" : "FALSE"},
                            {std::to_string(SC_OP_ISBUSY), s == AgentState::Busy ? "TRUE" : "FALSE"}});
        U16 zero("0"), addr(agent_);
        CCE_ISC_CLIENT_CALL(&client_, UpdateObjectInformation, zero.get(), addr.get(), info.get());
        push_command_info();
    }

    void call_ringing(const std::string &tid, const Fields &f) override {
        if (items_.count(tid)) return;
        items_[tid] = WorkItem{f, true, false, false};
        new_item(tid, SC_WM_INBOUND);
        event("OnCallRinging", with_tid(tid, f), tid);
        push_command_info();
    }

    void call_dialing(const std::string &tid, const Fields &f) override {
        if (items_.count(tid)) return;
        items_[tid] = WorkItem{f, false, false, false};
        new_item(tid, SC_WM_OUTBOUND);
        event("OnCallDialing", with_tid(tid, f), tid);
        push_command_info();
    }

    void call_connected(const std::string &tid, const Fields &f) override {
        if (!items_.count(tid)) call_ringing(tid, f);
        WorkItem &w = items_[tid];
        merge(w.fields, f);
        if (w.held) {
            call_retrieved(tid);
            return;
        }
        if (w.started) return;
        w.started = true;
        if (!fenced_) {
            U16 t(tid), old(""), d(describe(w)), addr(value(w.fields, w.inbound ? "ANI" : "DialedNumber"));
            CCE_ISC_CLIENT_CALL(&client_, WorkItemStarted, t.get(), old.get(), d.get(), addr.get(),
                                std::time(nullptr));
        }
        event("OnCallConnected", with_tid(tid, w.fields), tid);
        push_command_info();
    }

    void call_held(const std::string &tid) override {
        auto it = items_.find(tid);
        if (it == items_.end() || it->second.held) return;
        it->second.held = true;
        if (!fenced_) {
            U16 t(tid);
            CCE_ISC_CLIENT_CALL(&client_, WorkItemSuspended, t.get());
        }
        event("OnCallHeld", Fields{{"TrackingID", tid}}, tid);
        push_command_info();
    }

    void call_retrieved(const std::string &tid) override {
        auto it = items_.find(tid);
        if (it == items_.end() || !it->second.held) return;
        it->second.held = false;
        if (!fenced_) {
            U16 t(tid);
            CCE_ISC_CLIENT_CALL(&client_, WorkItemResumed, t.get());
        }
        event("OnCallRetrieved", Fields{{"TrackingID", tid}}, tid);
        push_command_info();
    }

    void call_ended(const std::string &tid) override {
        auto it = items_.find(tid);
        if (it == items_.end()) return;
        items_.erase(it);
        if (!fenced_) {
            U16 t(tid);
            CCE_ISC_CLIENT_CALL(&client_, WorkItemReleased, t.get(), std::time(nullptr));
        }
        event("OnCallReleased", Fields{{"TrackingID", tid}}, tid);
        push_command_info();
    }

    void call_data(const std::string &tid, const Fields &f) override {
        auto it = items_.find(tid);
        if (it == items_.end()) return;
        merge(it->second.fields, f);
        event("OnCallDataChanged", with_tid(tid, it->second.fields), tid);
    }

    bool has_call(const std::string &tid) const override { return items_.count(tid) != 0; }

  private:
    void run() {
        JobQueue::Job j;
        while (queue_.pop(j)) {
            // Nothing may escape the worker thread: it would terminate the host process.
            try {
                j();
            } catch (const std::exception &e) {
                error("0", std::string("libcce driver: internal error: ") + e.what());
            } catch (...) {
                error("0", "libcce driver: internal error");
            }
        }
    }

    /// True when every parameter of "A?,B?" is optional (or there are none).
    static bool all_optional(const std::string &params) {
        size_t start = 0;
        while (start < params.size()) {
            size_t end = params.find(',', start);
            if (end == std::string::npos) end = params.size();
            if (end == start || params[end - 1] != '?') return false;
            start = end + 1;
        }
        return true;
    }

    static void merge(Fields &into, const Fields &from) {
        for (const auto &kv : from) {
            auto it = std::find_if(into.begin(), into.end(), [&](const auto &x) { return x.first == kv.first; });
            if (it == into.end())
                into.push_back(kv);
            else
                it->second = kv.second;
        }
    }
    static std::string value(const Fields &f, const std::string &k) {
        for (const auto &kv : f)
            if (kv.first == k) return kv.second;
        return "";
    }
    static Fields with_tid(const std::string &tid, const Fields &f) {
        Fields out{{"TrackingID", tid}};
        for (const auto &kv : f)
            if (kv.first != "TrackingID") out.push_back(kv);
        return out;
    }
    static std::string describe(const WorkItem &w) {
        return w.inbound ? "Call from " + value(w.fields, "ANI") : "Call to " + value(w.fields, "DialedNumber");
    }

    void new_item(const std::string &tid, SCWorkItemMode mode) {
        if (fenced_) return;
        U16 t(tid), old(""), d(describe(items_[tid]));
        CCE_ISC_CLIENT_CALL(&client_, IndicateNewWorkItem, t.get(), old.get(), d.get(), mode);
    }

    void report_dropped() {
        size_t n = dropped_.exchange(0);
        if (n) error("0", std::to_string(n) + " libcce events dropped: the driver queue was full");
    }

    /// CacheCommandInformation with each command's enablement for the current state.
    void push_command_info() {
        if (fenced_) return;
        bool ringing = false, active = false, held = false;
        for (const auto &kv : items_) {
            ringing |= !kv.second.started;
            active |= kv.second.started && !kv.second.held;
            held |= kv.second.held;
        }
        std::vector<std::string> names, descs;
        std::vector<long> flags;
        for (const auto &c : kCommands) {
            std::string n = c.name;
            long f = 0;
            bool enabled = connected_;
            if (n == "LogIn") enabled &= !logged_in_;
            else if (n == "LogOut" || n == "Ready" || n == "NotReady" || n == "MakeCall") enabled &= logged_in_;
            else if (n == "AnswerCall") enabled &= ringing;
            else if (n == "HoldCall") enabled &= active;
            else if (n == "RetrieveCall" || n == "TransferCall" || n == "ConferenceCall") enabled &= held;
            else enabled &= !items_.empty();
            if (!enabled) f |= SC_CF_DISABLED;
            if (n == "NotReady" && state_ == AgentState::NotReady) f |= SC_CF_CHECKED;
            if (n == "AnswerCall" && ringing) f |= SC_CF_BLINKING;
            if (all_optional(c.params)) f |= SC_CF_NOPARAMSOK;
            if (n == "MakeCall" || n == "NotReady" || n == "WrapUp") f |= SC_CF_STRPARAMSOK;
            names.push_back(n);
            descs.push_back(c.description);
            flags.push_back(f);
        }
        OwnedStrList ln(names), ld(descs);
        struct ISC_LongParamList lf {};
        lf.dataItems = flags.data();
        lf.len = static_cast<long>(flags.size());
        CCE_ISC_CLIENT_CALL(&client_, CacheCommandInformation, ln.get(), ld.get(), &lf);
    }

    ISC_CLIENT_INTERFACE client_;
    Params params_;
    std::string agent_;
    std::unique_ptr<Backend> backend_;
    JobQueue queue_;
    std::chrono::milliseconds queue_wait_;
    std::thread worker_;
    std::atomic<size_t> dropped_{0};
    // Worker-thread state.
    std::map<std::string, WorkItem> items_;
    AgentState state_ = AgentState::LoggedOut;
    std::string reason_;
    bool logged_in_ = false;
    bool connected_ = false;
    std::atomic<bool> fenced_{false};
    std::atomic<bool> stopping_{false};
};

// ---------------------------------------------------------------------------
// Handle registry: every export validates its handle here.

std::mutex g_mu;
std::map<void *, std::shared_ptr<Driver>> g_drivers;
std::map<void *, std::shared_ptr<Service>> g_services;

std::shared_ptr<Service> service_of(void *h) {
    std::lock_guard<std::mutex> l(g_mu);
    auto it = g_services.find(h);
    return it == g_services.end() ? nullptr : it->second;
}

ISC_RESULT on_item(ISC_SERVICE_HANDLE handle, const char *command, const ISC_CHAR *tid) {
    try {
        auto s = service_of(handle);
        if (!s) return SC_EC_INVALID_HANDLE;
        std::string t = to_utf8(tid);
        if (t.empty()) return SC_EC_INVALID_ITEM_TRACKING_ID;
        return s->invoke_on_item(command, t);
    } catch (...) {
        return SC_EC_ERROR;
    }
}

std::string signature(const CommandSpec &c) { return std::string(c.name) + "(" + c.params + ")"; }

}  // namespace
}  // namespace cce_siebel

using namespace cce_siebel;

extern "C" {

ISCAPI long APIVersion(void) {
    if (const char *v = std::getenv("CCE_SIEBEL_SCAPI_VERSION")) {
        char *end = nullptr;
        long n = std::strtol(v, &end, 10);
        if (end && *end == 0 && n > 0) return n;
    }
    return SCAPI_VERSION;
}

ISCAPI ISC_RESULT CreateISCDriverInstance(const ISC_STRING mediaTypeStr, const ISC_STRING languageCode,
                                          const ISC_STRING connectString,
                                          const struct ISC_KVParamList *datasetParams,
                                          ISC_DRIVER_HANDLE *handle) {
    (void)languageCode;
    (void)connectString;
    if (!handle) return SC_EC_ERROR;
    try {
        std::string media = to_utf8(mediaTypeStr);
        if (!channel_supported(media)) return SC_EC_MEDIA_TYPE_NOT_SUPPORTED;
        auto d = std::make_shared<Driver>();
        d->params = Params(copy_fields(datasetParams));
        d->media = media;
        std::string backend = lower(d->params.get("Backend", "CTI"));
        if (backend != "cti" && backend != "gc") return SC_EC_DRIVER_CREATION_ERR;
        std::lock_guard<std::mutex> l(g_mu);
        g_drivers[d.get()] = d;
        *handle = d.get();
        return SC_EC_OK;
    } catch (...) {
        return SC_EC_DRIVER_CREATION_ERR;
    }
}

ISCAPI ISC_RESULT RequestCommandEventList(const ISC_STRING mediaTypeStr, struct ISC_StrParamList *commandList,
                                          struct ISC_StrParamList *eventList) {
    if (!commandList || !eventList) return SC_EC_ERROR;
    if (!channel_supported(to_utf8(mediaTypeStr))) return SC_EC_MEDIA_TYPE_NOT_SUPPORTED;
    // CCE_SIEBEL_LIST_STYLE=names gives bare names; the default adds the parameters,
    // "MakeCall(PhoneNumber)".
    const char *style = std::getenv("CCE_SIEBEL_LIST_STYLE");
    bool names_only = style && lower(style) == "names";
    try {
        std::vector<std::string> cmds, evs;
        for (const auto &c : kCommands) cmds.push_back(names_only ? c.name : signature(c));
        for (const auto &e : kEvents) evs.push_back(names_only ? e.name : signature(e));
        *commandList = new_str_list(cmds);
        *eventList = new_str_list(evs);
    } catch (...) {
        *commandList = {};
        *eventList = {};
        return SC_EC_OUT_OF_MEMORY;
    }
    if (!commandList->dataItems || !eventList->dataItems) {
        free_str_list(*commandList);
        free_str_list(*eventList);
        *commandList = {};
        *eventList = {};
        return SC_EC_OUT_OF_MEMORY;
    }
    return SC_EC_OK;
}

ISCAPI ISC_RESULT RequestService(ISC_DRIVER_HANDLE handle, const struct ISC_CLIENT_INTERFACE clntInterface,
                                 const ISC_STRING connectString, const struct ISC_KVParamList *datasetParams,
                                 ISC_SERVICE_HANDLE *serviceHandle) {
    (void)connectString;
    if (!serviceHandle) return SC_EC_ERROR;
    std::shared_ptr<Driver> d;
    {
        std::lock_guard<std::mutex> l(g_mu);
        auto it = g_drivers.find(handle);
        if (it == g_drivers.end()) return SC_EC_INVALID_HANDLE;
        d = it->second;
    }
    try {
        Params p = d->params.merged(Params(copy_fields(datasetParams)));
        auto s = std::make_shared<Service>(clntInterface, p);
        std::string err;
        if (!s->start(err)) {
            U16 zero("0"), text("libcce: " + err);
            CCE_ISC_CLIENT_CALL(&clntInterface, HandleError, zero.get(), text.get());
            return SC_EC_SERVICE_CREATION_ERR;
        }
        std::lock_guard<std::mutex> l(g_mu);
        g_services[s.get()] = s;
        *serviceHandle = s.get();
        return SC_EC_OK;
    } catch (...) {
        return SC_EC_SERVICE_CREATION_ERR;
    }
}

ISCAPI ISC_RESULT ReleaseISCDriverInstance(ISC_DRIVER_HANDLE handle) {
    std::lock_guard<std::mutex> l(g_mu);
    return g_drivers.erase(handle) ? SC_EC_OK : SC_EC_INVALID_HANDLE;
}

ISCAPI void FreeSCStrParamList(struct ISC_StrParamList strList) { free_str_list(strList); }

ISCAPI ISC_RESULT GetImplementationObject(ISC_HANDLE key, ISC_HANDLE *impObj) {
    // No aggregate-driver support: the only implementation object of a handle is itself.
    if (!impObj) return SC_EC_ERROR;
    std::lock_guard<std::mutex> l(g_mu);
    if (!g_drivers.count(key) && !g_services.count(key)) return SC_EC_INVALID_HANDLE;
    *impObj = key;
    return SC_EC_OK;
}

ISCAPI ISC_RESULT InvokeCommand(ISC_SERVICE_HANDLE handle, const ISC_STRING clntCmdTrackID, const ISC_STRING name,
                                const ISC_STRING stringParam, const struct ISC_KVParamList *datasetParam) {
    auto s = service_of(handle);
    if (!s) return SC_EC_INVALID_HANDLE;
    try {
        Command c;
        c.name = to_utf8(name);
        c.track_id = to_utf8(clntCmdTrackID);
        c.str = to_utf8(stringParam);
        c.params = Params(copy_fields(datasetParam));
        return s->invoke(c);
    } catch (...) {
        return SC_EC_ERROR;
    }
}

ISCAPI ISC_RESULT InvokeCommandEx(ISC_SERVICE_HANDLE handle, const ISC_STRING clntCmdTrackID,
                                  enum SCCommandTypeEx commandType, const struct ISC_KVParamList *datasetParam) {
    auto s = service_of(handle);
    if (!s) return SC_EC_INVALID_HANDLE;
    if (commandType != SC_CT_MAKECALL) return SC_EC_CMD_NOT_SUPPORTED;
    try {
        Command c;
        c.name = "MakeCall";
        c.track_id = to_utf8(clntCmdTrackID);
        c.params = Params(copy_fields(datasetParam));
        return s->invoke(c);
    } catch (...) {
        return SC_EC_ERROR;
    }
}

ISCAPI ISC_RESULT NotifyEventHandlingFinished(ISC_SERVICE_HANDLE handle, const ISC_STRING trackingID,
                                              ISC_BOOLEAN result) {
    (void)trackingID;
    (void)result;
    // The driver never asks for notifyWhenDone; accept the call for any live handle.
    return service_of(handle) ? SC_EC_OK : SC_EC_INVALID_HANDLE;
}

ISCAPI ISC_RESULT AcceptWorkItem(ISC_SERVICE_HANDLE handle, const ISC_STRING trackingID) {
    return on_item(handle, "AnswerCall", trackingID);
}
ISCAPI ISC_RESULT ReleaseWorkItem(ISC_SERVICE_HANDLE handle, const ISC_STRING trackingID) {
    return on_item(handle, "ReleaseCall", trackingID);
}
ISCAPI ISC_RESULT SuspendWorkItem(ISC_SERVICE_HANDLE handle, const ISC_STRING trackingID) {
    return on_item(handle, "HoldCall", trackingID);
}
ISCAPI ISC_RESULT ResumeWorkItem(ISC_SERVICE_HANDLE handle, const ISC_STRING trackingID) {
    return on_item(handle, "RetrieveCall", trackingID);
}

ISCAPI ISC_RESULT HandleQueuedWorkItem(ISC_SERVICE_HANDLE handle, const ISC_STRING name,
                                       const struct ISC_KVParamList *fields, const ISC_STRING trackingID) {
    (void)name;
    (void)fields;
    (void)trackingID;
    return service_of(handle) ? SC_EC_CMD_NOT_SUPPORTED : SC_EC_INVALID_HANDLE;
}

ISCAPI ISC_RESULT RevokeQueuedWorkItem(ISC_SERVICE_HANDLE handle, const ISC_STRING trackingID) {
    (void)trackingID;
    return service_of(handle) ? SC_EC_CMD_NOT_SUPPORTED : SC_EC_INVALID_HANDLE;
}

ISCAPI ISC_RESULT ReleaseISCServiceInstance(ISC_SERVICE_HANDLE handle) {
    std::shared_ptr<Service> s;
    {
        std::lock_guard<std::mutex> l(g_mu);
        auto it = g_services.find(handle);
        if (it == g_services.end()) return SC_EC_INVALID_HANDLE;
        s = it->second;
        g_services.erase(it);
    }
    try {
        s->stop();
    } catch (...) {
        return SC_EC_SERVICE_RELEASE_ERR;
    }
    return SC_EC_OK;
}

}  // extern "C"

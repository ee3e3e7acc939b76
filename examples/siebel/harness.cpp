// A small Siebel channel-manager harness: loads libcce_siebel.so the way Communications
// Server does (dlopen, APIVersion, CreateISCDriverInstance, RequestCommandEventList,
// RequestService), implements the client handle, and drives one agent through whole
// calls against libcce's simulators, printing every callback it receives.
//
//   harness DRIVER.so cti          CTI simulator, sides A/B; side A dies during a call
//   harness DRIVER.so gc [BROKER]  GC simulator on BROKER (default: an in-memory broker;
//                                  CCE_STOMP_ADDR is used when set)
//   harness DRIVER.so cycle        one login/logout cycle on the CTI simulator (valgrind)
//
// Exit status 0 when every check passed.

#include <dlfcn.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "cce.h"
#include "isc_abi.h"

namespace {

// --- UTF-16 helpers (ASCII is all the harness needs) -------------------------------

std::u16string u(const std::string &s) { return std::u16string(s.begin(), s.end()); }
std::string a(const ISC_CHAR *s) {
    std::string out;
    for (size_t i = 0; s && s[i]; ++i) out += s[i] < 0x80 ? static_cast<char>(s[i]) : '?';
    return out;
}
ISC_STRING S(std::u16string &s) { return reinterpret_cast<ISC_STRING>(&s[0]); }

/// A KV list the harness passes to the driver.
struct KV {
    std::vector<std::u16string> strs;
    std::vector<ISC_KeyValue> items;
    ISC_KVParamList list{};
    KV(std::initializer_list<std::pair<std::string, std::string>> kvs) {
        for (const auto &kv : kvs) {
            strs.push_back(u(kv.first));
            strs.push_back(u(kv.second));
        }
        for (size_t i = 0; i < strs.size(); i += 2) items.push_back({S(strs[i]), S(strs[i + 1])});
        list.dataItems = items.data();
        list.len = static_cast<long>(items.size());
    }
};

// --- The record of every client-handle call ----------------------------------------

struct Entry {
    std::string kind;  // HandleEvent, HandleError, ShowStatusText, IndicateNewWorkItem, ...
    std::string name;  // event name / tracking ID
    std::string text;
    std::map<std::string, std::string> fields;
};

struct Recorder {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<Entry> entries;
    bool released = false;
    int after_release = 0;

    void add(Entry e) {
        std::string line = e.kind + " " + e.name;
        if (!e.text.empty()) line += " \"" + e.text + "\"";
        for (const auto &kv : e.fields) line += " " + kv.first + "=" + kv.second;
        std::printf("  <- %s\n", line.c_str());
        std::fflush(stdout);
        std::lock_guard<std::mutex> l(mu);
        if (released) ++after_release;
        entries.push_back(std::move(e));
        cv.notify_all();
    }

    /// Waits for an entry at index >= from matching `pred`; returns its index.
    size_t wait(size_t from, const std::function<bool(const Entry &)> &pred, const std::string &what,
                int timeout_s = 15) {
        std::unique_lock<std::mutex> l(mu);
        size_t found = SIZE_MAX;
        auto ok = cv.wait_for(l, std::chrono::seconds(timeout_s), [&] {
            for (size_t i = from; i < entries.size(); ++i)
                if (pred(entries[i])) {
                    found = i;
                    return true;
                }
            return false;
        });
        if (!ok) throw std::runtime_error("timed out waiting for " + what);
        return found;
    }
    Entry at(size_t i) {
        std::lock_guard<std::mutex> l(mu);
        return entries.at(i);
    }
    /// Waits until the latest agent-state event is `name`.
    void wait_state(const std::string &name, int timeout_s = 15) {
        static const std::set<std::string> agent_events = {"OnLogin", "OnLogout", "OnReady", "OnNotReady",
                                                           "OnWrapUp", "OnAgentBusy"};
        std::unique_lock<std::mutex> l(mu);
        auto ok = cv.wait_for(l, std::chrono::seconds(timeout_s), [&] {
            for (size_t i = entries.size(); i-- > 0;)
                if (entries[i].kind == "HandleEvent" && agent_events.count(entries[i].name))
                    return entries[i].name == name;
            return false;
        });
        if (!ok) throw std::runtime_error("timed out waiting for agent state " + name);
    }
    size_t size() {
        std::lock_guard<std::mutex> l(mu);
        return entries.size();
    }
    std::vector<Entry> since(size_t from) {
        std::lock_guard<std::mutex> l(mu);
        return std::vector<Entry>(entries.begin() + static_cast<long>(std::min(from, entries.size())), entries.end());
    }
};

Recorder rec;

std::string field(const Entry &e, const std::string &k) {
    auto it = e.fields.find(k);
    return it == e.fields.end() ? "" : it->second;
}

std::map<std::string, std::string> fields_of(const ISC_KVParamList *l) {
    std::map<std::string, std::string> m;
    for (long i = 0; l && i < l->len; ++i) m[a(l->dataItems[i].paramName)] = a(l->dataItems[i].paramValue);
    return m;
}

// --- The client handle ----------------------------------------------------------------

ISC_RESULT c_begin(ISC_CLIENT_HANDLE) { return SC_EC_OK; }
ISC_RESULT c_end(ISC_CLIENT_HANDLE) { return SC_EC_OK; }
ISC_RESULT c_cache(ISC_CLIENT_HANDLE, const ISC_StrParamList *names, const ISC_StrParamList *,
                   const ISC_LongParamList *st) {
    Entry e{"CacheCommandInformation", "", "", {}};
    for (long i = 0; names && st && i < names->len && i < st->len; ++i)
        if (!(st->dataItems[i] & SC_CF_DISABLED)) e.text += (e.text.empty() ? "" : ",") + a(names->dataItems[i]);
    e.text = "enabled: " + e.text;
    rec.add(e);
    return SC_EC_OK;
}
ISC_RESULT c_clean(ISC_CLIENT_HANDLE) {
    rec.add({"CleanAllWorkItem", "", "", {}});
    return SC_EC_OK;
}
ISC_RESULT c_error(ISC_CLIENT_HANDLE, const ISC_STRING track, const ISC_STRING text) {
    rec.add({"HandleError", a(track), a(text), {}});
    return SC_EC_OK;
}
ISC_RESULT c_event(ISC_CLIENT_HANDLE, const ISC_STRING name, const ISC_KVParamList *f, ISC_BOOLEAN,
                   const ISC_STRING tid) {
    Entry e{"HandleEvent", a(name), "", fields_of(f)};
    if (tid && tid[0]) e.fields["(trackingID)"] = a(tid);
    rec.add(e);
    return SC_EC_OK;
}
ISC_RESULT c_new(ISC_CLIENT_HANDLE, const ISC_STRING tid, const ISC_STRING, const ISC_STRING desc,
                 SCWorkItemMode mode) {
    rec.add({"IndicateNewWorkItem", a(tid), a(desc), {{"mode", mode == SC_WM_INBOUND ? "INBOUND" : "OUTBOUND"}}});
    return SC_EC_OK;
}
ISC_RESULT c_status(ISC_CLIENT_HANDLE, const ISC_STRING text) {
    rec.add({"ShowStatusText", "", a(text), {}});
    return SC_EC_OK;
}
ISC_RESULT c_update(ISC_CLIENT_HANDLE, const ISC_STRING, const ISC_STRING addr, const ISC_KVParamList *f) {
    rec.add({"UpdateObjectInformation", a(addr), "", fields_of(f)});
    return SC_EC_OK;
}
ISC_RESULT c_released(ISC_CLIENT_HANDLE, const ISC_STRING tid, time_t) {
    rec.add({"WorkItemReleased", a(tid), "", {}});
    return SC_EC_OK;
}
ISC_RESULT c_resumed(ISC_CLIENT_HANDLE, const ISC_STRING tid) {
    rec.add({"WorkItemResumed", a(tid), "", {}});
    return SC_EC_OK;
}
ISC_RESULT c_started(ISC_CLIENT_HANDLE, const ISC_STRING tid, const ISC_STRING, const ISC_STRING desc,
                     const ISC_STRING addr, time_t) {
    rec.add({"WorkItemStarted", a(tid), a(desc), {{"mediaTargetAddr", a(addr)}}});
    return SC_EC_OK;
}
ISC_RESULT c_suspended(ISC_CLIENT_HANDLE, const ISC_STRING tid) {
    rec.add({"WorkItemSuspended", a(tid), "", {}});
    return SC_EC_OK;
}

// --- The driver, resolved by name -------------------------------------------------------

struct Api {
    void *lib = nullptr;
    decltype(&::APIVersion) APIVersion;
    decltype(&::CreateISCDriverInstance) CreateISCDriverInstance;
    decltype(&::RequestCommandEventList) RequestCommandEventList;
    decltype(&::RequestService) RequestService;
    decltype(&::ReleaseISCDriverInstance) ReleaseISCDriverInstance;
    decltype(&::FreeSCStrParamList) FreeSCStrParamList;
    decltype(&::GetImplementationObject) GetImplementationObject;
    decltype(&::InvokeCommand) InvokeCommand;
    decltype(&::InvokeCommandEx) InvokeCommandEx;
    decltype(&::NotifyEventHandlingFinished) NotifyEventHandlingFinished;
    decltype(&::AcceptWorkItem) AcceptWorkItem;
    decltype(&::ReleaseWorkItem) ReleaseWorkItem;
    decltype(&::SuspendWorkItem) SuspendWorkItem;
    decltype(&::ResumeWorkItem) ResumeWorkItem;
    decltype(&::HandleQueuedWorkItem) HandleQueuedWorkItem;
    decltype(&::RevokeQueuedWorkItem) RevokeQueuedWorkItem;
    decltype(&::ReleaseISCServiceInstance) ReleaseISCServiceInstance;
};

template <typename F>
void resolve(void *lib, F &f, const char *name) {
    f = reinterpret_cast<F>(dlsym(lib, name));
    if (!f) throw std::runtime_error(std::string("symbol not resolved: ") + name);
}

Api load(const char *path) {
    Api api;
    api.lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!api.lib) throw std::runtime_error(std::string("dlopen: ") + dlerror());
#define R(n) resolve(api.lib, api.n, #n)
    R(APIVersion); R(CreateISCDriverInstance); R(RequestCommandEventList); R(RequestService);
    R(ReleaseISCDriverInstance); R(FreeSCStrParamList); R(GetImplementationObject); R(InvokeCommand);
    R(InvokeCommandEx); R(NotifyEventHandlingFinished); R(AcceptWorkItem); R(ReleaseWorkItem);
    R(SuspendWorkItem); R(ResumeWorkItem); R(HandleQueuedWorkItem); R(RevokeQueuedWorkItem);
    R(ReleaseISCServiceInstance);
#undef R
    return api;
}

void check(bool ok, const std::string &what) {
    if (!ok) throw std::runtime_error("check failed: " + what);
    std::printf("  ok: %s\n", what.c_str());
}

// --- The session under test ---------------------------------------------------------------

struct Session {
    Api api;
    ISC_DRIVER_HANDLE driver = nullptr;
    ISC_SERVICE_HANDLE service = nullptr;
    std::vector<std::string> commands;  // listed by RequestCommandEventList
    std::set<std::string> invoked;
    std::set<std::string> expected_errors;  // clntCmdTrackIDs whose HandleError is expected
    int next_track = 1;

    /// Invokes a command; returns its clntCmdTrackID.
    std::string cmd(const std::string &name, std::initializer_list<std::pair<std::string, std::string>> params = {},
                    const std::string &str = "", ISC_RESULT expect = SC_EC_OK) {
        std::string track = std::to_string(next_track++);
        std::printf("-> InvokeCommand %s (track %s)\n", name.c_str(), track.c_str());
        KV kv(params);
        std::u16string t = u(track), n = u(name), s = u(str);
        ISC_RESULT r = api.InvokeCommand(service, S(t), S(n), S(s), &kv.list);
        check(r == expect, "InvokeCommand " + name + " returned " + std::to_string(r));
        invoked.insert(name);
        return track;
    }

    size_t event(size_t from, const std::string &name, const std::string &tid = "") {
        return rec.wait(
            from,
            [&](const Entry &e) {
                return e.kind == "HandleEvent" && e.name == name && (tid.empty() || field(e, "TrackingID") == tid);
            },
            "event " + name + " " + tid);
    }
    size_t item(size_t from, const std::string &kind, const std::string &tid = "") {
        return rec.wait(
            from, [&](const Entry &e) { return e.kind == kind && (tid.empty() || e.name == tid); },
            kind + " " + tid);
    }
    /// The most recent agent-state event name since `from` is `name` (waiting for it).
    void agent(size_t from, const std::string &name) {
        rec.wait(
            from,
            [&](const Entry &e) {
                if (e.kind != "HandleEvent" || e.name != name) return false;
                return true;
            },
            "agent " + name);
    }
};

std::string names_of(const ISC_StrParamList &l) {
    std::string out;
    for (long i = 0; i < l.len; ++i) out += (i ? " " : "") + a(l.dataItems[i]);
    return out;
}

ISC_CLIENT_INTERFACE client_interface() {
    ISC_CLIENT_INTERFACE ci{};
    ci.clientHandle = &rec;
    ci.BeginBatch = c_begin;
    ci.CacheCommandInformation = c_cache;
    ci.CleanAllWorkItem = c_clean;
    ci.EndBatch = c_end;
    ci.HandleError = c_error;
    ci.HandleEvent = c_event;
    ci.IndicateNewWorkItem = c_new;
    ci.ShowStatusText = c_status;
    ci.UpdateObjectInformation = c_update;
    ci.WorkItemReleased = c_released;
    ci.WorkItemResumed = c_resumed;
    ci.WorkItemStarted = c_started;
    ci.WorkItemSuspended = c_suspended;
    return ci;
}

/// Loading sequence of the channel manager, up to a service with the agent's parameters.
void open(Session &s, const char *path, KV &driver_params, KV &service_params) {
    s.api = load(path);
    long v = s.api.APIVersion();
    check(v == SCAPI_VERSION, "APIVersion() == SCAPI_VERSION (" + std::to_string(v) + ")");
    std::u16string media = u("libcce"), lang = u("ENU"), empty = u(""), bad = u("Fax");
    ISC_DRIVER_HANDLE h = nullptr;
    check(s.api.CreateISCDriverInstance(S(bad), S(lang), S(empty), &driver_params.list, &h) ==
              SC_EC_MEDIA_TYPE_NOT_SUPPORTED,
          "unknown channel string refused");
    check(s.api.CreateISCDriverInstance(S(media), S(lang), S(empty), &driver_params.list, &s.driver) == SC_EC_OK,
          "CreateISCDriverInstance");
    ISC_StrParamList cmds{}, evs{};
    check(s.api.RequestCommandEventList(S(media), &cmds, &evs) == SC_EC_OK, "RequestCommandEventList");
    std::printf("  commands: %s\n  events: %s\n", names_of(cmds).c_str(), names_of(evs).c_str());
    for (long i = 0; i < cmds.len; ++i) {
        std::string c = a(cmds.dataItems[i]);
        s.commands.push_back(c.substr(0, c.find('(')));
    }
    check(!s.commands.empty() && evs.len > 0, "commands and events listed");
    s.api.FreeSCStrParamList(cmds);
    s.api.FreeSCStrParamList(evs);
    int bogus = 0;
    ISC_SERVICE_HANDLE none = nullptr;
    check(s.api.RequestService(&bogus, client_interface(), S(empty), &service_params.list, &none) ==
              SC_EC_INVALID_HANDLE,
          "RequestService with an unknown driver handle refused");
    check(s.api.InvokeCommand(&bogus, nullptr, nullptr, nullptr, nullptr) == SC_EC_INVALID_HANDLE &&
              s.api.ReleaseWorkItem(nullptr, nullptr) == SC_EC_INVALID_HANDLE &&
              s.api.ReleaseISCServiceInstance(&bogus) == SC_EC_INVALID_HANDLE,
          "service methods refuse unknown handles (NULL arguments included)");
    size_t from = rec.size();
    check(s.api.RequestService(s.driver, client_interface(), S(empty), &service_params.list, &s.service) ==
              SC_EC_OK,
          "RequestService");
    rec.wait(
        from, [](const Entry &e) { return e.kind == "ShowStatusText" && e.text.find("libcce: connected") != std::string::npos; },
        "connected status");
}

void close(Session &s) {
    check(s.api.ReleaseISCServiceInstance(s.service) == SC_EC_OK, "ReleaseISCServiceInstance");
    {
        std::lock_guard<std::mutex> l(rec.mu);
        rec.released = true;
    }
    check(s.api.ReleaseISCServiceInstance(s.service) == SC_EC_INVALID_HANDLE, "second service release refused");
    std::u16string t = u("0"), n = u("Ready"), e = u("");
    check(s.api.InvokeCommand(s.service, S(t), S(n), S(e), nullptr) == SC_EC_INVALID_HANDLE,
          "released service handle refused");
    check(s.api.ReleaseISCDriverInstance(s.driver) == SC_EC_OK, "ReleaseISCDriverInstance");
    check(s.api.ReleaseISCDriverInstance(s.driver) == SC_EC_INVALID_HANDLE, "second driver release refused");
    {
        std::lock_guard<std::mutex> l(rec.mu);
        check(rec.after_release == 0, "no client call after ReleaseISCServiceInstance");
    }
    dlclose(s.api.lib);
}

void check_errors(Session &s, size_t from) {
    for (const auto &e : rec.since(from))
        if (e.kind == "HandleError" && !s.expected_errors.count(e.name))
            throw std::runtime_error("unexpected HandleError " + e.name + ": " + e.text);
}

void check_all_commands(Session &s) {
    for (const auto &c : s.commands) check(s.invoked.count(c) != 0, "command " + c + " exercised");
}

// --- Scenarios ------------------------------------------------------------------------------

std::string tid_of(size_t idx) {
    std::lock_guard<std::mutex> l(rec.mu);
    return rec.entries[idx].name;
}

/// Login, not ready with a reason, ready: common to both backends.
void login_and_ready(Session &s) {
    size_t from = rec.size();
    s.cmd("LogIn");
    s.agent(from, "OnLogin");
    from = rec.size();
    s.cmd("NotReady", {{"ReasonCode", "5"}});
    rec.wait(from, [](const Entry &e) { return e.kind == "HandleEvent" && e.name == "OnNotReady" && field(e, "ReasonCode") == "5"; },
             "OnNotReady with ReasonCode 5");
    check(true, "OnNotReady carries ReasonCode 5");
    rec.wait(from, [](const Entry &e) { return e.kind == "UpdateObjectInformation" && field(e, "4") == "TRUE" && field(e, "13") == "TRUE"; },
             "UpdateObjectInformation ISNOTREADY and ISLOGON");
    from = rec.size();
    s.cmd("Ready");
    s.agent(from, "OnReady");
}

/// CTI: the simulated agent goes not ready after a call; make it ready again.
void ready_again(Session &s) {
    rec.wait_state("OnNotReady");
    size_t from = rec.size();
    s.cmd("Ready");
    s.agent(from, "OnReady");
}

int run_cti(const char *path) {
    cce_sim *sim = nullptr;
    const char *cfg =
        "{\"bind_b\":\"127.0.0.1:0\",\"agents\":[{\"agent_id\":\"1001\",\"extension\":\"5001\","
        "\"instrument\":\"5001\",\"state\":\"AGENT_STATE_LOGOUT\",\"after_call_state\":\"AGENT_STATE_NOT_READY\"}]}";
    if (cce_sim_start(cfg, &sim) != CCE_OK) throw std::runtime_error(std::string("sim: ") + cce_last_error());
    uint16_t pa = 0, pb = 0;
    cce_sim_side_port(sim, "A", &pa);
    cce_sim_side_port(sim, "B", &pb);
    std::string a_addr = "127.0.0.1:" + std::to_string(pa), b_addr = "127.0.0.1:" + std::to_string(pb);
    KV dp{{"Backend", "CTI"}, {"ServerA", a_addr}, {"ServerB", b_addr}, {"PeripheralId", "5000"},
          {"TimeoutMs", "5000"}, {"HeartbeatMs", "5000"}, {"ReconnectTimeScale", "0.05"}};
    KV sp{{"AgentId", "1001"}, {"Password", "pw"}, {"Extension", "5001"}};
    Session s;
    size_t start = rec.size();
    open(s, path, dp, sp);
    login_and_ready(s);

    // Call 1: inbound with call data, answer, hold/retrieve, side A dies, consult, transfer.
    size_t from = rec.size();
    uint32_t call = 0;
    cce_sim_offer_call(sim,
                       "{\"agent_id\":\"1001\",\"ani\":\"5551234\",\"dnis\":\"8000\","
                       "\"call_variables\":[\"acct-42\"],\"named_variables\":[[\"user.case\",\"77\"]]}",
                       &call);
    std::string tid = std::to_string(call);
    s.item(from, "IndicateNewWorkItem", tid);
    size_t ring = s.event(from, "OnCallRinging", tid);
    check(rec.at(ring).fields["ANI"] == "5551234" && rec.at(ring).fields["DNIS"] == "8000" &&
              rec.at(ring).fields["CallVariable1"] == "acct-42" && rec.at(ring).fields["user.case"] == "77",
          "OnCallRinging carries ANI, DNIS, CallVariable1 and the ECC variable");
    s.cmd("AnswerCall");
    s.item(from, "WorkItemStarted", tid);
    s.cmd("HoldCall", {{"TrackingID", tid}});
    s.item(from, "WorkItemSuspended", tid);
    s.cmd("RetrieveCall");
    s.item(from, "WorkItemResumed", tid);

    // Failover: side A dies during the call. Siebel sees status texts, no error.
    size_t fo = rec.size();
    std::printf("-- killing CTI side A\n");
    cce_sim_kill_side(sim, "A");
    rec.wait(fo, [](const Entry &e) { return e.kind == "ShowStatusText" && e.text.find("lost") != std::string::npos; },
             "link lost status");
    rec.wait(fo, [](const Entry &e) { return e.kind == "ShowStatusText" && e.text.find("side B") != std::string::npos &&
                                             e.text.find("connected") != std::string::npos; },
             "connected to side B status", 30);
    rec.wait(fo, [](const Entry &e) { return e.kind == "ShowStatusText" && e.text.find("resynchronized") != std::string::npos; },
             "resynchronized status", 30);
    bool clean = true, kept = true;
    for (const auto &e : rec.since(fo)) {
        clean &= e.kind != "HandleError";
        kept &= !(e.kind == "WorkItemReleased" || e.kind == "IndicateNewWorkItem");
    }
    check(clean, "no HandleError during failover");
    check(kept, "the work item survives failover");
    check(true, "failover to side B with status texts only");

    from = rec.size();
    s.cmd("ConsultCall", {{"PhoneNumber", "9005550001"}});
    size_t ci = s.item(from, "IndicateNewWorkItem");
    std::string consult = tid_of(ci);
    s.item(from, "WorkItemStarted", consult);
    s.cmd("TransferCall", {{"TrackingID", tid}});
    s.event(from, "OnCallTransferred");
    s.item(from, "WorkItemReleased", tid);
    s.item(from, "WorkItemReleased", consult);
    ready_again(s);

    // Call 2: outbound, wrap-up data, consult, conference, release.
    from = rec.size();
    s.cmd("MakeCall", {}, "9005550002");
    size_t oi = s.item(from, "IndicateNewWorkItem");
    std::string out = tid_of(oi);
    check(rec.at(oi).fields["mode"] == "OUTBOUND", "MakeCall is an outbound work item");
    s.item(from, "WorkItemStarted", out);
    s.cmd("WrapUp", {{"ReasonCode", "Sale"}});
    s.event(from, "OnCallDataChanged", out);
    size_t before_consult = rec.size();
    s.cmd("ConsultCall", {{"PhoneNumber", "9005550003"}});
    s.item(from, "WorkItemSuspended", out);
    s.item(before_consult, "WorkItemStarted");  // the consultation call is connected
    s.cmd("ConferenceCall");
    s.event(from, "OnCallConferenced");
    s.cmd("ReleaseCall", {{"TrackingID", out}});
    s.item(from, "WorkItemReleased", out);
    ready_again(s);

    // Call 3: inbound accepted as a work item, blind transfer.
    from = rec.size();
    cce_sim_offer_call(sim, "{\"agent_id\":\"1001\",\"ani\":\"5559999\",\"dnis\":\"8000\"}", &call);
    tid = std::to_string(call);
    s.item(from, "IndicateNewWorkItem", tid);
    std::u16string t16 = u(tid);
    check(s.api.AcceptWorkItem(s.service, S(t16)) == SC_EC_OK, "AcceptWorkItem");
    s.item(from, "WorkItemStarted", tid);
    s.cmd("BlindTransfer", {{"PhoneNumber", "9005550004"}});
    s.item(from, "WorkItemReleased", tid);
    ready_again(s);

    // Errors: typed, asynchronous, with the command's tracking ID.
    from = rec.size();
    std::string bad = s.cmd("HoldCall", {{"TrackingID", "424242"}});
    s.expected_errors.insert(bad);
    rec.wait(from, [&](const Entry &e) { return e.kind == "HandleError" && e.name == bad; }, "HandleError for bad TrackingID");
    cce_sim_add_fault(sim, "{\"request\":\"MAKE_CALL_REQ\",\"times\":1,\"action\":\"control_failure\","
                           "\"failure_code\":\"CF_RESOURCE_BUSY\",\"peripheral_error\":42}");
    bad = s.cmd("MakeCall", {{"PhoneNumber", "9005550005"}});
    s.expected_errors.insert(bad);
    size_t ei = rec.wait(from, [&](const Entry &e) { return e.kind == "HandleError" && e.name == bad; },
                         "HandleError for a refused MakeCall");
    check(rec.at(ei).text.find("CCE_ERR_CONTROL_FAILED") != std::string::npos,
          "HandleError carries libcce's typed code");
    // A CTI Server that never answers: InvokeCommand still returns at once, and the
    // command fails after TimeoutMs with CCE_ERR_TIMEOUT.
    cce_sim_add_fault(sim, "{\"request\":\"SET_AGENT_STATE_REQ\",\"times\":1,\"action\":\"ignore\"}");
    auto t0 = std::chrono::steady_clock::now();
    bad = s.cmd("NotReady", {{"ReasonCode", "7"}});
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
    check(took.count() < 1000, "InvokeCommand returned in " + std::to_string(took.count()) + " ms");
    s.expected_errors.insert(bad);
    ei = rec.wait(from, [&](const Entry &e) { return e.kind == "HandleError" && e.name == bad; },
                  "HandleError for an unanswered request", 20);
    check(rec.at(ei).text.find("CCE_ERR_TIMEOUT") != std::string::npos, "the unanswered request times out");
    s.cmd("Dance", {}, "", SC_EC_CMD_NOT_SUPPORTED);
    s.invoked.erase("Dance");
    // InvokeCommandEx(MAKECALL) and ReleaseWorkItem.
    KV mk{{"PhoneNumber", "9005550006"}};
    std::u16string tr = u("ex-1");
    check(s.api.InvokeCommandEx(s.service, S(tr), SC_CT_MAKECALL, &mk.list) == SC_EC_OK, "InvokeCommandEx MAKECALL");
    oi = s.item(from, "IndicateNewWorkItem");
    out = tid_of(oi);
    s.item(from, "WorkItemStarted", out);
    std::u16string o16 = u(out);
    check(s.api.SuspendWorkItem(s.service, S(o16)) == SC_EC_OK, "SuspendWorkItem");
    s.item(from, "WorkItemSuspended", out);
    check(s.api.ResumeWorkItem(s.service, S(o16)) == SC_EC_OK, "ResumeWorkItem");
    s.item(from, "WorkItemResumed", out);
    check(s.api.ReleaseWorkItem(s.service, S(o16)) == SC_EC_OK, "ReleaseWorkItem");
    s.item(from, "WorkItemReleased", out);
    check(s.api.HandleQueuedWorkItem(s.service, S(o16), nullptr, S(o16)) == SC_EC_CMD_NOT_SUPPORTED,
          "HandleQueuedWorkItem not supported");

    from = rec.size();
    s.cmd("LogOut", {{"ReasonCode", "9"}});
    s.agent(from, "OnLogout");
    check_errors(s, start);
    check_all_commands(s);
    close(s);
    cce_sim_stop(sim);
    return 0;
}

int run_gc(const char *path, std::string broker) {
    gc_sim *sim = nullptr;
    std::string cfg = "{\"broker\":\"" + (broker.empty() ? std::string("embedded") : broker) +
                      "\",\"request_queue\":\"siebel-" + std::to_string(getpid()) + "\"}";
    if (gc_sim_start(cfg.c_str(), &sim) != CCE_OK) throw std::runtime_error(std::string("gc sim: ") + cce_last_error());
    std::string queue = cfg.substr(cfg.find("siebel-"), cfg.rfind('"') - cfg.find("siebel-"));
    char *addr_json = nullptr;
    gc_sim_control(sim, "{\"action\":\"broker\"}", &addr_json);  // "host:port"
    std::string addr = addr_json;
    cce_string_free(addr_json);
    addr = addr.substr(1, addr.rfind('"') - 1);
    std::printf("-- GC simulator on broker %s, queue %s\n", addr.c_str(), queue.c_str());
    KV dp{{"Backend", "GC"}, {"Brokers", addr}, {"RequestQueue", queue}, {"TimeoutMs", "5000"}};
    KV sp{{"AgentId", "1001"}, {"Password", "secret"}, {"Extension", "4001"}};
    Session s;
    size_t start = rec.size();
    open(s, path, dp, sp);
    login_and_ready(s);

    auto inject = [&](const char *from_number) {
        char *id = nullptr;
        std::string act = std::string("{\"action\":\"inject_call\",\"agent_id\":\"1001\",\"from\":\"") + from_number +
                          "\",\"call_variables\":{\"callVariable1\":\"acct-42\",\"user.case\":\"77\"}}";
        if (gc_sim_control(sim, act.c_str(), &id) != CCE_OK) throw std::runtime_error(cce_last_error());
        std::string t = id;
        cce_string_free(id);
        if (!t.empty() && t.front() == '"') t = t.substr(1, t.size() - 2);
        return t;
    };

    size_t from = rec.size();
    std::string tid = inject("5551234");
    s.item(from, "IndicateNewWorkItem", tid);
    size_t ring = s.event(from, "OnCallRinging", tid);
    check(rec.at(ring).fields["ANI"] == "5551234" && rec.at(ring).fields["CallVariable1"] == "acct-42" &&
              rec.at(ring).fields["user.case"] == "77",
          "OnCallRinging carries ANI, CallVariable1 and the ECC variable");
    s.cmd("AnswerCall");
    s.item(from, "WorkItemStarted", tid);
    s.cmd("HoldCall");
    s.item(from, "WorkItemSuspended", tid);
    s.cmd("RetrieveCall", {{"TrackingID", tid}});
    s.item(from, "WorkItemResumed", tid);
    from = rec.size();
    s.cmd("ConsultCall", {{"PhoneNumber", "4002"}});
    size_t ci = s.item(from, "IndicateNewWorkItem");
    std::string consult = tid_of(ci);
    s.item(from, "WorkItemStarted", consult);
    s.cmd("TransferCall");
    s.event(from, "OnCallTransferred", tid);
    s.item(from, "WorkItemReleased", tid);
    s.item(from, "WorkItemReleased", consult);
    // Wrap-up after the call: GC takes the reason for the call that just ended.
    s.cmd("WrapUp", {{"ReasonCode", "1"}});
    rec.wait_state("OnReady");  // GC makes the agent ready after a call

    from = rec.size();
    s.cmd("MakeCall", {{"PhoneNumber", "5550002"}});
    size_t oi = s.item(from, "IndicateNewWorkItem");
    std::string out = tid_of(oi);
    s.item(from, "WorkItemStarted", out);
    size_t before_consult = rec.size();
    s.cmd("ConsultCall", {{"PhoneNumber", "4002"}});
    s.item(from, "WorkItemSuspended", out);
    s.item(before_consult, "WorkItemStarted");  // the consultation call is connected
    s.cmd("ConferenceCall");
    s.event(from, "OnCallConferenced", out);
    s.cmd("ReleaseCall", {{"TrackingID", out}});
    s.item(from, "WorkItemReleased", out);
    rec.wait_state("OnReady");  // GC makes the agent ready after a call

    from = rec.size();
    tid = inject("5559999");
    s.item(from, "IndicateNewWorkItem", tid);
    std::u16string t16 = u(tid);
    check(s.api.AcceptWorkItem(s.service, S(t16)) == SC_EC_OK, "AcceptWorkItem");
    s.item(from, "WorkItemStarted", tid);
    s.cmd("BlindTransfer", {{"PhoneNumber", "4002"}});
    s.item(from, "WorkItemReleased", tid);
    rec.wait_state("OnReady");  // GC makes the agent ready after the call

    // A GC error reaches HandleError with the failing command's tracking ID.
    from = rec.size();
    gc_sim_control(sim, "{\"action\":\"fail_next\",\"agent_id\":\"1001\",\"code\":\"CF_RESOURCE_BUSY\"}", nullptr);
    std::string bad = s.cmd("MakeCall", {{"PhoneNumber", "5550003"}});
    s.expected_errors.insert(bad);
    size_t ei = rec.wait(from, [&](const Entry &e) { return e.kind == "HandleError" && e.name == bad; },
                         "HandleError for a refused MakeCall");
    check(rec.at(ei).text.find("CF_RESOURCE_BUSY") != std::string::npos, "HandleError carries GC's code");

    from = rec.size();
    s.cmd("LogOut");
    s.agent(from, "OnLogout");
    check_errors(s, start);
    check_all_commands(s);
    close(s);
    gc_sim_stop(sim);
    return 0;
}

int run_cycle(const char *path) {
    cce_sim *sim = nullptr;
    if (cce_sim_start("{\"agents\":[{\"agent_id\":\"1001\",\"extension\":\"5001\",\"state\":\"AGENT_STATE_LOGOUT\"}]}",
                      &sim) != CCE_OK)
        throw std::runtime_error(cce_last_error());
    uint16_t port = 0;
    cce_sim_port(sim, &port);
    KV dp{{"Backend", "CTI"}, {"ServerA", "127.0.0.1:" + std::to_string(port)}, {"TimeoutMs", "20000"}};
    KV sp{{"AgentId", "1001"}, {"Password", "pw"}, {"Extension", "5001"}};
    Session s;
    open(s, path, dp, sp);
    size_t from = rec.size();
    s.cmd("LogIn");
    s.agent(from, "OnLogin");
    from = rec.size();
    s.cmd("LogOut");
    s.agent(from, "OnLogout");
    close(s);
    cce_sim_stop(sim);
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s DRIVER.so cti|gc [BROKER]|cycle\n", argv[0]);
        return 2;
    }
    std::string mode = argv[2];
    try {
        int rc = 2;
        if (mode == "cti") rc = run_cti(argv[1]);
        else if (mode == "gc") {
            const char *env = std::getenv("CCE_STOMP_ADDR");
            rc = run_gc(argv[1], argc > 3 ? argv[3] : (env ? env : ""));
        } else if (mode == "cycle") rc = run_cycle(argv[1]);
        if (rc == 0) std::printf("harness %s: PASS\n", mode.c_str());
        return rc;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "harness %s: FAIL: %s\n", mode.c_str(), e.what());
        std::fflush(nullptr);
        std::_Exit(1);  // the driver may still run threads; do not unwind static state
    }
}

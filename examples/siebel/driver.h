// The libcce Siebel driver: commands, events, the per-agent service and its backends.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "isc_text.h"

namespace cce_siebel {

/// Driver and profile parameters (keys lower-cased; `Driver:`/`Service:` prefixes are
/// removed by Siebel before they reach us).
class Params {
  public:
    Params() = default;
    explicit Params(const Fields &f);
    /// The value for `key` (any case), or `def`.
    std::string get(const std::string &key, const std::string &def = "") const;
    /// The value as a number, or `def` when absent or not a number.
    long num(const std::string &key, long def) const;
    /// Values of `other` override ours.
    Params merged(const Params &other) const;

  private:
    std::map<std::string, std::string> v_;
};

/// One Siebel command as the backends receive it.
struct Command {
    std::string name;      ///< canonical DeviceCommand name (see kCommands)
    std::string track_id;  ///< clntCmdTrackID, for HandleError
    Params params;         ///< datasetParam
    std::string str;       ///< stringParam
};

/// A command the driver supports, with its parameters (`?` marks optional ones).
struct CommandSpec {
    const char *name;
    const char *params;
    const char *description;
};
extern const std::vector<CommandSpec> kCommands;
/// Every event the driver sends with HandleEvent, with its fields.
extern const std::vector<CommandSpec> kEvents;

/// Agent states the backends report.
enum class AgentState { LoggedOut, NotReady, Ready, WrapUp, Busy };

/// What the backends tell Siebel. Called on the service's worker thread only; keeps the
/// work-item lifecycle (new, started, suspended, resumed, released) idempotent.
class Sink {
  public:
    virtual ~Sink() = default;
    virtual void status(const std::string &text) = 0;
    virtual void error(const std::string &track_id, const std::string &text) = 0;
    virtual void event(const std::string &name, const Fields &f, const std::string &tid) = 0;
    virtual void agent_state(AgentState s, const std::string &reason, const std::string &raw) = 0;
    virtual void call_ringing(const std::string &tid, const Fields &f) = 0;
    virtual void call_dialing(const std::string &tid, const Fields &f) = 0;
    virtual void call_connected(const std::string &tid, const Fields &f) = 0;
    virtual void call_held(const std::string &tid) = 0;
    virtual void call_retrieved(const std::string &tid) = 0;
    virtual void call_ended(const std::string &tid) = 0;
    virtual void call_data(const std::string &tid, const Fields &f) = 0;
    /// Whether the driver tracks this work item.
    virtual bool has_call(const std::string &tid) const = 0;
};

/// A protocol backend. Every method runs on the service's worker thread; `post` hands
/// library events to that thread.
class Backend {
  public:
    using Post = std::function<void(std::string json)>;
    virtual ~Backend() = default;
    /// Connects (blocking at most the configured timeout). False: error text in `err`.
    virtual bool start(std::string &err) = 0;
    /// One library event (JSON) on the worker thread.
    virtual void on_event(const std::string &json) = 0;
    /// Runs a command; failures go to sink.error(cmd.track_id, ...).
    virtual void command(const Command &cmd) = 0;
    /// Disconnects; no `post` call happens after it returns.
    virtual void close() = 0;
};

std::unique_ptr<Backend> make_cti_backend(const Params &p, Sink &sink, Backend::Post post);
std::unique_ptr<Backend> make_gc_backend(const Params &p, Sink &sink, Backend::Post post);

}  // namespace cce_siebel

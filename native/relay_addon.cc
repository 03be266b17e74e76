// Thin node-addon-api binding over the plain C relay in native/relay/: argument checking
// and error conversion only. A relay is created on the main thread, run (blocking) on a
// worker thread, and stopped from the main thread, each naming it by id (common/handle_table.h).
#include <napi.h>

#include <arpa/inet.h> /* htons */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <string>

#include "common/handle_table.h"
#include "common/napi_args.h"

extern "C" {
#include "relay/backend_connect.h"
#include "relay/conn_log.h"
#include "relay/relay.h"
#include "relay/source_socket.h"
}

namespace {

using skbox_napi::BoolProp;
using skbox_napi::ErrnoError;
using skbox_napi::HandleTable;
using skbox_napi::IntArg;
using skbox_napi::StringArg;

int IntProp(const Napi::Object &o, const char *name, int fallback) {
  Napi::Value v = o.Get(name);
  return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : fallback;
}

void CopyAddress(Napi::Env env, const Napi::Object &o, const char *name, uint8_t out[16]) {
  Napi::Value v = o.Get(name);
  if (!v.IsBuffer() || v.As<Napi::Buffer<uint8_t>>().Length() != 16)
    throw Napi::TypeError::New(env, std::string(name) + " must be a 16-byte Buffer");
  memcpy(out, v.As<Napi::Buffer<uint8_t>>().Data(), 16);
}

void CopyPath(Napi::Env env, const Napi::Object &o, const char *name, char *out) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined() || v.IsNull()) return;
  std::string s = v.ToString().Utf8Value();
  if (s.size() > SKBOX_RELAY_UNIX_PATH_MAX || s.find('\0') != std::string::npos)
    throw Napi::TypeError::New(env, std::string(name) + " is not a usable socket path");
  memcpy(out, s.c_str(), s.size() + 1);
}

void CopyCongestion(Napi::Env env, const Napi::Object &o, char *out, size_t size) {
  Napi::Value v = o.Get("congestion");
  if (v.IsUndefined() || v.IsNull()) return;
  std::string s = v.ToString().Utf8Value();
  if (s.empty() || s.size() >= size) throw Napi::TypeError::New(env, "congestion: a name of 1 to 15 bytes");
  memcpy(out, s.c_str(), s.size() + 1);
}

// ---- helpers for the command line ---------------------------------------------

Napi::Value InterfaceIndex(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), if_nametoindex(StringArg(info, 0).c_str()));
}

// checkCongestion(name): throws unless backend sockets may use this congestion control.
Napi::Value CheckCongestion(const Napi::CallbackInfo &info) {
  std::string name = StringArg(info, 0);
  if (skbox_relay_backend_congestion_usable(name.c_str()) != 0) throw ErrnoError(info.Env(), name, errno);
  return info.Env().Undefined();
}

Napi::Value BindReceiveSocket(const Napi::CallbackInfo &info) {
  std::string path = StringArg(info, 0);
  int fd = skbox_relay_bind_receive_socket(path.c_str());
  if (fd < 0) throw ErrnoError(info.Env(), path, errno);
  return Napi::Number::New(info.Env(), fd);
}

// ---- relays --------------------------------------------------------------------

HandleTable<skbox_relay> relays("relay");

// The relay named by the first argument.
skbox_relay *FindRelay(const Napi::CallbackInfo &info) {
  return relays.Find(info.Env(), IntArg(info, 0));
}

// One log sink per descriptor, kept for the life of the process (relays come and go,
// their log stays); NULL for fd -1 (no log).
skbox_log_sink *LogSinkFor(Napi::Env env, int fd) {
  static std::mutex sinks_mutex;
  static std::map<int, skbox_log_sink *> sinks;
  if (fd < 0) return nullptr;
  std::lock_guard<std::mutex> lock(sinks_mutex);
  skbox_log_sink *&sink = sinks[fd];
  if (!sink) sink = skbox_relay_log_sink_open(fd);
  if (!sink) throw Napi::Error::New(env, "cannot open the log: out of memory");
  return sink;
}

skbox_relay_config ConfigFrom(Napi::Env env, const Napi::Object &o) {
  skbox_relay_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.source_fd = IntProp(o, "sourceFd", -1);
  if (cfg.source_fd < 0) throw Napi::TypeError::New(env, "sourceFd is required");
  std::string kind = o.Get("sourceKind").ToString().Utf8Value();
  if (kind != "listen" && kind != "receive") throw Napi::TypeError::New(env, "sourceKind: 'listen' or 'receive'");
  cfg.source_kind = kind == "listen" ? SKBOX_RELAY_SOURCE_LISTEN : SKBOX_RELAY_SOURCE_RECEIVE;
  CopyPath(env, o, "unlinkPath", cfg.unlink_path);
  cfg.validation_level = IntProp(o, "validationLevel", 2);

  CopyPath(env, o, "unixPath", cfg.unix_path);
  cfg.target_is_unix = cfg.unix_path[0] != '\0';
  cfg.tcp_target.sin6_family = AF_INET6;
  CopyAddress(env, o, "address", cfg.tcp_target.sin6_addr.s6_addr);
  cfg.tcp_target.sin6_port = htons((uint16_t)IntProp(o, "port", 80));
  cfg.tcp_target.sin6_scope_id = (uint32_t)IntProp(o, "scopeId", 0);

  cfg.nat64 = BoolProp(o, "nat64");
  cfg.nat64_wide = BoolProp(o, "nat64Wide");
  CopyAddress(env, o, "nat64Prefix", cfg.nat64_prefix);
  CopyCongestion(env, o, cfg.congestion, sizeof cfg.congestion);
  int proxy = IntProp(o, "proxyVersion", 0);
  cfg.proxy = proxy == 1 ? SKBOX_RELAY_PROXY_V1 : proxy == 2 ? SKBOX_RELAY_PROXY_V2 : SKBOX_RELAY_PROXY_NONE;
  cfg.connect_timeout_ms = IntProp(o, "connectTimeoutMs", 10000);
  cfg.idle_timeout_ms = IntProp(o, "idleTimeoutMs", 0);
  if (cfg.idle_timeout_ms < 0) throw Napi::TypeError::New(env, "idleTimeoutMs: 0 (never) or more");
  cfg.max_connections = (unsigned)IntProp(o, "maxConnections", 0);
  cfg.log = LogSinkFor(env, IntProp(o, "logFd", 2));
  cfg.errors = LogSinkFor(env, IntProp(o, "errorFd", 2));
  return cfg;
}

// Closes the descriptor unless released: every way out of createRelay before the relay
// owns the source (a bad option, a source that cannot be prepared) closes it.
class SourceGuard {
 public:
  explicit SourceGuard(int fd) : fd_(fd) {}
  ~SourceGuard() {
    if (fd_ >= 0) close(fd_);
  }
  SourceGuard(const SourceGuard &) = delete;
  SourceGuard &operator=(const SourceGuard &) = delete;
  void Release() { fd_ = -1; }

 private:
  int fd_;
};

// createRelay(options): takes the source descriptor (closed if anything fails), prepares it
// and returns the relay's id.
Napi::Value CreateRelay(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "createRelay(options)");
  Napi::Object options = info[0].As<Napi::Object>();
  SourceGuard source(IntProp(options, "sourceFd", -1));
  skbox_relay_config cfg = ConfigFrom(env, options);
  const char *why = "";
  if (skbox_relay_prepare_source(cfg.source_fd, cfg.source_kind, &why) != 0)
    throw ErrnoError(env, "descriptor " + std::to_string(cfg.source_fd) + ": " + why, errno);
  source.Release();  // skbox_relay_create owns it from here, even when it fails
  skbox_relay *relay = skbox_relay_create(&cfg, &why);
  if (!relay) throw ErrnoError(env, why, errno);
  return Napi::Number::New(env, relays.Add(relay));
}

// runRelay(id): blocks this thread until the relay stops; returns {status, errno, error}.
Napi::Value RunRelay(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  skbox_relay_exit exit = skbox_relay_run(FindRelay(info));
  Napi::Object result = Napi::Object::New(env);
  result.Set("status", exit.status);
  result.Set("errno", exit.err);
  if (exit.status != 0 && exit.what) result.Set("error", std::string(exit.what) + ": " + strerror(exit.err));
  return result;
}

Napi::Value StopRelay(const Napi::CallbackInfo &info) {
  skbox_relay_stop(FindRelay(info));
  return info.Env().Undefined();
}

Napi::Value DestroyRelay(const Napi::CallbackInfo &info) {
  skbox_relay *relay = relays.Take(IntArg(info, 0));
  if (relay) skbox_relay_destroy(relay);
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("interfaceIndex", Napi::Function::New(env, InterfaceIndex));
  exports.Set("checkCongestion", Napi::Function::New(env, CheckCongestion));
  exports.Set("bindReceiveSocket", Napi::Function::New(env, BindReceiveSocket));
  exports.Set("createRelay", Napi::Function::New(env, CreateRelay));
  exports.Set("runRelay", Napi::Function::New(env, RunRelay));
  exports.Set("stopRelay", Napi::Function::New(env, StopRelay));
  exports.Set("destroyRelay", Napi::Function::New(env, DestroyRelay));
  return exports;
}

}  // namespace

NODE_API_MODULE(socketbox_relay, Init)

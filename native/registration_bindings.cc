// Bindings for the registration protocol (JSON config, -P): API sockets, the
// registrar thread, registering at another server, network namespaces.
// Argument checking and error conversion only; the logic is in native/server/.
#include <napi.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>
#include <vector>

#include "common/napi_args.h"
#include "server_bindings.h"

extern "C" {
#include "common/registration_client.h"
#include "server/registrar.h"
#include "server/registration_socket.h"
}

namespace {

using skbox_napi::ErrnoError;
using skbox_napi::IdValue;
using skbox_napi::IntArg;
using skbox_napi::IntArrayArg;
using skbox_napi::SharedCounters;
using skbox_napi::StringArg;

// openRegistrationSocket(path, mode, uid, gid, backlog) -> fd
Napi::Value OpenRegistrationSocket(const Napi::CallbackInfo &info) {
  std::string path = StringArg(info, 0);
  const char *why = "";
  long long uid = IdValue(info.Env(), info[2], "uid", true), gid = IdValue(info.Env(), info[3], "gid", true);
  int fd = skbox_open_registration_socket(path.c_str(), (mode_t)IntArg(info, 1), uid, gid, IntArg(info, 4), &why);
  if (fd < 0) throw ErrnoError(info.Env(), std::string(why) + " " + path, errno);
  return Napi::Number::New(info.Env(), fd);
}

// registerAt(path, group, timeoutMs) -> fd (-P: this server becomes a receiver)
Napi::Value RegisterAt(const Napi::CallbackInfo &info) {
  std::string path = StringArg(info, 0);
  const char *why = "";
  int fd = skbox_register(path.c_str(), (uint32_t)IntArg(info, 1), IntArg(info, 2), &why);
  if (fd < 0) throw ErrnoError(info.Env(), std::string(why) + " (" + path + ")", errno);
  return Napi::Number::New(info.Env(), fd);
}

std::vector<skbox_slot_rule> SlotRules(const Napi::CallbackInfo &info, size_t i) {
  if (info.Length() <= i || !info[i].IsArray()) throw Napi::TypeError::New(info.Env(), "slots must be an array");
  Napi::Array a = info[i].As<Napi::Array>();
  std::vector<skbox_slot_rule> rules;
  for (uint32_t k = 0; k < a.Length(); k++) {
    Napi::Object o = a.Get(k).As<Napi::Object>();
    rules.push_back(
        {(uint32_t)IdValue(info.Env(), o.Get("uid"), "a slot's uid"), o.Get("pathNr").As<Napi::Number>().Uint32Value()});
  }
  return rules;
}

// One registrar (a process has at most one JSON config), run by its own thread.
// A plain pointer on purpose: at process exit no destructor may run (a
// joinable std::thread would abort the process).
struct Registrar {
  skbox_registrar *r = nullptr;
  std::thread thread;
  Napi::ObjectReference stats;
};
Registrar *running = nullptr;

// One API connection taken over from the old process of an upgrade: {fd, uid, pathNr, slot}.
skbox_api_conn_state AdoptedConnection(Napi::Env env, Napi::Value v) {
  if (!v.IsObject()) throw Napi::TypeError::New(env, "an adopted API connection must be an object");
  Napi::Object o = v.As<Napi::Object>();
  return {o.Get("fd").As<Napi::Number>().Int32Value(), (uint32_t)IdValue(env, o.Get("uid"), "uid"),
          o.Get("pathNr").As<Napi::Number>().Uint32Value(), o.Get("slot").As<Napi::Number>().Int64Value(), 0};
}

void RunRegistrarThread(skbox_registrar *r) {
  running->thread = std::thread([r] { skbox_registrar_run(r); });
}

// startRegistrar(apiFds, slots, perUidLimit, stats, adopted = [])
Napi::Value StartRegistrar(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (running) throw Napi::Error::New(env, "the registrar is already running");
  if (info.Length() < 4 || !info[0].IsArray())
    throw Napi::TypeError::New(env, "startRegistrar(apiFds, slots, limit, stats, adopted)");
  std::vector<int> fds = IntArrayArg(info, 0);
  std::vector<skbox_slot_rule> slots = SlotRules(info, 1);
  uint64_t *stats = SharedCounters(env, info[3], SKBOX_REG_STAT_COUNT, "stats");
  std::vector<skbox_api_conn_state> adopted;
  if (info.Length() > 4 && info[4].IsArray()) {
    Napi::Array a = info[4].As<Napi::Array>();
    for (uint32_t k = 0; k < a.Length(); k++) adopted.push_back(AdoptedConnection(env, a.Get(k)));
  }
  const char *why = "";
  skbox_registrar *r = skbox_registrar_create(fds.data(), (int)fds.size(), stats, &why);
  if (!r) throw Napi::Error::New(env, why);
  for (const skbox_api_conn_state &c : adopted) {
    if (skbox_registrar_adopt(r, &c, &why) == 0) continue;
    skbox_registrar_release(r);
    skbox_registrar_destroy(r);
    throw Napi::Error::New(env, "registration connection " + std::to_string(c.fd) + ": " + why);
  }
  if (skbox_registrar_configure(r, slots.data(), (uint32_t)slots.size(), (uint32_t)IntArg(info, 2)) < 0) {
    skbox_registrar_destroy(r);
    throw Napi::Error::New(env, "out of memory");
  }
  running = new Registrar;
  running->r = r;
  running->stats = Napi::Persistent(info[3].As<Napi::Object>());
  RunRegistrarThread(r);
  return env.Undefined();
}

// pauseRegistrar() -> [{fd, uid, pathNr, slot, listenerMode}]: the thread ends, every
// API connection and slot kept; resumeRegistrar() or releaseRegistrar() follows.
Napi::Value PauseRegistrar(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!running) throw Napi::Error::New(env, "the registrar is not running");
  if (running->thread.joinable()) {
    skbox_registrar_pause(running->r);
    running->thread.join();
  }
  std::vector<skbox_api_conn_state> conns(64);
  int n;
  while ((n = skbox_registrar_connections(running->r, conns.data(), (int)conns.size())) > (int)conns.size())
    conns.resize((size_t)n);
  Napi::Array out = Napi::Array::New(env, (size_t)n);
  for (int i = 0; i < n; i++) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("fd", conns[i].fd);
    o.Set("uid", conns[i].uid);
    o.Set("pathNr", conns[i].api_index);
    o.Set("slot", (double)conns[i].slot);
    o.Set("listenerMode", conns[i].listener_mode != 0);
    out.Set((uint32_t)i, o);
  }
  return out;
}

// resumeRegistrar(): after pauseRegistrar, serve again
Napi::Value ResumeRegistrar(const Napi::CallbackInfo &info) {
  if (running && !running->thread.joinable()) RunRegistrarThread(running->r);
  return info.Env().Undefined();
}

// releaseRegistrar(): after pauseRegistrar, this process lets go of every API connection
// without ending it (the new process of an upgrade serves them) and the registrar ends.
Napi::Value ReleaseRegistrar(const Napi::CallbackInfo &info) {
  if (running && !running->thread.joinable()) {
    skbox_registrar_release(running->r);
    skbox_registrar_destroy(running->r);
    delete running;
    running = nullptr;
  }
  return info.Env().Undefined();
}

// configureRegistrar(slots, perUidLimit): after a reload
Napi::Value ConfigureRegistrar(const Napi::CallbackInfo &info) {
  if (!running) throw Napi::Error::New(info.Env(), "the registrar is not running");
  std::vector<skbox_slot_rule> slots = SlotRules(info, 0);
  if (skbox_registrar_configure(running->r, slots.data(), (uint32_t)slots.size(), (uint32_t)IntArg(info, 1)) < 0)
    throw Napi::Error::New(info.Env(), "out of memory");
  return info.Env().Undefined();
}

// registrationsHeld() -> [{ slot, uid, sinceMs, listenerMode }]: the slots held now ([] without a registrar)
Napi::Value RegistrationsHeld(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  if (!running) return out;
  std::vector<skbox_registration_held> held(256);
  uint32_t n;
  while ((n = skbox_registrar_held(running->r, held.data(), (uint32_t)held.size())) == held.size() &&
         held.size() < (1u << 20))
    held.resize(held.size() * 2); /* may have been cut short: ask again with more room */
  for (uint32_t i = 0; i < n; i++) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("slot", held[i].slot);
    o.Set("uid", held[i].uid);
    o.Set("sinceMs", (double)held[i].since_ms);
    o.Set("listenerMode", held[i].listener_mode != 0);
    out.Set(i, o);
  }
  return out;
}

// stopRegistrar(): closes every API connection (receivers see the end) and joins the thread.
Napi::Value StopRegistrar(const Napi::CallbackInfo &info) {
  if (running) {
    skbox_registrar_stop(running->r);
    if (running->thread.joinable()) running->thread.join();
    skbox_registrar_destroy(running->r);
    delete running;
    running = nullptr;
  }
  return info.Env().Undefined();
}

// enterNetns(path) -> fd of the network namespace this thread was in
Napi::Value EnterNetns(const Napi::CallbackInfo &info) {
  std::string path = StringArg(info, 0);
  int previous = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (previous < 0) throw ErrnoError(info.Env(), "open /proc/thread-self/ns/net", errno);
  int target = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (target < 0 || setns(target, CLONE_NEWNET) < 0) {
    int e = errno;
    if (target >= 0) close(target);
    close(previous);
    throw ErrnoError(info.Env(), "network namespace " + path, e);
  }
  close(target);
  return Napi::Number::New(info.Env(), previous);
}

// leaveNetns(fd): back to the namespace enterNetns returned
Napi::Value LeaveNetns(const Napi::CallbackInfo &info) {
  int fd = IntArg(info, 0);
  int rc = setns(fd, CLONE_NEWNET);
  int e = errno;
  close(fd);
  if (rc < 0) throw ErrnoError(info.Env(), "returning to the original network namespace", e);
  return info.Env().Undefined();
}

// isListeningSocket(fd): SO_ACCEPTCONN, for inherited JSON listeners without "listen": true
Napi::Value IsListeningSocket(const Napi::CallbackInfo &info) {
  int on = 0;
  socklen_t len = sizeof on;
  bool listening = getsockopt(IntArg(info, 0), SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on;
  return Napi::Boolean::New(info.Env(), listening);
}

}  // namespace

void InitRegistrationBindings(Napi::Env env, Napi::Object exports) {
  exports.Set("openRegistrationSocket", Napi::Function::New(env, OpenRegistrationSocket));
  exports.Set("registerAt", Napi::Function::New(env, RegisterAt));
  exports.Set("startRegistrar", Napi::Function::New(env, StartRegistrar));
  exports.Set("configureRegistrar", Napi::Function::New(env, ConfigureRegistrar));
  exports.Set("stopRegistrar", Napi::Function::New(env, StopRegistrar));
  exports.Set("pauseRegistrar", Napi::Function::New(env, PauseRegistrar));
  exports.Set("resumeRegistrar", Napi::Function::New(env, ResumeRegistrar));
  exports.Set("releaseRegistrar", Napi::Function::New(env, ReleaseRegistrar));
  exports.Set("registrationsHeld", Napi::Function::New(env, RegistrationsHeld));
  exports.Set("isListeningSocket", Napi::Function::New(env, IsListeningSocket));
  exports.Set("enterNetns", Napi::Function::New(env, EnterNetns));
  exports.Set("leaveNetns", Napi::Function::New(env, LeaveNetns));
}

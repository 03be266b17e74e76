// Node binding for the client programs (socketbox-inetd, send-receive-fd, socket-query).
// Thin on purpose: argument checks and conversions only; the logic is the plain C in clients/.
#include <napi.h>
#include <uv.h>

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

extern "C" {
#include "common/datagram_bind.h"
#include "clients/exec_with_fd.h"
#include "common/fd_receive.h"
#include "common/fd_send.h"
#include "common/registration_client.h"
#include "clients/send_waiting.h"
#include "clients/session_spawn.h"
#include "clients/socket_endpoint.h"
}

namespace {

// An Error like Node's own system errors: message "what: strerror", .code "ENOENT", .errno.
Napi::Error ErrnoError(Napi::Env env, int err, const std::string& what) {
  Napi::Error e = Napi::Error::New(env, what + ": " + std::strerror(err));
  e.Set("code", Napi::String::New(env, uv_err_name(-err)));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, what));
  return e;
}

// A JavaScript number as an integer in [min, max]. Checked as a double before any cast:
// converting NaN, an infinity or an out-of-range value to an integer type is undefined
// behaviour in C++ (on x86 it silently gives INT_MIN). Like Node's own argument checks, a
// non-number is a TypeError and a number that is not an integer in range a RangeError.
template <typename T>
T CheckedInteger(Napi::Env env, Napi::Value v, const char* name, double min, double max) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string(name) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max) || d != std::trunc(d)) {
    std::ostringstream message;
    message << name << " must be an integer from " << std::fixed << std::setprecision(0) << min << " to " << max
            << ", not " << std::defaultfloat << std::setprecision(17) << d;
    throw Napi::RangeError::New(env, message.str());
  }
  return static_cast<T>(d);
}

constexpr double kIntMax = 2147483647.0;

// A descriptor number: 0..INT_MAX.
int FdArg(Napi::Env env, Napi::Value v, const char* name) {
  return CheckedInteger<int>(env, v, name, 0, kIntMax);
}

// C strings cannot hold NUL bytes: refuse them instead of silently cutting the string.
std::string StringArg(Napi::Env env, Napi::Value v, const char* name) {
  if (!v.IsString()) throw Napi::TypeError::New(env, std::string(name) + " must be a string");
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s.find('\0') != std::string::npos) throw Napi::TypeError::New(env, std::string(name) + " contains a NUL byte");
  return s;
}

std::vector<int> FdArrayArg(Napi::Env env, Napi::Value v, const char* name) {
  if (!v.IsArray()) throw Napi::TypeError::New(env, std::string(name) + " must be an array of numbers");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<int> out;
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(FdArg(env, a.Get(i), name));
  return out;
}

// argv for exec: owns the strings, yields a NULL-terminated char* array.
struct ArgvHolder {
  std::vector<std::string> strings;
  std::vector<char*> pointers;
  ArgvHolder(Napi::Env env, Napi::Value v) {
    if (!v.IsArray()) throw Napi::TypeError::New(env, "argv must be an array of strings");
    Napi::Array a = v.As<Napi::Array>();
    if (a.Length() == 0) throw Napi::TypeError::New(env, "argv must not be empty");
    for (uint32_t i = 0; i < a.Length(); i++) strings.push_back(StringArg(env, a.Get(i), "argv element"));
    for (auto& s : strings) pointers.push_back(&s[0]);
    pointers.push_back(nullptr);
  }
  char* const* get() { return pointers.data(); }
};

Napi::Value BindDatagramSocket(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info.Env(), info[0], "path");
  int mode = info[1].IsUndefined() ? 0660 : CheckedInteger<int>(info.Env(), info[1], "mode", 0, 07777);
  int fd = skbox_bind_datagram_socket(path.c_str(), static_cast<mode_t>(mode));
  if (fd < 0) throw ErrnoError(info.Env(), errno, "bind");
  return Napi::Number::New(info.Env(), fd);
}

// registerAt(path, group, timeoutMs) -> the registered seqpacket descriptor (docs/wire-protocol.md#registration)
Napi::Value RegisterAt(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info.Env(), info[0], "path");
  uint32_t group = CheckedInteger<uint32_t>(info.Env(), info[1], "group", 0, 4294967295.0);
  int timeout = CheckedInteger<int>(info.Env(), info[2], "timeoutMs", 0, kIntMax);
  const char* why = "";
  int fd = skbox_register(path.c_str(), group, timeout, &why);
  if (fd < 0) throw ErrnoError(info.Env(), errno, why);
  return Napi::Number::New(info.Env(), fd);
}

// registerListenerAt(path, group, timeoutMs) -> { socket, listener }: listener mode (docs/fast-path.md);
// listener is -1 when the server granted the slot without one. The listener is made non-blocking.
Napi::Value RegisterListenerAt(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info.Env(), info[0], "path");
  uint32_t group = CheckedInteger<uint32_t>(info.Env(), info[1], "group", 0, 4294967295.0);
  int timeout = CheckedInteger<int>(info.Env(), info[2], "timeoutMs", 0, kIntMax);
  const char* why = "";
  int listener = -1;
  int fd = skbox_register_listener(path.c_str(), group, timeout, &listener, &why);
  if (fd < 0) throw ErrnoError(info.Env(), errno, why);
  if (listener >= 0) fcntl(listener, F_SETFL, fcntl(listener, F_GETFL) | O_NONBLOCK);
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("socket", fd);
  o.Set("listener", listener);
  return o;
}

// acceptConnection(listener) -> a connection (close-on-exec, blocking), -1 when none waits,
// -2 when the listener was shut down (the server took the slot back)
Napi::Value AcceptConnection(const Napi::CallbackInfo& info) {
  int fd;
  int listener = FdArg(info.Env(), info[0], "listener");
  while ((fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC)) < 0 && (errno == EINTR || errno == ECONNABORTED)) {
  }
  if (fd >= 0) return Napi::Number::New(info.Env(), fd);
  if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(info.Env(), -1);
  if (errno == EINVAL) return Napi::Number::New(info.Env(), -2);
  throw ErrnoError(info.Env(), errno, "accept4");
}

Napi::Value OpenDatagramSocket(const Napi::CallbackInfo& info) {
  int fd = skbox_open_datagram_sender();
  if (fd < 0) throw ErrnoError(info.Env(), errno, "socket");
  return Napi::Number::New(info.Env(), fd);
}

const char* StatusName(enum skbox_receive_status s) {
  switch (s) {
    case SKBOX_RECEIVE_FD: return "fd";
    case SKBOX_RECEIVE_NO_FD: return "none";
    case SKBOX_RECEIVE_AGAIN: return "again";
    case SKBOX_RECEIVE_END: return "end";
    default: return "error";
  }
}

Napi::Value ReceiveFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sock = FdArg(env, info[0], "socket");
  int level = CheckedInteger<int>(env, info[1], "level", 0, 2);
  bool wait = info[2].ToBoolean();
  struct skbox_received r;
  enum skbox_receive_status s = skbox_receive_fd(sock, level, wait ? 1 : 0, &r);
  if (s == SKBOX_RECEIVE_ERROR) throw ErrnoError(env, errno, "recvmsg");
  Napi::Object o = Napi::Object::New(env);
  o.Set("status", StatusName(s));
  o.Set("fd", r.fd);
  o.Set("extraClosed", r.extra_closed);
  o.Set("rejected", r.rejected != 0);
  o.Set("truncated", r.truncated != 0);
  return o;
}

Napi::Value SendFds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sock = FdArg(env, info[0], "socket");
  std::vector<int> fds = FdArrayArg(env, info[1], "fds");
  bool addressed = !info[2].IsUndefined() && !info[2].IsNull();
  std::string path = addressed ? StringArg(env, info[2], "path") : std::string();
  bool wait = info[3].ToBoolean();
  int rc = skbox_send_fds_waiting(sock, fds.data(), static_cast<unsigned>(fds.size()), addressed ? path.c_str() : nullptr,
                                  wait ? 1 : 0);
  if (rc != 0) {
    if (!wait && (errno == EAGAIN || errno == EWOULDBLOCK)) return Napi::Boolean::New(env, false);
    throw ErrnoError(env, errno, "sendmsg");
  }
  return Napi::Boolean::New(env, true);
}

// A libuv poll on a descriptor, calling back into JavaScript each time it is readable.
// Pausing stops the poll (the descriptor leaves the event loop, so what arrives stays queued
// in the kernel) without giving up the handle. The memory is shared by the libuv handle and
// the three control functions and freed when the last of them lets go, so a control called
// after stop (or after the handle closed) finds a live, stopped watch.
struct ReadableWatch {
  uv_poll_t poll;
  napi_env env;
  Napi::FunctionReference callback;
  std::unique_ptr<Napi::AsyncContext> context;
  bool stopped = false;
  int references = 1;  // the handle's own
  ReadableWatch(Napi::Env e, Napi::Function fn)
      : env(e), callback(Napi::Persistent(fn)), context(new Napi::AsyncContext(e, "socketbox:readable")) {}
};

void Release(ReadableWatch* w) {
  if (--w->references == 0) delete w;
}

void OnReadable(uv_poll_t* handle, int status, int events) {
  auto* w = static_cast<ReadableWatch*>(handle->data);
  if (w->stopped) return;
  Napi::Env env(w->env);
  Napi::HandleScope scope(env);
  try {
    Napi::Value err = status < 0 ? ErrnoError(env, -status, "poll").Value() : env.Null();
    w->callback.MakeCallback(env.Global(), {err}, *w->context);
  } catch (const Napi::Error& e) {
    // Outside any JavaScript call: hand the exception to Node as uncaught.
    napi_fatal_exception(env, e.Value());
  }
}

// Stops for good; the JavaScript callback is let go at once, the memory once nothing refers to it.
void CloseWatch(ReadableWatch* w) {
  w->stopped = true;
  uv_poll_stop(&w->poll);
  uv_close(reinterpret_cast<uv_handle_t*>(&w->poll), [](uv_handle_t* h) {
    auto* closed = static_cast<ReadableWatch*>(h->data);
    closed->callback.Reset();
    closed->context.reset();
    Release(closed);
  });
}

Napi::Value StopWatch(const Napi::CallbackInfo& info) {
  auto* w = static_cast<ReadableWatch*>(info.Data());
  if (!w->stopped) CloseWatch(w);
  return info.Env().Undefined();
}

Napi::Value PauseWatch(const Napi::CallbackInfo& info) {
  auto* w = static_cast<ReadableWatch*>(info.Data());
  if (!w->stopped) uv_poll_stop(&w->poll);
  return info.Env().Undefined();
}

Napi::Value ResumeWatch(const Napi::CallbackInfo& info) {
  auto* w = static_cast<ReadableWatch*>(info.Data());
  if (w->stopped) return info.Env().Undefined();
  int rc = uv_poll_start(&w->poll, UV_READABLE, OnReadable);
  if (rc != 0) throw ErrnoError(info.Env(), -rc, "uv_poll_start");
  return info.Env().Undefined();
}

// One control function holding a reference to the watch until it is garbage collected.
Napi::Function WatchControl(Napi::Env env, Napi::Function::Callback body, const char* name, ReadableWatch* w) {
  Napi::Function fn = Napi::Function::New(env, body, name, w);
  w->references++;
  fn.AddFinalizer([](Napi::Env, ReadableWatch* held) { Release(held); }, w);
  return fn;
}

// watchReadable(fd, callback) -> { stop, pause, resume }; after stop the controls do nothing.
Napi::Value WatchReadable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(env, info[0], "fd");
  if (!info[1].IsFunction()) throw Napi::TypeError::New(env, "callback must be a function");
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) throw Napi::Error::New(env, "no event loop");
  auto* w = new ReadableWatch(env, info[1].As<Napi::Function>());
  w->poll.data = w;
  int rc = uv_poll_init(loop, &w->poll, fd);  // also makes fd non-blocking
  if (rc != 0) {
    delete w;  // never became a handle: nothing to close
    throw ErrnoError(env, -rc, "uv_poll_init");
  }
  rc = uv_poll_start(&w->poll, UV_READABLE, OnReadable);
  if (rc != 0) {
    CloseWatch(w);
    throw ErrnoError(env, -rc, "uv_poll_start");
  }
  Napi::Object controls = Napi::Object::New(env);
  controls.Set("stop", WatchControl(env, StopWatch, "stop", w));
  controls.Set("pause", WatchControl(env, PauseWatch, "pause", w));
  controls.Set("resume", WatchControl(env, ResumeWatch, "resume", w));
  return controls;
}

Napi::Value SpawnInSession(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string file = StringArg(env, info[0], "file");
  ArgvHolder argv(env, info[1]);
  int conn = FdArg(env, info[2], "connection fd");
  pid_t pid = skbox_spawn_in_session(file.c_str(), argv.get(), conn);
  if (pid < 0) throw ErrnoError(env, errno, "posix_spawn");
  return Napi::Number::New(env, pid);
}

// reapChildren() -> the pids of the children that have exited since the last call.
Napi::Value ReapChildren(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array pids = Napi::Array::New(env);
  pid_t batch[64];
  for (;;) {
    int n = skbox_reap_exited_children(batch, sizeof(batch) / sizeof(batch[0]));
    if (n < 0) throw ErrnoError(env, errno, "waitpid");
    for (int i = 0; i < n; i++) pids.Set(pids.Length(), Napi::Number::New(env, batch[i]));
    if (n < static_cast<int>(sizeof(batch) / sizeof(batch[0]))) return pids;
  }
}

Napi::Value ExecWithReceivedFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(env, info[0], "fd");
  std::vector<int> keep = FdArrayArg(env, info[1], "keepOpen");
  std::string file = StringArg(env, info[2], "file");
  ArgvHolder argv(env, info[3]);
  skbox_exec_with_received_fd(fd, keep.data(), static_cast<unsigned>(keep.size()), file.c_str(), argv.get());
  throw ErrnoError(env, errno, "execvp");
}

Napi::Value SocketEndpoint(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(env, info[0], "fd");
  bool remote = info[1].ToBoolean();
  struct skbox_endpoint ep;
  if (skbox_socket_endpoint(fd, remote ? 1 : 0, &ep) != 0)
    throw ErrnoError(env, errno, remote ? "getpeername" : "getsockname");
  Napi::Object o = Napi::Object::New(env);
  o.Set("address", Napi::Buffer<uint8_t>::Copy(env, ep.address, sizeof(ep.address)));
  o.Set("port", ep.port);
  o.Set("ipv4", ep.ipv4 != 0);
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("bindDatagramSocket", Napi::Function::New(env, BindDatagramSocket, "bindDatagramSocket"));
  exports.Set("registerAt", Napi::Function::New(env, RegisterAt, "registerAt"));
  exports.Set("registerListenerAt", Napi::Function::New(env, RegisterListenerAt, "registerListenerAt"));
  exports.Set("acceptConnection", Napi::Function::New(env, AcceptConnection, "acceptConnection"));
  exports.Set("openDatagramSocket", Napi::Function::New(env, OpenDatagramSocket, "openDatagramSocket"));
  exports.Set("receiveFd", Napi::Function::New(env, ReceiveFd, "receiveFd"));
  exports.Set("sendFds", Napi::Function::New(env, SendFds, "sendFds"));
  exports.Set("watchReadable", Napi::Function::New(env, WatchReadable, "watchReadable"));
  exports.Set("spawnInSession", Napi::Function::New(env, SpawnInSession, "spawnInSession"));
  exports.Set("reapChildren", Napi::Function::New(env, ReapChildren, "reapChildren"));
  exports.Set("execWithReceivedFd", Napi::Function::New(env, ExecWithReceivedFd, "execWithReceivedFd"));
  exports.Set("socketEndpoint", Napi::Function::New(env, SocketEndpoint, "socketEndpoint"));
  return exports;
}

}  // namespace

NODE_API_MODULE(socketbox_client, Init)

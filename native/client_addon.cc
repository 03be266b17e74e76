// Node binding for the client programs (socketbox-inetd, send-receive-fd, socket-query).
// Thin on purpose: argument checks and conversions only; the logic is the plain C in clients/.
#include <napi.h>
#include <uv.h>

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

extern "C" {
#include "clients/datagram_bind.h"
#include "common/datagram_bind.h"
#include "clients/exec_with_fd.h"
#include "common/fd_receive.h"
#include "common/registration_client.h"
#include "clients/fd_send.h"
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

int IntArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (v != static_cast<int>(v)) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be an integer");
  return static_cast<int>(v);
}

// C strings cannot hold NUL bytes: refuse them instead of silently cutting the string.
std::string StringArg(Napi::Env env, Napi::Value v, const char* name) {
  if (!v.IsString()) throw Napi::TypeError::New(env, std::string(name) + " must be a string");
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s.find('\0') != std::string::npos) throw Napi::TypeError::New(env, std::string(name) + " contains a NUL byte");
  return s;
}

std::vector<int> IntArrayArg(Napi::Env env, Napi::Value v, const char* name) {
  if (!v.IsArray()) throw Napi::TypeError::New(env, std::string(name) + " must be an array of numbers");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<int> out;
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    if (!e.IsNumber()) throw Napi::TypeError::New(env, std::string(name) + " must be an array of numbers");
    out.push_back(e.As<Napi::Number>().Int32Value());
  }
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
  int mode = info[1].IsUndefined() ? 0660 : IntArg(info, 1, "mode");
  int fd = skbox_bind_datagram_socket(path.c_str(), static_cast<mode_t>(mode));
  if (fd < 0) throw ErrnoError(info.Env(), errno, "bind");
  return Napi::Number::New(info.Env(), fd);
}

// registerAt(path, group, timeoutMs) -> the registered seqpacket descriptor (docs/wire-protocol.md#registration)
Napi::Value RegisterAt(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info.Env(), info[0], "path");
  double group = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : -1;
  if (group < 0 || group > 4294967295.0 || group != static_cast<double>(static_cast<uint32_t>(group)))
    throw Napi::TypeError::New(info.Env(), "group must be an integer 0..4294967295");
  const char* why = "";
  int fd = skbox_register(path.c_str(), static_cast<uint32_t>(group), IntArg(info, 2, "timeoutMs"), &why);
  if (fd < 0) throw ErrnoError(info.Env(), errno, why);
  return Napi::Number::New(info.Env(), fd);
}

// registerListenerAt(path, group, timeoutMs) -> { socket, listener }: listener mode (docs/fast-path.md);
// listener is -1 when the server granted the slot without one. The listener is made non-blocking.
Napi::Value RegisterListenerAt(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info.Env(), info[0], "path");
  double group = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : -1;
  if (group < 0 || group > 4294967295.0 || group != static_cast<double>(static_cast<uint32_t>(group)))
    throw Napi::TypeError::New(info.Env(), "group must be an integer 0..4294967295");
  const char* why = "";
  int listener = -1;
  int fd = skbox_register_listener(path.c_str(), static_cast<uint32_t>(group), IntArg(info, 2, "timeoutMs"), &listener, &why);
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
  while ((fd = accept4(IntArg(info, 0, "listener"), nullptr, nullptr, SOCK_CLOEXEC)) < 0 && (errno == EINTR || errno == ECONNABORTED)) {
  }
  if (fd >= 0) return Napi::Number::New(info.Env(), fd);
  if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(info.Env(), -1);
  if (errno == EINVAL) return Napi::Number::New(info.Env(), -2);
  throw ErrnoError(info.Env(), errno, "accept4");
}

Napi::Value OpenDatagramSocket(const Napi::CallbackInfo& info) {
  int fd = skc_open_datagram_socket();
  if (fd < 0) throw ErrnoError(info.Env(), errno, "socket");
  return Napi::Number::New(info.Env(), fd);
}

const char* StatusName(enum skc_receive_status s) {
  switch (s) {
    case SKC_RECEIVE_FD: return "fd";
    case SKC_RECEIVE_NO_FD: return "none";
    case SKC_RECEIVE_AGAIN: return "again";
    case SKC_RECEIVE_END: return "end";
    default: return "error";
  }
}

Napi::Value ReceiveFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sock = IntArg(info, 0, "socket");
  int level = IntArg(info, 1, "level");
  bool wait = info[2].ToBoolean();
  struct skc_received r;
  enum skc_receive_status s = skc_receive_fd(sock, level, wait ? 1 : 0, &r);
  if (s == SKC_RECEIVE_ERROR) throw ErrnoError(env, errno, "recvmsg");
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
  int sock = IntArg(info, 0, "socket");
  std::vector<int> fds = IntArrayArg(env, info[1], "fds");
  bool addressed = !info[2].IsUndefined() && !info[2].IsNull();
  std::string path = addressed ? StringArg(env, info[2], "path") : std::string();
  bool wait = info[3].ToBoolean();
  int rc = skc_send_fds(sock, fds.data(), static_cast<unsigned>(fds.size()), addressed ? path.c_str() : nullptr,
                        wait ? 1 : 0);
  if (rc != 0) {
    if (!wait && (errno == EAGAIN || errno == EWOULDBLOCK)) return Napi::Boolean::New(env, false);
    throw ErrnoError(env, errno, "sendmsg");
  }
  return Napi::Boolean::New(env, true);
}

// A libuv poll on a descriptor, calling back into JavaScript each time it is readable.
// Lives until its stop function is called (then freed in the close callback).
struct ReadableWatch {
  uv_poll_t poll;
  napi_env env;
  Napi::FunctionReference callback;
  Napi::AsyncContext context;
  bool stopped = false;
  ReadableWatch(Napi::Env e, Napi::Function fn)
      : env(e), callback(Napi::Persistent(fn)), context(e, "socketbox:readable") {}
};

void OnReadable(uv_poll_t* handle, int status, int events) {
  auto* w = static_cast<ReadableWatch*>(handle->data);
  if (w->stopped) return;
  Napi::Env env(w->env);
  Napi::HandleScope scope(env);
  try {
    Napi::Value err = status < 0 ? ErrnoError(env, -status, "poll").Value() : env.Null();
    w->callback.MakeCallback(env.Global(), {err}, w->context);
  } catch (const Napi::Error& e) {
    // Outside any JavaScript call: hand the exception to Node as uncaught.
    napi_fatal_exception(env, e.Value());
  }
}

Napi::Value StopWatch(const Napi::CallbackInfo& info) {
  auto* w = static_cast<ReadableWatch*>(info.Data());
  if (!w || w->stopped) return info.Env().Undefined();
  w->stopped = true;
  uv_poll_stop(&w->poll);
  uv_close(reinterpret_cast<uv_handle_t*>(&w->poll),
           [](uv_handle_t* h) { delete static_cast<ReadableWatch*>(h->data); });
  return info.Env().Undefined();
}

Napi::Value WatchReadable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = IntArg(info, 0, "fd");
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
    w->stopped = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&w->poll),
             [](uv_handle_t* h) { delete static_cast<ReadableWatch*>(h->data); });
    throw ErrnoError(env, -rc, "uv_poll_start");
  }
  return Napi::Function::New(env, StopWatch, "stop", w);
}

Napi::Value SpawnInSession(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string file = StringArg(env, info[0], "file");
  ArgvHolder argv(env, info[1]);
  int conn = IntArg(info, 2, "connection fd");
  pid_t pid = skc_spawn_in_session(file.c_str(), argv.get(), conn);
  if (pid < 0) throw ErrnoError(env, errno, "posix_spawn");
  return Napi::Number::New(env, pid);
}

Napi::Value AutoreapChildren(const Napi::CallbackInfo& info) {
  if (skc_autoreap_children() != 0) throw ErrnoError(info.Env(), errno, "sigaction");
  return info.Env().Undefined();
}

Napi::Value ExecWithReceivedFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = IntArg(info, 0, "fd");
  std::vector<int> keep = IntArrayArg(env, info[1], "keepOpen");
  std::string file = StringArg(env, info[2], "file");
  ArgvHolder argv(env, info[3]);
  skc_exec_with_received_fd(fd, keep.data(), static_cast<unsigned>(keep.size()), file.c_str(), argv.get());
  throw ErrnoError(env, errno, "execvp");
}

Napi::Value SocketEndpoint(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = IntArg(info, 0, "fd");
  bool remote = info[1].ToBoolean();
  struct skc_endpoint ep;
  if (skc_socket_endpoint(fd, remote ? 1 : 0, &ep) != 0)
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
  exports.Set("autoreapChildren", Napi::Function::New(env, AutoreapChildren, "autoreapChildren"));
  exports.Set("execWithReceivedFd", Napi::Function::New(env, ExecWithReceivedFd, "execWithReceivedFd"));
  exports.Set("socketEndpoint", Napi::Function::New(env, SocketEndpoint, "socketEndpoint"));
  return exports;
}

}  // namespace

NODE_API_MODULE(socketbox_client, Init)

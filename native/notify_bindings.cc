// Bindings for systemd's notification socket (native/server/sd_notify.c).
#include <napi.h>

#include <errno.h>

#include <string>

#include "common/napi_args.h"
#include "server_bindings.h"

extern "C" {
#include "server/sd_notify.h"
}

namespace {

using skbox_napi::ErrnoError;
using skbox_napi::IntArg;
using skbox_napi::StringArg;

// Connects a datagram socket to NOTIFY_SOCKET's address; returns the descriptor.
Napi::Value NotifySocketOpen(const Napi::CallbackInfo &info) {
  std::string address = StringArg(info, 0);
  const char *step = "socket";
  int fd = skbox_notify_connect(address.c_str(), &step);
  if (fd < 0) throw ErrnoError(info.Env(), std::string(step) + " " + address, errno);
  return Napi::Number::New(info.Env(), fd);
}

// Sends one notification ("READY=1\nSTATUS=...") on a socket from NotifySocketOpen.
Napi::Value NotifySocketSend(const Napi::CallbackInfo &info) {
  int fd = IntArg(info, 0);
  std::string message = StringArg(info, 1);
  if (skbox_notify_send(fd, message.data(), message.size(), 1000) < 0) throw ErrnoError(info.Env(), "send", errno);
  return info.Env().Undefined();
}

}  // namespace

void InitNotifyBindings(Napi::Env env, Napi::Object exports) {
  exports.Set("notifySocketOpen", Napi::Function::New(env, NotifySocketOpen));
  exports.Set("notifySocketSend", Napi::Function::New(env, NotifySocketSend));
}

// Argument checking and errno errors shared by the node-addon-api bindings.
#ifndef SKBOX_COMMON_NAPI_ARGS_H
#define SKBOX_COMMON_NAPI_ARGS_H

#include <napi.h>
#include <string.h>

#include <string>

namespace skbox_napi {

// An Error whose message ends in strerror(err) and which carries .errno.
inline Napi::Error ErrnoError(Napi::Env env, const std::string &what, int err) {
  Napi::Error e = Napi::Error::New(env, what + ": " + strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  return e;
}

inline int IntArg(const Napi::CallbackInfo &info, size_t i) {
  if (info.Length() <= i || !info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "expected a number argument");
  return info[i].As<Napi::Number>().Int32Value();
}

inline std::string StringArg(const Napi::CallbackInfo &info, size_t i) {
  if (info.Length() <= i || !info[i].IsString()) throw Napi::TypeError::New(info.Env(), "expected a string argument");
  return info[i].As<Napi::String>().Utf8Value();
}

}  // namespace skbox_napi

#endif

// Bindings for the capability sets of the calling thread (the main one) and the
// start-up library bin/socketbox preloads. Thin: the logic is in
// common/thread_caps.c and startup/.
#include <napi.h>

#include <dlfcn.h>
#include <errno.h>

#include "common/napi_args.h"
#include "server_bindings.h"

extern "C" {
#include "common/thread_caps.h"
}

namespace {

using skbox_napi::ErrnoError;

// Serving: no capability can come back through an exec. A no-op without CAP_SETPCAP.
Napi::Value DropBoundingSet(const Napi::CallbackInfo &info) {
  if (skbox_caps_drop_bounding() < 0) throw ErrnoError(info.Env(), "prctl(PR_CAPBSET_DROP)", errno);
  return info.Env().Undefined();
}

Napi::Value ClearCapabilities(const Napi::CallbackInfo &info) {
  if (skbox_caps_clear_all() < 0) throw ErrnoError(info.Env(), "capset", errno);
  return info.Env().Undefined();
}

Napi::Value UidIsRoot(const Napi::CallbackInfo &info) {
  return Napi::Boolean::New(info.Env(), skbox_uid_is_root());
}

Napi::Value CapabilitiesHeld(const Napi::CallbackInfo &info) {
  skbox_caps_held held;
  if (skbox_caps_read(&held) < 0) throw ErrnoError(info.Env(), "capget", errno);
  Napi::Object r = Napi::Object::New(info.Env());
  r.Set("permitted", held.permitted != 0);
  r.Set("inheritable", held.inheritable != 0);
  r.Set("ambient", held.ambient != 0);
  return r;
}

// Where libsocketbox-startup.so was loaded from, or null when it was not preloaded.
Napi::Value StartupLibrary(const Napi::CallbackInfo &info) {
  void *marker = dlsym(RTLD_DEFAULT, "skbox_startup_library");
  Dl_info where;
  if (!marker || !dladdr(marker, &where) || !where.dli_fname) return info.Env().Null();
  return Napi::String::New(info.Env(), where.dli_fname);
}

}  // namespace

void InitCapabilityBindings(Napi::Env env, Napi::Object exports) {
  exports.Set("dropBoundingSet", Napi::Function::New(env, DropBoundingSet));
  exports.Set("clearCapabilities", Napi::Function::New(env, ClearCapabilities));
  exports.Set("uidIsRoot", Napi::Function::New(env, UidIsRoot));
  exports.Set("capabilitiesHeld", Napi::Function::New(env, CapabilitiesHeld));
  exports.Set("startupLibrary", Napi::Function::New(env, StartupLibrary));
}

// The server addon: thin node-addon-api bindings over the plain C server core in
// native/server/, one file per concern (server_bindings.h). Argument checking and
// error conversion only; the logic lives in the C files.
#include <napi.h>

#include "server_bindings.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InitListenerBindings(env, exports);
  InitPrivilegeBindings(env, exports);
  InitCapabilityBindings(env, exports);
  InitTableBindings(env, exports);
  InitLoopBindings(env, exports);
  InitContractBindings(env, exports);
  InitNotifyBindings(env, exports);
  InitLogBindings(env, exports);
  InitRegistrationBindings(env, exports);
  InitControlBindings(env, exports);
  InitFastpathBindings(env, exports);
  InitSourceRateBindings(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(socketbox_server, Init)

// The server addon's bindings, one file per concern; server_addon.cc puts them
// together into one module.
#ifndef SKBOX_SERVER_BINDINGS_H
#define SKBOX_SERVER_BINDINGS_H

#include <napi.h>

extern "C" {
#include "common/log_sink.h"
#include "server/source_rate.h"
}

void InitListenerBindings(Napi::Env env, Napi::Object exports);      // listener_bindings.cc
void InitPrivilegeBindings(Napi::Env env, Napi::Object exports);     // privilege_bindings.cc
void InitCapabilityBindings(Napi::Env env, Napi::Object exports);    // capability_bindings.cc
void InitTableBindings(Napi::Env env, Napi::Object exports);         // table_bindings.cc
void InitLoopBindings(Napi::Env env, Napi::Object exports);          // loop_bindings.cc
void InitContractBindings(Napi::Env env, Napi::Object exports);      // contract_bindings.cc
void InitNotifyBindings(Napi::Env env, Napi::Object exports);        // notify_bindings.cc
void InitLogBindings(Napi::Env env, Napi::Object exports);           // log_bindings.cc
void InitRegistrationBindings(Napi::Env env, Napi::Object exports);  // registration_bindings.cc
void InitFastpathBindings(Napi::Env env, Napi::Object exports);      // fastpath_bindings.cc (kernel fast path)
void InitControlBindings(Napi::Env env, Napi::Object exports);       // control_bindings.cc (--control)
void InitSourceRateBindings(Napi::Env env, Napi::Object exports);    // source_rate_bindings.cc (--source-rate)

// The --source-rate table with this id (source_rate_bindings.cc); throws when there is none.
skbox_source_rate *FindSourceRate(Napi::Env env, int id);

// The process's log sink once openLogSink() has run, else NULL (log_bindings.cc).
skbox_log_sink *StderrLogSink();

#endif

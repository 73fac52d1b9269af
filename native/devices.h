// Module parts, each adding its exports in addon.cc.
#pragma once

#include <napi.h>

namespace stackts {

Napi::Value ListDevices(const Napi::CallbackInfo& info);
void InitLive(Napi::Env env, Napi::Object exports);
void InitPacketSocket(Napi::Env env, Napi::Object exports);
void InitBpf(Napi::Env env, Napi::Object exports);

}  // namespace stackts

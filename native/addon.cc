// stackts native addon: a thin node-addon-api layer over libpcap.
// Nothing here parses packets; see src/native.ts for the only JS loader.
#include <napi.h>
#include <pcap/pcap.h>

namespace {

Napi::Value LibVersion(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), pcap_lib_version());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("libVersion", Napi::Function::New(env, LibVersion, "libVersion"));
  return exports;
}

}  // namespace

NODE_API_MODULE(stackts_pcap, Init)

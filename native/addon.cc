// stackts native addon: a thin node-addon-api layer over libpcap.
// Nothing here parses packets; src/native.ts is the only module that loads it.
//   listDevices(netns?)                       devices.cc
//   LiveHandle(device, options, callback)     live.cc: live capture, batches, stats, inject
//   PacketSocket(device, netns?)              packet_socket.cc: fast bulk sending
//   BpfProgram(expression, linkType, snaplen) bpf.cc: filters for frames from files
#include <napi.h>
#include <pcap/pcap.h>

#include "devices.h"

namespace {

Napi::Value LibVersion(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), pcap_lib_version());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // UTF-8 error strings; pcap_init may be called more than once (one per worker).
  char errbuf[PCAP_ERRBUF_SIZE];
  (void)pcap_init(PCAP_CHAR_ENC_UTF_8, errbuf);
  exports.Set("libVersion", Napi::Function::New(env, LibVersion, "libVersion"));
  exports.Set("listDevices", Napi::Function::New(env, stackts::ListDevices, "listDevices"));
  stackts::InitLive(env, exports);
  stackts::InitPacketSocket(env, exports);
  stackts::InitBpf(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(stackts_pcap, Init)

// BpfProgram: a filter compiled by libpcap for a link type without any device
// (pcap_open_dead), applied to frames from files with pcap_offline_filter: the
// same compiler and the same semantics as a live capture's filter.
#include <string>

#include "common.h"
#include "devices.h"

namespace stackts {

class BpfProgram : public Napi::ObjectWrap<BpfProgram> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "BpfProgram",
                       {
                           InstanceMethod<&BpfProgram::Matches>("matches"),
                           InstanceMethod<&BpfProgram::MatchBatch>("matchBatch"),
                           InstanceMethod<&BpfProgram::Close>("close"),
                       });
  }

  // new BpfProgram(expression, linkType, snaplen[, dlt]): frames of LINKTYPE_* linkType
  // are matched; the program is compiled for the DLT_* value dlt (default: the same
  // number), since pcap_open_dead takes a DLT and a few LINKTYPE_* values differ (raw IP).
  explicit BpfProgram(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfProgram>(info) {
    Napi::Env env = info.Env();
    std::string expr = ArgString(info, 0, "expression");
    link_type_ = static_cast<int>(ArgInt(info, 1, "linkType", 0, 0xffff));
    int snaplen = static_cast<int>(ArgInt(info, 2, "snaplen", 1, 262144));
    int dlt = link_type_;
    if (info.Length() > 3 && !info[3].IsUndefined()) dlt = static_cast<int>(ArgInt(info, 3, "dlt", 0, 0xffff));
    pcap_t* dead = pcap_open_dead(dlt, snaplen);
    if (dead == nullptr) throw PcapError(env, "pcap_open_dead", PCAP_ERROR, "cannot make a handle for this link type");
    if (pcap_compile(dead, &prog_, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      std::string text = pcap_geterr(dead);
      pcap_close(dead);
      throw PcapError(env, "pcap_compile", PCAP_ERROR, text);
    }
    // The compiled program owns its instructions; the dead handle is no longer needed.
    pcap_close(dead);
    compiled_ = true;
  }

  ~BpfProgram() override { Free(); }

 private:
  const struct bpf_program* Program(Napi::Env env) {
    if (!compiled_) throw Napi::Error::New(env, "the filter is closed");
    return &prog_;
  }

  // matches(data, length) -> boolean; length is the original length on the wire.
  Napi::Value Matches(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Uint8Array data = ArgBytes(info, 0, "data");
    int64_t length = ArgInt(info, 1, "length", 0, 0xffffffffLL);
    if (static_cast<uint64_t>(length) < data.ByteLength()) {
      throw Napi::RangeError::New(env, "length must be at least data.length (the captured length)");
    }
    struct pcap_pkthdr h = {};
    h.caplen = static_cast<bpf_u_int32>(data.ByteLength());
    h.len = static_cast<bpf_u_int32>(length);
    return Napi::Boolean::New(env, pcap_offline_filter(Program(env), &h, data.Data()) != 0);
  }

  // matchBatch(buffer, offset, caplen, length, linkType, count, out) -> number matched.
  // out[i] = 1 when frame i matches; frames of another link type never match.
  Napi::Value MatchBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Uint8Array buffer = ArgBytes(info, 0, "buffer");
    Napi::Uint32Array offset = ArgU32Array(info, 1, "offset");
    Napi::Uint32Array caplen = ArgU32Array(info, 2, "caplen");
    Napi::Uint32Array length = ArgU32Array(info, 3, "length");
    Napi::Uint32Array link = ArgU32Array(info, 4, "linkType");
    size_t count = static_cast<size_t>(ArgInt(info, 5, "count", 0, 0xffffffffLL));
    Napi::Uint8Array out = ArgBytes(info, 6, "out");
    if (offset.ElementLength() < count || caplen.ElementLength() < count || length.ElementLength() < count ||
        link.ElementLength() < count || out.ByteLength() < count) {
      throw Napi::RangeError::New(env, "count exceeds the length of an array of the batch");
    }
    const struct bpf_program* prog = Program(env);
    const uint8_t* base = buffer.Data();
    size_t size = buffer.ByteLength();
    uint32_t matched = 0;
    for (size_t i = 0; i < count; i++) {
      size_t off = offset[i];
      size_t cap = caplen[i];
      if (off > size || cap > size - off) {
        throw Napi::RangeError::New(env, "frame " + std::to_string(i) + " lies outside the batch buffer");
      }
      uint8_t keep = 0;
      if (static_cast<int>(link[i]) == link_type_) {
        struct pcap_pkthdr h = {};
        h.caplen = static_cast<bpf_u_int32>(cap);
        h.len = length[i] < cap ? static_cast<bpf_u_int32>(cap) : length[i];
        keep = pcap_offline_filter(prog, &h, base + off) != 0 ? 1 : 0;
      }
      out[i] = keep;
      matched += keep;
    }
    return Napi::Number::New(env, matched);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Free();
    return info.Env().Undefined();
  }

  void Free() {
    if (compiled_) {
      pcap_freecode(&prog_);
      compiled_ = false;
    }
  }

  struct bpf_program prog_ = {};
  bool compiled_ = false;
  int link_type_ = 0;
};

void InitBpf(Napi::Env env, Napi::Object exports) {
  exports.Set("BpfProgram", BpfProgram::Define(env));
}

}  // namespace stackts

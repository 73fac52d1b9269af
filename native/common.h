// Shared helpers for the stackts addon: errors that carry libpcap's own text,
// argument checks, and entering a network namespace for the length of a call.
#pragma once

#include <napi.h>
#include <pcap/pcap.h>

#include <sys/uio.h>

#include <cstdint>
#include <string>
#include <vector>

namespace stackts {

// An Error whose message is libpcap's own text. `op` names the call that failed
// and `pcapStatus` is its PCAP_ERROR_* value, so src/errors.ts can pick a code
// (ENODEV, EPERM, ...) without parsing prose.
Napi::Error PcapError(Napi::Env env, const char* op, int status, const std::string& text);

// An Error for a failed system call: message is strerror(err), `errno` is the
// number and `syscall` the call.
Napi::Error ErrnoError(Napi::Env env, const char* syscall, int err);

// libpcap's message for a failed pcap_activate: pcap_geterr when it says
// something, else pcap_statustostr (some statuses leave the buffer empty).
std::string ActivateText(pcap_t* p, int status);

// Argument checks: throw TypeError/RangeError naming the argument.
std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* name);
Napi::Uint8Array ArgBytes(const Napi::CallbackInfo& info, size_t i, const char* name);
Napi::Uint32Array ArgU32Array(const Napi::CallbackInfo& info, size_t i, const char* name);
int64_t ArgInt(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t min, int64_t max);
// An optional string argument: empty when undefined or null.
std::string ArgOptString(const Napi::CallbackInfo& info, size_t i, const char* name);

// sendMany's argument: an array of non-empty Uint8Arrays, checked in one pass
// (a bad element throws and nothing is sent), as iovecs over their bytes (the
// backing stores of typed arrays do not move while the call runs).
std::vector<struct iovec> ArgFrames(const Napi::CallbackInfo& info, size_t i);

// Send every frame of `iov` on packet socket `fd` with sendmmsg, 256 per call,
// in order; a full device queue (ENOBUFS, EAGAIN) is waited out for up to
// ~0.1 s. Returns the number sent (all), or throws ErrnoError("sendmmsg") with
// `sent` and `index` (the frame that failed).
uint32_t SendFrames(Napi::Env env, int fd, std::vector<struct iovec>& iov);

// Open /run/netns/NAME (as `ip netns` names them). Throws on a bad name or
// when the namespace does not exist (errno ENOENT, syscall "netns").
int OpenNetns(Napi::Env env, const std::string& name);

// Moves the calling thread into the network namespace `target_fd` and back
// again when it goes out of scope. setns(2) with CLONE_NEWNET is per thread
// and needs CAP_SYS_ADMIN; sockets opened inside keep their namespace after
// we leave. target_fd < 0 means "stay where we are".
class NetnsScope {
 public:
  NetnsScope(Napi::Env env, int target_fd);
  ~NetnsScope();
  NetnsScope(const NetnsScope&) = delete;
  NetnsScope& operator=(const NetnsScope&) = delete;

 private:
  int original_fd_ = -1;
};

}  // namespace stackts

#include "common.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace stackts {

Napi::Error PcapError(Napi::Env env, const char* op, int status, const std::string& text) {
  Napi::Error err = Napi::Error::New(env, text.empty() ? std::string(pcap_statustostr(status)) : text);
  err.Set("op", Napi::String::New(env, op));
  err.Set("pcapStatus", Napi::Number::New(env, status));
  return err;
}

Napi::Error ErrnoError(Napi::Env env, const char* syscall, int err) {
  Napi::Error e = Napi::Error::New(env, std::strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

std::string ActivateText(pcap_t* p, int status) {
  const char* text = pcap_geterr(p);
  if (text != nullptr && text[0] != '\0') return text;
  return pcap_statustostr(status);
}

std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsString()) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a string");
  }
  std::string s = info[i].As<Napi::String>().Utf8Value();
  if (s.find('\0') != std::string::npos) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must not contain NUL");
  }
  return s;
}

std::string ArgOptString(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return "";
  return ArgString(info, i, name);
}

Napi::Uint8Array ArgBytes(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a Uint8Array");
  }
  return info[i].As<Napi::Uint8Array>();
}

Napi::Uint32Array ArgU32Array(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a Uint32Array");
  }
  return info[i].As<Napi::Uint32Array>();
}

int64_t ArgInt(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t min, int64_t max) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  }
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= static_cast<double>(min) && d <= static_cast<double>(max)) || d != static_cast<double>(static_cast<int64_t>(d))) {
    throw Napi::RangeError::New(info.Env(), std::string(name) + " must be an integer in " + std::to_string(min) +
                                                ".." + std::to_string(max));
  }
  return static_cast<int64_t>(d);
}

int OpenNetns(Napi::Env env, const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) {
    throw Napi::TypeError::New(env, "netns must be a namespace name as listed by 'ip netns list'");
  }
  std::string path = "/run/netns/" + name;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw ErrnoError(env, "netns", errno);
  return fd;
}

NetnsScope::NetnsScope(Napi::Env env, int target_fd) {
  if (target_fd < 0) return;
  // thread-self: setns moves only this thread, so remember this thread's namespace.
  original_fd_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (original_fd_ < 0) throw ErrnoError(env, "netns", errno);
  if (setns(target_fd, CLONE_NEWNET) != 0) {
    int err = errno;
    close(original_fd_);
    original_fd_ = -1;
    throw ErrnoError(env, "setns", err);
  }
}

NetnsScope::~NetnsScope() {
  if (original_fd_ < 0) return;
  // Returning to a namespace we were in a moment ago cannot lack permission;
  // there is nothing better to do on failure from a destructor.
  (void)setns(original_fd_, CLONE_NEWNET);
  close(original_fd_);
}

}  // namespace stackts

#include "common.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
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

std::vector<struct iovec> ArgFrames(const Napi::CallbackInfo& info, size_t i) {
  Napi::Env env = info.Env();
  if (info.Length() <= i || !info[i].IsArray()) throw Napi::TypeError::New(env, "frames must be an array of Uint8Array");
  Napi::Array frames = info[i].As<Napi::Array>();
  uint32_t total = frames.Length();
  std::vector<struct iovec> iov(total);
  for (uint32_t base = 0; base < total; base += 256) {
    Napi::HandleScope scope(env);
    for (uint32_t k = base; k < total && k < base + 256; k++) {
      Napi::Value v = frames.Get(k);
      if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
          v.As<Napi::Uint8Array>().ByteLength() == 0) {
        throw Napi::TypeError::New(env, "frames[" + std::to_string(k) + "] must be a non-empty Uint8Array");
      }
      Napi::Uint8Array f = v.As<Napi::Uint8Array>();
      iov[k].iov_base = f.Data();
      iov[k].iov_len = f.ByteLength();
    }
  }
  return iov;
}

uint32_t SendFrames(Napi::Env env, int fd, std::vector<struct iovec>& iov) {
  constexpr uint32_t kBatch = 256;
  uint32_t total = static_cast<uint32_t>(iov.size());
  struct mmsghdr msgs[kBatch];
  uint32_t sent = 0;
  int busy = 0;
  while (sent < total) {
    uint32_t k = std::min(kBatch, total - sent);
    for (uint32_t j = 0; j < k; j++) {
      std::memset(&msgs[j], 0, sizeof msgs[j]);
      msgs[j].msg_hdr.msg_iov = &iov[sent + j];
      msgs[j].msg_hdr.msg_iovlen = 1;
    }
    int r = sendmmsg(fd, msgs, k, 0);
    if (r < 0) {
      int err = errno;
      if (err == EINTR) continue;
      // A full device queue (or a non-blocking socket's full buffer): give the driver a moment rather than failing at once.
      if ((err == ENOBUFS || err == EAGAIN) && busy++ < 1000) {
        usleep(100);
        continue;
      }
      Napi::Error e = ErrnoError(env, "sendmmsg", err);
      e.Set("sent", Napi::Number::New(env, sent));
      e.Set("index", Napi::Number::New(env, sent));
      throw e;
    }
    busy = 0;
    sent += static_cast<uint32_t>(r);
  }
  return sent;
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

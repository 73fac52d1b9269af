// LiveHandle: one activated libpcap capture handle, read without blocking from
// the libuv loop. On each readable event pcap_dispatch runs repeatedly into one
// reusable buffer and JavaScript is called once with the number of frames
// (struct-of-arrays metadata beside the bytes; see src/frame.ts FrameBatch).
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "common.h"
#include "devices.h"
#include "gro.h"

namespace stackts {
namespace {

struct Options {
  int snaplen = 262144;
  bool promisc = true;
  int buffer_size = 0;  // 0: libpcap's default
  bool immediate = true;
  int timeout_ms = 100;
  bool nano = true;
  std::string direction;  // "", "in", "out", "inout"
  std::string netns;
  int batch_bytes = 4 << 20;
  int batch_frames = 8192;
  int datalink = -1;  // -1: the device's default link type
  bool gro = false;  // merge runs of TCP segments within a batch (gro.h)
};

int GetInt(Napi::Env env, Napi::Object o, const char* key, int min, int max, int fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string("options.") + key + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max) || d != static_cast<double>(static_cast<int64_t>(d))) {
    throw Napi::RangeError::New(env, std::string("options.") + key + " must be an integer in " + std::to_string(min) +
                                         ".." + std::to_string(max));
  }
  return static_cast<int>(d);
}

bool GetBool(Napi::Env env, Napi::Object o, const char* key, bool fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) throw Napi::TypeError::New(env, std::string("options.") + key + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::string GetString(Napi::Env env, Napi::Object o, const char* key) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return "";
  if (!v.IsString()) throw Napi::TypeError::New(env, std::string("options.") + key + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

struct Closer {
  void operator()(pcap_t* p) const { pcap_close(p); }
};

}  // namespace

class LiveHandle : public Napi::ObjectWrap<LiveHandle> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "LiveHandle",
                       {
                           InstanceMethod<&LiveHandle::Info>("info"),
                           InstanceMethod<&LiveHandle::Buffers>("buffers"),
                           InstanceMethod<&LiveHandle::SetFilter>("setFilter"),
                           InstanceMethod<&LiveHandle::Start>("start"),
                           InstanceMethod<&LiveHandle::Stop>("stop"),
                           InstanceMethod<&LiveHandle::SetRef>("setRef"),
                           InstanceMethod<&LiveHandle::Stats>("stats"),
                           InstanceMethod<&LiveHandle::Inject>("inject"),
                           InstanceMethod<&LiveHandle::SendMany>("sendMany"),
                           InstanceMethod<&LiveHandle::Close>("close"),
                           InstanceMethod<&LiveHandle::InterfaceName>("interfaceName"),
                       });
  }

  // new LiveHandle(device, options)
  explicit LiveHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LiveHandle>(info), env_(info.Env()) {
    Napi::Env env = info.Env();
    std::string device = ArgString(info, 0, "device");
    if (device.empty()) throw Napi::TypeError::New(env, "device must not be empty");
    if (info.Length() < 2 || !info[1].IsObject()) throw Napi::TypeError::New(env, "options must be an object");
    Napi::Object o = info[1].As<Napi::Object>();
    Options opt;
    opt.snaplen = GetInt(env, o, "snaplen", 1, 262144, opt.snaplen);
    opt.promisc = GetBool(env, o, "promisc", opt.promisc);
    opt.buffer_size = GetInt(env, o, "bufferSize", 0, 1 << 30, opt.buffer_size);
    opt.immediate = GetBool(env, o, "immediate", opt.immediate);
    opt.timeout_ms = GetInt(env, o, "timeoutMs", 0, 60000, opt.timeout_ms);
    opt.nano = GetBool(env, o, "nano", opt.nano);
    opt.direction = GetString(env, o, "direction");
    opt.netns = GetString(env, o, "netns");
    opt.batch_bytes = GetInt(env, o, "batchBytes", 65536, 1 << 30, opt.batch_bytes);
    opt.batch_frames = GetInt(env, o, "batchFrames", 1, 1 << 20, opt.batch_frames);
    opt.datalink = GetInt(env, o, "datalink", -1, 0xffff, opt.datalink);
    opt.gro = GetBool(env, o, "gro", opt.gro);
    pcap_direction_t dir = PCAP_D_INOUT;
    if (opt.direction == "in") {
      dir = PCAP_D_IN;
    } else if (opt.direction == "out") {
      dir = PCAP_D_OUT;
    } else if (!opt.direction.empty() && opt.direction != "inout") {
      throw Napi::TypeError::New(env, "options.direction must be \"in\", \"out\" or \"inout\"");
    }

    if (!opt.netns.empty()) ns_fd_ = OpenNetns(env, opt.netns);
    std::unique_ptr<pcap_t, Closer> p;
    {
      // pcap_activate opens the packet socket and looks the device up by name:
      // both happen in the namespace we are in at that moment.
      NetnsScope scope(env, ns_fd_);
      char errbuf[PCAP_ERRBUF_SIZE] = {0};
      p.reset(pcap_create(device.c_str(), errbuf));
      if (!p) throw PcapError(env, "pcap_create", PCAP_ERROR, errbuf);
      pcap_set_snaplen(p.get(), opt.snaplen);
      pcap_set_promisc(p.get(), opt.promisc ? 1 : 0);
      pcap_set_timeout(p.get(), opt.timeout_ms);
      pcap_set_immediate_mode(p.get(), opt.immediate ? 1 : 0);
      if (opt.buffer_size > 0) pcap_set_buffer_size(p.get(), opt.buffer_size);
      if (opt.nano && pcap_set_tstamp_precision(p.get(), PCAP_TSTAMP_PRECISION_NANO) != 0) {
        warnings_.push_back("nanosecond time stamps are not supported here; using microseconds");
      }
      int status = pcap_activate(p.get());
      if (status < 0) throw PcapError(env, "pcap_activate", status, ActivateText(p.get(), status));
      if (status > 0) warnings_.push_back(ActivateText(p.get(), status));
      if (opt.datalink >= 0 && pcap_datalink(p.get()) != opt.datalink) SetDatalink(env, p.get(), opt.datalink);
      bpf_u_int32 net = 0;
      bpf_u_int32 mask = 0;
      if (pcap_lookupnet(device.c_str(), &net, &mask, errbuf) == 0) netmask_ = mask;
    }
    if (!opt.direction.empty() && pcap_setdirection(p.get(), dir) != 0) {
      throw PcapError(env, "pcap_setdirection", PCAP_ERROR, pcap_geterr(p.get()));
    }
    if (!opt.direction.empty() && dir == PCAP_D_IN) {
      // libpcap 1.10 drops the host's outgoing frames in user space, after the kernel
      // copied each into the ring; Linux 4.20+ can skip them for this socket at the tap.
      // (An older kernel refuses the option: libpcap's own check still applies.)
      int one = 1;
      (void)setsockopt(pcap_fileno(p.get()), SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
    }
    char errbuf[PCAP_ERRBUF_SIZE] = {0};
    if (pcap_setnonblock(p.get(), 1, errbuf) != 0) throw PcapError(env, "pcap_setnonblock", PCAP_ERROR, errbuf);
    fd_ = pcap_get_selectable_fd(p.get());
    if (fd_ < 0) throw PcapError(env, "pcap_get_selectable_fd", PCAP_ERROR, "no selectable file descriptor");
    snaplen_ = pcap_snapshot(p.get());
    nano_ = pcap_get_tstamp_precision(p.get()) == PCAP_TSTAMP_PRECISION_NANO;
    link_type_ = pcap_datalink(p.get());
    gro_ = opt.gro && link_type_ == DLT_EN10MB;

    // The batch must hold at least one frame of the largest size we can get.
    batch_bytes_ = std::max<size_t>(static_cast<size_t>(opt.batch_bytes), static_cast<size_t>(snaplen_));
    max_frames_ = static_cast<uint32_t>(opt.batch_frames);
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, batch_bytes_);
    buffer_ = Napi::Persistent(Napi::Uint8Array::New(env, batch_bytes_, ab, 0));
    offset_ = Napi::Persistent(Napi::Uint32Array::New(env, max_frames_));
    caplen_ = Napi::Persistent(Napi::Uint32Array::New(env, max_frames_));
    length_ = Napi::Persistent(Napi::Uint32Array::New(env, max_frames_));
    nsec_ = Napi::Persistent(Napi::Uint32Array::New(env, max_frames_));
    sec_ = Napi::Persistent(Napi::Float64Array::New(env, max_frames_));
    async_ = std::make_unique<Napi::AsyncContext>(env, "stackts:LiveCapture");
    pcap_ = p.release();
    if (napi_add_env_cleanup_hook(env, OnCleanup, this) == napi_ok) cleanup_hook_ = true;
  }

  ~LiveHandle() override {
    if (cleanup_hook_) napi_remove_env_cleanup_hook(env_, OnCleanup, this);
    CloseNative();
  }

 private:
  // Switch to a link type the device offers (pcap_list_datalinks), as tcpdump -y does;
  // one it does not offer is a warning and the device's own stays.
  void SetDatalink(Napi::Env env, pcap_t* p, int dlt) {
    int* list = nullptr;
    int n = pcap_list_datalinks(p, &list);
    bool offered = false;
    for (int i = 0; i < n; i++) offered = offered || list[i] == dlt;
    if (n >= 0) pcap_free_datalinks(list);
    if (!offered) {
      const char* want = pcap_datalink_val_to_name(dlt);
      const char* have = pcap_datalink_val_to_name(pcap_datalink(p));
      warnings_.push_back(std::string("link type ") + (want != nullptr ? want : std::to_string(dlt)) +
                          " is not offered here; capturing as " + (have != nullptr ? have : std::to_string(pcap_datalink(p))));
      return;
    }
    if (pcap_set_datalink(p, dlt) != 0) throw PcapError(env, "pcap_set_datalink", PCAP_ERROR, pcap_geterr(p));
  }

  // interfaceName(index) -> the name of interface `index` in the capture's namespace, or null
  // (what a LINUX_SLL2 header's interface index means; tcpdump asks if_indextoname too).
  Napi::Value InterfaceName(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    unsigned index = static_cast<unsigned>(ArgInt(info, 0, "index", 0, 0xffffffffLL));
    char name[IF_NAMESIZE] = {0};
    const char* found = nullptr;
    {
      NetnsScope scope(env, ns_fd_);
      found = if_indextoname(index, name);
    }
    return found != nullptr ? Napi::Value(Napi::String::New(env, name)) : env.Null();
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("linkType", link_type_);
    const char* name = pcap_datalink_val_to_name(link_type_);
    o.Set("linkTypeName", name != nullptr ? Napi::Value(Napi::String::New(env, name)) : env.Null());
    o.Set("snaplen", snaplen_);
    o.Set("precision", nano_ ? "nano" : "micro");
    o.Set("batchBytes", static_cast<double>(batch_bytes_));
    o.Set("batchFrames", max_frames_);
    Napi::Array w = Napi::Array::New(env, warnings_.size());
    for (size_t i = 0; i < warnings_.size(); i++) w.Set(static_cast<uint32_t>(i), warnings_[i]);
    o.Set("warnings", w);
    return o;
  }

  Napi::Value Buffers(const Napi::CallbackInfo& info) {
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("buffer", buffer_.Value());
    o.Set("offset", offset_.Value());
    o.Set("caplen", caplen_.Value());
    o.Set("length", length_.Value());
    o.Set("sec", sec_.Value());
    o.Set("nsec", nsec_.Value());
    return o;
  }

  pcap_t* Open(Napi::Env env) {
    if (pcap_ == nullptr) throw PcapError(env, "closed", PCAP_ERROR, "the capture is closed");
    return pcap_;
  }

  Napi::Value SetFilter(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::string expr = ArgString(info, 0, "filter");
    pcap_t* p = Open(env);
    struct bpf_program prog;
    if (pcap_compile(p, &prog, expr.c_str(), 1, netmask_) != 0) {
      throw PcapError(env, "pcap_compile", PCAP_ERROR, pcap_geterr(p));
    }
    int rc = pcap_setfilter(p, &prog);
    pcap_freecode(&prog);
    if (rc != 0) throw PcapError(env, "pcap_setfilter", PCAP_ERROR, pcap_geterr(p));
    return env.Undefined();
  }

  // start(callback(count, error?)): read from the loop until stop() or close().
  // The callback is held only while reading, so an idle capture that nobody
  // references can be garbage collected (and closed by the finalizer).
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsFunction()) throw Napi::TypeError::New(env, "callback must be a function");
    Open(env);
    if (polling_) return env.Undefined();
    if (poll_ == nullptr) {
      uv_loop_t* loop = nullptr;
      if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
        throw Napi::Error::New(env, "cannot reach the event loop");
      }
      auto* h = new uv_poll_t;
      int rc = uv_poll_init(loop, h, fd_);
      if (rc != 0) {
        delete h;
        throw Napi::Error::New(env, std::string("uv_poll_init: ") + uv_strerror(rc));
      }
      h->data = this;
      poll_ = h;
      if (!referenced_) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    }
    int rc = uv_poll_start(poll_, UV_READABLE, OnPoll);
    if (rc != 0) throw Napi::Error::New(env, std::string("uv_poll_start: ") + uv_strerror(rc));
    polling_ = true;
    callback_ = Napi::Persistent(info[0].As<Napi::Function>());
    // While polling, the loop may call us even if JavaScript dropped every reference.
    if (!js_ref_held_) {
      Ref();
      js_ref_held_ = true;
    }
    return env.Undefined();
  }

  void StopPolling() {
    if (poll_ != nullptr && polling_) uv_poll_stop(poll_);
    polling_ = false;
  }

  void ReleaseJsRef() {
    if (!callback_.IsEmpty()) callback_.Reset();
    if (js_ref_held_) {
      js_ref_held_ = false;
      Unref();
    }
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    StopPolling();
    ReleaseJsRef();
    return info.Env().Undefined();
  }

  // setRef(false): an open capture does not keep the process alive (like socket.unref()).
  Napi::Value SetRef(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsBoolean()) throw Napi::TypeError::New(info.Env(), "ref must be a boolean");
    referenced_ = info[0].As<Napi::Boolean>().Value();
    if (poll_ != nullptr) {
      if (referenced_) {
        uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
      } else {
        uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
      }
    }
    return info.Env().Undefined();
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    pcap_t* p = Open(env);
    struct pcap_stat st;
    std::memset(&st, 0, sizeof st);
    if (pcap_stats(p, &st) != 0) throw PcapError(env, "pcap_stats", PCAP_ERROR, pcap_geterr(p));
    Napi::Object o = Napi::Object::New(env);
    o.Set("received", static_cast<double>(st.ps_recv));
    o.Set("dropped", static_cast<double>(st.ps_drop));
    o.Set("ifDropped", static_cast<double>(st.ps_ifdrop));
    o.Set("overflow", static_cast<double>(overflow_));
    o.Set("merged", static_cast<double>(merged_));
    return o;
  }

  Napi::Value Inject(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Uint8Array data = ArgBytes(info, 0, "frame");
    if (data.ByteLength() == 0) throw Napi::RangeError::New(env, "frame must not be empty");
    pcap_t* p = Open(env);
    int n = pcap_inject(p, data.Data(), data.ByteLength());
    if (n < 0) {
      int err = errno;
      Napi::Error e = PcapError(env, "pcap_inject", PCAP_ERROR, pcap_geterr(p));
      e.Set("errno", Napi::Number::New(env, err));
      throw e;
    }
    return Napi::Number::New(env, n);
  }

  // sendMany(frames: Uint8Array[]): sendmmsg on the capture's own socket (through the
  // traffic-control path: other captures see the frames; this one does not).
  Napi::Value SendMany(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::vector<struct iovec> iov = ArgFrames(info, 0);
    Open(env);
    return Napi::Number::New(env, SendFrames(env, fd_, iov));
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    CloseNative();
    ReleaseJsRef();
    return info.Env().Undefined();
  }

  // Closing without touching JavaScript: safe from the finalizer and at env cleanup.
  void CloseNative() {
    if (poll_ != nullptr) {
      uv_poll_stop(poll_);
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
    }
    polling_ = false;
    if (pcap_ != nullptr) {
      pcap_close(pcap_);
      pcap_ = nullptr;
    }
    if (ns_fd_ >= 0) {
      close(ns_fd_);
      ns_fd_ = -1;
    }
  }

  static void OnCleanup(void* arg) {
    auto* self = static_cast<LiveHandle*>(arg);
    self->cleanup_hook_ = false;
    self->CloseNative();
  }

  static void OnPacket(u_char* user, const struct pcap_pkthdr* h, const u_char* bytes) {
    auto* self = reinterpret_cast<LiveHandle*>(user);
    uint32_t i = self->count_;
    size_t cap = h->caplen;
    // Drain() asks for no more frames than fit, so this is a safety net only;
    // what it catches is counted in stats().overflow, never dropped silently.
    if (i >= self->max_frames_ || self->used_ + cap > self->buf_len_) {
      self->overflow_++;
      return;
    }
    if (self->gro_base_ >= 0) {
      // Software GRO (gro.h): the frame continues the batch's last one, which ends at used_.
      uint32_t b = static_cast<uint32_t>(self->gro_base_);
      size_t room = std::min(self->buf_len_ - self->used_, static_cast<size_t>(self->snaplen_) - self->cap_[b]);
      bool push = false;
      size_t added = GroAppend(self->buf_ + self->off_[b], self->cap_[b], bytes, cap, h->len, room, &push);
      if (added > 0) {
        self->cap_[b] += static_cast<uint32_t>(added);
        self->len_[b] += static_cast<uint32_t>(added);
        self->used_ += added;
        self->merged_++;
        if (push) self->gro_base_ = -1;
        return;
      }
    }
    std::memcpy(self->buf_ + self->used_, bytes, cap);
    if (self->gro_) self->gro_base_ = GroCanStart(self->buf_ + self->used_, cap, h->len) ? static_cast<int64_t>(i) : -1;
    self->off_[i] = static_cast<uint32_t>(self->used_);
    self->cap_[i] = static_cast<uint32_t>(cap);
    self->len_[i] = h->len;
    self->sec_ptr_[i] = static_cast<double>(h->ts.tv_sec);
    // With nanosecond precision libpcap stores nanoseconds in tv_usec.
    self->nsec_ptr_[i] = static_cast<uint32_t>(self->nano_ ? h->ts.tv_usec : h->ts.tv_usec * 1000);
    self->used_ += cap;
    self->count_ = i + 1;
  }

  static void OnPoll(uv_poll_t* handle, int status, int /*events*/) {
    auto* self = static_cast<LiveHandle*>(handle->data);
    self->Drain(status);
  }

  bool RefreshPointers() {
    // Re-read each time: a detached buffer must never be written to.
    buf_ = nullptr;
    Napi::Uint8Array b = buffer_.Value();
    if (b.ByteLength() < batch_bytes_) return false;
    buf_ = b.Data();
    buf_len_ = b.ByteLength();
    Napi::Uint32Array o = offset_.Value(), c = caplen_.Value(), l = length_.Value(), n = nsec_.Value();
    Napi::Float64Array s = sec_.Value();
    if (o.ElementLength() < max_frames_ || c.ElementLength() < max_frames_ || l.ElementLength() < max_frames_ ||
        n.ElementLength() < max_frames_ || s.ElementLength() < max_frames_) {
      return false;
    }
    off_ = o.Data();
    cap_ = c.Data();
    len_ = l.Data();
    nsec_ptr_ = n.Data();
    sec_ptr_ = s.Data();
    return true;
  }

  void Drain(int poll_status) {
    Napi::Env env(env_);
    Napi::HandleScope scope(env);
    if (pcap_ == nullptr) return;
    Napi::Value error;
    count_ = 0;
    used_ = 0;
    gro_base_ = -1;
    // libuv reports POLLERR as UV_EBADF and stops the handle; libpcap knows the
    // real reason ("The interface went down"), so read on and let it say.
    if (!RefreshPointers()) {
      error = Napi::Error::New(env, "the capture's batch buffer was detached").Value();
    } else {
      while (count_ < max_frames_) {
        // Ask only for as many frames as surely fit: each is at most snaplen bytes.
        size_t room = std::min<size_t>(max_frames_ - count_, (buf_len_ - used_) / static_cast<size_t>(snaplen_));
        if (room == 0) break;
        int n = pcap_dispatch(pcap_, static_cast<int>(std::min<size_t>(room, 1 << 20)), OnPacket,
                              reinterpret_cast<u_char*>(this));
        if (n < 0) {
          error = PcapError(env, "pcap_dispatch", n, pcap_geterr(pcap_)).Value();
          break;
        }
        if (static_cast<size_t>(n) < room) break;  // the ring is empty for now
      }
    }
    if (poll_status < 0) {
      // libuv has stopped the handle. libpcap 1.10 reads and clears the socket
      // error and treats a link that went down as not fatal (it may come back),
      // so when pcap_dispatch did not fail, keep reading, like tcpdump does.
      // A socket that keeps signalling errors without libpcap failing is given up on.
      polling_ = false;
      if (error.IsEmpty()) {
        int so_error = 0;
        socklen_t len = sizeof so_error;
        if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &so_error, &len) == 0 && so_error != 0) {
          error = ErrnoError(env, "poll", so_error).Value();
        } else if (++poll_errors_ > 100) {
          error = Napi::Error::New(env, std::string("poll: ") + uv_strerror(poll_status)).Value();
        } else if (uv_poll_start(poll_, UV_READABLE, OnPoll) == 0) {
          polling_ = true;
        } else {
          error = Napi::Error::New(env, std::string("poll: ") + uv_strerror(poll_status)).Value();
        }
      }
    } else {
      poll_errors_ = 0;
    }
    if (!error.IsEmpty()) StopPolling();
    if (count_ > 0) Call({Napi::Number::New(env, count_)});
    if (!error.IsEmpty()) Call({Napi::Number::New(env, -1), error});
  }

  void Call(const std::initializer_list<napi_value>& args) {
    // JavaScript may have stopped or closed us from inside the previous call.
    if (callback_.IsEmpty()) return;
    try {
      callback_.MakeCallback(Value(), args, *async_);
    } catch (const Napi::Error& e) {
      // A throwing listener is an uncaught exception, as for any event callback.
      napi_fatal_exception(env_, e.Value());
    }
  }

  napi_env env_;
  pcap_t* pcap_ = nullptr;
  int fd_ = -1;
  int ns_fd_ = -1;
  bpf_u_int32 netmask_ = PCAP_NETMASK_UNKNOWN;
  int snaplen_ = 0;
  int link_type_ = 0;
  bool nano_ = false;
  std::vector<std::string> warnings_;

  uv_poll_t* poll_ = nullptr;
  bool polling_ = false;
  bool referenced_ = true;
  bool js_ref_held_ = false;
  bool cleanup_hook_ = false;
  Napi::FunctionReference callback_;
  std::unique_ptr<Napi::AsyncContext> async_;

  size_t batch_bytes_ = 0;
  uint32_t max_frames_ = 0;
  Napi::Reference<Napi::Uint8Array> buffer_;
  Napi::Reference<Napi::Uint32Array> offset_, caplen_, length_, nsec_;
  Napi::Reference<Napi::Float64Array> sec_;

  // Valid during Drain() only.
  uint8_t* buf_ = nullptr;
  size_t buf_len_ = 0;
  uint32_t* off_ = nullptr;
  uint32_t* cap_ = nullptr;
  uint32_t* len_ = nullptr;
  uint32_t* nsec_ptr_ = nullptr;
  double* sec_ptr_ = nullptr;
  uint32_t count_ = 0;
  size_t used_ = 0;
  uint64_t overflow_ = 0;
  int poll_errors_ = 0;
  // Software GRO: on for an Ethernet capture asked for it; the batch's last frame
  // when it can take the next one (-1: none); segments merged into another so far.
  bool gro_ = false;
  int64_t gro_base_ = -1;
  uint64_t merged_ = 0;
};

void InitLive(Napi::Env env, Napi::Object exports) {
  exports.Set("LiveHandle", LiveHandle::Define(env));
}

}  // namespace stackts

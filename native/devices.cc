// listDevices(netns?): pcap_findalldevs plus the link-layer address
// (getifaddrs AF_PACKET) and MTU (SIOCGIFMTU). All three run inside the
// namespace when one is named; /sys/class/net would show the caller's.
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "common.h"
#include "devices.h"

namespace stackts {
namespace {

Napi::Value SockaddrToString(Napi::Env env, const struct sockaddr* sa) {
  if (sa == nullptr) return env.Null();
  char text[INET6_ADDRSTRLEN] = {0};
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const struct sockaddr_in*>(sa);
    if (inet_ntop(AF_INET, &in->sin_addr, text, sizeof text) == nullptr) return env.Null();
  } else if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const struct sockaddr_in6*>(sa);
    if (inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text) == nullptr) return env.Null();
  } else {
    return env.Null();
  }
  return Napi::String::New(env, text);
}

std::string HardwareAddress(const struct sockaddr_ll* ll) {
  std::string out;
  char part[4];
  for (int i = 0; i < ll->sll_halen && i < 8; i++) {
    std::snprintf(part, sizeof part, i == 0 ? "%02x" : ":%02x", ll->sll_addr[i]);
    out += part;
  }
  return out;
}

}  // namespace

Napi::Value ListDevices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string ns = ArgOptString(info, 0, "netns");
  int ns_fd = ns.empty() ? -1 : OpenNetns(env, ns);

  pcap_if_t* all = nullptr;
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  std::map<std::string, std::string> macs;
  std::map<std::string, int> mtus;
  int status = 0;
  {
    NetnsScope scope(env, ns_fd);
    status = pcap_findalldevs(&all, errbuf);
    if (status == 0) {
      struct ifaddrs* ifs = nullptr;
      if (getifaddrs(&ifs) == 0) {
        for (struct ifaddrs* it = ifs; it != nullptr; it = it->ifa_next) {
          if (it->ifa_addr == nullptr || it->ifa_addr->sa_family != AF_PACKET || it->ifa_name == nullptr) continue;
          const auto* ll = reinterpret_cast<const struct sockaddr_ll*>(it->ifa_addr);
          if (ll->sll_halen > 0) macs[it->ifa_name] = HardwareAddress(ll);
        }
        freeifaddrs(ifs);
      }
      int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (sock >= 0) {
        for (pcap_if_t* d = all; d != nullptr; d = d->next) {
          struct ifreq req;
          std::memset(&req, 0, sizeof req);
          if (std::strlen(d->name) >= sizeof req.ifr_name) continue;
          std::strncpy(req.ifr_name, d->name, sizeof req.ifr_name - 1);
          if (ioctl(sock, SIOCGIFMTU, &req) == 0) mtus[d->name] = req.ifr_mtu;
        }
        close(sock);
      }
    }
  }
  if (ns_fd >= 0) close(ns_fd);
  if (status != 0) throw PcapError(env, "pcap_findalldevs", status, errbuf);
  std::unique_ptr<pcap_if_t, void (*)(pcap_if_t*)> guard(all, pcap_freealldevs);

  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  for (pcap_if_t* d = all; d != nullptr; d = d->next) {
    Napi::Object dev = Napi::Object::New(env);
    dev.Set("name", d->name);
    dev.Set("description", d->description != nullptr ? Napi::Value(Napi::String::New(env, d->description)) : env.Null());
    Napi::Array addrs = Napi::Array::New(env);
    uint32_t k = 0;
    for (pcap_addr_t* a = d->addresses; a != nullptr; a = a->next) {
      if (a->addr == nullptr || (a->addr->sa_family != AF_INET && a->addr->sa_family != AF_INET6)) continue;
      Napi::Object addr = Napi::Object::New(env);
      addr.Set("family", a->addr->sa_family == AF_INET ? "ipv4" : "ipv6");
      addr.Set("address", SockaddrToString(env, a->addr));
      addr.Set("netmask", SockaddrToString(env, a->netmask));
      addr.Set("broadcast", SockaddrToString(env, a->broadaddr));
      addr.Set("destination", SockaddrToString(env, a->dstaddr));
      addrs.Set(k++, addr);
    }
    dev.Set("addresses", addrs);
    Napi::Object flags = Napi::Object::New(env);
    flags.Set("up", (d->flags & PCAP_IF_UP) != 0);
    flags.Set("running", (d->flags & PCAP_IF_RUNNING) != 0);
    flags.Set("loopback", (d->flags & PCAP_IF_LOOPBACK) != 0);
    flags.Set("wireless", (d->flags & PCAP_IF_WIRELESS) != 0);
    dev.Set("flags", flags);
    auto mac = macs.find(d->name);
    dev.Set("mac", mac != macs.end() ? Napi::Value(Napi::String::New(env, mac->second)) : env.Null());
    auto mtu = mtus.find(d->name);
    dev.Set("mtu", mtu != mtus.end() ? Napi::Value(Napi::Number::New(env, mtu->second)) : env.Null());
    out.Set(n++, dev);
  }
  return out;
}

}  // namespace stackts

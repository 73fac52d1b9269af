// Software GRO for a stack's capture: what Linux's GRO does for a NIC
// (net/ipv4/tcp_offload.c), on the frames of one capture batch. A bulk TCP
// download arrives as runs of MSS-sized segments that differ only in their
// sequence numbers and data; merging each run into one segment of up to 64 KB
// before JavaScript sees it turns ~45 calls into one. IPv4 (without options or
// fragments) and IPv6 (without extension headers). The rules are Linux's:
// a segment joins the one before it only when everything but the sequence
// number and the data is equal (TCP options byte for byte, so a new timestamp
// starts a new segment), it starts where the data before it ends, it has
// nothing but ACK (and PSH, which ends the run), and its checksums are right.
// The merged segment carries the pseudo-header sum as its TCP checksum, as a
// Linux GRO packet does (CHECKSUM_PARTIAL): the stack takes that as verified
// (src/stack/offload.ts), and each wire segment was verified here.
#include "gro.h"

#include <cstring>

namespace stackts {
namespace {

constexpr size_t kEth = 14;  // Ethernet II header (no VLAN tag: the stack sends none)
constexpr uint8_t kAck = 0x10;
constexpr uint8_t kPsh = 0x08;

uint32_t Be16(const uint8_t* p) { return (uint32_t(p[0]) << 8) | p[1]; }
uint32_t Be32(const uint8_t* p) { return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3]; }
void PutBe16(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}

uint32_t Fold(uint64_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint32_t>(s);
}

// An Ethernet/IP/TCP frame as the merge rules need it.
struct Tcp {
  bool v6;
  size_t ip;      // IP header length: 20 (IPv4 without options) or 40 (IPv6 without extension headers)
  size_t total;   // the datagram's length, IP header included
  size_t header;  // TCP header length, options included
  size_t data;    // TCP data length
};

// Whether `f` is a whole (not cut off) Ethernet II frame holding exactly one IP
// datagram that carries TCP: IPv4 without options or fragmentation, or IPv6
// with TCP as its first next header.
bool Parse(const uint8_t* f, size_t cap, size_t len, Tcp* t) {
  if (cap != len || cap < kEth + 20 + 20) return false;
  const uint8_t* ip = f + kEth;
  size_t total;
  if (f[12] == 0x08 && f[13] == 0x00) {
    if (ip[0] != 0x45 || ip[9] != 6) return false;
    if ((Be16(ip + 6) & 0x3fff) != 0) return false;  // MF set or an offset: a fragment
    total = Be16(ip + 2);
    t->v6 = false;
    t->ip = 20;
  } else if (f[12] == 0x86 && f[13] == 0xdd) {
    if (cap < kEth + 40 + 20 || (ip[0] >> 4) != 6 || ip[6] != 6) return false;
    total = 40 + Be16(ip + 4);
    t->v6 = true;
    t->ip = 40;
  } else {
    return false;
  }
  // The frame ends where the datagram does (no Ethernet padding: a data segment is never that small).
  if (kEth + total != cap) return false;
  size_t header = size_t(ip[t->ip + 12] >> 4) * 4;
  if (header < 20 || t->ip + header > total) return false;
  t->total = total;
  t->header = header;
  t->data = total - t->ip - header;
  return true;
}

// The sum over the pseudo-header for a TCP segment of `length` bytes
// (RFC 9293 §3.1; RFC 8200 §8.1, whose 32-bit length is under 2^16 here).
uint64_t PseudoSum(const uint8_t* ip, const Tcp& t, size_t length) {
  return (t.v6 ? uint64_t(OnesSum16(ip + 8, 32)) : uint64_t(OnesSum16(ip + 12, 8))) + 6 + length;
}

bool ChecksumsRight(const uint8_t* f, const Tcp& t) {
  const uint8_t* ip = f + kEth;
  if (!t.v6 && OnesSum16(ip, 20) != 0xffff) return false;
  size_t length = t.total - t.ip;
  return Fold(PseudoSum(ip, t, length) + OnesSum16(ip + t.ip, length)) == 0xffff;
}

// The IP fields that must agree: IPv4's TOS, TTL, DF and addresses; IPv6's
// traffic class, flow label, hop limit and addresses.
bool SameIp(const uint8_t* a, const uint8_t* b, bool v6) {
  if (v6) return std::memcmp(a, b, 4) == 0 && a[7] == b[7] && std::memcmp(a + 8, b + 8, 32) == 0;
  return a[1] == b[1] && a[8] == b[8] && ((a[6] ^ b[6]) & 0x40) == 0 && std::memcmp(a + 12, b + 12, 8) == 0;
}

}  // namespace

uint32_t OnesSum16(const uint8_t* p, size_t n) {
  // RFC 1071 §2: sums may be taken in wider words (a 32-bit word counts as its
  // two 16-bit halves, as 2^16 = 1 modulo 0xffff) and in either byte order (the
  // result is then byte-swapped). Native loads, 8 bytes per step.
  uint64_t s = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    s += (w & 0xffffffffu) + (w >> 32);
  }
  for (; i + 2 <= n; i += 2) {
    uint16_t w;
    std::memcpy(&w, p + i, 2);
    s += w;
  }
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  if (i < n) s += p[i];  // a last odd byte is a word's high byte: the low byte of a native load
  uint32_t v = Fold(s);
  return ((v & 0xff) << 8) | (v >> 8);
#else
  if (i < n) s += uint32_t(p[i]) << 8;
  return Fold(s);
#endif
}

bool GroCanStart(const uint8_t* frame, size_t cap, size_t len) {
  Tcp t;
  if (!Parse(frame, cap, len, &t) || t.data == 0) return false;
  if (frame[kEth + t.ip + 13] != kAck) return false;
  return ChecksumsRight(frame, t);
}

size_t GroAppend(uint8_t* base, size_t base_cap, const uint8_t* next, size_t cap, size_t len, size_t room, bool* push) {
  Tcp b, n;
  if (!Parse(base, base_cap, base_cap, &b) || !Parse(next, cap, len, &n) || b.v6 != n.v6) return 0;
  uint8_t* bip = base + kEth;
  const uint8_t* nip = next + kEth;
  uint8_t* bt = bip + b.ip;
  const uint8_t* nt = nip + n.ip;
  if (bt[13] != kAck || (nt[13] & ~kPsh) != kAck || n.data == 0) return 0;
  // IPv4's total length, IPv6's payload length: 16 bits each.
  size_t total = b.total + n.data;
  if (n.data > room || total - (b.v6 ? 40 : 0) > 0xffff) return 0;
  if (!SameIp(bip, nip, b.v6)) return 0;
  // TCP: ports, ACK number, header length, window, options.
  if (std::memcmp(bt, nt, 4) != 0 || std::memcmp(bt + 8, nt + 8, 5) != 0 || std::memcmp(bt + 14, nt + 14, 2) != 0) return 0;
  if (std::memcmp(bt + 20, nt + 20, b.header - 20) != 0) return 0;
  if (Be32(nt + 4) != static_cast<uint32_t>(Be32(bt + 4) + b.data)) return 0;
  if (!ChecksumsRight(next, n)) return 0;

  std::memcpy(base + base_cap, nt + n.header, n.data);
  if (b.v6) {
    PutBe16(bip + 4, static_cast<uint32_t>(total - 40));
  } else {
    PutBe16(bip + 2, static_cast<uint32_t>(total));
    bip[10] = bip[11] = 0;
    PutBe16(bip + 10, ~OnesSum16(bip, 20) & 0xffff);
  }
  bt[13] |= nt[13] & kPsh;
  PutBe16(bt + 16, Fold(PseudoSum(bip, b, total - b.ip)));
  *push = (nt[13] & kPsh) != 0;
  return n.data;
}

}  // namespace stackts

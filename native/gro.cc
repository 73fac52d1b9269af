// Software GRO for a stack's capture: what Linux's GRO does for a NIC
// (net/ipv4/tcp_offload.c), on the frames of one capture batch. A bulk TCP
// download arrives as runs of MSS-sized segments that differ only in their
// sequence numbers and data; merging each run into one segment of up to 64 KB
// before JavaScript sees it turns ~45 calls into one. The rules are Linux's:
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

constexpr size_t kEth = 14;   // Ethernet II header (no VLAN tag: the stack sends none)
constexpr size_t kIp = 20;    // IPv4 header without options
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

// An Ethernet/IPv4/TCP frame as the merge rules need it.
struct Tcp4 {
  size_t total;   // IP total length
  size_t header;  // TCP header length, options included
  size_t data;    // TCP data length
};

// Whether `f` is a whole (not cut off) Ethernet II frame holding exactly one
// IPv4 datagram without options or fragmentation that carries TCP.
bool Parse(const uint8_t* f, size_t cap, size_t len, Tcp4* t) {
  if (cap != len || cap < kEth + kIp + 20) return false;
  if (f[12] != 0x08 || f[13] != 0x00) return false;
  const uint8_t* ip = f + kEth;
  if (ip[0] != 0x45 || ip[9] != 6) return false;
  size_t total = Be16(ip + 2);
  // The frame ends where the datagram does (no Ethernet padding: a data segment is never that small).
  if (kEth + total != cap) return false;
  if ((Be16(ip + 6) & 0x3fff) != 0) return false;  // MF set or an offset: a fragment
  size_t header = size_t(ip[kIp + 12] >> 4) * 4;
  if (header < 20 || kIp + header > total) return false;
  t->total = total;
  t->header = header;
  t->data = total - kIp - header;
  return true;
}

// The sum over IPv4's pseudo-header for a TCP segment of `length` bytes (RFC 9293 §3.1).
uint64_t PseudoSum(const uint8_t* ip, size_t length) { return uint64_t(OnesSum16(ip + 12, 8)) + 6 + length; }

bool ChecksumsRight(const uint8_t* f, const Tcp4& t) {
  const uint8_t* ip = f + kEth;
  if (OnesSum16(ip, kIp) != 0xffff) return false;
  size_t length = t.total - kIp;
  return Fold(PseudoSum(ip, length) + OnesSum16(ip + kIp, length)) == 0xffff;
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
  Tcp4 t;
  if (!Parse(frame, cap, len, &t) || t.data == 0) return false;
  if (frame[kEth + kIp + 13] != kAck) return false;
  return ChecksumsRight(frame, t);
}

size_t GroAppend(uint8_t* base, size_t base_cap, const uint8_t* next, size_t cap, size_t len, size_t room, bool* push) {
  Tcp4 b, n;
  if (!Parse(base, base_cap, base_cap, &b) || !Parse(next, cap, len, &n)) return 0;
  uint8_t* bip = base + kEth;
  const uint8_t* nip = next + kEth;
  uint8_t* bt = bip + kIp;
  const uint8_t* nt = nip + kIp;
  if (bt[13] != kAck || (nt[13] & ~kPsh) != kAck || n.data == 0) return 0;
  if (n.data > room || b.total + n.data > 0xffff) return 0;
  // IP: TOS, TTL, DF and the addresses; TCP: ports, ACK number, header length, window, options.
  if (bip[1] != nip[1] || bip[8] != nip[8] || ((bip[6] ^ nip[6]) & 0x40) != 0) return 0;
  if (std::memcmp(bip + 12, nip + 12, 8) != 0) return 0;
  if (std::memcmp(bt, nt, 4) != 0 || std::memcmp(bt + 8, nt + 8, 5) != 0 || std::memcmp(bt + 14, nt + 14, 2) != 0) return 0;
  if (std::memcmp(bt + 20, nt + 20, b.header - 20) != 0) return 0;
  if (Be32(nt + 4) != static_cast<uint32_t>(Be32(bt + 4) + b.data)) return 0;
  if (!ChecksumsRight(next, n)) return 0;

  std::memcpy(base + base_cap, nt + n.header, n.data);
  size_t total = b.total + n.data;
  PutBe16(bip + 2, static_cast<uint32_t>(total));
  bip[10] = bip[11] = 0;
  PutBe16(bip + 10, ~OnesSum16(bip, kIp) & 0xffff);
  bt[13] |= nt[13] & kPsh;
  PutBe16(bt + 16, Fold(PseudoSum(bip, total - kIp)));
  *push = (nt[13] & kPsh) != 0;
  return n.data;
}

}  // namespace stackts

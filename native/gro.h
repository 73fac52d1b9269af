// Receive coalescing for a stack's capture (software GRO, the kernel's own
// receive offload done on a capture batch): consecutive in-order TCP segments
// of one connection (IPv4 or IPv6) become one large segment, so the stack's JavaScript
// handles a burst once instead of once per wire frame. See gro.cc.
#pragma once

#include <cstddef>
#include <cstdint>

namespace stackts {

// Whether `frame` (cap bytes captured of len on the wire) can be the first
// segment of a merge: Ethernet II, IPv4 without options or fragments or IPv6
// without extension headers, TCP with only ACK set and data, nothing cut off,
// and its checksums right.
bool GroCanStart(const uint8_t* frame, size_t cap, size_t len);

// Append `next` to `base` when it continues it: same IP version, addresses
// and ports, IPv4 TOS/TTL/DF or IPv6 traffic class/flow label/hop limit, TCP
// ACK number, window and options (byte for byte, timestamps included), its
// sequence number where base's data ends, flags ACK or ACK|PSH, data, its
// checksums right, and the merged datagram's length field (IPv4's total,
// IPv6's payload) at most 65535 and `room` more bytes. `base` (base_cap
// bytes, GroCanStart or built by this call) must have `room` writable bytes
// after it. On success the data is copied after base's, base's IP length
// (and IPv4 header checksum) is updated, its TCP checksum becomes the
// pseudo-header sum alone (a partial checksum, as a Linux GRO packet carries:
// the segments were each verified), PSH carries over, and the number of bytes
// appended is returned; *push tells that `next` had PSH (the merge ends
// there, as in Linux). Returns 0 otherwise.
size_t GroAppend(uint8_t* base, size_t base_cap, const uint8_t* next, size_t cap, size_t len, size_t room, bool* push);

// RFC 1071 ones-complement sum of p[0, n), folded to 16 bits (network order).
uint32_t OnesSum16(const uint8_t* p, size_t n);

}  // namespace stackts

/**
 * Frames as they come from a capture source (live libpcap handle or a capture
 * file), before any decoding. Two shapes:
 *
 * - {@link Frame}: one frame that owns its bytes; safe to keep.
 * - {@link FrameBatch}: many frames in one buffer with struct-of-arrays metadata,
 *   valid only during the callback it is passed to (zero-copy fast path).
 *
 * @module
 */

/** One captured frame. `data.length` is the captured length (caplen). */
export interface Frame {
  /** the captured bytes */
  data: Uint8Array;
  /**
   * original length on the wire; normally >= data.length, but a damaged or
   * hand-made file may record a caplen above it (kept as recorded, as libpcap does)
   */
  length: number;
  /** timestamp, whole seconds since the Unix epoch (UTC) */
  sec: number;
  /** nanoseconds within that second, 0..999_999_999 */
  nsec: number;
  /** LINKTYPE_* value of the interface the frame came from (see layers/link_type.ts) */
  linkType: number;
  /** interface index: pcapng interface id, 0 for pcap files and single-interface live capture */
  interfaceId: number;
}

/**
 * Many frames at once. Frame `i` is `buffer.subarray(offset[i], offset[i] + caplen[i])`.
 * Valid only until the callback that received it returns: copy what you keep.
 */
export interface FrameBatch {
  count: number;
  buffer: Uint8Array;
  offset: Uint32Array;
  caplen: Uint32Array;
  length: Uint32Array;
  sec: Float64Array;
  nsec: Uint32Array;
  /** LINKTYPE_* per frame (pcapng files mix link types across interfaces) */
  linkType: Uint32Array;
  interfaceId: Uint32Array;
}

/** The bytes of frame `i` of a batch, as a view (no copy). */
export function batchData(batch: FrameBatch, i: number): Uint8Array {
  const start = batch.offset[i]!;
  return batch.buffer.subarray(start, start + batch.caplen[i]!);
}

/** Frame `i` of a batch as a {@link Frame} that owns a copy of its bytes. */
export function frameAt(batch: FrameBatch, i: number): Frame {
  return {
    data: batchData(batch, i).slice(),
    length: batch.length[i]!,
    sec: batch.sec[i]!,
    nsec: batch.nsec[i]!,
    linkType: batch.linkType[i]!,
    interfaceId: batch.interfaceId[i]!,
  };
}

/**
 * A TCP segment as the state machine sees it, apart from the bytes on the
 * wire: the header's numbers, the options that matter to TCP, and where the
 * data is. The stack parses an arriving segment into one reused
 * {@link InSegment} and writes an {@link OutSegment} the connection fills
 * into a frame, so the state machine itself never touches header bytes.
 *
 * @module
 */

import { MAX_SACK_BLOCKS, tcpOptionFieldsLength, type TcpOptionFields } from "../../../layers/tcp_option_fields.ts";

export { MAX_SACK_BLOCKS };

/**
 * The options that matter to TCP, shared by {@link InSegment} and
 * {@link OutSegment}: what `readTcpOptionFields` fills and
 * `writeTcpOptionFields` writes.
 */
export class SegmentOptions implements TcpOptionFields {
  /** MSS option, or -1 */
  mss = -1;
  /** window scale option's shift, or -1 */
  windowScale = -1;
  sackPermitted = false;
  hasTimestamps = false;
  tsval = 0;
  tsecr = 0;
  /** SACK blocks: edges in `sackLeft/sackRight[0, sackCount)` */
  sackCount = 0;
  readonly sackLeft = new Uint32Array(MAX_SACK_BLOCKS);
  readonly sackRight = new Uint32Array(MAX_SACK_BLOCKS);

  /** Clear the options (none present). */
  resetOptions(): void {
    this.mss = -1;
    this.windowScale = -1;
    this.sackPermitted = false;
    this.hasTimestamps = false;
    this.tsval = 0;
    this.tsecr = 0;
    this.sackCount = 0;
  }

  /** Bytes of TCP options these make (a multiple of 4). */
  optionLength(): number {
    return tcpOptionFieldsLength(this);
  }
}

/** An arriving segment, parsed. Reused from segment to segment by the stack. */
export class InSegment extends SegmentOptions {
  seq = 0;
  ack = 0;
  flags = 0;
  /** the window field as sent (unscaled) */
  window = 0;
  /** the data: `bytes[dataStart, dataEnd)` */
  bytes: Uint8Array = new Uint8Array(0);
  dataStart = 0;
  dataEnd = 0;

  /** data length in bytes */
  get length(): number {
    return this.dataEnd - this.dataStart;
  }
}

/** A segment a connection wants sent. The stack adds addresses and ports, IP and link headers. */
export class OutSegment extends SegmentOptions {
  seq = 0;
  ack = 0;
  flags = 0;
  /** the window field to write (already scaled down) */
  window = 0;
  /** data: `dataLength` bytes starting `dataOffset` past SND.UNA in the send buffer */
  dataOffset = 0;
  dataLength = 0;

  /** Start a new segment: no data, no options. */
  clear(): this {
    this.seq = 0;
    this.ack = 0;
    this.flags = 0;
    this.window = 0;
    this.dataOffset = 0;
    this.dataLength = 0;
    this.resetOptions();
    return this;
  }
}

/**
 * The one module that loads the native addon (build/Release/stackts_pcap.node,
 * built by `npm install` or `npm run build:native`). It is loaded on first use,
 * so modules that merely import the library work without it; when it cannot
 * be loaded, {@link loadAddon} throws one {@link NativeAddonError} saying how
 * to build it.
 *
 * The shapes below describe the addon's C++ surface (native/*.cc); the public
 * API lives in live.ts, devices.ts and bpf.ts.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { NativeAddonError } from "./errors.ts";

export interface NativeAddress {
  family: "ipv4" | "ipv6";
  address: string | null;
  netmask: string | null;
  broadcast: string | null;
  destination: string | null;
}

export interface NativeDevice {
  name: string;
  description: string | null;
  addresses: NativeAddress[];
  flags: { up: boolean; running: boolean; loopback: boolean; wireless: boolean };
  mac: string | null;
  mtu: number | null;
}

export interface NativeLiveOptions {
  snaplen: number;
  promisc: boolean;
  /** bytes; 0 = libpcap's default */
  bufferSize: number;
  immediate: boolean;
  timeoutMs: number;
  nano: boolean;
  direction: "" | "in" | "out" | "inout";
  netns?: string;
  batchBytes: number;
  batchFrames: number;
  /** DLT_* to switch to after activation when the device offers it (-1: its default) */
  datalink?: number;
  /** merge in-order TCP segments of one connection within a batch (native/gro.h) */
  gro?: boolean;
}

export interface NativeLiveInfo {
  linkType: number;
  linkTypeName: string | null;
  snaplen: number;
  precision: "nano" | "micro";
  batchBytes: number;
  batchFrames: number;
  warnings: string[];
}

/** The reusable batch arrays; the addon rewrites them before each callback. */
export interface NativeBuffers {
  buffer: Uint8Array;
  offset: Uint32Array;
  caplen: Uint32Array;
  length: Uint32Array;
  sec: Float64Array;
  nsec: Uint32Array;
}

export interface NativeStats {
  received: number;
  dropped: number;
  ifDropped: number;
  overflow: number;
  /** segments merged into the one before them (gro) */
  merged: number;
}

export interface NativeLiveHandle {
  info(): NativeLiveInfo;
  buffers(): NativeBuffers;
  setFilter(expression: string): void;
  start(callback: NativeBatchCallback): void;
  stop(): void;
  setRef(ref: boolean): void;
  stats(): NativeStats;
  inject(frame: Uint8Array): number;
  sendMany(frames: readonly Uint8Array[]): number;
  close(): void;
  /** the name of interface `index` in the capture's namespace, or null */
  interfaceName(index: number): string | null;
}

export interface NativePacketSocket {
  send(frame: Uint8Array): number;
  sendMany(frames: readonly Uint8Array[]): number;
  info(): { ifindex: number; qdiscBypass: boolean };
  close(): void;
}

export interface NativeBpfProgram {
  matches(data: Uint8Array, length: number): boolean;
  matchBatch(
    buffer: Uint8Array,
    offset: Uint32Array,
    caplen: Uint32Array,
    length: Uint32Array,
    linkType: Uint32Array,
    count: number,
    out: Uint8Array,
  ): number;
  close(): void;
}

/**
 * Called once per readable event with the number of frames now in the batch
 * arrays, or with -1 and the error that stopped the capture.
 */
export type NativeBatchCallback = (count: number, error?: unknown) => void;

export interface NativeAddon {
  libVersion(): string;
  listDevices(netns?: string): NativeDevice[];
  LiveHandle: new (device: string, options: NativeLiveOptions) => NativeLiveHandle;
  PacketSocket: new (device: string, netns?: string, qdiscBypass?: boolean) => NativePacketSocket;
  BpfProgram: new (expression: string, linkType: number, snaplen: number, dlt?: number) => NativeBpfProgram;
}

const ADDON_FILE = join("build", "Release", "stackts_pcap.node");

/** Where the addon may be: the package root is 1 (src/) or 2 (dist/src/) levels up. */
function candidates(): string[] {
  const out: string[] = [];
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    out.push(join(dir, ADDON_FILE));
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return out;
}

let cached: NativeAddon | null = null;

/** The native addon, loaded once. Throws {@link NativeAddonError} with build instructions. */
export function loadAddon(): NativeAddon {
  if (cached !== null) return cached;
  const paths = candidates();
  const found = paths.find((p) => existsSync(p));
  const howTo =
    "build it with 'npm run build:native' (needs libpcap-dev, g++, make and python3: './setup' installs them)";
  if (found === undefined) {
    throw new NativeAddonError(`The native capture addon is not built (looked for ${paths[1] ?? paths[0]}); ${howTo}`);
  }
  try {
    const require = createRequire(import.meta.url);
    cached = require(found) as NativeAddon;
  } catch (err) {
    const why = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new NativeAddonError(`The native capture addon at ${found} cannot be loaded (${why}); re${howTo}`, {
      cause: err,
    });
  }
  return cached;
}

/** libpcap's version string, e.g. "libpcap version 1.10.3 (with TPACKET_V3)". */
export function libpcapVersion(): string {
  return loadAddon().libVersion();
}

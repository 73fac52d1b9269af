/**
 * Bytes no layer decoded, or bytes a builder writes as they are: the `payload`
 * layer. The decode pipeline makes it itself (a view of what is left when the
 * walk stops); a build list may put one anywhere.
 *
 * @example
 * ```ts
 * import { encodePacket } from "./encode.ts";
 * encodePacket([{ layer: "payload", data: Uint8Array.of(1, 2, 3) }]); // Uint8Array [1, 2, 3]
 * ```
 *
 * @module
 */
import { utf8Length } from "./byte_writer.ts";
import type { Codec, Payload, Protocol } from "./core.ts";

/**
 * Build input for raw bytes: `data` (default empty) written as is; text is
 * written as its UTF-8 bytes (`{ layer: "payload", data: "hello" }` is the
 * five bytes of "hello").
 */
export type PayloadInput = { layer: "payload"; data?: Uint8Array | string };

/** The bytes of `data`: itself, or a string's UTF-8 encoding (made once per string, only for text). */
function bytesOf(data: Uint8Array | string | undefined): Uint8Array | undefined {
  return typeof data === "string" ? utf8.encode(data) : data;
}

const utf8 = new TextEncoder();

/** Writes `data` as it is (text as UTF-8). */
export const payloadCodec: Codec<PayloadInput> = {
  headerLength: (v) => (typeof v.data === "string" ? utf8Length(v.data) : (v.data?.length ?? 0)),
  write(v, out) {
    const data = bytesOf(v.data);
    if (data !== undefined) out.set(data, 0);
  },
  append(v, out, at) {
    const data = bytesOf(v.data);
    const n = data?.length ?? 0;
    if (at + n > out.length) throw new RangeError(`Cannot encode payload: ${n} bytes do not fit in the ${out.length - at} left`);
    if (data !== undefined) out.set(data, at);
    return at + n;
  },
  maxLength: (v) => (typeof v.data === "string" ? utf8Length(v.data) : (v.data?.length ?? 0)),
};

/** The payload in the registry: claimed by no wire value, made by the pipeline. */
export const payloadProtocol: Protocol<"payload", Payload, PayloadInput> = {
  kind: "payload",
  codec: payloadCodec,
  inputRules: { data: "data" },
};

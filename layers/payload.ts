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
import type { Codec, Input, Payload, Protocol } from "./core.ts";

/** Build input for raw bytes: `data` (default empty) written as is. */
export type PayloadInput = Input<Payload>;

/** Writes `data` as it is. */
export const payloadCodec: Codec<PayloadInput> = {
  headerLength: (v) => v.data?.length ?? 0,
  write(v, out) {
    if (v.data !== undefined) out.set(v.data, 0);
  },
  append(v, out, at) {
    const n = v.data?.length ?? 0;
    if (at + n > out.length) throw new RangeError(`Cannot encode payload: ${n} bytes do not fit in the ${out.length - at} left`);
    if (v.data !== undefined) out.set(v.data, at);
    return at + n;
  },
  maxLength: (v) => v.data?.length ?? 0,
};

/** The payload in the registry: claimed by no wire value, made by the pipeline. */
export const payloadProtocol: Protocol<"payload", Payload, PayloadInput> = {
  kind: "payload",
  codec: payloadCodec,
};

/**
 * A decoder state for calling one layer's decoder directly in a test, the way
 * the pipeline would, plus `rest`: the payload range the decoder leaves,
 * `bytes[offset, end)`.
 */
import type { DecodeOptions, DecodeState, IpContext, LayerBase } from "../../layers/core.ts";
import { DISPATCH } from "../../layers/registry.ts";

export type TestState = DecodeState & { readonly rest: Uint8Array };

/**
 * A state over all of `bytes`. `ip` is the enclosing IP layer's context (null:
 * none), `below` the layers already decoded under this one (e.g. a `tcp` value
 * for DNS over TCP). `nest` throws unless given: a layer that should not nest
 * fails its test if it does.
 */
export function newState(
  bytes: Uint8Array,
  ip: IpContext | null = null,
  options: DecodeOptions = {},
  below: LayerBase[] = [],
  nest: DecodeState["nest"] = () => {
    throw new Error("this layer never nests");
  },
): TestState {
  return {
    layers: [...below],
    issues: [],
    offset: 0,
    end: bytes.length,
    get rest() {
      return bytes.subarray(this.offset, this.end);
    },
    ip,
    depth: 0,
    options,
    dispatch: DISPATCH,
    nest,
  };
}

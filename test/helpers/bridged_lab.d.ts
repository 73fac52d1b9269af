/** See bridged_lab.js. */
export interface BridgedLab {
  ns: { a: string; r: string; b: string };
  ifs: { a: string; ra: string; rb: string; b: string };
  macA: string;
  macB: string;
  down(): void;
  loss(mac: string, percent: number): void;
  dropped(mac: string): number;
}
export function bridgedLab(prefix: string, options?: { ipv6?: boolean }): BridgedLab;

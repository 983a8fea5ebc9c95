import { readFileSync } from 'node:fs';
import { bytes } from './hex-bytes.js';

/**
 * Real traffic with tgtd 1.0.85, recorded by record-tgtd.mjs, each one connection: `toTarget` is what
 * the initiator sent, `fromTarget` what tgtd answered. The initiator is one of libiscsi's tools (through
 * a TCP proxy) for LIBISCSI_FIXTURES, this codec's own encoders for `scripted`.
 */
export interface TgtdFixture {
  readonly argv: readonly string[];
  readonly toTarget: Uint8Array;
  readonly fromTarget: Uint8Array;
}

export const LIBISCSI_FIXTURES = ['inquiry', 'inquiry-check-condition', 'discovery'] as const;

export function tgtdFixture(name: (typeof LIBISCSI_FIXTURES)[number] | 'scripted'): TgtdFixture {
  const json = JSON.parse(readFileSync(new URL(`./fixtures/tgtd-${name}.json`, import.meta.url), 'utf8')) as {
    argv: string[];
    toTarget: string;
    fromTarget: string;
  };
  return { argv: json.argv, toTarget: bytes(json.toTarget), fromTarget: bytes(json.fromTarget) };
}

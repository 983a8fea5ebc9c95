import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_PAIRS,
  booleanValue,
  decodeTextKeys,
  encodeTextKeys,
  isSpecialValue,
  listValue,
  numericValue,
} from '../../../host/backends/iscsi/text-keys.js';
import { expectPduError } from './expect-pdu-error.js';
import { bytes, hexOf } from './hex-bytes.js';
import { runs } from './property-runs.js';

const text = (s: string) => new TextEncoder().encode(s);

describe('text keys (RFC 7143 section 6)', () => {
  it('encodes key=value pairs each followed by one null byte (6.1)', () => {
    expect(hexOf(encodeTextKeys([['MaxBurstLength', '262144'], ['HeaderDigest', 'None,CRC32C']]))).toBe(
      hexOf(text('MaxBurstLength=262144\0HeaderDigest=None,CRC32C\0')),
    );
    expect(encodeTextKeys([])).toEqual(new Uint8Array(0));
  });

  it('decodes in order; a value may hold = and any UTF-8; vendor keys X- and X# are keys', () => {
    const keys = decodeTextKeys(text('TargetAlias=disk ü=1\0X-com.example.opt=Yes\0X#vendor=1\0Empty=\0'));
    expect([...keys]).toEqual([
      ['TargetAlias', 'disk ü=1'],
      ['X-com.example.opt', 'Yes'],
      ['X#vendor', '1'],
      ['Empty', ''],
    ]);
    expect(decodeTextKeys(new Uint8Array(0)).size).toBe(0);
  });

  it('NotUnderstood, Irrelevant and Reject (6.2) are values the helpers recognise and refuse to read as numbers, booleans or lists', () => {
    const keys = decodeTextKeys(text('MaxBurstLength=Reject\0IFMarker=Irrelevant\0X-a=NotUnderstood\0'));
    expect([...keys.values()].every(isSpecialValue)).toBe(true);
    expect(isSpecialValue('None')).toBe(false);
    expectPduError(() => numericValue('MaxBurstLength', 'Reject'), 'text: MaxBurstLength=Reject: the other side answered Reject, not a value');
    expectPduError(() => booleanValue('IFMarker', 'Irrelevant'), 'text: IFMarker=Irrelevant: the other side answered Irrelevant, not a value');
    expectPduError(() => listValue('X-a', 'NotUnderstood'), 'text: X-a=NotUnderstood: the other side answered NotUnderstood, not a value');
  });

  it.each([
    ['text: text does not end with a null byte', 'A=1'],
    ['text: empty key=value pair at byte 4', 'A=1\0\0'],
    ['text: pair at byte 4 has no \'=\'', 'A=1\0Bad\0'],
    ['text: empty key', '=1\0'],
    [`text: key of 64 bytes over the 63 allowed`, `K${'x'.repeat(63)}=1\0`],
    ['text: key \'lower\' is not a key name (a capital letter, then letters, digits, . - + @ _)', 'lower=1\0'],
    ['text: key \'A B\' is not a key name (a capital letter, then letters, digits, . - + @ _)', 'A B=1\0'],
    ['text: value of A is 256 bytes, over the 255 allowed', `A=${'v'.repeat(256)}\0`],
    ['text: value of CHAP_C is 8193 bytes, over the 8192 allowed', `CHAP_C=0x${'a'.repeat(8191)}\0`],
    ['text: key A given twice', 'A=1\0B=2\0A=1\0'],
  ])('refuses: %s', (message, input) => {
    expectPduError(() => decodeTextKeys(text(input)), message);
  });

  it('refuses bytes that are not UTF-8, and more than MAX_PAIRS pairs; names the PDU when told', () => {
    expectPduError(() => decodeTextKeys(bytes('41 3d ff 00'), 'Login Response'), 'Login Response: value of A is not UTF-8');
    expectPduError(() => decodeTextKeys(bytes('c3 3d 31 00')), 'text: key at byte 0 is not UTF-8');
    const many = Array.from({ length: MAX_PAIRS + 1 }, (_, i) => `K${i}=1\0`).join('');
    expectPduError(() => decodeTextKeys(text(many)), `text: more than ${MAX_PAIRS} key=value pairs`);
    expect(decodeTextKeys(text(many.slice(0, many.lastIndexOf('K')))).size).toBe(MAX_PAIRS);
  });

  it('CHAP_C and CHAP_R are large-binary-values (12.1.3): longer than 255 bytes is fine', () => {
    const challenge = `0x${'ab'.repeat(512)}`;
    expect(decodeTextKeys(encodeTextKeys([['CHAP_C', challenge]])).get('CHAP_C')).toBe(challenge);
  });

  it('the encoder refuses what the decoder would', () => {
    expectPduError(() => encodeTextKeys([['bad', '1']], 'Login Request'), 'Login Request: key \'bad\' is not a key name (a capital letter, then letters, digits, . - + @ _)');
    expectPduError(() => encodeTextKeys([['A', 'x\0y']]), 'text: value of A contains a null byte');
    expectPduError(() => encodeTextKeys([['A', 'ü'.repeat(128)]]), 'text: value of A is 256 bytes, over the 255 allowed');
    expectPduError(() => encodeTextKeys([['A', '1'], ['A', '2']]), 'text: key A given twice');
  });

  it('numeric values (6.1): decimal without leading zeros, or 0x/0X hex; up to 2^53 - 1', () => {
    expect(['0', '262144', '0x40000', '0X1f', '9007199254740991'].map((v) => numericValue('N', v))).toEqual([0, 262144, 262144, 31, 2 ** 53 - 1]);
    for (const bad of ['', '012', '-1', '1e3', '0x', ' 1', '1.0', 'ten']) {
      expectPduError(() => numericValue('N', bad), `text: N='${bad}' is not a number (decimal, or hex with 0x)`);
    }
    expectPduError(() => numericValue('N', '9007199254740992'), "text: N='9007199254740992' is over 9007199254740991");
  });

  it('boolean values are Yes or No; lists are comma-separated with no empty item', () => {
    expect([booleanValue('B', 'Yes'), booleanValue('B', 'No')]).toEqual([true, false]);
    expectPduError(() => booleanValue('B', 'yes'), "text: B='yes' is not Yes or No");
    expect(listValue('HeaderDigest', 'None,CRC32C')).toEqual(['None', 'CRC32C']);
    expect(listValue('HeaderDigest', 'None')).toEqual(['None']);
    expectPduError(() => listValue('HeaderDigest', 'None,'), "text: HeaderDigest='None,' has an empty list item");
  });

  it('messages escape control characters and cut long values', () => {
    expectPduError(() => booleanValue('B', 'a\nb'), "text: B='a\\x0ab' is not Yes or No");
    expectPduError(() => booleanValue('B', 'x'.repeat(100)), `text: B='${'x'.repeat(64)}'... is not Yes or No`);
  });

  it('decode(encode(pairs)) gives the pairs back (fast-check)', () => {
    const key = fc.stringMatching(/^[A-Z][A-Za-z0-9.\-+@_]{0,62}$/);
    const value = fc.string({ unit: 'grapheme', maxLength: 60 }).filter((v) => !v.includes('\0') && Buffer.byteLength(v) <= 255);
    const pairs = fc.uniqueArray(fc.tuple(key, value), { selector: ([k]) => k, maxLength: 30 });
    fc.assert(
      fc.property(pairs, (p) => {
        expect([...decodeTextKeys(encodeTextKeys(p))]).toEqual(p);
      }),
      runs(500),
    );
  });
});

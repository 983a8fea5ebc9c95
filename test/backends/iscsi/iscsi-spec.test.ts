import { describe, expect, it } from 'vitest';
import { parseIscsiSpec } from '../../../host/backends/iscsi/iscsi-spec.js';

const IQN = 'iqn.2026-12.io.pathcheck:t1';

describe('iscsi device specs', () => {
  it('host, port (default 3260), target name (lower-cased), LUN', () => {
    expect(parseIscsiSpec(`iscsi://127.0.0.1/${IQN}/1`)).toEqual({ host: '127.0.0.1', port: 3260, target: IQN, lun: 1 });
    expect(parseIscsiSpec(`iscsi://127.0.0.1:3261/${IQN.toUpperCase()}/0`)).toEqual({ host: '127.0.0.1', port: 3261, target: IQN, lun: 0 });
    expect(parseIscsiSpec('iscsi://[::1]:3262/eui.0123456789abcdef/16383')).toEqual({ host: '::1', port: 3262, target: 'eui.0123456789abcdef', lun: 16383 });
    expect(parseIscsiSpec('iscsi://[::1]/naa.60014055f8a2b3c4d5e6f708192a3b4c/2')).toMatchObject({ host: '::1', port: 3260 });
    expect(parseIscsiSpec(`iscsi://array-a.example.com/${IQN}/3`)).toMatchObject({ host: 'array-a.example.com' });
  });

  it('refuses, in one line naming the spec and the problem', () => {
    const cases: [string, string][] = [
      ['iscsi:/127.0.0.1/x/1', 'it does not start with iscsi://'],
      ['iscsi://127.0.0.1', 'no target name'],
      [`iscsi://127.0.0.1/${IQN}`, 'no LUN'],
      [`iscsi://127.0.0.1/${IQN}/1/2`, 'more than a target name and a LUN after the host'],
      [`iscsi://user%secret@127.0.0.1/${IQN}/1`, 'credentials do not belong in a device spec: give CHAP secrets in the config'],
      [`iscsi://:3260/${IQN}/1`, 'no host'],
      [`iscsi://127.0.0.1:0/${IQN}/1`, "port '0' is not a number from 1 to 65535"],
      [`iscsi://127.0.0.1:65536/${IQN}/1`, "port '65536' is not a number from 1 to 65535"],
      [`iscsi://127.0.0.1:x/${IQN}/1`, "port 'x' is not a number from 1 to 65535"],
      [`iscsi://::1/${IQN}/1`, "':' is not a host name or an IP address (an IPv6 address goes in [ ])"],
      [`iscsi://[::1/${IQN}/1`, 'an IPv6 address without its closing ]'],
      [`iscsi://[1.2.3.4]/${IQN}/1`, "'1.2.3.4' is not an IPv6 address"],
      [`iscsi://[::1]x/${IQN}/1`, "unexpected 'x' after the IPv6 address"],
      ['iscsi://127.0.0.1/target1/1', "'target1' is not an iSCSI name (iqn.yyyy-mm.domain[:id], eui.<16 hex> or naa.<16 or 32 hex>)"],
      ['iscsi://127.0.0.1/iqn.2026-13.io.x/1', "'iqn.2026-13.io.x' is not an iSCSI name (iqn.yyyy-mm.domain[:id], eui.<16 hex> or naa.<16 or 32 hex>)"],
      ['iscsi://127.0.0.1/eui.0123/1', "'eui.0123' is not an iSCSI name (iqn.yyyy-mm.domain[:id], eui.<16 hex> or naa.<16 or 32 hex>)"],
      [`iscsi://127.0.0.1/iqn.2026-12.io.x:${'a'.repeat(220)}/1`, 'the target name is over 223 bytes'],
      [`iscsi://127.0.0.1/${IQN}/16384`, "LUN '16384' is not a number from 0 to 16383"],
      [`iscsi://127.0.0.1/${IQN}/-1`, "LUN '-1' is not a number from 0 to 16383"],
      [`iscsi://127.0.0.1/${IQN}/`, "LUN '' is not a number from 0 to 16383"],
      [`iscsi://bad_host/${IQN}/1`, "'bad_host' is not a host name or an IP address (an IPv6 address goes in [ ])"],
    ];
    for (const [spec, why] of cases) {
      expect(() => parseIscsiSpec(spec), spec).toThrow(`iscsi device spec '${spec}': ${why} (expected iscsi://<host>[:port]/<target-iqn>/<lun>)`);
    }
  });
});

import { isIP } from 'node:net';
import { MAX_LUN } from './scsi-lun.js';

/** `iscsi://<host>[:port]/<target-iqn>/<lun>`, parsed. */
export interface IscsiSpec {
  /** An IPv4 or IPv6 literal (without brackets) or a host name. */
  readonly host: string;
  readonly port: number;
  /** The target's iSCSI name, lower-cased (iSCSI names compare case-insensitively, RFC 3722). */
  readonly target: string;
  readonly lun: number;
}

export class IscsiSpecError extends Error {
  override readonly name = 'IscsiSpecError';
}

export const ISCSI_PORT = 3260;
/** RFC 7143 section 4.2.7.1: an iSCSI name is at most 223 bytes. */
const MAX_NAME_BYTES = 223;

const USAGE = 'expected iscsi://<host>[:port]/<target-iqn>/<lun>';
/** RFC 7143 section 4.2.7: iqn.yyyy-mm.<reversed domain>[:<anything>], eui.<16 hex>, naa.<16 or 32 hex>; after stringprep only a-z 0-9 - . : */
const IQN = /^iqn\.[0-9]{4}-(0[1-9]|1[0-2])\.[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[a-z0-9.:-]*)?$/;
const EUI = /^eui\.[0-9a-f]{16}$/;
const NAA = /^naa\.([0-9a-f]{16}|[0-9a-f]{32})$/;
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/**
 * Parse an iSCSI device spec. Credentials are not part of it (libiscsi's `user%secret@` form is
 * refused): a spec is shown in tables, logs and `ps`; CHAP secrets come from the config.
 */
export function parseIscsiSpec(spec: string): IscsiSpec {
  const bad = (why: string) => new IscsiSpecError(`iscsi device spec '${spec}': ${why} (${USAGE})`);
  if (!spec.startsWith('iscsi://')) throw bad('it does not start with iscsi://');
  const rest = spec.slice('iscsi://'.length);
  const slash = rest.indexOf('/');
  if (slash < 0) throw bad('no target name');
  const authority = rest.slice(0, slash);
  if (authority.includes('@')) throw bad('credentials do not belong in a device spec: give CHAP secrets in the config');
  const { host, port } = parseAuthority(authority, bad);
  const parts = rest.slice(slash + 1).split('/');
  if (parts.length !== 2) throw bad(parts.length < 2 ? 'no LUN' : 'more than a target name and a LUN after the host');
  const [name, lunText] = parts as [string, string];
  const target = name.toLowerCase();
  if (target === '') throw bad('no target name');
  if (Buffer.byteLength(target) > MAX_NAME_BYTES) throw bad(`the target name is over ${MAX_NAME_BYTES} bytes`);
  if (!isIscsiName(target)) throw bad(`'${name}' is not ${ISCSI_NAME_FORMS}`);
  if (!/^[0-9]{1,5}$/.test(lunText) || Number(lunText) > MAX_LUN) throw bad(`LUN '${lunText}' is not a number from 0 to ${MAX_LUN}`);
  return { host, port, target, lun: Number(lunText) };
}

export const ISCSI_NAME_FORMS = 'an iSCSI name (iqn.yyyy-mm.domain[:id], eui.<16 hex> or naa.<16 or 32 hex>)';

/** A lower-case iSCSI name of one of the three forms, at most 223 bytes. */
export function isIscsiName(name: string): boolean {
  return Buffer.byteLength(name) <= MAX_NAME_BYTES && (IQN.test(name) || EUI.test(name) || NAA.test(name));
}

function parseAuthority(authority: string, bad: (why: string) => Error): { host: string; port: number } {
  let host: string;
  let portText: string | undefined;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) throw bad('an IPv6 address without its closing ]');
    host = authority.slice(1, close);
    if (isIP(host) !== 6) throw bad(`'${host}' is not an IPv6 address`);
    const after = authority.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) throw bad(`unexpected '${after}' after the IPv6 address`);
    portText = after === '' ? undefined : after.slice(1);
  } else {
    const colon = authority.lastIndexOf(':');
    host = colon < 0 ? authority : authority.slice(0, colon);
    portText = colon < 0 ? undefined : authority.slice(colon + 1);
    if (host === '') throw bad('no host');
    if (isIP(host) !== 4 && !HOSTNAME.test(host)) throw bad(`'${host}' is not a host name or an IP address (an IPv6 address goes in [ ])`);
  }
  if (portText === undefined) return { host, port: ISCSI_PORT };
  const port = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) throw bad(`port '${portText}' is not a number from 1 to 65535`);
  return { host, port };
}

import { expect } from 'vitest';
import { PduError } from '../../../host/backends/iscsi/pdu-error.js';

/** What `f` throws (undefined if it returns). */
export function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

/** `f` throws a PduError with exactly `message` (one line); returns it. */
export function expectPduError(f: () => unknown, message: string): PduError {
  const caught = thrown(f);
  expect(caught).toBeInstanceOf(PduError);
  expect((caught as PduError).message).toBe(message);
  expect(message).not.toMatch(/[\r\n]/);
  return caught as PduError;
}

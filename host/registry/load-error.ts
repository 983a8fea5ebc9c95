/** Why a module was refused. `code` is stable for tests and tools; the message is the one line a user sees. */
export type LoadErrorCode =
  | 'unreadable'
  | 'not-wasm'
  | 'invalid-module'
  | 'abi-version'
  | 'import'
  | 'own-memory'
  | 'memory'
  | 'missing-export'
  | 'bad-export'
  | 'start'
  | 'sha256'
  | 'instantiate'
  | 'trap'
  | 'timeout';

export class LoadError extends Error {
  constructor(
    readonly code: LoadErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'LoadError';
  }
}

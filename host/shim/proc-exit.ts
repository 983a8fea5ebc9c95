/** Thrown by `proc_exit`: a plugin may not end the host's thread, so the call traps the check. */
export class ProcExit extends Error {
  constructor(readonly code: number) {
    super(`proc_exit(${code})`);
    this.name = 'ProcExit';
  }
}

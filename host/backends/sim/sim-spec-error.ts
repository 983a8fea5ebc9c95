/** A `sim:` device spec or scenario change that cannot be used; the message is one line naming the problem. */
export class SimSpecError extends Error {
  override readonly name = 'SimSpecError';
}


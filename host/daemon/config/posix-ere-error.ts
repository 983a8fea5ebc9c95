/** A pattern the POSIX ERE engine refuses; the message is one line naming the construct. */
export class EreError extends Error {
  override readonly name = 'EreError';
}

/**
 * Errors a user can act on: what went wrong with which file, and what to do about it. Anything
 * else that escapes is a bug and is reported with its stack.
 */
export class UserError extends Error {
  constructor(
    message: string,
    /** What the user can do about it. */
    readonly hint?: string,
    /** The file the error is about, when there is one. */
    readonly file?: string,
  ) {
    super(message);
    this.name = 'UserError';
  }

  /** One line: `<file>: <message> — <hint>`. */
  describe(): string {
    return `${this.file ? `${this.file}: ` : ''}${this.message}${this.hint ? ` — ${this.hint}` : ''}`;
  }
}

export function describeError(err: unknown): string {
  if (err instanceof UserError) return err.describe();
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * Internal invariant checks. A failure here is a bug in Maxwell, not a user error,
 * so it throws a plain `Error` rather than a coded `MaxwellError`.
 */
export function assert(condition: unknown, message: string): asserts condition {
  if (condition !== true && !condition) throw new Error(`Maxwell internal invariant violated: ${message}`);
}

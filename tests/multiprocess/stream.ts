/** Moved to tests/support/ground-truth.ts, the tests' one ground-truth stream; this path still resolves. */
export * from '../support/ground-truth.ts';

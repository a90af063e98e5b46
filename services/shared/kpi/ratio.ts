/** `value / denominator`, or null when the denominator is 0 (a ratio with no data is undefined, not 0). */
export const ratio = (numerator: number, denominator: number): number | null =>
  denominator > 0 ? numerator / denominator : null;

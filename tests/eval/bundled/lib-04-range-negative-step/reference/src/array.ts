/** Splits `items` into arrays of `size` items (the last one may be shorter). */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`chunk size must be a positive integer, got ${size}`);
  }
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) {
    out.push(items.slice(i, i + size));
  }
  return out;
}

/** The items of `items` without repeats, in first-seen order. */
export function uniq<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}

/** Groups items by the key `keyOf` returns. */
export function groupBy<T, K extends PropertyKey>(
  items: readonly T[],
  keyOf: (item: T) => K,
): Record<K, T[]> {
  const out = {} as Record<K, T[]>;
  for (const item of items) {
    const key = keyOf(item);
    (out[key] ??= []).push(item);
  }
  return out;
}

/** Numbers from `start` up to (not including) `end`, `step` apart. */
export function range(start: number, end: number, step = 1): number[] {
  if (step === 0) throw new RangeError("range step must not be 0");
  const out: number[] = [];
  for (let i = start; step > 0 ? i < end : i > end; i += step) out.push(i);
  return out;
}

/** Sums the numbers `valueOf` returns for each item. */
export function sumBy<T>(items: readonly T[], valueOf: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += valueOf(item);
  return total;
}

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

/**
 * Groups items by the key `keyOf` returns, or by the value of the property
 * named `keyOf`.
 */
export function groupBy<T, K extends PropertyKey>(
  items: readonly T[],
  keyOf: (item: T) => K,
): Record<K, T[]>;
export function groupBy<T, P extends keyof T>(
  items: readonly T[],
  keyOf: P,
): Record<T[P] & PropertyKey, T[]>;
export function groupBy<T>(
  items: readonly T[],
  keyOf: ((item: T) => PropertyKey) | keyof T,
): Record<PropertyKey, T[]> {
  const key =
    typeof keyOf === "function" ? keyOf : (item: T) => item[keyOf] as unknown as PropertyKey;
  const out: Record<PropertyKey, T[]> = {};
  for (const item of items) {
    (out[key(item)] ??= []).push(item);
  }
  return out;
}

/** Numbers from `start` up to (not including) `end`, `step` apart. */
export function range(start: number, end: number, step = 1): number[] {
  if (step === 0) throw new RangeError("range step must not be 0");
  const out: number[] = [];
  for (let i = start; i < end; i += step) out.push(i);
  return out;
}

/** Sums the numbers `valueOf` returns for each item. */
export function sumBy<T>(items: readonly T[], valueOf: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += valueOf(item);
  return total;
}

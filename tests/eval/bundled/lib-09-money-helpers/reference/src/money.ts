/** `cents` (an integer amount of the currency's minor unit) written for people. */
export function formatMoney(cents: number, currency = "USD", locale = "en-US"): string {
  return new Intl.NumberFormat(locale, { style: "currency", currency }).format(cents / 100);
}

/**
 * Splits the integer amount `cents` by `ratios` without losing a cent: each
 * part gets its share rounded down, and the leftover cents go to the first
 * parts, one each.
 */
export function allocate(cents: number, ratios: readonly number[]): number[] {
  if (!Number.isInteger(cents)) {
    throw new RangeError(`amount must be an integer number of cents, got ${cents}`);
  }
  if (ratios.length === 0) throw new RangeError("allocate needs at least one ratio");
  if (ratios.some((r) => !Number.isFinite(r) || r < 0)) {
    throw new RangeError(`ratios must be non-negative numbers, got ${ratios.join(", ")}`);
  }
  const total = ratios.reduce((sum, r) => sum + r, 0);
  if (total === 0) throw new RangeError("ratios must not all be 0");
  const sign = cents < 0 ? -1 : 1;
  const amount = Math.abs(cents);
  const parts = ratios.map((r) => Math.floor((amount * r) / total));
  let left = amount - parts.reduce((sum, p) => sum + p, 0);
  for (let i = 0; left > 0; i = (i + 1) % parts.length) {
    if (ratios[i] === 0) continue;
    parts[i] += 1;
    left -= 1;
  }
  return parts.map((p) => (p === 0 ? 0 : sign * p));
}

/** Splits `cents` into `parts` near-equal integer amounts. */
export function splitEvenly(cents: number, parts: number): number[] {
  if (!Number.isInteger(parts) || parts < 1) {
    throw new RangeError(`parts must be a positive integer, got ${parts}`);
  }
  return allocate(cents, new Array<number>(parts).fill(1));
}

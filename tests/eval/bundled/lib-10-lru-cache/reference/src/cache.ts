/** A map that keeps at most `capacity` entries, evicting the least recently used. */
export class LruCache<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`cache capacity must be a positive integer, got ${capacity}`);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value of `key`, marking it as the most recently used. */
  get(key: K): V | undefined {
    if (!this.entries.has(key)) return undefined;
    const value = this.entries.get(key) as V;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  set(key: K, value: V): this {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as K;
      this.entries.delete(oldest);
    }
    return this;
  }

  /** Whether `key` is cached; does not count as a use. */
  has(key: K): boolean {
    return this.entries.has(key);
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  /** The keys, least recently used first. */
  keys(): K[] {
    return [...this.entries.keys()];
  }
}

export interface MemoizeOptions<A extends unknown[]> {
  /** How many results to keep (default 100). */
  max?: number;
  /** The cache key of a call (default: the arguments as JSON). */
  key?: (...args: A) => string;
}

/** `fn` with its results cached in an `LruCache`. */
export function memoize<A extends unknown[], R>(
  fn: (...args: A) => R,
  options: MemoizeOptions<A> = {},
): (...args: A) => R {
  const cache = new LruCache<string, R>(options.max ?? 100);
  const keyOf = options.key ?? ((...args: A) => JSON.stringify(args));
  return (...args: A): R => {
    const key = keyOf(...args);
    if (cache.has(key)) return cache.get(key) as R;
    const result = fn(...args);
    cache.set(key, result);
    return result;
  };
}

// A Map of at most `cap` entries that drops the one used least recently when full (a Map keeps
// insertion order; a read moves its entry to the end). O(1) per call, memory fixed whatever keys
// callers send: the rate limit's windows, the verified-token cache, SQLite's prepared statements.

export class LruMap<K, V> {
  private readonly map = new Map<K, V>();

  constructor(readonly cap: number) {
    if (!(cap >= 1)) throw new RangeError(`LruMap: cap must be at least 1, got ${cap}`);
  }

  get size(): number {
    return this.map.size;
  }

  /** The value, now the most recently used; undefined when absent. */
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }

  /** Sets the value as the most recently used; drops the least recently used past `cap`. */
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.cap) this.map.delete(this.map.keys().next().value!);
  }

  delete(key: K): void {
    this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }
}

/** Names one entry of an `ExpiringLedger`, to change or remove it later. */
export type EntryHandle = number;

interface Straggler {
  handle: EntryHandle;
  amount: number;
  deadline: number;
}

/**
 * Amounts that each stop counting at their own deadline: the entries of a sliding window (deadline
 * = reserved at + 60 s) or the holds of a concurrency counter (deadline = the reservation's expiry).
 * Exact to the millisecond, and small: entries are two numbers in typed arrays (16 bytes), not
 * objects in a map, and the amounts of one millisecond's deadline share one entry (a key at 8 000
 * requests a second keeps ~60 000 entries for its minute, not 480 000). The caller keeps the handle
 * `add` returns and its own share of the entry (the reservation does), and changes that share with
 * `change`; an entry whose shares all went to 0 stays, counting nothing, until its deadline.
 *
 * Deadlines almost always arrive in order (now + a fixed span), so entries live in a ring addressed
 * by sequence number: expiring walks only the front and the running total makes reading O(1). An
 * entry whose deadline is earlier than the last one (the clock stepped back) goes to a short sorted
 * list of its own, so the ledger stays exact whatever the clock does.
 */
export class ExpiringLedger {
  private deadlines = new Float64Array(16);
  private amounts = new Float64Array(16);
  private mask = 15;
  /**
   * Sequence numbers: `first` is the oldest entry still in the ring, `next` the one `add` uses. They
   * only grow, so a handle whose entry has expired never names another entry.
   */
  private first = 0;
  private next = 0;
  private lastDeadline = Number.NEGATIVE_INFINITY;
  private stragglers: Straggler[] = [];
  private readonly stragglerByHandle = new Map<EntryHandle, Straggler>();
  private nextStragglerHandle = -1;
  private sum = 0;

  /**
   * `releasedLeaveEarly`: an entry whose shares all went to 0 leaves once it is the oldest, before
   * its deadline. For counters whose shares only ever go down to 0 (concurrency holds: a request
   * holds 1 until it ends), so a key's holds take the space of the requests in flight, not of every
   * request of the reservation's lifetime (10 minutes).
   */
  constructor(private readonly releasedLeaveEarly = false) {}

  /** The sum of live amounts (call `expire` first). */
  get total(): number {
    return this.sum;
  }

  /** True when no entry is left before its deadline (call `expire` first). */
  get isEmpty(): boolean {
    return this.first === this.next && this.stragglers.length === 0;
  }

  /** Adds an amount until `deadline`; the handle names its share until the deadline passes. */
  add(amount: number, deadline: number): EntryHandle {
    this.sum += amount;
    if (deadline < this.lastDeadline) return this.addStraggler(amount, deadline);
    if (deadline === this.lastDeadline && this.next > this.first) {
      // The same millisecond as the newest entry: one entry holds both.
      const newest = (this.next - 1) & this.mask;
      this.amounts[newest] = (this.amounts[newest] as number) + amount;
      return this.next - 1;
    }
    this.lastDeadline = deadline;
    if (this.next - this.first > this.mask) this.grow();
    const slot = this.next & this.mask;
    this.deadlines[slot] = deadline;
    this.amounts[slot] = amount;
    return this.next++;
  }

  /** Drops every entry whose deadline is at or before `now`. */
  expire(now: number): void {
    while (this.first < this.next) {
      const slot = this.first & this.mask;
      if ((this.deadlines[slot] as number) > now) break;
      this.sum -= this.amounts[slot] as number;
      this.first++;
    }
    if (this.releasedLeaveEarly) while (this.first < this.next && this.amounts[this.first & this.mask] === 0) this.first++;
    if (this.stragglers.length > 0) this.expireStragglers(now);
  }

  /** Whether the entry a handle names is still before its deadline (and not yet expired). */
  isLive(handle: EntryHandle): boolean {
    return handle < 0 ? this.stragglerByHandle.has(handle) : handle >= this.first && handle < this.next;
  }

  /**
   * Moves a share of an entry from `from` to `to` (0 to take it out); false, changing nothing, when
   * the entry has expired.
   */
  change(handle: EntryHandle, from: number, to: number): boolean {
    if (!this.isLive(handle)) return false;
    this.sum += to - from;
    if (handle < 0) (this.stragglerByHandle.get(handle) as Straggler).amount += to - from;
    else this.amounts[handle & this.mask] = (this.amounts[handle & this.mask] as number) + to - from;
    return true;
  }

  /**
   * Milliseconds from `now` until at least `excess` of the total has expired, or undefined when the
   * live entries do not add up to `excess`.
   */
  timeUntilFreed(now: number, excess: number): number | undefined {
    let freed = 0;
    let sequence = this.first;
    let index = 0;
    // Both lists are in deadline order: walk them as one.
    while (sequence < this.next || index < this.stragglers.length) {
      const straggler = this.stragglers[index];
      const ringDeadline = sequence < this.next ? (this.deadlines[sequence & this.mask] as number) : Number.POSITIVE_INFINITY;
      let deadline: number;
      if (straggler !== undefined && straggler.deadline < ringDeadline) {
        index++;
        freed += straggler.amount;
        deadline = straggler.deadline;
      } else {
        freed += this.amounts[sequence & this.mask] as number;
        deadline = ringDeadline;
        sequence++;
      }
      if (freed >= excess) return deadline - now;
    }
    return undefined;
  }

  private grow(): void {
    const capacity = (this.mask + 1) * 2;
    const deadlines = new Float64Array(capacity);
    const amounts = new Float64Array(capacity);
    for (let sequence = this.first; sequence < this.next; sequence++) {
      deadlines[sequence & (capacity - 1)] = this.deadlines[sequence & this.mask] as number;
      amounts[sequence & (capacity - 1)] = this.amounts[sequence & this.mask] as number;
    }
    this.deadlines = deadlines;
    this.amounts = amounts;
    this.mask = capacity - 1;
  }

  private addStraggler(amount: number, deadline: number): EntryHandle {
    const straggler: Straggler = { handle: this.nextStragglerHandle--, amount, deadline };
    let low = 0;
    let high = this.stragglers.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.stragglers[middle] as Straggler).deadline <= deadline) low = middle + 1;
      else high = middle;
    }
    this.stragglers.splice(low, 0, straggler);
    this.stragglerByHandle.set(straggler.handle, straggler);
    return straggler.handle;
  }

  private expireStragglers(now: number): void {
    let count = 0;
    for (const straggler of this.stragglers) {
      if (straggler.deadline > now) break;
      this.sum -= straggler.amount;
      this.stragglerByHandle.delete(straggler.handle);
      count++;
    }
    if (count > 0) this.stragglers.splice(0, count);
  }
}

import { TARGET_SLOTS } from './stats-layout';

/**
 * Counter slots for targets, by the name they have in the config
 * (`unix:/run/a.sock`, the template itself for -U paths, `fd:3`), stable
 * across reloads so a target's counters continue. Slot 0 collects whatever
 * does not fit, keeping memory and label cardinality bounded.
 */
export class TargetSlots {
  private readonly byName = new Map<string, number>();
  private readonly names: string[] = ['(other)'];

  slotFor(name: string): number {
    let slot = this.byName.get(name);
    if (slot === undefined) {
      if (this.names.length >= TARGET_SLOTS) return 0;
      slot = this.names.length;
      this.names.push(name);
      this.byName.set(name, slot);
    }
    return slot;
  }

  /** [slot, name] of every slot handed out, slot 0 included. */
  entries(): Array<[number, string]> {
    return this.names.map((name, slot) => [slot, name]);
  }
}

import { Counter, Gauge, Registry } from 'prom-client';
import { REGISTRAR_STAT, REGISTRATION_REFUSALS } from '../server/registrar-stats';

/** The registration server's counters (JSON config), read at scrape time. */
export function registerRegistrarMetrics(registry: Registry, stats: BigUint64Array): void {
  const read = (i: number) => Number(stats[i]);
  new Counter({
    name: 'socketbox_registrations_total',
    help: 'Registration attempts by result: granted, or refused and why (uid owns no slot, uid_limit, malformed, slot not for this uid, taken, timeout).',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ result: 'granted' }, read(REGISTRAR_STAT.registered));
      for (const [reason, i] of REGISTRATION_REFUSALS) this.inc({ result: reason }, read(i));
    },
  });
  new Counter({
    name: 'socketbox_registrations_ended_total',
    help: 'Registrations that ended: the receiver closed (peer), or a reload removed or changed its slot (reload).',
    labelNames: ['cause'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ cause: 'peer' }, read(REGISTRAR_STAT.ended));
      this.inc({ cause: 'reload' }, read(REGISTRAR_STAT.droppedByReload));
    },
  });
  new Gauge({
    name: 'socketbox_registration_connections',
    help: 'Open connections to the registration sockets.',
    registers: [registry],
    collect() {
      this.set(read(REGISTRAR_STAT.connections));
    },
  });
  new Gauge({
    name: 'socketbox_registered_slots',
    help: 'Slots with a registered receiver.',
    registers: [registry],
    collect() {
      this.set(read(REGISTRAR_STAT.slotsRegistered));
    },
  });
}

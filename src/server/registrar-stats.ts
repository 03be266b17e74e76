/**
 * The registrar's shared counters (enum skbox_registrar_stat in native/server/registrar.h),
 * generated from that header at build time (scripts/native-contracts.js).
 */
export { REGISTRAR_STAT, REGISTRAR_STAT_COUNT, REGISTRATION_REFUSALS } from '../native/contracts.generated';

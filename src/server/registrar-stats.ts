/** Mirrors enum skbox_registrar_stat in native/server/registrar.h. */
export const REGISTRAR_STAT = {
  apiAccepted: 0,
  registered: 1,
  refusedUid: 2,
  refusedLimit: 3,
  refusedMalformed: 4,
  refusedSlot: 5,
  refusedTaken: 6,
  refusedTimeout: 7,
  ended: 8,
  droppedByReload: 9,
  connections: 10,
  slotsRegistered: 11,
} as const;

export const REGISTRAR_STAT_COUNT = 12;

/** Registration refusals as operators see them, with their counter. */
export const REGISTRATION_REFUSALS: ReadonlyArray<[string, number]> = [
  ['uid', REGISTRAR_STAT.refusedUid],
  ['uid_limit', REGISTRAR_STAT.refusedLimit],
  ['malformed', REGISTRAR_STAT.refusedMalformed],
  ['slot', REGISTRAR_STAT.refusedSlot],
  ['taken', REGISTRAR_STAT.refusedTaken],
  ['timeout', REGISTRAR_STAT.refusedTimeout],
];

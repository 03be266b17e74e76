import type { ServerAddon } from '../native/server-addon';

/**
 * Capabilities are per thread, and Node's threads exist before this code runs:
 * only bin/socketbox's start-up library (native/startup/) can keep them out of
 * those threads. Started some other way (node dist/src/main.js) with
 * capabilities the kernel would not clear by itself, socketbox refuses to run
 * rather than serve with capabilities left in threads it cannot reach.
 */
export function checkStartupCapabilities(addon: ServerAddon): void {
  if (addon.startupLibrary() !== null) return;
  const held = addon.capabilitiesHeld();
  // A root start loses the permitted set in every thread at setresuid().
  const kept = held.inheritable || held.ambient || (held.permitted && !addon.uidIsRoot());
  if (kept)
    throw new Error(
      'started with inheritable, ambient or (without root) permitted capabilities, but not through bin/socketbox, ' +
        "whose start-up library keeps them out of Node's threads; start bin/socketbox",
    );
}

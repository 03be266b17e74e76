import type { ServerOptions } from '../../cli/server-flags';

/**
 * Why the flags rule out a live upgrade, or undefined. The new process is started by this
 * one after the privilege drop, so it starts with what it inherits: it cannot bind a port
 * below 1024, chroot or change to another user. -u -g -G are fine (it is that user already);
 * -e never gets here (another program serves).
 */
export function upgradeRefusal(o: ServerOptions): string | undefined {
  if (o.chrootDir !== undefined)
    return `-x ${o.chrootDir}: the new process would start inside the chroot, where neither socketbox nor the config's path is, and could not chroot again without root`;
  return undefined;
}

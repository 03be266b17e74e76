/** The targets of a compiled table, by index, named as in the config: `unix:PATH`, `fd:N` or (JSON slots) `o:N`. */
export function tableTargetNames(table: Buffer): string[] {
  const count = table.readUInt32LE(32);
  const targetsOff = table.readUInt32LE(36);
  const stringsOff = table.readUInt32LE(40);
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = targetsOff + i * 16;
    const kind = table.readUInt32LE(r);
    const a = table.readUInt32LE(r + 8);
    const b = table.readUInt32LE(r + 12);
    names.push(kind === 2 ? `fd:${a}` : kind === 3 ? `o:${a}` : `unix:${table.toString('utf8', stringsOff + a, stringsOff + a + b)}`);
  }
  return names;
}

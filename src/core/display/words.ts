/** "1 file", "2 files", "0 servers"; `many` when the plural is not `one` + "s". */
export function plural(n: number, one: string, many: string = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** "2026-12-06 14:02 UTC": a time for documents read across time zones, never raw ISO. */
export function utcStamp(at: number | string | Date): string {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return String(at);
  return `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 16)} UTC`;
}

/**
 * The control socket's line protocol (docs/control.md), shared by the server
 * (control-server.ts) and `socketbox ctl` (src/cli/ctl.ts).
 *
 * A request is one line of printable ASCII words separated by spaces, at most
 * MAX_REQUEST_BYTES with its newline: `[json] COMMAND [ARGS...]`. The answer is one or
 * more non-empty lines and then an empty line. In text, its first line is `ok` or
 * `ok SUMMARY` and the lines after it the details, or `error: REASON`. With `json`, it is
 * one line, an object with "ok" true or false ("error" then says why).
 */

export const MAX_REQUEST_BYTES = 4096;
/** The word that asks for a JSON answer, before the command. */
export const JSON_PREFIX = 'json';

/** What a command answers: `text` lines (none empty) and the same as one JSON object. */
export type Answer = { ok: true; text: string[]; json: Record<string, unknown> } | { ok: false; error: string };

export interface Request {
  json: boolean;
  command: string;
  args: string[];
}

/** Printable ASCII and spaces only: no NUL, no control characters, nothing binary. */
export function requestProblem(line: string): string | null {
  if (!/^[\x20-\x7e]*$/.test(line)) return 'the request must be printable ASCII text';
  return null;
}

export function parseRequest(line: string): Request {
  const words = line.split(' ').filter((w) => w !== '');
  const json = words[0] === JSON_PREFIX;
  if (json) words.shift();
  return { json, command: words[0] ?? '', args: words.slice(1) };
}

/** The wire form of an answer, ending in the empty line. */
export function formatAnswer(answer: Answer, json: boolean): string {
  if (json) {
    const body = answer.ok ? { ok: true, ...answer.json } : { ok: false, error: answer.error };
    return `${JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))}\n\n`;
  }
  const lines = answer.ok ? answer.text : [`error: ${answer.error.replace(/\s*\n\s*/g, ' ')}`];
  return `${lines.map((l) => (l === '' ? ' ' : l)).join('\n')}\n\n`;
}

/** Answers that are not a command's: malformed input and limits (the connection is then closed). */
export function errorAnswer(error: string): Answer {
  return { ok: false, error };
}

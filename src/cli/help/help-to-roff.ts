/**
 * A program's `--help` text as man page sections: the one source of the flag text is the
 * help text itself (each program's usage string, or run-with-socketbox's usage()), so the
 * manual cannot say anything else. The layout conventions the help texts follow:
 *   Usage: NAME ...            synopsis (further forms aligned under it)
 *   Heading:                   a column-0 line ending in a colon: a subsection
 *     -x, --long ARG   text    an option: flags, then two or more spaces, then its text;
 *                      more    deeper-indented lines continue it
 *     other text               a paragraph (column 0 or indented, not starting with '-')
 */

/** Text for roff: backslashes and minus signs escaped, no line taken for a request. */
export function roffText(text: string): string {
  const escaped = text.replace(/\\/g, '\\e').replace(/-/g, '\\-');
  return /^[.']/.test(escaped) ? `\\&${escaped}` : escaped;
}

export interface HelpSections {
  /** The synopsis lines, without "Usage: ". */
  synopsis: string[];
  /** roff for everything after the synopsis. */
  body: string;
}

const OPTION = /^(\s{1,4})(-\S(?:.*?\S)??)(?:\s{2,}(\S.*))?$/;

/** The synopsis forms (without "Usage: ") and the lines after them. */
export function splitHelp(help: string): { synopsis: string[]; rest: string[] } {
  const lines = help.replace(/\s+$/, '').split('\n');
  const synopsis: string[] = [];
  let i = 0;
  const usage = /^usage:\s+/i.exec(lines[0] ?? '');
  if (usage) {
    synopsis.push(lines[0].slice(usage[0].length).trim());
    const indent = ' '.repeat(usage[0].length);
    for (i = 1; i < lines.length && lines[i].startsWith(indent) && !/^\s/.test(lines[i].slice(indent.length)); i++) synopsis.push(lines[i].trim());
  }
  return { synopsis, rest: lines.slice(i) };
}

export function helpToRoff(help: string): HelpSections {
  const { synopsis, rest: lines } = splitHelp(help);
  const out: string[] = [];
  /** The indentation of the option being continued, or -1 in running text. */
  let optionIndent = -1;
  let inParagraph = false;
  for (const line of lines) {
    const indent = line.length - line.trimStart().length;
    if (line.trim() === '') {
      optionIndent = -1;
      inParagraph = false;
      continue;
    }
    if (indent === 0 && line.endsWith(':') && !line.includes('  ')) {
      out.push(`.SS ${roffText(line)}`);
      optionIndent = -1;
      inParagraph = false;
      continue;
    }
    const option = OPTION.exec(line);
    if (option) {
      out.push('.TP', `\\fB${roffText(option[2])}\\fR`);
      if (option[3]) out.push(roffText(option[3]));
      optionIndent = indent;
      inParagraph = false;
      continue;
    }
    if (optionIndent >= 0 && indent > optionIndent) {
      out.push(roffText(line.trim()));
      continue;
    }
    if (!inParagraph) out.push('.PP');
    optionIndent = -1;
    inParagraph = true;
    out.push(roffText(line.trim()));
  }
  return { synopsis, body: out.join('\n') };
}

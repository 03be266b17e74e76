/** A config file is taken as JSON when its name ends in `.json` (any case). Apart from the JSON
 * parser, so a classic config never loads it. */
export function isJsonConfigFile(file: string): boolean {
  return /\.json$/i.test(file);
}

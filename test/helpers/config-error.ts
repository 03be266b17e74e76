import { ConfigError } from '../../src/config/config-error';

/** Runs parse(text) and returns its ConfigError; any other outcome fails the test. */
export function configErrorOf(parse: (text: string) => unknown, text: string): ConfigError {
  try {
    parse(text);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected a ConfigError for:\n${text}`);
}

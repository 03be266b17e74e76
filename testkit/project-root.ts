// Where the package lives, found from this file whether it runs from testkit/ (tap, ts-node) or
// from dist/testkit/ (the compiled bench and load runs): the one finder of src/native/build-products.ts.
import * as path from 'node:path';
import { findPackageRoot } from '../src/native/build-products';

export const projectRoot = findPackageRoot(__dirname);

/** One of the package's programs, bin/NAME (they load the compiled dist/). */
export const binPath = (name: string): string => path.join(projectRoot, 'bin', name);

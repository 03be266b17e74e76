// Where the package lives, whether the benchmarks run from bench/ (tap) or dist/bench/.
import { findPackageRoot } from '../../src/native/build-products';

export const projectRoot = (): string => findPackageRoot();

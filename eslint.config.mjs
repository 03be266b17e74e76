// npm run lint: ESLint with typescript-eslint's recommended type-aware rules over all the TypeScript
// (src/, test/, testkit/, bench/, load-tests/). Each file is checked against the tsconfig.json nearest
// to it: the root one, or test/tsconfig.json for the tests (which are run by tap, not compiled).
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'build/', 'node_modules/', '.clinic/', '.tap/'] },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // `const { at: _at, ...rest } = x` is how the code copies an object without one field.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // tap's own style: a file declares its subtests with `t.test(...)` at top level and tap
      // waits for each; the promise it returns is only for whoever wants the results.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafePromises: [{ from: 'package', name: 'PromiseWithSubtest', package: '@tapjs/core' }] },
      ],
      // Every subtest is written `async (t) => { ... }`, awaiting or not, so all run the same way
      // (a throw is a rejected subtest) and one that starts awaiting needs no other change.
      '@typescript-eslint/require-await': 'off',
    },
  },
);

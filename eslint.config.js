// Lint: @eslint/js + typescript-eslint recommended, with the few departures below (each says
// why). Formatting is prettier's (npm run format:check), so no stylistic rules here.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['node_modules/', 'dist/', 'native/build/', 'bpf/.output/', 'coverage/', 'test-artifacts/', 'test/fixtures/', 'src/events/abi.generated.ts'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // Unused parameters named _x document a callback's shape.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // `if (c) (a.push(x), (b = y))` is used on purpose (query builders); TypeScript already
      // rejects expression statements that do nothing useful.
      '@typescript-eslint/no-unused-expressions': 'off',
      // `let x; ... closures using x ...; x = make(closures)`: the one assignment cannot move up.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // Sanitizers of untrusted bytes match control characters on purpose.
      'no-control-regex': 'off',
    },
  },
  // The UI is plain browser JS; bpf/gen-abi.mjs and the CommonJS helpers run under Node.
  { files: ['ui/**/*.js'], languageOptions: { globals: globals.browser } },
  { files: ['**/*.mjs', '**/*.cjs'], languageOptions: { globals: globals.node } },
  // Tests read decoded JSON and protobuf objects whose shape is the point of the test.
  { files: ['test/**/*.ts'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
);

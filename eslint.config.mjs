// Lint is about structure, not taste: Nx module boundaries (packages import each other only through
// their public entry, and only along allowed tag edges), typescript-eslint's recommended rules, and
// the size of units in production code (no file over 400 lines, no function over 80, nested
// functions included; `node tools/unit-sizes.mjs` prints the figures).
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

export default [
  { ignores: ['**/node_modules/**', '**/dist/**', '**/src/gen/**', '.nx/**', '**/*.mjs', '**/*.cjs', '**/*.js'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          banTransitiveDependencies: true,
          checkNestedExternalImports: true,
          depConstraints: [
            // proto: generated messages; lib: building blocks (core, host, containerizers, isolator,
            // scheduler, testbed); service: components with a library and daemons (master, agent,
            // ipam, isolation, dns; the agent embeds the IPAM node daemon and the isolation
            // enforcer); app: the ippc CLI; e2e: scenarios. No cycles (the rule checks them).
            { sourceTag: 'type:proto', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib', 'type:proto'] },
            { sourceTag: 'type:service', onlyDependOnLibsWithTags: ['type:service', 'type:lib', 'type:proto'] },
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:service', 'type:lib', 'type:proto'] },
            { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:app', 'type:service', 'type:lib', 'type:proto'] },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    files: ['packages/*/src/**/*.ts'],
    ignores: ['**/*.spec.ts', '**/*.int.ts', '**/testing/**', '**/testing.ts', '**/bench/**', '**/gen/**'],
    rules: {
      'max-lines': ['error', { max: 400, skipBlankLines: false, skipComments: false }],
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: false, skipComments: false, IIFEs: true }],
    },
  },
];

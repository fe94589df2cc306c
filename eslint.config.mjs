// Lint is about structure, not taste: Nx module boundaries (packages import each other only through
// their public entry, and only along allowed tag edges) plus typescript-eslint's recommended rules.
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
];

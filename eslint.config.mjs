// `npm run lint` (with shellcheck): typescript-eslint's recommended rules over the whole repository.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // trigger/image/: generated (npm run build:trigger), minified third-party code.
  { ignores: ['node_modules/', 'build/', 'dist/', 'chart/', 'coverage/', '.tools/', 'trigger/image/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // Manifests and parsed YAML are untyped data; `any` is how the rules read them.
      '@typescript-eslint/no-explicit-any': 'off',
      // cdk8s-plus style: `interface XProps extends YProps {}` names the props of each construct.
      '@typescript-eslint/no-empty-object-type': ['error', { allowInterfaces: 'with-single-extends' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // CommonJS entry points and plugins loaded by node and cdk8s-cli.
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);

// Lint rules for every context; type-aware rules stay off so that `npm test` lints in seconds.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'dist-lib/**',
      'node_modules/**',
      'public/**',
      '.cache/**',
      'test-results/**',
      'dev-dist/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/ui/**/*.{ts,tsx}', 'src/main.tsx'],
    rules: {
      // The UI talks to the engine only through src/client; it never touches ONNX or storage directly.
      'no-restricted-imports': [
        'error',
        { patterns: ['onnxruntime-*', 'comlink', 'idb-keyval', '**/engine/**', '**/store/idb*'] },
      ],
    },
  },
  {
    // The examples are plain browser scripts served as they are (no TypeScript, no bundler).
    files: ['examples/**/*.js'],
    languageOptions: {
      globals: {
        document: 'readonly',
        location: 'readonly',
        URLSearchParams: 'readonly',
        AbortController: 'readonly',
      },
    },
  },
);

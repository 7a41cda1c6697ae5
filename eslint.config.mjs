// One flat config for the whole workspace: typescript-eslint's recommended rules.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "**/*.snap.json"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "off",
    },
  },
  // Plain-JavaScript Node entry points (the benchmark's server targets run without a TypeScript loader).
  { files: ["**/*.mjs"], languageOptions: { globals: { process: "readonly", Buffer: "readonly", console: "readonly" } } },
);

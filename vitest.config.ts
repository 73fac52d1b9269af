import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "layers/**/*.test.ts", "src/**/*.test.ts"],
    // Network-namespace tests share the kernel; run files one at a time so two
    // labs never fight over CPU for timing-sensitive captures.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ["default"],
  },
});

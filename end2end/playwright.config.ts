import { defineConfig } from "@playwright/test";

// The server is started by scripts/e2e.sh (seeded database, admin account). Chromium is
// Debian's: Playwright downloads no browser here.
export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  // The whole suite: a stuck run fails with what it was doing instead of holding CI.
  globalTimeout: 15 * 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL: "http://127.0.0.1:3000",
    // The shop speaks Chinese unless the browser asks otherwise; these tests read English.
    // language.spec.ts walks the shop in both.
    locale: "en-GB",
    trace: "off",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run"],
    },
  },
});

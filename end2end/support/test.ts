import { test as base, expect } from "@playwright/test";

/**
 * Playwright's `test`, with every page's uncaught errors (a WASM panic among them) and every
 * Content Security Policy violation (a page whose scripts were blocked never hydrates) failing
 * the test that caused them, and the browser's console printed when a test fails: a page that
 * never hydrates says why instead of only timing out.
 */
export const test = base.extend<{ browserErrors: void }>({
  browserErrors: [
    async ({ page }, use, testInfo) => {
      const faults: string[] = [];
      const consoleLines: string[] = [];
      page.on("pageerror", (error) => faults.push(`${page.url()}: ${error.stack ?? error.message}`));
      page.on("console", (message) => {
        consoleLines.push(`[${message.type()}] ${page.url()}: ${message.text()}`);
        if (message.type() === "error" && message.text().includes("Content Security Policy")) {
          faults.push(`${page.url()}: ${message.text()}`);
        }
      });
      page.on("requestfailed", (request) =>
        consoleLines.push(`[requestfailed] ${request.url()}: ${request.failure()?.errorText}`));
      await use();
      if (testInfo.status !== testInfo.expectedStatus) {
        console.log(`browser console of "${testInfo.title}":\n${consoleLines.join("\n") || "(empty)"}`);
      }
      expect(faults, "uncaught errors and CSP violations in the page").toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };

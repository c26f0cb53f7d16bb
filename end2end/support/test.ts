import { test as base, expect } from "@playwright/test";

/**
 * Playwright's `test`, with every page's uncaught errors (a WASM panic among them) failing the
 * test that caused them, and the browser's console printed when a test fails: a page that never
 * hydrates says why instead of only timing out.
 */
export const test = base.extend<{ browserErrors: void }>({
  browserErrors: [
    async ({ page }, use, testInfo) => {
      const uncaught: string[] = [];
      const consoleLines: string[] = [];
      page.on("pageerror", (error) => uncaught.push(`${page.url()}: ${error.stack ?? error.message}`));
      page.on("console", (message) => consoleLines.push(`[${message.type()}] ${page.url()}: ${message.text()}`));
      page.on("requestfailed", (request) =>
        consoleLines.push(`[requestfailed] ${request.url()}: ${request.failure()?.errorText}`));
      await use();
      if (testInfo.status !== testInfo.expectedStatus) {
        console.log(`browser console of "${testInfo.title}":\n${consoleLines.join("\n") || "(empty)"}`);
      }
      expect(uncaught, "uncaught errors in the page").toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };

import AxeBuilder from "@axe-core/playwright";
import { expect, Page } from "@playwright/test";

/**
 * Runs axe-core on the page as it is now and fails on any serious or critical violation, naming
 * the rule and the first elements it found. Call it once the page has hydrated.
 */
export async function expectAccessible(page: Page) {
  const { violations } = await new AxeBuilder({ page }).analyze();
  const serious = violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ")}`);
  expect(serious, `accessibility of ${new URL(page.url()).pathname}`).toEqual([]);
}

import { test, expect } from "../support/test";
import type { Locator, Page } from "@playwright/test";
import { hydrated } from "../support/pages";

/**
 * Presses `key` (Tab or Shift+Tab) until `target` has the focus, at most `limit` times, and checks
 * that the focus can be seen there (an outline or a focus ring, on it or on its label).
 */
async function moveFocusTo(page: Page, target: Locator, key = "Tab", limit = 60) {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press(key);
    if (await target.evaluate((el) => el === document.activeElement)) {
      const visible = await target.evaluate((el) => [el, el.closest("label")].some((node) => {
        if (!node) return false;
        const style = getComputedStyle(node);
        return (style.outlineStyle !== "none" && style.outlineWidth !== "0px") || style.boxShadow !== "none";
      }));
      expect(visible, "the focused element shows that it has the focus").toBe(true);
      return;
    }
  }
  throw new Error(`${key} pressed ${limit} times without reaching ${target}`);
}

test("with the keyboard alone a newcomer picks a style, saves a painting, configures a print and buys it", async ({ page }) => {
  await page.goto("/");
  await hydrated(page);
  await moveFocusTo(page, page.getByRole("link", { name: "Start with your home's style" }));
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/onboarding$/);
  await hydrated(page);

  const style = page.getByLabel(/北欧/);
  await moveFocusTo(page, style);
  await page.keyboard.press("Space");
  await expect(style).toBeChecked();
  await moveFocusTo(page, page.getByRole("button", { name: "Show me paintings" }));
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/feed$/);
  await hydrated(page);

  const card = page.locator(".feed-grid:not(.placeholders) .card").first();
  const save = card.getByRole("button", { name: "Save" });
  await moveFocusTo(page, save);
  await page.keyboard.press("Enter");
  await expect(card.getByRole("button", { name: "Unsave" })).toHaveAttribute("aria-pressed", "true");
  await moveFocusTo(page, card.locator("a.card-link"), "Shift+Tab");
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/painting\/\d+$/);
  await hydrated(page);

  const price = page.getByTestId("price");
  await expect(price).toHaveText("¥249.00");
  await moveFocusTo(page, page.getByLabel("Material"));
  await page.keyboard.press("ArrowDown");
  await expect(page.getByLabel("Material")).toHaveValue("canvas");
  await expect(price).toHaveText("¥323.70");
  await moveFocusTo(page, page.getByRole("button", { name: "Buy this print" }));
  await page.keyboard.press("Enter");
  await page.waitForURL(/^http:\/\/127\.0\.0\.1:8420\/pay\/cs_test_\w+$/);
  await moveFocusTo(page, page.getByRole("button", { name: /^Pay CNY 323\.70$/ }));
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/order\/order_\w+\?success=true$/);
  await expect(page.locator(".order-facts [data-status]").first()).toHaveAttribute("data-status", "paid");
});

import { test, expect } from "../support/test";

test("a new visitor picks home styles and the feed starts from them", async ({ page }) => {
  await page.goto("/onboarding");
  await expect(page.locator("body[data-hydrated='true']")).toHaveCount(1);
  await expect(page.locator(".style-card")).toHaveCount(8);
  await expect(page.locator(".style-card img").first()).toHaveAttribute("alt", /suggesting the/);

  await page.getByRole("button", { name: "Show me paintings" }).click();
  await expect(page.getByRole("alert")).toContainText("pick at least one style");

  await page.getByLabel(/北欧/).check();
  await page.getByLabel(/工业风/).check();
  await page.getByRole("button", { name: "Show me paintings" }).click();
  await expect(page).toHaveURL(/\/feed$/);
  await expect(page.locator(".feed-grid:not(.placeholders) .card").first()).toBeVisible();

  // Coming back shows the choice and says that choosing again starts afresh.
  await page.goto("/onboarding");
  await expect(page.getByLabel(/北欧/)).toBeChecked();
  await expect(page.getByText("starts your taste afresh")).toBeVisible();
});

import { test, expect } from "@playwright/test";

test("save a painting from its page, find it in Saved, and see more like it", async ({ page }) => {
  await page.goto("/feed");
  await expect(page.locator("body[data-hydrated='true']")).toHaveCount(1);
  const first = page.locator(".feed-grid .card").first();
  const title = (await first.locator(".card-title").textContent())!.trim();
  await first.locator("a").click();
  await expect(page).toHaveURL(/\/painting\/\d+$/);
  await expect(page.locator(".more-like-this .card")).toHaveCount(8);

  await page.getByRole("button", { name: "♡ Save" }).click();
  await expect(page.getByRole("button", { name: "♥ Saved" })).toBeVisible();

  await page.goto("/saved");
  await expect(page.locator(".saved-grid .card")).toHaveCount(1);
  await expect(page.locator(".saved-grid .card-title")).toHaveText(title);
  await page.getByRole("button", { name: "Unsave" }).click();
  await expect(page.getByText("Nothing saved yet")).toBeVisible();
});

test("search by colour, with an honest empty state", async ({ page }) => {
  await page.goto("/search?q=dark");
  await expect(page.locator(".feed-grid .card").first()).toBeVisible();
  await expect(page.getByText("understands colours and light")).toBeVisible();
  await page.goto("/search?q=a%20cat");
  await expect(page.getByText("No close matches")).toBeVisible();
});

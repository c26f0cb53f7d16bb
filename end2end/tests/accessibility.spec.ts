import { test, expect } from "../support/test";
import { expectAccessible } from "../support/axe";
import { hydrated, signInAsAdmin } from "../support/pages";

// Pages that need an order or a job of their own are checked where those are made:
// commerce.spec.ts (a shopper's order, an admin's order) and admin.spec.ts (an import job).

test("every shopper page has no serious or critical accessibility violation", async ({ page }) => {
  for (const path of ["/", "/onboarding", "/feed", "/saved", "/search?q=blue", "/orders", "/no-such-page"]) {
    await page.goto(path);
    await hydrated(page);
    await expectAccessible(page);
  }
  await page.goto("/feed");
  await page.locator(".feed-grid .card a").first().click();
  await expect(page).toHaveURL(/\/painting\/\d+$/);
  await hydrated(page);
  await expect(page.locator(".more-like-this .card").first()).toBeVisible();
  await expectAccessible(page);
});

test("every admin page has no serious or critical accessibility violation", async ({ page }) => {
  await page.goto("/admin/login");
  await hydrated(page);
  await expectAccessible(page);
  await signInAsAdmin(page);
  await expectAccessible(page);
  for (const path of ["/admin/orders", "/admin/import", "/admin/paintings", "/admin/paintings/new"]) {
    await page.goto(path);
    await hydrated(page);
    await expectAccessible(page);
  }
  await page.goto("/admin/paintings");
  await page.locator("a[href^='/admin/paintings/']:not([href$='/new'])").first().click();
  await expect(page).toHaveURL(/\/admin\/paintings\/\d+$/);
  await hydrated(page);
  await expectAccessible(page);
});

import { expect, Page } from "@playwright/test";

/** A click before the WASM has hydrated does nothing: wait for the marker hydrate() sets. */
export async function hydrated(page: Page) {
  await expect(page.locator("body[data-hydrated='true']")).toHaveCount(1);
}

/** Opens the first painting of the feed and waits until its page is interactive. */
export async function openFirstPainting(page: Page) {
  await page.goto("/feed");
  await page.locator(".feed-grid .card a").first().click();
  await expect(page).toHaveURL(/\/painting\/\d+$/);
  await hydrated(page);
}

/** Signs in with the admin account scripts/e2e.sh created, then goes to `next`. */
export async function signInAsAdmin(page: Page, next = "/admin") {
  await page.goto(`/admin/login?next=${encodeURIComponent(next)}`);
  await hydrated(page);
  await page.getByLabel("Email").fill(process.env.E2E_ADMIN_EMAIL!);
  await page.getByLabel("Password").fill(process.env.E2E_ADMIN_PASSWORD!);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((url) => url.pathname + url.search === next);
  await hydrated(page);
}

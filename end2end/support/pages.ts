import { expect, BrowserContext, Page } from "@playwright/test";
import { execFileSync } from "node:child_process";

/** Reads the e2e database (scripts/e2e.sh exports DATABASE_URL) to check what reached it. */
export function sql(query: string): string {
  return execFileSync("psql", [process.env.DATABASE_URL!, "-tAc", query]).toString().trim();
}

/**
 * The visitor id this browser's cookie names, to look the visitor up in the database. The cookie
 * is the server's signature (44 characters of base64) followed by the id.
 */
export async function visitorId(context: BrowserContext): Promise<string> {
  const cookie = (await context.cookies()).find((c) => c.name === "artwall_visitor");
  expect(cookie, "the server set a visitor cookie").toBeDefined();
  return cookie!.value.slice(-36);
}

/**
 * A click before the WASM has hydrated does nothing: wait for the marker hydrate() sets. A debug
 * build's WASM (3.4 MB) is compressed on the fly for each new browser context; on two busy cores
 * that can take longer than the default 15 s. A page that never hydrates still fails.
 */
export async function hydrated(page: Page) {
  await expect(page.locator("body[data-hydrated='true']")).toHaveCount(1, { timeout: 30_000 });
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

/**
 * Scrolls the feed to its end ("seen everything") and returns every painting id it showed. A
 * visitor who has already been shown everything gets the end at once, with no cards.
 */
export async function scrollWholeFeed(page: Page): Promise<Set<string>> {
  const cards = page.locator(".feed-grid:not(.placeholders) .card");
  const end = page.locator(".feed-end");
  await expect(cards.or(end).first()).toBeVisible();
  for (let i = 0; i < 100 && !(await end.isVisible()); i++) {
    await page.mouse.wheel(0, 8000);
    await page.waitForTimeout(200);
  }
  await expect(end).toBeVisible();
  return new Set(await cards.evaluateAll((els) => els.map((el) => el.getAttribute("data-painting-id")!)));
}

/** Clicks "Start over" at the end of the feed and waits for the reloaded, hydrated feed. */
export async function startOver(page: Page) {
  // The click reloads the page: wait for the new document, not the old one's end marker.
  const reloaded = page.waitForEvent("load");
  await page.getByRole("button", { name: "Start over" }).click();
  await reloaded;
  await hydrated(page);
}

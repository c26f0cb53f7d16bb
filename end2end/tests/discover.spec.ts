import { test, expect } from "../support/test";
import { hydrated, visitorId, sql } from "../support/pages";

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

test("cards on the painting, search and saved pages are tracked with their source; the session ends with its scroll depth", async ({ page, context }) => {
  await page.goto("/search?q=dark");
  await hydrated(page);
  const visitor = await visitorId(context);
  const events = (where: string) => Number(sql(`SELECT count(*) FROM activities WHERE visitor_id = '${visitor}' AND ${where}`));
  await expect.poll(() => events("event_type = 'impression' AND source = 'search'"), { timeout: 10_000 }).toBeGreaterThan(0);

  const result = page.locator(".feed-grid .card").first();
  const clicked = await result.getAttribute("data-painting-id");
  await result.locator("a").click();
  await expect(page).toHaveURL(/\/painting\/\d+$/);
  await expect.poll(() => events(`event_type = 'click' AND source = 'search' AND painting_id = ${clicked}`), { timeout: 10_000 }).toBe(1);

  await hydrated(page);
  await page.locator(".more-like-this .card").first().scrollIntoViewIfNeeded();
  await expect.poll(() => events("event_type = 'impression' AND source = 'detail'"), { timeout: 10_000 }).toBeGreaterThan(0);

  await page.getByRole("button", { name: "♡ Save" }).click();
  await expect(page.getByRole("button", { name: "♥ Saved" })).toBeVisible();
  await page.goto("/saved");
  await hydrated(page);
  await expect.poll(() => events("event_type = 'impression' AND source = 'saved'"), { timeout: 10_000 }).toBeGreaterThan(0);

  // Leaving hides the page: session_end goes out by sendBeacon, with how far down it was read.
  await page.mouse.wheel(0, 5000);
  await page.goto("about:blank");
  await expect.poll(() => sql(`SELECT metadata->>'scrollDepth' FROM activities WHERE visitor_id = '${visitor}' AND event_type = 'session_end' ORDER BY id DESC LIMIT 1`), { timeout: 10_000 })
    .toMatch(/^(0(\.\d+)?|1(\.0+)?)$/);
});

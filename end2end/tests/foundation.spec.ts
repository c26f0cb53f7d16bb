import { test, expect } from "../support/test";
import type { Page } from "@playwright/test";
import { hydrated, sql } from "../support/pages";

test("the feed's first page is in the HTML before any JavaScript runs", async ({ browser, request }) => {
  const html = await (await request.get("/feed")).text();
  expect((html.match(/class="card"/g) ?? []).length).toBe(12);
  // The first screen's images are fetched at once, the first before anything else (the others
  // after it: on a phone they are below the fold); the rest wait.
  const images = [...html.matchAll(/<img [^>]*>/g)].map((m) => m[0]);
  expect(images[0]).toContain('fetchpriority="high"');
  expect(images.slice(0, 4).every((img) => img.includes('loading="eager"'))).toBe(true);
  expect(images.slice(1, 4).every((img) => img.includes('fetchpriority="low"'))).toBe(true);
  expect(images.slice(4).every((img) => img.includes('loading="lazy"') && !img.includes("fetchpriority"))).toBe(true);
  // Every stored size, as WebP first and JPEG for browsers without it.
  expect(html).toMatch(/<source type="image\/webp" srcset="[^"]+\.webp \d+w, [^"]+\.webp \d+w/);
  expect(images[0]).toMatch(/srcset="[^"]+\.jpg \d+w, /);

  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/feed");
  await expect(page.locator(".feed-grid .card")).toHaveCount(12);
  await expect(page.locator(".card img").first()).toHaveAttribute("alt", / by /);
  await context.close();
});

test("after hydration, scrolling loads the next page through the WASM client (360 px phone)", async ({ page }) => {
  // One column: the end of the first page is far below the fold, so nothing loads until we scroll.
  await page.setViewportSize({ width: 360, height: 740 });
  await page.goto("/feed");
  await hydrated(page);
  const cards = page.locator(".feed-grid:not(.placeholders) .card");
  await expect(cards).toHaveCount(12);
  const box = await cards.first().boundingBox();
  expect(box!.width).toBeLessThanOrEqual(360);
  // A phone fetches a size near its width, not the largest.
  const first = cards.first().locator("img");
  await expect.poll(() => first.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(0);
  expect(await first.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeLessThan(700);
  const nextPage = page.waitForResponse((r) => r.url().includes("/api/feed") && r.status() === 200);
  await page.mouse.wheel(0, 20_000);
  await nextPage;
  await expect(cards).toHaveCount(24);
  const ids = await cards.evaluateAll((els) => els.map((e) => e.getAttribute("data-painting-id")));
  expect(new Set(ids).size).toBe(ids.length); // no painting twice
});

test("the WASM is fetched only after the first screen has loaded, and then hydrates the page", async ({ page }) => {
  await page.goto("/feed");
  await hydrated(page);
  const timing = await page.evaluate(() => {
    const resources = performance.getEntriesByType("resource") as PerformanceResourceTiming[];
    const navigation = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming;
    const first = document.querySelector<HTMLImageElement>(".card img")!.currentSrc;
    return {
      load: navigation.loadEventStart,
      wasm: resources.filter((r) => /\/pkg\/artwall\.[^/]*wasm$/.test(r.name)).map((r) => r.startTime),
      firstImageEnd: resources.find((r) => r.name === first)?.responseEnd,
    };
  });
  expect(timing.wasm).toHaveLength(1);
  expect(timing.load).toBeGreaterThan(0);
  expect(timing.wasm[0]).toBeGreaterThanOrEqual(timing.load);
  expect(timing.firstImageEnd).toBeLessThanOrEqual(timing.wasm[0]);
});

test("on a wide screen the next page loads before the reader reaches the end", async ({ page }) => {
  await page.setViewportSize({ width: 1440, height: 900 });
  const nextPage = page.waitForResponse((r) => r.url().includes("/api/feed") && r.status() === 200);
  await page.goto("/feed");
  await hydrated(page);
  await nextPage;
  await expect(page.locator(".feed-grid:not(.placeholders) .card")).toHaveCount(24);
});

test("paintings are reachable with the keyboard", async ({ page }) => {
  await page.goto("/feed");
  await hydrated(page);
  const firstCard = page.locator(".card a").first();
  const href = await firstCard.getAttribute("href");
  await firstCard.focus();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(new RegExp(`${href}$`));
});

test("a painting page shows the HD image", async ({ page }) => {
  await page.goto("/feed");
  await hydrated(page);
  await page.locator(".card a").first().click();
  await expect(page).toHaveURL(/\/painting\/\d+$/);
  const hd = page.locator("img.hd");
  await expect(hd).toHaveAttribute("fetchpriority", "high");
  // At 1280 px the image column is 768 px wide: a WebP size wider than that, not the card's.
  await expect.poll(() => hd.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(640);
  expect(await hd.evaluate((img: HTMLImageElement) => img.currentSrc)).toMatch(/\.webp$/);
  await expect(page.locator(".painting-info h1")).not.toBeEmpty();
});

test("an unknown painting is a real 404 page", async ({ page }) => {
  const response = await page.goto("/painting/987654321");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: /couldn't find/ })).toBeVisible();
});

test("/admin redirects to the login page, and an admin can sign in and out", async ({ page }) => {
  await page.goto("/admin");
  await expect(page).toHaveURL(/\/admin\/login\?next=%2Fadmin$/);
  await hydrated(page);
  await page.getByLabel("Email").fill(process.env.E2E_ADMIN_EMAIL!);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toContainText("wrong email or password");

  await page.getByLabel("Password").fill(process.env.E2E_ADMIN_PASSWORD!);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/admin$/);
  await expect(page.getByText("not CLIP")).toBeVisible();
  await expect(page.getByText(`${sql("SELECT count(*) FROM paintings WHERE published")} paintings`)).toBeVisible();
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/admin\/login/);
  await page.goto("/admin");
  await expect(page).toHaveURL(/\/admin\/login/);
});

// The fixture (support/test.ts) fails any test whose page reports a CSP violation.
test("pages are served under a nonce CSP and still hydrate, with no CSP violation", async ({ page }) => {
  const response = await page.goto("/feed");
  const csp = response!.headers()["content-security-policy"];
  expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=_-]{16,}' 'wasm-unsafe-eval'/);
  expect(csp).toContain("frame-ancestors 'none'");
  await hydrated(page);
  // Hydrated means interactive: saving a painting goes through the WASM client.
  const card = page.locator(".feed-grid .card").first();
  await card.getByRole("button", { name: "Save" }).click();
  await expect(card.getByRole("button", { name: "Unsave" })).toHaveAttribute("aria-pressed", "true");
});

test("the built WASM, JS and CSS go out compressed under hashed, immutable names; pages are not cached", async ({ request }) => {
  const page = await request.get("/", { headers: { "accept-encoding": "br, gzip" } });
  expect(page.headers()["cache-control"]).toBe("private, no-cache");
  const assets = new Set((await page.text()).match(/\/pkg\/artwall\.[\w-]+\.(js|wasm|css)/g));
  expect([...assets].map((a) => a.split(".").pop()).sort()).toEqual(["css", "js", "wasm"]);
  for (const asset of assets) {
    const response = await request.get(asset, { headers: { "accept-encoding": "br, gzip" } });
    expect(response.status(), asset).toBe(200);
    expect(response.headers()["content-encoding"], asset).toMatch(/^(br|gzip)$/);
    expect(response.headers()["vary"], asset).toContain("accept-encoding");
    expect(response.headers()["cache-control"], asset).toBe("public, max-age=31536000, immutable");
  }
});

test("a first visit to the landing page, the feed or a painting loads no other page's code", async ({ page }) => {
  const wasm: string[] = [];
  page.on("request", (request) => {
    if (request.url().endsWith(".wasm")) wasm.push(new URL(request.url()).pathname);
  });
  for (const path of ["/", "/feed"]) {
    await page.goto(path);
    await hydrated(page);
  }
  await page.locator(".feed-grid .card a").first().click();
  await expect(page).toHaveURL(/\/painting\/\d+$/);
  await page.reload();
  await hydrated(page);
  expect(new Set(wasm)).toEqual(new Set([expect.stringMatching(/^\/pkg\/artwall\.[\w-]+\.wasm$/)]));
  // Opening the admin console fetches its chunk then.
  const chunk = page.waitForRequest(/\/pkg\/split___login_route_view_\w+\.[\w-]+\.wasm$/);
  await page.goto("/admin/login");
  await chunk;
  await hydrated(page);
});

test("a page whose code cannot be fetched (a deploy replaced it) says so and offers a reload", async ({ browser }) => {
  // A context of its own: the panic this provokes is expected here, not an error of the test.
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto("/feed");
  await hydrated(page);
  const chunks = /\/pkg\/(split_|chunk_)[\w-]+\.[\w-]+\.wasm$/;
  await page.route(chunks, (route) => route.fulfill({ status: 404, body: "gone" }));
  await page.getByRole("link", { name: "Saved" }).click();
  const notice = page.getByRole("alert").filter({ hasText: "This page stopped working" });
  await expect(notice).toBeVisible();
  await page.unroute(chunks);
  await notice.getByRole("link", { name: "Reload the page" }).click();
  await page.waitForLoadState("load");
  await hydrated(page);
  await expect(page.getByRole("alert").filter({ hasText: "This page stopped working" })).toHaveCount(0);
  await context.close();
});

test("the API's docs page renders every operation from the OpenAPI document, within its CSP", async ({ page }) => {
  // The fixture fails the test on any Content Security Policy violation the page logs.
  await page.goto("/api/docs/");
  await expect(page.locator(".swagger-ui .info .title")).toContainText("ArtWall");
  await expect(page.locator(".opblock-summary-path", { hasText: /^\/api\/feed$/ })).toBeVisible();
  // One block per operation of the document.
  const document = await (await page.request.get("/api/openapi.json")).json();
  const operations = Object.values(document.paths as Record<string, object>)
    .map((item) => Object.keys(item).filter((key) => ["get", "post", "put", "patch", "delete"].includes(key)).length)
    .reduce((sum, n) => sum + n, 0);
  expect(operations, "the document lists the API").toBeGreaterThan(40);
  await expect(page.locator(".opblock")).toHaveCount(operations);
});

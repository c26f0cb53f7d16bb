import { test, expect } from "../support/test";
import { expectAccessible } from "../support/axe";
import http from "node:http";
import { AddressInfo } from "node:net";
import fs from "node:fs";
import path from "node:path";
import { hydrated, scrollWholeFeed, signInAsAdmin, sql, startOver } from "../support/pages";

const images = path.join(__dirname, "../../../shared/paintings/images");

/**
 * The "museum" the batch imports from: /img/N.jpg are real paintings; /lost.jpg is a 404 and
 * /broken.jpg is a web page calling itself a JPEG, until `fixed` is set.
 */
function museum() {
  const files = fs.readdirSync(images).filter((f) => f.endsWith(".jpg")).sort().reverse();
  const state = { fixed: false, url: "" };
  const server = http.createServer((req, res) => {
    const jpeg = (file: string) => { res.writeHead(200, { "Content-Type": "image/jpeg" }); res.end(fs.readFileSync(path.join(images, file))); };
    const match = req.url!.match(/^\/img\/(\d+)\.jpg$/);
    if (match) return jpeg(files[Number(match[1])]);
    if (state.fixed && req.url === "/lost.jpg") return jpeg(files[40]);
    if (state.fixed && req.url === "/broken.jpg") return jpeg(files[41]);
    if (req.url === "/broken.jpg") { res.writeHead(200, { "Content-Type": "image/jpeg" }); return res.end("<html>not a picture</html>"); }
    res.writeHead(404); res.end("not found");
  });
  return { state, server };
}

test("import 20 paintings with 2 bad URLs, retry them, see them in the feed, unpublish one", async ({ page, browser }) => {
  test.setTimeout(120_000);
  const { state, server } = museum();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const run = Date.now();
  const paintings = Array.from({ length: 20 }, (_, i) => ({
    id: `e2e-${run}:${i}`, title: `Imported study ${i}`, artist: "E2E Workshop", year: 1900 + i, style: "Test",
    imageUrl: i === 7 ? `${state.url}/lost.jpg` : i === 13 ? `${state.url}/broken.jpg` : `${state.url}/img/${i}.jpg`,
  }));

  await signInAsAdmin(page, "/admin/import");
  await page.getByLabel("Paste a JSON list").fill(JSON.stringify({ paintings }));
  await page.getByRole("button", { name: "Start import" }).click();
  await page.waitForURL(/\/admin\/jobs\/[0-9a-f-]{36}$/);
  await hydrated(page);

  // Live progress, no reload: it ends at 18 done and 2 failed, each with its reason.
  await expect(page.getByTestId("job-status")).toHaveText("completed", { timeout: 60_000 });
  await expect(page.getByTestId("job-processed")).toHaveText("20");
  await expect(page.getByTestId("job-done")).toHaveText("18");
  await expect(page.getByTestId("job-failed")).toHaveText("2");
  const reasons = page.locator("table.failures tbody tr");
  await expect(reasons).toHaveCount(2);
  await expect(reasons.nth(0)).toContainText("Imported study 7");
  await expect(reasons.nth(0)).toContainText("HTTP 404");
  await expect(reasons.nth(1)).toContainText("Imported study 13");
  await expect(reasons.nth(1)).toContainText("not an image");
  await expectAccessible(page);

  state.fixed = true;
  await page.getByRole("button", { name: "Retry failed items" }).click();
  await expect(page.getByTestId("job-failed")).toHaveText("0", { timeout: 60_000 });
  await expect(page.getByTestId("job-done")).toHaveText("20");
  await expect(page.getByTestId("job-status")).toHaveText("completed");
  await expect(reasons).toHaveCount(0);

  const imported = sql(`SELECT id FROM paintings WHERE source_key LIKE 'e2e-${run}:%' ORDER BY id`).split("\n");
  expect(imported).toHaveLength(20);

  // A shopper's feed, scrolled to the end, shows every one of them.
  const shopperContext = await browser.newContext();
  const shopper = await shopperContext.newPage();
  await shopper.setViewportSize({ width: 1280, height: 900 });
  await shopper.goto("/feed");
  await hydrated(shopper);
  const seen = await scrollWholeFeed(shopper);
  for (const id of imported) expect(seen.has(id), `painting ${id} in the feed`).toBe(true);

  // The admin unpublishes one; starting the feed over, it is gone, and its page is a 404.
  const gone = sql(`SELECT id FROM paintings WHERE source_key = 'e2e-${run}:5'`);
  await page.goto(`/admin/paintings?q=${encodeURIComponent("Imported study 5")}`);
  await hydrated(page);
  const row = page.locator(`tr[data-painting="${gone}"]`);
  await row.getByRole("button", { name: "Unpublish" }).click();
  await expect(row.getByRole("button", { name: "Publish" })).toBeVisible();

  await startOver(shopper);
  const again = await scrollWholeFeed(shopper);
  expect(again.has(gone)).toBe(false);
  for (const id of imported.filter((id) => id !== gone)) expect(again.has(id), `painting ${id} still in the feed`).toBe(true);
  expect((await shopper.goto(`/painting/${gone}`))!.status()).toBe(404);

  await shopperContext.close();
  server.close();
});

test("add one painting: errors beside their fields, then the painting with its six nearest neighbours", async ({ page }) => {
  await signInAsAdmin(page, "/admin/paintings/new");
  const run = Date.now();
  await page.getByLabel("Title").first().fill(`Kafka's room ${run}`);
  await page.getByLabel("Artist", { exact: false }).first().fill("Unknown photographer");
  await page.getByLabel("Year").fill("around 1910");
  await page.getByLabel("Source URL").fill(`https://example.com/kafka/${run}`);
  await page.getByLabel("Upload a JPEG, PNG or WebP").setInputFiles(path.join(__dirname, "../../tests/fixtures/franz-kafka.jpg"));
  await page.getByRole("button", { name: "Add painting" }).click();
  const yearField = page.locator("label", { has: page.locator("input[name=year]") });
  await expect(yearField.getByRole("alert")).toHaveText('the year "around 1910" is not a whole number');

  await page.getByLabel("Year").fill("1910");
  await page.getByRole("button", { name: "Add painting" }).click();
  const added = page.locator("section.added");
  await expect(added.getByRole("heading", { level: 2 })).toContainText(`Kafka's room ${run}`);
  await expect(added.locator(".neighbours li")).toHaveCount(6);
  await expect(yearField.getByRole("alert")).toHaveCount(0);
  expect(sql(`SELECT count(*) FROM paintings WHERE source_key = 'https://example.com/kafka/${run}' AND published`)).toBe("1");
});

import { test, expect } from "../support/test";
import type { Page } from "@playwright/test";
import path from "path";
import { hydrated, openFirstPainting } from "../support/pages";

const roomPhoto = path.join(__dirname, "../../tests/fixtures/franz-kafka.jpg");

/** The painting's width on the wall as a share of the photo's width. */
async function shareOfWall(page: Page): Promise<number> {
  const wall = (await page.getByTestId("wall").boundingBox())!;
  const art = (await page.getByTestId("on-wall").boundingBox())!;
  return art.width / wall.width;
}

test("configure a print with a live price", async ({ page }) => {
  await openFirstPainting(page);
  const price = page.getByTestId("price");
  await expect(price).toHaveText("¥249.00"); // 50x60 paper, no frame
  await page.getByLabel("Material").selectOption("canvas");
  await expect(price).toHaveText("¥323.70");
  await page.getByLabel("Frame").selectOption("gold");
  await expect(price).toHaveText("¥423.70");
  await page.getByLabel("Size").selectOption("80x100");
  await expect(price).toHaveText("¥618.70");
  await expect(page.locator("figure.painting-image")).toHaveClass(/frame-gold/);
});

test("upload a room photo and place the painting on the wall at print size", async ({ page }) => {
  await openFirstPainting(page);
  const paintingUrl = page.url();
  await expect(page.getByText("Upload a photo of your room")).toBeVisible();

  // A file that is not an image comes back with a clear message and nothing stored.
  await page.locator("input[name=photo]").setInputFiles({ name: "room.jpg", mimeType: "image/jpeg", buffer: Buffer.from("not a photo") });
  await page.getByRole("button", { name: "Upload photo" }).click();
  await expect(page.getByRole("alert")).toContainText("not a JPEG, PNG or WebP image");
  await expect(page.getByTestId("wall")).toHaveCount(0);

  await page.locator("input[name=photo]").setInputFiles(roomPhoto);
  await page.getByRole("button", { name: "Upload photo" }).click();
  await expect(page).toHaveURL(paintingUrl + "#wall");
  await hydrated(page);
  const onWall = page.getByTestId("on-wall");
  await expect(onWall).toBeVisible();

  // Sized by the print relative to the wall: the short or long side of 50x60 over 300 cm.
  const portrait = await page.locator("figure.painting-image img").evaluate((img: HTMLImageElement) => img.naturalHeight >= img.naturalWidth);
  const expected = (portrait ? 50 : 60) / 300;
  expect(Math.abs((await shareOfWall(page)) - expected)).toBeLessThan(0.01);

  await page.getByLabel("Size").selectOption("80x100");
  await expect.poll(() => shareOfWall(page)).toBeCloseTo((portrait ? 80 : 100) / 300, 2);
  await page.locator(".wall-width input[type=range]").fill("600");
  await expect(page.getByTestId("wall-cm")).toHaveText("600 cm");
  await expect.poll(() => shareOfWall(page)).toBeCloseTo((portrait ? 80 : 100) / 600, 2);

  // Drag it 120 px right and 40 px down; then nudge it with the keyboard.
  await onWall.scrollIntoViewIfNeeded();
  const before = (await onWall.boundingBox())!;
  await page.mouse.move(before.x + before.width / 2, before.y + before.height / 2);
  await page.mouse.down();
  await page.mouse.move(before.x + before.width / 2 + 120, before.y + before.height / 2 + 40, { steps: 8 });
  await page.mouse.up();
  const dragged = (await onWall.boundingBox())!;
  expect(Math.abs(dragged.x - before.x - 120)).toBeLessThan(3);
  expect(Math.abs(dragged.y - before.y - 40)).toBeLessThan(3);
  await onWall.focus();
  await page.keyboard.press("ArrowLeft");
  await expect.poll(async () => (await onWall.boundingBox())!.x).toBeLessThan(dragged.x - 1);

  // The photo stays for the next painting too.
  await page.goto("/feed");
  await page.locator(".feed-grid .card a").nth(1).click();
  await expect(page.getByTestId("on-wall")).toBeVisible();
});

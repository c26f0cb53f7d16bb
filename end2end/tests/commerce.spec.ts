import { test, expect } from "../support/test";
import { expectAccessible } from "../support/axe";
import type { Page } from "@playwright/test";
import { hydrated, signInAsAdmin, sql } from "../support/pages";

const notice = (page: Page) => page.getByRole("note").filter({ hasText: "Test payments: no card is charged." });

// The journey of a newcomer to `make run`'s shop: scripts/e2e.sh starts it through the same
// scripts/shop.sh, so Stripe is the project's test server (localstripe plus our harness), whose
// pay page completes the Checkout Session and sends the real signed webhooks back to the app, and
// the admin is the one the first run printed.
test("a newcomer picks styles, buys a print on the test pay page; the admin ships it and the shopper sees it shipped", async ({ page, browser }) => {
  await page.goto("/");
  await expect(notice(page)).toBeVisible();
  await hydrated(page);
  await page.getByRole("link", { name: "Start with your home's style" }).click();
  await expect(page).toHaveURL(/\/onboarding$/);
  await hydrated(page);
  await page.getByLabel(/北欧/).check();
  await page.getByRole("button", { name: "Show me paintings" }).click();
  await expect(page).toHaveURL(/\/feed$/);
  await expect(notice(page)).toBeVisible();
  const cards = page.locator(".feed-grid:not(.placeholders) .card");
  await expect(cards.first()).toBeVisible();
  await hydrated(page);
  const firstPage = await cards.count();
  await page.mouse.wheel(0, 6000);
  await expect.poll(() => cards.count(), { message: "scrolling loads the next page" }).toBeGreaterThan(firstPage);
  await cards.nth(firstPage).locator("a").first().click();
  await expect(page).toHaveURL(/\/painting\/\d+$/);
  await hydrated(page);
  await expect(notice(page)).toBeVisible();

  await page.getByLabel("Size").selectOption("60x80");
  await page.getByLabel("Material").selectOption("canvas");
  await page.getByLabel("Frame").selectOption("black");
  await expect(page.getByTestId("price")).toHaveText("¥438.70"); // round(29900 * 1.3) + 5000

  await page.getByRole("button", { name: "Buy this print" }).click();
  await page.waitForURL(/^http:\/\/127\.0\.0\.1:8420\/pay\/cs_test_\w+$/);
  await expect(page.getByText("Test payments: no card is charged.")).toBeVisible();
  await page.getByRole("button", { name: "Pay CNY 438.70" }).click();
  await page.waitForURL(/\/order\/order_\w+\?success=true$/);
  const orderPath = new URL(page.url()).pathname;
  const orderId = orderPath.split("/").pop()!;

  // "Confirming payment…" may flash while the webhook is on its way; it ends in paid.
  const status = page.locator(".order-facts [data-status]").first();
  await expect(status).toHaveAttribute("data-status", "paid");
  await expect(page.getByRole("status")).toHaveCount(0);
  await expect(page.locator(".order-facts")).toContainText("60 × 80 cm, Canvas, Black frame");
  await expect(page.locator(".order-facts")).toContainText("¥438.70");
  await expect(page.locator(".address")).toContainText("Test Shopper");
  await hydrated(page);
  await expectAccessible(page);

  await page.goto("/orders");
  const listed = page.locator(`a[href="${orderPath}"]`);
  await expect(listed).toBeVisible();
  await expect(listed.locator("[data-status]")).toHaveAttribute("data-status", "paid");

  // The admin, in a browser of their own, moves the order on and ships it with tracking.
  const adminContext = await browser.newContext();
  const admin = await adminContext.newPage();
  await signInAsAdmin(admin, `/admin/orders/${orderId}`);
  await expectAccessible(admin);
  await admin.getByRole("button", { name: "Mark as being printed" }).click();
  await expect(admin.locator(".order-facts [data-status]").first()).toHaveAttribute("data-status", "processing");
  await admin.getByLabel("Tracking number").fill("SF1234567890");
  await admin.getByRole("button", { name: "Mark as shipped" }).click();
  await expect(admin.locator(".order-facts [data-status]").first()).toHaveAttribute("data-status", "shipped");
  await adminContext.close();
  // Both moves are in the audit log, with the status before and after.
  expect(sql(`SELECT string_agg(before->>'status' || '>' || (after->>'status'), ',' ORDER BY id) FROM audit_log WHERE subject = 'order:${orderId}' AND action = 'order.advance'`))
    .toBe("paid>processing,processing>shipped");

  await page.goto(orderPath);
  await hydrated(page);
  await expect(notice(page)).toBeVisible();
  await expect(status).toHaveAttribute("data-status", "shipped");
  await expect(status).toHaveText("Shipped");
  await expect(page.getByTestId("tracking")).toHaveText("SF1234567890");
  const timeline = page.locator(".timeline li");
  await expect(timeline.locator(".timeline-status")).toHaveText(["Awaiting payment", "Paid", "Being printed", "Shipped"]);
  await expect(timeline.nth(1)).toContainText("Stripe (payments)");
  await expect(timeline.nth(3)).toContainText(/admin #\d+/);
  await expect(timeline.nth(3)).toContainText("SF1234567890");
  // Shipped: the address can no longer be changed.
  await expect(page.getByText("Change the shipping address")).toHaveCount(0);
});

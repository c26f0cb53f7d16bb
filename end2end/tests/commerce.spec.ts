import { test, expect } from "@playwright/test";
import { hydrated, openFirstPainting, signInAsAdmin, sql } from "../support/pages";

// Stripe here is localstripe plus our harness (scripts/stripe_harness.py, started by e2e.sh): its
// pay page completes the Checkout Session and sends the real signed webhooks back to the app.
test("buy a print, pay, see it confirmed; the admin ships it and the shopper sees the timeline", async ({ page, browser }) => {
  await openFirstPainting(page);
  await page.getByLabel("Size").selectOption("60x80");
  await page.getByLabel("Material").selectOption("canvas");
  await page.getByLabel("Frame").selectOption("black");
  await expect(page.getByTestId("price")).toHaveText("¥438.70"); // round(29900 * 1.3) + 5000

  const payPage = page.waitForRequest((r) => /\/pay\/cs_test_\w+$/.test(r.url()));
  await page.getByRole("button", { name: "Buy this print" }).click();
  expect(new URL((await payPage).url()).port).toBe("8420");
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

  await page.goto("/orders");
  const listed = page.locator(`a[href="${orderPath}"]`);
  await expect(listed).toBeVisible();
  await expect(listed.locator("[data-status]")).toHaveAttribute("data-status", "paid");

  // The admin, in a browser of their own, moves the order on and ships it with tracking.
  const adminContext = await browser.newContext();
  const admin = await adminContext.newPage();
  await signInAsAdmin(admin, `/admin/orders/${orderId}`);
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
  await expect(status).toHaveAttribute("data-status", "shipped");
  await expect(page.getByTestId("tracking")).toHaveText("SF1234567890");
  const timeline = page.locator(".timeline li");
  await expect(timeline.locator(".timeline-status")).toHaveText(["Awaiting payment", "Paid", "Being printed", "Shipped"]);
  await expect(timeline.nth(1)).toContainText("stripe");
  await expect(timeline.nth(3)).toContainText(/admin #\d+/);
  await expect(timeline.nth(3)).toContainText("SF1234567890");
  // Shipped: the address can no longer be changed.
  await expect(page.getByText("Change the shipping address")).toHaveCount(0);
});

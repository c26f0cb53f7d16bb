import { test, expect } from "../support/test";
import type { Page } from "@playwright/test";
import { hydrated } from "../support/pages";

// The shop in Chinese and in English: the server picks the language before it renders (an
// explicit choice in the header, kept in a cookie, then Accept-Language, then Chinese), so the
// first paint is already right and hydration changes no text.

const words = {
  "zh-CN": { discover: "发现", heading: "为你生活的墙面挑选画作", start: "从你家的风格开始", submit: "给我看画作",
             size: "尺寸", material: "材质", frame: "画框", canvas: "画布", buy: "购买这幅装饰画", switchTo: "English" },
  en: { discover: "Discover", heading: "Paintings for the walls you live with", start: "Start with your home's style",
        submit: "Show me paintings", size: "Size", material: "Material", frame: "Frame", canvas: "Canvas",
        buy: "Buy this print", switchTo: "中文" },
} as const;
type Language = keyof typeof words;

/** The page's HTML as the server sent it, and its heading once hydrated. */
async function servedAndHydratedHeading(page: Page, path: string) {
  const response = await page.goto(path);
  const served = await response!.text();
  await hydrated(page);
  return { served, heading: await page.locator("main h1").first().innerText() };
}

for (const [acceptLanguage, language] of [["zh-CN", "zh-CN"], ["en-GB", "en"]] as const) {
  test.describe(`a browser asking for ${acceptLanguage}`, () => {
    // The browser's locale is its Accept-Language.
    test.use({ locale: acceptLanguage });

    test(`the journey from the home page to the Buy button is in ${language}`, async ({ page }) => {
      const w = words[language as Language];
      const { served, heading } = await servedAndHydratedHeading(page, "/");
      expect(served).toMatch(new RegExp(`<html[^>]* lang="${language}"`));
      expect(served).toContain(w.heading);
      expect(heading, "hydration keeps the server's text").toBe(w.heading);
      // From here the pages are rendered in the browser (client-side navigation, lazy routes):
      // their text shows the browser took the server's language.
      await expect(page.locator("html")).toHaveAttribute("lang", language);
      await expect(page.getByRole("navigation").getByRole("link", { name: w.discover })).toBeVisible();
      await page.screenshot({ path: test.info().outputPath(`home-${language}.png`) });

      await page.getByRole("link", { name: w.start }).click();
      await expect(page).toHaveURL(/\/onboarding$/);
      await hydrated(page);
      await page.getByLabel(/北欧/).check();
      await page.getByRole("button", { name: w.submit }).click();
      await expect(page).toHaveURL(/\/feed$/);
      await expect(page.getByRole("heading", { level: 1, name: w.discover })).toBeVisible();
      await hydrated(page);
      await page.locator(".feed-grid:not(.placeholders) .card a").first().click();
      await expect(page).toHaveURL(/\/painting\/\d+$/);
      await hydrated(page);
      await page.getByLabel(w.material).selectOption("canvas");
      await expect(page.getByLabel(w.material).locator("option:checked")).toHaveText(w.canvas);
      await expect(page.getByLabel(w.size)).toBeVisible();
      await expect(page.getByLabel(w.frame)).toBeVisible();
      await expect(page.getByTestId("price")).toHaveText("¥323.70"); // 50 × 60 canvas: round(24900 * 1.3)
      await expect(page.getByRole("button", { name: w.buy })).toBeEnabled();
      await page.screenshot({ path: test.info().outputPath(`painting-${language}.png`) });
    });
  });
}

test("the header's switcher changes the language of this page and of the next visits, over Accept-Language", async ({ page }) => {
  await page.goto("/search?q=blue");
  await hydrated(page);
  await expect(page.locator("html")).toHaveAttribute("lang", "en");
  await expect(page.getByTestId("model-languages")).toContainText("Chinese");

  await page.getByRole("button", { name: words.en.switchTo }).click();
  await expect(page).toHaveURL(/\/search\?q=blue$/);
  await expect(page.locator("html")).toHaveAttribute("lang", "zh-CN");
  await expect(page.getByRole("heading", { level: 1, name: "搜索" })).toBeVisible();
  await expect(page.getByTestId("model-languages")).toContainText("中文");
  const cookie = (await page.context().cookies()).find((c) => c.name === "artwall_locale");
  expect(cookie?.value).toBe("zh-CN");
  expect(cookie?.httpOnly).toBe(true);
  await hydrated(page);

  // Remembered: the browser still asks for English, the shop answers in Chinese.
  await page.goto("/feed");
  await expect(page.getByRole("heading", { level: 1, name: words["zh-CN"].discover })).toBeVisible();
  await hydrated(page);
  await page.getByRole("button", { name: words["zh-CN"].switchTo }).click();
  await expect(page).toHaveURL(/\/feed$/);
  await expect(page.locator("html")).toHaveAttribute("lang", "en");
  await expect(page.getByRole("heading", { level: 1, name: words.en.discover })).toBeVisible();
});

test.describe("a browser in India asking for Chinese", () => {
  test.use({ locale: "zh-CN", timezoneId: "Asia/Kolkata" });

  test("the server's messages are in Chinese and the browser tells the shop its time zone", async ({ page }) => {
    await page.goto(`/search?q=${"蓝".repeat(201)}`);
    await expect(page.locator("p.form-error")).toHaveText("搜索内容最多 200 个字符");
    await hydrated(page);
    // Chromium names India's zone by its older name, Asia/Calcutta; the server knows both.
    const reported = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
    expect(reported).toMatch(/^Asia\/(Kolkata|Calcutta)$/);
    const zone = (await page.context().cookies()).find((c) => c.name === "artwall_tz");
    expect(zone?.value).toBe(reported);
  });
});

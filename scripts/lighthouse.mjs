// `make bench`: Lighthouse (mobile profile, simulated throttling, a fresh browser profile per
// page: a first visit) on the pages a shopper lands on, with Debian's Chromium.
//   node scripts/lighthouse.mjs http://127.0.0.1:3099 /  /feed /painting/12
// Prints performance and accessibility scores, LCP, CLS and TBT, and the compressed bytes the
// visit transferred by resource type. Figures only: it asserts nothing.
import lighthouse from "lighthouse";
import * as chromeLauncher from "chrome-launcher";

const [origin, ...paths] = process.argv.slice(2);
if (!origin || paths.length === 0) {
  console.error("usage: node scripts/lighthouse.mjs ORIGIN PATH...");
  process.exit(2);
}
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;

for (const path of paths) {
  const chrome = await chromeLauncher.launch({
    chromePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    chromeFlags: ["--headless=new", "--no-sandbox", "--disable-gpu"],
  });
  try {
    const { lhr } = await lighthouse(`${origin}${path}`, {
      port: chrome.port,
      output: "json",
      logLevel: "error",
      onlyCategories: ["performance", "accessibility"],
    });
    const audit = (id) => lhr.audits[id];
    const byType = audit("resource-summary").details.items
      .filter((item) => item.transferSize > 0)
      .map((item) => `${item.resourceType} ${kb(item.transferSize)}`)
      .join(", ");
    console.log(
      `${path}: performance ${Math.round(lhr.categories.performance.score * 100)}, ` +
        `accessibility ${Math.round(lhr.categories.accessibility.score * 100)}, ` +
        `LCP ${audit("largest-contentful-paint").displayValue}, CLS ${audit("cumulative-layout-shift").displayValue}, ` +
        `TBT ${audit("total-blocking-time").displayValue}`,
    );
    console.log(`  transferred: ${byType}`);
    const lcp = audit("largest-contentful-paint-element")?.details?.items?.[0]?.items?.[0]?.node?.snippet;
    if (lcp) console.log(`  LCP element: ${lcp}`);
    if (lhr.runWarnings.length) console.log(`  warnings: ${lhr.runWarnings.join("; ")}`);
  } finally {
    await chrome.kill();
  }
}

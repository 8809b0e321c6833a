// Opens the explorer's review-queue page in headless Chromium and prints its text as JSON
// (tests/node/screening/test_held_page.py). argv[2]: {"url", "executable"}
"use strict";
const { chromium } = require("playwright-core");

async function main() {
  const args = JSON.parse(process.argv[2]);
  const browser = await chromium.launch({ executablePath: args.executable, args: ["--no-sandbox"] });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (error) => errors.push(String(error)));
    await page.goto(args.url + "/#/held", { waitUntil: "load" });
    await page.waitForSelector("#held table", { timeout: 10000 });
    console.log(JSON.stringify({ heldPage: await page.textContent("main"), pageErrors: errors }));
  } finally {
    await browser.close();
  }
}

main().catch((error) => { console.error(error); process.exit(1); });

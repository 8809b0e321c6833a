// Drives the explorer in headless Chromium (Debian's, via playwright-core) and prints what the
// page rendered as one JSON line; tests/node/explorer/test_browser.py asserts on it.
// argv[2]: {"url", "rawTransaction", "executable", "screenshots"}
"use strict";
const { chromium } = require("playwright-core");

async function rpc(url, method, ...params) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = await response.json();
  if (body.error) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
  return body.result;
}

async function waitFor(page, selector) {
  try {
    await page.waitForSelector(selector, { timeout: 10000 });
  } catch (error) {
    throw new Error(`${selector} not shown at ${page.url()}; the page says: ${await page.textContent("main")}`);
  }
}

async function main() {
  const args = JSON.parse(process.argv[2]);
  const browser = await chromium.launch({ executablePath: args.executable, args: ["--no-sandbox"] });
  const out = {};
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (error) => errors.push(String(error)));
    await page.goto(args.url + "/", { waitUntil: "load" });
    out.title = await page.title();
    await page.waitForSelector("#latest-blocks .block-number", { timeout: 10000 });
    out.live = await page.textContent("#live");

    // A transfer through JSON-RPC; the page must list it while its block is the newest shown.
    const started = Date.now();
    const hash = await rpc(args.url, "eth_sendRawTransaction", args.rawTransaction);
    const shownTip = await page.waitForFunction((h) => {
      if (!document.querySelector(`#latest-transactions a[href="#/tx/${h}"]`)) return false;
      return document.querySelector("#latest-blocks .block-number").textContent;
    }, hash, { timeout: 15000, polling: "raf" });
    out.appearedAfterMs = Date.now() - started;
    out.tipWhenShown = await shownTip.jsonValue();
    out.transactionHash = hash;
    await page.screenshot({ path: `${args.screenshots}/home.png`, fullPage: true });

    await page.click(`#latest-transactions a[href="#/tx/${hash}"]`);
    await waitFor(page, "#postings table");
    out.transactionPage = await page.textContent("main");
    await page.screenshot({ path: `${args.screenshots}/transaction.png`, fullPage: true });

    await page.click("#postings a.account >> nth=1");  // the credit account of the first posting
    await waitFor(page, "#journal table");
    out.accountPage = await page.textContent("main");

    await page.fill("#search-input", args.blockSearch);
    await page.press("#search-input", "Enter");
    await waitFor(page, "#commit li");
    out.blockPage = await page.textContent("main");
    out.commitSignatures = await page.locator("#commit li").count();

    await page.fill("#search-input", args.ibanSearch);
    await page.press("#search-input", "Enter");
    await waitFor(page, "#balance");
    out.ibanPage = await page.textContent("main");

    // An Ethereum value transfer: its page shows the EVM fields and logs, and no ledger postings.
    const evmHash = await rpc(args.url, "eth_sendRawTransaction", args.ethereumTransaction);
    for (let i = 0; i < 200 && !(await rpc(args.url, "eth_getTransactionReceipt", evmHash)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await page.goto(`${args.url}/#/tx/${evmHash}`);
    await waitFor(page, "#evm");
    out.ethereumPage = await page.textContent("main");
    out.ethereumHash = evmHash;

    const proposal = await rpc(args.url, "eth_sendRawTransaction", args.governanceTransaction);
    for (let i = 0; i < 200 && !(await rpc(args.url, "eth_getTransactionReceipt", proposal)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await page.goto(args.url + "/#/governance");
    await waitFor(page, "#proposals table");
    out.governancePage = await page.textContent("main");

    await page.goto(args.url + "/#/held");
    await waitFor(page, "#held");
    out.heldPage = await page.textContent("main");

    await page.goto(args.url + "/#/validators");
    await waitFor(page, "#validators table");
    out.validatorsPage = await page.textContent("main");
    await page.screenshot({ path: `${args.screenshots}/validators.png`, fullPage: true });
    out.pageErrors = errors;
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(out));
}

main().catch((error) => { console.error(error); process.exit(1); });

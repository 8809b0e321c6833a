// Opens the explorer's review-queue page in headless Chromium, logs in as an operator with password
// and a TOTP code computed here (RFC 6238, so the code is fresh however long the browser took to
// start), and prints the page's text before and after as JSON (tests/node/screening/test_held_page.py).
// argv[2]: {"url", "executable", "operator", "password", "totpSecret"}
"use strict";
const crypto = require("crypto");
const { chromium } = require("playwright-core");

function base32(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of text.replace(/=+$/, "").toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

function totp(secret) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30)));
  const mac = crypto.createHmac("sha1", base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1000000).padStart(6, "0");
}

async function main() {
  const args = JSON.parse(process.argv[2]);
  const browser = await chromium.launch({ executablePath: args.executable, args: ["--no-sandbox"] });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (error) => errors.push(String(error)));
    await page.goto(args.url + "/#/held", { waitUntil: "load" });
    await page.waitForSelector("#login", { timeout: 10000 });
    const loggedOut = await page.textContent("main");
    await page.fill("#login input[name=operator]", args.operator);
    await page.fill("#login input[name=password]", args.password);
    await page.fill("#login input[name=totp]", totp(args.totpSecret));
    await page.click("#login button[type=submit]");
    await page.waitForSelector("#held table", { timeout: 10000 });
    const heldPage = await page.textContent("main");
    await page.click("#logout");
    await page.waitForSelector("#login", { timeout: 10000 });
    console.log(JSON.stringify({ loggedOut, heldPage, afterLogout: await page.textContent("main"), pageErrors: errors }));
  } finally {
    await browser.close();
  }
}

main().catch((error) => { console.error(error); process.exit(1); });

// QENEX explorer: a hash-routed page over the node's own JSON-RPC and /ws/blocks.
// Amounts stay strings (the node sends decimal strings and formatted text); quantities in hex
// are shown through BigInt, never through JavaScript numbers that lose precision past 2^53.
"use strict";

const LIVE_ROWS = 20;
const JOURNAL_PAGE = 20;
const view = document.getElementById("view");
const live = document.getElementById("live");
const recentBlocks = [];  // newest first, at most LIVE_ROWS
let validatorNames = {};

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value !== null && value !== undefined) node.setAttribute(key, value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function link(href, text, cls) { return el("a", {href, class: cls || "hash"}, text); }
function dec(hex) { return hex === null || hex === undefined ? "" : BigInt(hex).toString(); }
function when(hexSeconds) { return new Date(Number(BigInt(hexSeconds)) * 1000).toISOString().replace(".000Z", "Z"); }
function short(hash) { return hash.slice(0, 10) + "…" + hash.slice(-8); }
function who(address) {
  const name = validatorNames[address.toLowerCase()];
  return name ? `${name} (${short(address)})` : address;
}
function amount(formatted, currency) { return `${formatted} ${currency}`; }

// Pages that name customers (the review queue) need an operator session: POST /admin/login with
// password and authenticator code gives a short-lived token, kept for this tab only.
const UNAUTHORIZED = -32010;
const SESSION_KEY = "qenex.session";
let session = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");  // {token, operator, role}

class RpcError extends Error {
  constructor(method, error) { super(`${method}: ${error.message}`); this.code = error.code; }
}

function setSession(value) {
  session = value;
  if (value) sessionStorage.setItem(SESSION_KEY, JSON.stringify(value));
  else sessionStorage.removeItem(SESSION_KEY);
}

async function rpc(method, ...params) {
  const headers = {"Content-Type": "application/json"};
  if (session) headers.Authorization = `Bearer ${session.token}`;
  const response = await fetch("/", {
    method: "POST", headers, body: JSON.stringify({jsonrpc: "2.0", id: 1, method, params}),
  });
  const body = await response.json();
  if (body.error) {
    if (body.error.code === UNAUTHORIZED && session) setSession(null);  // expired or revoked: log in again
    throw new RpcError(method, body.error);
  }
  return body.result;
}

function loginForm(what) {
  const message = el("p", {id: "login-message"}, `${what} needs an operator login (password and authenticator code).`);
  const input = (name, label, attrs) => el("label", {}, label, " ", el("input", {name, required: "", ...attrs}));
  const form = el("form", {id: "login"},
    input("operator", "Operator", {autocomplete: "username"}),
    input("password", "Password", {type: "password", autocomplete: "current-password"}),
    input("totp", "Code", {inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]{6}", maxlength: "6"}),
    el("button", {type: "submit"}, "Log in"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const response = await fetch("/admin/login", {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify(Object.fromEntries(new FormData(form))),
    });
    const body = await response.json();
    if (!response.ok) {
      message.textContent = `Login refused: ${body.error}`;
      return;
    }
    setSession({token: body.token, operator: body.operator, role: body.role});
    route();
  });
  return el("div", {}, message, form);
}

function sessionLine() {
  if (!session) return null;
  const logout = el("button", {type: "button", id: "logout"}, "Log out");
  logout.addEventListener("click", async () => {
    await fetch("/admin/logout", {method: "POST", headers: {Authorization: `Bearer ${session.token}`}});
    setSession(null);
    route();
  });
  return el("p", {id: "session"}, `Logged in as ${session.operator} (${session.role}) `, logout);
}

function show(...sections) { view.replaceChildren(...sections); }
function section(title, ...content) { return el("section", {}, el("h1", {}, title), ...content); }
function fields(pairs) {
  return el("dl", {}, pairs.filter(p => p).map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}
function table(headers, rows, numeric) {
  numeric = numeric || [];
  return el("table", {},
    el("thead", {}, el("tr", {}, headers.map((h, i) => el("th", {class: numeric.includes(i) ? "num" : null}, h)))),
    el("tbody", {}, rows.map(r => el("tr", {}, r.map((c, i) => el("td", {class: numeric.includes(i) ? "num" : null}, c))))));
}

// --- home: live blocks and transactions -----------------------------------------------------

function renderHome() {
  const blockRows = recentBlocks.map(b => [
    link(`#/block/${dec(b.number)}`, dec(b.number), "block-number"),
    link(`#/block/${b.hash}`, short(b.hash)),
    String(b.transactionCount),
    who(b.proposer),
    when(b.timestamp),
  ]);
  const txRows = [];
  for (const b of recentBlocks) {
    for (const h of b.transactions) txRows.push([link(`#/tx/${h}`, h), link(`#/block/${dec(b.number)}`, dec(b.number))]);
  }
  show(el("div", {class: "grid"},
    section("Latest blocks", el("div", {id: "latest-blocks"},
      table(["Block", "Hash", "Txs", "Proposer", "Time (UTC)"], blockRows, [0, 2]))),
    section("Latest transactions", el("div", {id: "latest-transactions"},
      txRows.length ? table(["Transaction", "Block"], txRows.slice(0, LIVE_ROWS)) : el("p", {}, "No transactions in the latest blocks.")))));
}

function addBlock(summary) {
  if (recentBlocks.length && BigInt(summary.number) <= BigInt(recentBlocks[0].number)) return;
  recentBlocks.unshift(summary);
  recentBlocks.length = Math.min(recentBlocks.length, LIVE_ROWS);
  if (currentRoute().name === "home") renderHome();
}

function connectLive() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}/ws/blocks`);
  socket.onopen = () => { live.textContent = "live"; live.classList.add("on"); };
  socket.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (event.type === "block") addBlock(event.block);
  };
  socket.onclose = () => {
    live.textContent = "reconnecting"; live.classList.remove("on");
    setTimeout(connectLive, 2000);
  };
}

// --- detail pages -----------------------------------------------------------------------------

async function renderBlock(id) {
  const block = /^[0-9]+$/.test(id)
    ? await rpc("eth_getBlockByNumber", "0x" + BigInt(id).toString(16), true)
    : await rpc("eth_getBlockByHash", id, true);
  if (!block) return notFound(`block ${id}`);
  const txRows = block.transactions.map(t => [
    link(`#/tx/${t.hash}`, t.hash), link(`#/address/${t.from}`, t.from), transactionSummary(t),
  ]);
  show(section(`Block ${dec(block.number)}`, fields([
    ["Hash", el("span", {class: "hash"}, block.hash)],
    ["Parent", link(`#/block/${block.parentHash}`, block.parentHash)],
    ["Time (UTC)", when(block.timestamp)],
    ["Proposer", link(`#/address/${block.miner}`, who(block.miner))],
    ["State root", el("span", {class: "hash"}, block.stateRoot)],
    ["Transactions", String(block.transactions.length)],
  ])),
  section(`Commit signatures (${block.commit.length})`,
    block.commit.length ? el("ol", {class: "hash", id: "commit"}, block.commit.map(s => el("li", {}, s)))
      : el("p", {}, "Genesis has no commit.")),
  section("Transactions", txRows.length ? table(["Hash", "Signer", "What"], txRows) : el("p", {}, "None.")));
}

// Ledger transactions (0x51) carry transfers and chain actions (0x52) an action; every other
// type is an Ethereum transaction run in the EVM.
function isEthereum(tx) { return tx.transfers === undefined; }
function wei(hex) { return `${dec(hex)} wei`; }
function transactionSummary(t) {
  if (!isEthereum(t)) {
    return t.transfers.length ? t.transfers.map(x => amount(x.amountFormatted, x.currency)).join(", ") : "chain action";
  }
  const target = t.to ? `call to ${short(t.to)}` : "contract creation";
  return BigInt(t.value) ? `${target}, ${wei(t.value)}` : target;
}

async function renderTransaction(hash) {
  const [tx, receipt, booked] = await Promise.all([rpc("eth_getTransactionByHash", hash),
    rpc("eth_getTransactionReceipt", hash), rpc("qenex_getTransactionPostings", hash)]);
  if (!tx) return notFound(`transaction ${hash}`);
  const ethereum = isEthereum(tx);
  const failure = booked && booked.error ? `${booked.error.rule}: ${booked.error.message}`
    : ethereum ? "reverted" : "failed";
  const status = !receipt ? el("span", {}, "pending (in the mempool)")
    : receipt.status === "0x1" ? el("span", {class: "ok"}, "success")
    : el("span", {class: "bad"}, `failed: ${failure}`);
  const refs = tx.references || {};
  const postings = booked ? booked.postings.map(p => [
    p.kind, link(`#/account/${encodeURIComponent(p.debitAccountId)}`, p.debitAccountId, "account"),
    link(`#/account/${encodeURIComponent(p.creditAccountId)}`, p.creditAccountId, "account"),
    amount(p.amountFormatted, p.currency), el("span", {class: "hash"}, p.transferId),
  ]) : [];
  const common = [
    ["Hash", el("span", {class: "hash", id: "tx-hash"}, tx.hash)],
    ["Type", ethereum ? `${dec(tx.type)} (Ethereum transaction, run in the EVM)` : `${tx.type} (ledger transaction)`],
    ["Status", status],
    ["Signer", link(`#/address/${tx.from}`, tx.from)],
    ["Nonce", dec(tx.nonce)],
    ["Block", tx.blockNumber ? link(`#/block/${dec(tx.blockNumber)}`, dec(tx.blockNumber)) : "pending"],
  ];
  const specific = ethereum ? [
    ["To", tx.to ? link(`#/address/${tx.to}`, tx.to) : "— (contract creation)"],
    receipt && receipt.contractAddress ? ["Contract created", link(`#/address/${receipt.contractAddress}`, receipt.contractAddress)] : null,
    ["Value", wei(tx.value)],
    ["Gas used / limit", `${receipt ? dec(receipt.gasUsed) : "—"} / ${dec(tx.gas)}`],
    ["Input", el("span", {class: "hash"}, tx.input.length > 74 ? tx.input.slice(0, 74) + "…" : tx.input)],
  ] : [
    ["End-to-end id", refs.endToEndId || "—"],
    ["UETR", refs.uetr || "—"],
    ["Gateway message hash", refs.messageHash || "—"],
    receipt && receipt.screening ? ["Screening", `${receipt.screening.verdict} (score ${receipt.screening.scorePpm} ppm)`] : null,
  ];
  const sections = [section("Transaction", el("div", {id: ethereum ? "evm" : "ledger"}, fields([...common, ...specific]))),
    section("Ledger postings", postings.length
      ? el("div", {id: "postings"}, table(["Kind", "Debit", "Credit", "Amount", "Transfer"], postings, [3]))
      : el("p", {}, !receipt ? "Not booked yet." : ethereum ? "None (this call moved no ledger money)." : "No postings (the transaction failed)."))];
  if (ethereum && receipt) {
    const events = await rpc("qenex_getTransactionEvents", hash) || [];
    const rows = events.map(e => [dec(e.index),
      [link(`#/address/${e.address}`, short(e.address)), e.decoded && e.decoded.token ? ` (${e.decoded.token} token)` : ""],
      e.decoded ? el("span", {class: "event"}, `${e.decoded.event}(${Object.entries(e.decoded.args).map(([k, v]) => `${k}: ${v}`).join(", ")})`)
        : el("span", {class: "hash"}, `topic ${e.topics[0] || "—"}, data ${e.data.length > 66 ? e.data.slice(0, 66) + "…" : e.data}`)]);
    sections.push(section(`Events (${rows.length})`, rows.length
      ? el("div", {id: "logs"}, table(["#", "Contract", "Event"], rows)) : el("p", {}, "None.")));
  }
  show(...sections);
}

async function renderAccount(id) {
  const account = await rpc("qenex_getAccount", id);
  if (!account) return notFound(`account ${id}`);
  const journal = el("div", {id: "journal"});
  show(section(`Account ${account.id}`, fields([
    ["Owner", link(`#/address/${account.owner}`, account.owner)],
    ["Currency", account.currency],
    ["Status", account.status],
    ["Balance", el("span", {id: "balance"}, amount(account.balanceFormatted, account.currency))],
    ["Available", amount(account.availableFormatted, account.currency)],
    ["Flags", Object.entries(account.flags).filter(([, on]) => on).map(([k]) => k).join(", ") || "none"],
    ["Overdraft limit (minor units)", account.overdraftLimit],
  ])), section("Journal", journal));
  await journalPage(account, journal, null);
}

async function journalPage(account, container, cursor) {
  const page = await rpc("qenex_getJournal", account.id, {limit: JOURNAL_PAGE, cursor, order: "desc"});
  const rows = page.entries.map(e => {
    const p = e.posting;
    const debit = p.debitAccountId === account.id;
    return [link(`#/block/${dec(e.blockNumber)}`, dec(e.blockNumber)),
      e.transactionHash ? link(`#/tx/${e.transactionHash}`, short(e.transactionHash)) : "—", p.kind,
      debit ? "debit" : "credit", debit ? p.creditAccountId : p.debitAccountId, amount(p.amountFormatted, p.currency)];
  });
  container.querySelector("button.more")?.remove();
  container.append(rows.length ? table(["Block", "Transaction", "Kind", "Side", "Counterparty", "Amount"], rows, [5])
    : el("p", {}, cursor ? "No older entries." : "No entries."));
  if (page.nextCursor) {
    const more = el("button", {class: "more"}, "Older entries");
    more.onclick = () => journalPage(account, container, page.nextCursor);
    container.append(more);
  }
}

async function renderAddress(address) {
  const [accounts, nonce] = await Promise.all([rpc("qenex_getBalances", address), rpc("eth_getTransactionCount", address, "latest")]);
  const rows = accounts.map(a => [link(`#/account/${encodeURIComponent(a.id)}`, a.id, "account"), a.currency, a.status,
    amount(a.balanceFormatted, a.currency)]);
  show(section(`Address ${who(address)}`, fields([["Transactions sent (nonce)", dec(nonce)]])),
    section("Accounts", rows.length ? table(["Account", "Currency", "Status", "Balance"], rows, [3]) : el("p", {}, "No accounts.")));
}

async function renderValidators() {
  const stats = await rpc("qenex_getValidatorStats", 100);
  const rows = stats.validators.map(v => [v.name, link(`#/address/${v.address}`, v.address), v.votingPower,
    v.lastSignedHeight ? dec(v.lastSignedHeight) : "never", String(v.signedBlocks), String(v.missedBlocks),
    String(v.proposedBlocks), `${v.uptime}%`]);
  show(section(`Validators (blocks ${dec(stats.fromBlock)}–${dec(stats.toBlock)})`, el("div", {id: "validators"},
    table(["Name", "Address", "Voting power", "Last signed", "Signed", "Missed", "Proposed", "Uptime"], rows, [2, 3, 4, 5, 6, 7]))));
}

function describeChange(p) {
  if (p.grant) return `${p.change === "grant_role" ? "grant" : "revoke"} ${p.grant.role} to ${short(p.grant.holder)} over ${p.grant.namespace}`;
  if (p.param) return `set ${p.param.name} = ${p.param.value}`;
  if (p.node) return `${p.change === "register_node" ? "register" : "revoke"} node ${short(p.node.address)}`;
  if (p.screeningModel) return `pin screening model ${p.screeningModel.sha256.slice(0, 16)}…`;
  return p.change;
}

async function renderGovernance() {
  const [roles, proposals] = await Promise.all([rpc("qenex_getRoles"), rpc("qenex_getProposals")]);
  const rows = proposals.map(p => [el("span", {class: "hash"}, short(p.id)), describeChange(p),
    link(`#/address/${p.proposer}`, short(p.proposer)), `${p.votesFor} / ${p.votesTotal}`, String(p.deadline),
    p.executedIn ? `${p.status} (block ${p.executedIn})` : p.status]);
  const governors = roles.governors.map(g => [link(`#/address/${g.holder}`, g.holder), String(g.votes)]);
  show(section(`Governance proposals (${rows.length})`, el("div", {id: "proposals"}, rows.length
      ? table(["Proposal", "Change", "Proposer", "Votes for / total", "Deadline", "Status"], rows, [3, 4])
      : el("p", {}, "No proposals yet."))),
    section("Governors", table(["Governor", "Votes"], governors, [1])),
    el("p", {}, "A change executes when governors holding more than 2/3 of the votes approve before the deadline (docs/security.md)."));
}

async function renderHeld() {
  let held;
  try {
    held = await rpc("qenex_getHeldTransactions");
  } catch (error) {
    const content = error.code === UNAUTHORIZED ? loginForm("The review queue") : error.message;
    return show(section("Held for compliance review", el("div", {id: "held"}, content), sessionLine()));
  }
  const rows = held.map(h => [link(`#/address/${h.sender}`, short(h.sender)), el("span", {class: "hash"}, h.hash),
    String(h.nonce), String(h.screening.scorePpm), h.screening.topFeatures.join(", ") || "—",
    when("0x" + h.heldAt.toString(16)), when("0x" + h.expiresAt.toString(16))]);
  show(section(`Held for compliance review (${held.length})`, sessionLine(), el("div", {id: "held"}, rows.length
    ? table(["Sender", "Transaction", "Nonce", "Score (ppm)", "Top features", "Held (UTC)", "Expires (UTC)"], rows, [2, 3])
    : el("p", {}, "Nothing is held on this node."))),
    el("p", {}, "A compliance officer releases or rejects with `qenex fraud review TXHASH release|reject`; the decision goes on chain."));
}

function notFound(what) { show(section("Not found", el("p", {class: "error"}, `No ${what} on this chain.`))); }

// --- search and routing ---------------------------------------------------------------------

async function search(query) {
  const q = query.trim();
  if (/^[0-9]+$/.test(q)) return `#/block/${q}`;
  if (/^0x[0-9a-fA-F]{64}$/.test(q)) {
    if (await rpc("eth_getBlockByHash", q, false)) return `#/block/${q}`;
    return `#/tx/${q}`;
  }
  if (/^0x[0-9a-fA-F]{40}$/.test(q)) return `#/address/${q}`;
  return `#/account/${encodeURIComponent(q)}`;  // the node normalises IBAN spacing and case
}

function currentRoute() {
  const parts = location.hash.replace(/^#\/?/, "").split("/");
  const arg = decodeURIComponent(parts.slice(1).join("/"));
  return {name: parts[0] || "home", arg};
}

async function route() {
  const {name, arg} = currentRoute();
  try {
    if (name === "home") return renderHome();
    if (name === "block") return await renderBlock(arg);
    if (name === "tx") return await renderTransaction(arg);
    if (name === "account") return await renderAccount(arg);
    if (name === "address") return await renderAddress(arg);
    if (name === "validators") return await renderValidators();
    if (name === "held") return await renderHeld();
    if (name === "governance") return await renderGovernance();
    notFound(`page ${location.hash}`);
  } catch (error) {
    show(section("Error", el("p", {class: "error"}, error.message)));
  }
}

document.getElementById("search").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("search-input");
  try {
    location.hash = await search(input.value);
  } catch (error) {
    show(section("Error", el("p", {class: "error"}, error.message)));
  }
});

window.addEventListener("hashchange", route);

(async () => {
  try {
    const info = await rpc("qenex_getChainInfo");
    validatorNames = Object.fromEntries(info.validators.map(v => [v.address.toLowerCase(), v.name]));
  } catch (error) { /* names are a nicety; the page works without them */ }
  connectLive();
  route();
})();

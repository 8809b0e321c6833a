// ethers.js v6 against a QENEX node with no special cases: a value transfer, a contract deploy,
// a call, and a log subscription over WebSocket. Prints one JSON line of what it saw.
// usage: node smoke.mjs HTTP_URL WS_URL PRIVATE_KEY ARTIFACT_JSON
import { readFileSync } from "node:fs";
import { ContractFactory, JsonRpcProvider, Wallet, WebSocketProvider, Contract } from "ethers";

const [httpUrl, wsUrl, key, artifactPath] = process.argv.slice(2);
const artifact = JSON.parse(readFileSync(artifactPath, "utf8"));
const provider = new JsonRpcProvider(httpUrl);
const wallet = new Wallet(key, provider);
const out = {};

const network = await provider.getNetwork();
out.chainId = Number(network.chainId);

const payee = Wallet.createRandom().address;
const sent = await wallet.sendTransaction({ to: payee, value: 12345n });
const sentReceipt = await sent.wait();
out.transferStatus = sentReceipt.status;
out.payeeBalance = (await provider.getBalance(payee)).toString();

const factory = new ContractFactory(artifact.abi, artifact.bytecode, wallet);
const token = await factory.deploy("Euro", "EUR", 2);
await token.waitForDeployment();
out.tokenAddress = await token.getAddress();
out.symbol = await token.symbol();
out.decimals = Number(await token.decimals());

const ws = new WebSocketProvider(wsUrl);
const watched = new Contract(out.tokenAddress, artifact.abi, ws);
const seen = new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error("no Transfer event within 20 s")), 20000);
  watched.on("Transfer", (from, to, value) => {
    clearTimeout(timer);
    resolve({ to, value: value.toString() });
  });
});
await new Promise((r) => setTimeout(r, 500)); // let the subscription reach the node
const mint = await token.mint(payee, 777n);
await mint.wait();
out.event = await seen;
out.balance = (await token.balanceOf(payee)).toString();
await watched.removeAllListeners();
await ws.destroy();
console.log(JSON.stringify(out));
process.exit(0);

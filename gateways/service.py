"""`qenex gateway serve`: the gateway as a REST service (aiohttp) in front of a node's JSON-RPC,
and optionally the watcher of a drop folder (`--inbox DIR`, gateways/inbox.py).

Legacy systems that cannot run a CLI post their messages over HTTP instead: POST a message, get back
either the problems (nothing booked) or each payment's outcome with its transaction hash and the
pacs.002 answering it; GET a statement of an account over a block range. The OpenAPI description of
all of it is served at GET /openapi.json.

Like the CLI, the service reaches the node only through its public JSON-RPC, signs with the gateway's
own key, and is idempotent: transfer ids come from the messages, so a message posted twice is booked
once. Submissions run one at a time (one key, one nonce sequence) in a worker thread, so the event
loop keeps answering reads while a submission waits for its receipts. Every request body is bounded.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from gateways.iso20022.status import DEFAULT_PACS002_VERSION
from gateways.pii_delivery import Sealer
from gateways.problems import MessageError
from gateways.rpc import KeepAliveRpcClient
from gateways.statements import FORMATS, StatementError, fetch_statement, statement_bics, to_camt053, to_mt
from gateways.submit import GatewayError, PersonalDataNotSealed, Submitter, status_report
from ledger.hashing import keccak

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024  # the ISO 20022 parser's own limit is 8 MiB; files are far smaller
MAX_REMEMBERED = 10_000  # submissions whose status GET /messages/{hash} can return
WAIT_SECONDS = 60.0
MEDIA = {"mt940": "text/plain", "mt950": "text/plain", "camt053": "application/xml"}


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    rpc_url: str
    key: bytes
    account_map: dict[str, str] | None = None
    pacs002_version: str = DEFAULT_PACS002_VERSION
    host: str = "127.0.0.1"
    port: int = 8650
    max_body_bytes: int | None = None
    inbox: Path | None = None  # a drop folder watched as well (gateways/inbox.py)
    poll_seconds: float = 1.0
    require_login: bool = False  # operator session checked at the node (gateways/operator_login.py)
    sealer: Sealer | None = None  # personal data sealed and handed to the node first (gateways/pii_delivery.py)


def _problems_json(error: MessageError) -> dict[str, Any]:
    return {"problems": [{"path": p.path, "rule": p.rule, "found": p.found} for p in error.problems]}


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class GatewayService:
    """The request handlers and the little state they share (the submitter and recent submissions)."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.submitter = Submitter(KeepAliveRpcClient(config.rpc_url), config.key, config.account_map, config.sealer)
        self.lock = asyncio.Lock()
        self.reader = KeepAliveRpcClient(config.rpc_url)  # statements: apart from the submitter's connection
        self.recent: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.config.max_body_bytes or DEFAULT_MAX_BODY_BYTES)
        if self.config.require_login:
            from gateways.operator_login import install

            install(app, self.config.rpc_url)
        app.router.add_get("/openapi.json", self.openapi)
        app.router.add_post("/messages", self.post_message)
        app.router.add_get("/messages/{hash}", self.get_message)
        app.router.add_get("/messages/{hash}/pacs002", self.get_status_report)
        app.router.add_get("/statements/{account}", self.get_statement)
        return app

    async def openapi(self, request: web.Request) -> web.Response:
        from gateways.openapi import document

        return web.json_response(document(self.config.max_body_bytes or DEFAULT_MAX_BODY_BYTES))

    async def post_message(self, request: web.Request) -> web.Response:
        wait = request.query.get("wait", "true").lower() not in ("0", "false", "no")
        try:
            data = await request.read()
        except web.HTTPRequestEntityTooLarge:
            limit = self.config.max_body_bytes or DEFAULT_MAX_BODY_BYTES
            return _error(413, f"message larger than {limit} bytes")
        if not data:
            return _error(400, "empty body: POST the message file's bytes")
        message_hash = "0x" + keccak(data).hex()
        async with self.lock:
            try:
                outcomes = await asyncio.to_thread(self.submitter.submit, data, wait, WAIT_SECONDS)
            except MessageError as error:
                return web.json_response({"messageHash": message_hash, **_problems_json(error)}, status=422)
            except PersonalDataNotSealed as error:
                return web.json_response({"messageHash": message_hash, "error": str(error)}, status=422)
            except GatewayError as error:
                return _error(502, str(error))
        report = status_report(data, outcomes, self.config.pacs002_version)
        result = {
            "messageHash": message_hash,
            "ok": all(o.ok for o in outcomes),
            "payments": [{"state": o.state, **o.line()} for o in outcomes],
            "statusReport": report.decode(),
        }
        if self.submitter.sealed is not None:
            result["personalData"] = self.submitter.sealed
        self.recent[message_hash] = result
        self.recent.move_to_end(message_hash)
        while len(self.recent) > MAX_REMEMBERED:
            self.recent.popitem(last=False)
        return web.json_response(result, status=200 if result["ok"] else 409)

    def _remembered(self, request: web.Request) -> dict[str, Any] | None:
        return self.recent.get(request.match_info["hash"].lower())

    async def get_message(self, request: web.Request) -> web.Response:
        result = self._remembered(request)
        if result is None:
            return _error(404, "no message with this hash was submitted to this service since it started")
        return web.json_response(result)

    async def get_status_report(self, request: web.Request) -> web.Response:
        result = self._remembered(request)
        if result is None:
            return _error(404, "no message with this hash was submitted to this service since it started")
        return web.Response(text=result["statusReport"], content_type="application/xml")

    async def get_statement(self, request: web.Request) -> web.Response:
        query = request.query
        kind = query.get("format", "camt053").replace("camt.053", "camt053")
        if kind not in FORMATS:
            return _error(400, f"format must be one of {', '.join(FORMATS)}")
        try:
            from_block = int(query.get("fromBlock", "0"))
            to_block = int(query["toBlock"]) if "toBlock" in query else None
        except ValueError:
            return _error(400, "fromBlock and toBlock must be integers")
        client = self.reader
        try:
            statement = await asyncio.to_thread(
                fetch_statement, client, request.match_info["account"], from_block, to_block
            )
            if kind == "camt053":
                body = to_camt053(statement)
            else:
                sender, receiver = statement_bics(statement.account_id, query.get("bic"), query.get("receiverBic"))
                body = to_mt(statement, kind[2:], sender, receiver)
        except StatementError as error:
            status = 404 if "does not exist" in str(error) else 400
            return _error(status, str(error))
        except MessageError as error:
            return web.json_response(_problems_json(error), status=500)
        return web.Response(body=body, content_type=MEDIA[kind])


async def watch_inbox(service: GatewayService, directory: Path, stop: asyncio.Event) -> None:
    """Process the drop folder every poll interval, one file per turn of the submission lock, so REST
    submissions interleave with a large delivery instead of waiting for all of it."""
    from gateways.inbox import Inbox

    def log(text: str) -> None:
        print(f"inbox: {text}", file=sys.stderr, flush=True)

    inbox = Inbox(directory, service.submitter, service.config.pacs002_version, log=log)
    while not stop.is_set():
        for path in await asyncio.to_thread(inbox.pending):
            async with service.lock:
                result = await asyncio.to_thread(inbox.process, path)
            if not result.folder:  # node unreachable: try again at the next scan
                break
        try:
            await asyncio.wait_for(stop.wait(), service.config.poll_seconds)
        except TimeoutError:
            continue


async def serve(config: ServiceConfig) -> None:
    """Run until SIGINT/SIGTERM; prints `Gateway REST: URL` once listening (and `Gateway inbox: DIR`)."""
    service = GatewayService(config)
    runner = web.AppRunner(service.app(), access_log=None, handle_signals=False)
    await runner.setup()
    stop = asyncio.Event()
    watcher: asyncio.Task | None = None
    try:
        site = web.TCPSite(runner, config.host, config.port, reuse_address=True)
        await site.start()
        port = runner.addresses[0][1] if runner.addresses else config.port
        print(f"Gateway REST: http://{config.host}:{port}", flush=True)
        if config.inbox is not None:
            watcher = asyncio.get_running_loop().create_task(watch_inbox(service, config.inbox, stop))
            print(f"Gateway inbox: {config.inbox}", flush=True)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        if watcher is not None:
            await watcher  # finishes the file in hand: its outcome is written before we exit
    finally:
        await runner.cleanup()


def run(config: ServiceConfig) -> int:
    try:
        asyncio.run(serve(config))
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0

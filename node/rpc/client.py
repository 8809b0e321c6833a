"""A small synchronous JSON-RPC client for the CLI (stdlib only, so `qenex tx` starts fast)."""

from __future__ import annotations

import itertools
import json
import urllib.error
import urllib.request
from typing import Any

DEFAULT_RPC_URL = "http://127.0.0.1:8545"


class RpcCallError(RuntimeError):
    def __init__(self, method: str, error: dict) -> None:
        data = error.get("data")
        detail = f" ({data})" if data else ""
        super().__init__(f"{method}: {error.get('message')}{detail}")
        self.code = error.get("code")
        self.data = data


class RpcClient:
    def __init__(
        self, url: str = DEFAULT_RPC_URL, timeout: float = 30.0, headers: dict[str, str] | None = None
    ) -> None:
        """`headers`: credentials for authenticated methods (node/rpc/auth.py home_credentials)."""
        self.url = url
        self.timeout = timeout
        self.headers = {"Content-Type": "application/json", **(headers or {})}
        self._ids = itertools.count(1)

    def _post(self, payload: object) -> Any:
        request = urllib.request.Request(self.url, data=json.dumps(payload).encode(), headers=self.headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:  # 401/403/429 carry a JSON-RPC error naming the refusal
            try:
                return json.loads(exc.read())
            except ValueError:
                raise ConnectionError(f"the node at {self.url} answered HTTP {exc.code}") from None
        except urllib.error.URLError as exc:
            raise ConnectionError(
                f"cannot reach the node at {self.url} ({exc.reason}); is `qenex node run` running? (--rpc URL)"
            ) from None

    def call(self, method: str, *params: object) -> Any:
        reply = self._post({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)})
        if "error" in reply:
            raise RpcCallError(method, reply["error"])
        return reply["result"]

    def batch(self, calls: list[tuple[str, list]]) -> list[dict]:
        """Send several calls in one request; returns the raw responses in call order."""
        first = next(self._ids)
        payload = [{"jsonrpc": "2.0", "id": first + i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
        for _ in range(len(calls) - 1):
            next(self._ids)
        replies = self._post(payload)
        if isinstance(replies, dict):
            raise RpcCallError("batch", replies.get("error", {}))
        by_id = {reply.get("id"): reply for reply in replies}
        return [by_id[first + i] for i in range(len(calls))]

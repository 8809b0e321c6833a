"""The gateway's JSON-RPC client: the node's RpcClient over one kept-alive HTTP connection.

A gateway makes a few calls per payment (nonce, duplicate check, send, receipt); the stdlib client the
CLI uses opens a TCP connection per call, which costs more than the call itself on a busy node. The
service and the inbox keep one connection open (http.client, reconnecting once when the node closed
it) and otherwise behave exactly like `node.rpc.client.RpcClient`: same errors, same results.
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
from typing import Any

from node.rpc.client import RpcClient

MAX_REPLY_BYTES = 64 * 1024 * 1024  # the node's replies are bounded; a runaway one is not read whole


class KeepAliveRpcClient(RpcClient):
    """RpcClient on one persistent connection; a lock keeps concurrent callers' requests apart."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        super().__init__(url, timeout)
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"--rpc {url!r} is not an http(s) URL")
        self._https = parsed.scheme == "https"
        self._host, self._port = parsed.hostname, parsed.port
        self._path = parsed.path or "/"
        self._connection: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def _connect(self) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        return kind(self._host, self._port, timeout=self.timeout)

    def _exchange(self, body: bytes) -> bytes:
        if self._connection is None:
            self._connection = self._connect()
        self._connection.request("POST", self._path, body, {"Content-Type": "application/json"})
        response = self._connection.getresponse()
        data = response.read(MAX_REPLY_BYTES + 1)
        if len(data) > MAX_REPLY_BYTES:
            raise ConnectionError(f"reply from {self.url} larger than {MAX_REPLY_BYTES} bytes")
        return data

    def _post(self, payload: object) -> Any:
        body = json.dumps(payload).encode()
        with self._lock:
            for attempt in (1, 2):
                try:
                    return json.loads(self._exchange(body))
                except (http.client.HTTPException, OSError) as error:
                    # The node closes idle keep-alive connections; one fresh connection is tried.
                    if self._connection is not None:
                        self._connection.close()
                    self._connection = None
                    if attempt == 2:
                        raise ConnectionError(
                            f"cannot reach the node at {self.url} ({error}); is `qenex node run` running? (--rpc URL)"
                        ) from None
        raise AssertionError("unreachable")

"""Views that graphql-core's default resolver walks: attributes, or methods called with arguments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLResolveInfo

MAX_BLOCK_RANGE = 100  # blocks(from, to) returns at most this many

Call = Callable[..., Any]


class QueryError(Exception):
    """A bad argument or a refused lookup; becomes a GraphQL error with this message."""


def _int(hex_text: str | None) -> int | None:
    return None if hex_text is None else int(hex_text, 16)


class Api:
    """Calls a JSON-RPC method by name with positional params, as a client would."""

    def __init__(self, table: dict[str, Call]) -> None:
        self.table = table

    def __call__(self, method: str, *params: object) -> Any:
        from node.rpc.errors import RpcError

        try:
            return self.table[method](list(params))
        except RpcError as error:
            raise QueryError(error.message) from None


class AccountView:
    def __init__(self, api: Api, address: str) -> None:
        self.api, self.address = api, address

    def transactionCount(self, info: GraphQLResolveInfo) -> int:  # noqa: N802 - EIP-1767 field name
        return int(self.api("eth_getTransactionCount", self.address, "latest"), 16)

    def ledgerAccounts(self, info: GraphQLResolveInfo) -> list[LedgerAccountView]:  # noqa: N802
        return [LedgerAccountView(self.api, a) for a in self.api("qenex_getBalances", self.address)]


class LedgerAccountView:
    def __init__(self, api: Api, data: dict) -> None:
        self.api = api
        self.id, self.currency, self.owner, self.status = data["id"], data["currency"], data["owner"], data["status"]
        self.debitsMustNotExceedCredits = data["flags"]["debitsMustNotExceedCredits"]
        self.creditsMustNotExceedDebits = data["flags"]["creditsMustNotExceedDebits"]
        self.balance, self.balanceFormatted = data["balance"], data["balanceFormatted"]
        self.available, self.availableFormatted = data["available"], data["availableFormatted"]

    def journal(self, info: GraphQLResolveInfo, first: int = 50, after: str | None = None) -> dict:
        page = self.api("qenex_getJournal", self.id, {"limit": first, "cursor": after, "order": "desc"})
        entries = [
            {"blockNumber": _int(e["blockNumber"]), "transactionHash": e["transactionHash"], "sequence": e["sequence"],
             "posting": e["posting"]}
            for e in page["entries"]
        ]  # fmt: skip
        return {"entries": entries, "nextCursor": page["nextCursor"]}


class TransactionView:
    def __init__(self, api: Api, data: dict) -> None:
        self.api, self.data = api, data
        self.hash, self.nonce, self.index = data["hash"], _int(data["nonce"]), _int(data["transactionIndex"])
        self.value, self.gasPrice, self.gas, self.inputData = data["value"], data["gasPrice"], 0, data["input"]
        self.type, self.transfers, self.references = _int(data["type"]), data["transfers"], data["references"]
        self.to = None
        setattr(self, "from", AccountView(api, data["from"]))  # a Python keyword, an EIP-1767 field
        self._receipt: dict | None = None

    def _receipt_json(self) -> dict | None:
        if self._receipt is None and self.data["blockHash"] is not None:
            self._receipt = self.api("eth_getTransactionReceipt", self.hash)
        return self._receipt

    def block(self, info: GraphQLResolveInfo) -> BlockView | None:
        number = self.data["blockNumber"]
        return None if number is None else BlockView(self.api, self.api("eth_getBlockByNumber", number, False))

    def status(self, info: GraphQLResolveInfo) -> int | None:
        receipt = self._receipt_json()
        return None if receipt is None else _int(receipt["status"])

    def gasUsed(self, info: GraphQLResolveInfo) -> int | None:  # noqa: N802
        return None if self._receipt_json() is None else 0

    def logs(self, info: GraphQLResolveInfo) -> list | None:
        return None if self._receipt_json() is None else []

    def postings(self, info: GraphQLResolveInfo) -> list[dict] | None:
        receipt = self._receipt_json()
        return None if receipt is None else receipt["postings"]


class BlockView:
    def __init__(self, api: Api, data: dict) -> None:
        self.api, self.data = api, data
        self.number, self.hash, self.nonce = _int(data["number"]), data["hash"], data["nonce"]
        self.transactionsRoot, self.stateRoot = data["transactionsRoot"], data["stateRoot"]
        self.receiptsRoot, self.extraData, self.logsBloom = data["receiptsRoot"], data["extraData"], data["logsBloom"]
        self.gasLimit, self.gasUsed = _int(data["gasLimit"]), _int(data["gasUsed"])
        self.baseFeePerGas, self.timestamp = data["baseFeePerGas"], _int(data["timestamp"])
        self.transactionCount, self.commit = len(data["transactions"]), data["commit"]
        self.miner = AccountView(api, data["miner"])

    def parent(self, info: GraphQLResolveInfo) -> BlockView | None:
        if self.number == 0:
            return None
        return BlockView(self.api, self.api("eth_getBlockByHash", self.data["parentHash"], False))

    def _full(self) -> list[dict]:
        return self.api("eth_getBlockByNumber", hex(self.number), True)["transactions"]

    def transactions(self, info: GraphQLResolveInfo) -> list[TransactionView]:
        return [TransactionView(self.api, t) for t in self._full()]

    def transactionAt(self, info: GraphQLResolveInfo, index: int) -> TransactionView | None:  # noqa: N802
        transactions = self._full()
        return TransactionView(self.api, transactions[index]) if 0 <= index < len(transactions) else None


class Root:
    def __init__(self, api: Api) -> None:
        self.api = api

    def _head(self) -> int:
        return int(self.api("eth_blockNumber"), 16)

    def block(self, info: GraphQLResolveInfo, number: int | None = None, hash: str | None = None) -> BlockView | None:
        if number is not None and hash is not None:
            raise QueryError("give number or hash, not both")
        if hash is not None:
            found = self.api("eth_getBlockByHash", hash, False)
        else:
            if number is not None and number < 0:
                raise QueryError("number must not be negative")
            found = self.api("eth_getBlockByNumber", "latest" if number is None else hex(number), False)
        return None if found is None else BlockView(self.api, found)

    def blocks(self, info: GraphQLResolveInfo, **args: int) -> list[BlockView]:
        start, head = args["from"], self._head()
        end = args.get("to") if args.get("to") is not None else head
        if end - start + 1 > MAX_BLOCK_RANGE:
            raise QueryError(f"a range holds at most {MAX_BLOCK_RANGE} blocks; narrow from..to")
        end = min(end, head)  # blocks not yet made are left out, as geth does
        return [BlockView(self.api, self.api("eth_getBlockByNumber", hex(n), False)) for n in range(start, end + 1)]

    def transaction(self, info: GraphQLResolveInfo, hash: str) -> TransactionView | None:
        found = self.api("eth_getTransactionByHash", hash)
        return None if found is None else TransactionView(self.api, found)

    def pending(self, info: GraphQLResolveInfo) -> dict:
        return {"transactionCount": int(self.api("qenex_mempoolStatus")["pending"], 16)}

    def logs(self, info: GraphQLResolveInfo, filter: dict) -> list:
        return []  # no EVM yet: ledger transactions emit no logs

    def gasPrice(self, info: GraphQLResolveInfo) -> str:  # noqa: N802
        return self.api("eth_gasPrice")

    def maxPriorityFeePerGas(self, info: GraphQLResolveInfo) -> str:  # noqa: N802
        return "0x0"

    def syncing(self, info: GraphQLResolveInfo) -> None:
        return None  # a node answering is at the tip it knows; /ready says whether peers are ahead

    def chainID(self, info: GraphQLResolveInfo) -> str:  # noqa: N802
        return self.api("eth_chainId")

    def account(self, info: GraphQLResolveInfo, address: str) -> AccountView:
        self.api("eth_getTransactionCount", address, "latest")  # validates the address
        return AccountView(self.api, address)

    def ledgerAccount(self, info: GraphQLResolveInfo, id: str) -> LedgerAccountView | None:  # noqa: N802
        found = self.api("qenex_getAccount", id)
        return None if found is None else LedgerAccountView(self.api, found)

// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title An m-of-n multi-signature wallet.
/// @notice Owners submit, confirm and revoke transactions; one with `threshold` confirmations
/// can be executed by any owner. Owners and threshold change only by a transaction of the wallet
/// to itself, so the same m-of-n rule guards the rule. Holds ERC-20 tokens (a transfer is a
/// transaction to the token) and the native coin.
contract MultiSig {
    struct Transaction {
        address to;
        uint256 value;
        bytes data;
        bool executed;
        uint256 confirmations;
    }

    uint256 public constant MAX_OWNERS = 50;
    address[] public owners;
    mapping(address => bool) public isOwner;
    uint256 public threshold;
    Transaction[] public transactions;
    mapping(uint256 => mapping(address => bool)) public confirmed;

    event Submitted(uint256 indexed id, address indexed owner, address indexed to, uint256 value, bytes data);
    event Confirmed(uint256 indexed id, address indexed owner);
    event Revoked(uint256 indexed id, address indexed owner);
    event Executed(uint256 indexed id);
    event OwnerAdded(address indexed owner);
    event OwnerRemoved(address indexed owner);
    event ThresholdChanged(uint256 threshold);
    event Deposit(address indexed from, uint256 value);

    error NotOwner(address caller);
    error OnlyWallet(address caller);
    error NoSuchTransaction(uint256 id);
    error AlreadyExecuted(uint256 id);
    error AlreadyConfirmed(uint256 id, address owner);
    error NotConfirmed(uint256 id, address owner);
    error NotEnoughConfirmations(uint256 id, uint256 confirmations, uint256 threshold);
    error ExecutionFailed(uint256 id, bytes reason);
    error InvalidThreshold(uint256 threshold, uint256 owners);

    modifier onlyOwner() {
        if (!isOwner[msg.sender]) revert NotOwner(msg.sender);
        _;
    }

    modifier onlyWallet() {
        if (msg.sender != address(this)) revert OnlyWallet(msg.sender);
        _;
    }

    modifier exists(uint256 id) {
        if (id >= transactions.length) revert NoSuchTransaction(id);
        _;
    }

    modifier notExecuted(uint256 id) {
        if (transactions[id].executed) revert AlreadyExecuted(id);
        _;
    }

    constructor(address[] memory owners_, uint256 threshold_) {
        require(owners_.length <= MAX_OWNERS, "too many owners");
        for (uint256 i = 0; i < owners_.length; i++) {
            _addOwner(owners_[i]);
        }
        _setThreshold(threshold_);
    }

    receive() external payable {
        emit Deposit(msg.sender, msg.value);
    }

    function ownerCount() external view returns (uint256) {
        return owners.length;
    }

    function transactionCount() external view returns (uint256) {
        return transactions.length;
    }

    /// Propose a call; the proposer's confirmation is counted.
    function submit(address to, uint256 value, bytes calldata data) external onlyOwner returns (uint256 id) {
        id = transactions.length;
        transactions.push(Transaction(to, value, data, false, 0));
        emit Submitted(id, msg.sender, to, value, data);
        confirm(id);
    }

    function confirm(uint256 id) public onlyOwner exists(id) notExecuted(id) {
        if (confirmed[id][msg.sender]) revert AlreadyConfirmed(id, msg.sender);
        confirmed[id][msg.sender] = true;
        transactions[id].confirmations += 1;
        emit Confirmed(id, msg.sender);
    }

    function revoke(uint256 id) external onlyOwner exists(id) notExecuted(id) {
        if (!confirmed[id][msg.sender]) revert NotConfirmed(id, msg.sender);
        confirmed[id][msg.sender] = false;
        transactions[id].confirmations -= 1;
        emit Revoked(id, msg.sender);
    }

    /// Run a confirmed transaction; if its call fails, nothing changes and it can be retried.
    function execute(uint256 id) external onlyOwner exists(id) notExecuted(id) {
        Transaction storage t = transactions[id];
        uint256 count = _liveConfirmations(id);
        if (count < threshold) revert NotEnoughConfirmations(id, count, threshold);
        t.executed = true;
        (bool ok, bytes memory reason) = t.to.call{value: t.value}(t.data);
        if (!ok) revert ExecutionFailed(id, reason);
        emit Executed(id);
    }

    function addOwner(address owner) external onlyWallet {
        require(owners.length < MAX_OWNERS, "too many owners");
        _addOwner(owner);
    }

    function removeOwner(address owner) external onlyWallet {
        require(isOwner[owner], "not an owner");
        isOwner[owner] = false;
        for (uint256 i = 0; i < owners.length; i++) {
            if (owners[i] == owner) {
                owners[i] = owners[owners.length - 1];
                owners.pop();
                break;
            }
        }
        emit OwnerRemoved(owner);
        if (threshold > owners.length) _setThreshold(owners.length);
    }

    function changeThreshold(uint256 threshold_) external onlyWallet {
        _setThreshold(threshold_);
    }

    /// Confirmations of current owners only: a removed owner's earlier confirmation no longer counts.
    function _liveConfirmations(uint256 id) private view returns (uint256 count) {
        for (uint256 i = 0; i < owners.length; i++) {
            if (confirmed[id][owners[i]]) count++;
        }
    }

    function _addOwner(address owner) private {
        require(owner != address(0), "zero address");
        require(!isOwner[owner], "owner listed twice");
        isOwner[owner] = true;
        owners.push(owner);
        emit OwnerAdded(owner);
    }

    function _setThreshold(uint256 threshold_) private {
        if (threshold_ == 0 || threshold_ > owners.length) revert InvalidThreshold(threshold_, owners.length);
        threshold = threshold_;
        emit ThresholdChanged(threshold_);
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title Escrow of an ERC-20 amount between a buyer and a seller, with an arbiter for disputes.
/// @notice The buyer funds; the buyer (or the arbiter) releases to the seller; the seller refunds
/// the buyer at any time, the buyer reclaims it alone once the deadline has passed without a
/// release; either party may raise a dispute before the deadline, which only the arbiter settles.
contract Escrow {
    using SafeERC20 for IERC20;

    enum State { Created, Funded, Disputed, Released, Refunded }

    IERC20 public immutable token;
    address public immutable buyer;
    address public immutable seller;
    address public immutable arbiter;
    uint256 public immutable amount;
    uint256 public immutable deadline;
    State public state;

    event Funded(address indexed buyer, uint256 amount);
    event Released(address indexed seller, uint256 amount);
    event Refunded(address indexed buyer, uint256 amount);
    event Disputed(address indexed by);
    event Resolved(address indexed arbiter, bool toSeller);

    error WrongCaller(address caller);
    error WrongState(State state);
    error DeadlinePassed(uint256 deadline);
    error DeadlineNotReached(uint256 deadline);

    constructor(IERC20 token_, address buyer_, address seller_, address arbiter_, uint256 amount_, uint256 deadline_) {
        require(buyer_ != address(0) && seller_ != address(0) && arbiter_ != address(0), "zero address");
        require(buyer_ != seller_ && arbiter_ != buyer_ && arbiter_ != seller_, "parties must differ");
        require(amount_ > 0, "amount is zero");
        require(deadline_ > block.timestamp, "deadline in the past");
        token = token_;
        buyer = buyer_;
        seller = seller_;
        arbiter = arbiter_;
        amount = amount_;
        deadline = deadline_;
    }

    modifier only(address who) {
        if (msg.sender != who) revert WrongCaller(msg.sender);
        _;
    }

    modifier inState(State expected) {
        if (state != expected) revert WrongState(state);
        _;
    }

    /// The buyer moves `amount` into the escrow (after approving it on the token).
    function fund() external only(buyer) inState(State.Created) {
        if (block.timestamp >= deadline) revert DeadlinePassed(deadline);
        state = State.Funded;
        token.safeTransferFrom(buyer, address(this), amount);
        emit Funded(buyer, amount);
    }

    /// The buyer accepts the delivery: the seller is paid.
    function release() external only(buyer) inState(State.Funded) {
        state = State.Released;
        token.safeTransfer(seller, amount);
        emit Released(seller, amount);
    }

    /// The seller gives the money back, at any time while funded.
    function refund() external only(seller) inState(State.Funded) {
        _refund();
    }

    /// Past the deadline without release or dispute, the buyer takes the money back.
    function reclaim() external only(buyer) inState(State.Funded) {
        if (block.timestamp < deadline) revert DeadlineNotReached(deadline);
        _refund();
    }

    /// Buyer or seller freezes the escrow for the arbiter, before the deadline.
    function dispute() external inState(State.Funded) {
        if (msg.sender != buyer && msg.sender != seller) revert WrongCaller(msg.sender);
        if (block.timestamp >= deadline) revert DeadlinePassed(deadline);
        state = State.Disputed;
        emit Disputed(msg.sender);
    }

    /// The arbiter settles a dispute: to the seller, or back to the buyer.
    function resolve(bool toSeller) external only(arbiter) inState(State.Disputed) {
        emit Resolved(arbiter, toSeller);
        if (toSeller) {
            state = State.Released;
            token.safeTransfer(seller, amount);
            emit Released(seller, amount);
        } else {
            _refund();
        }
    }

    function _refund() private {
        state = State.Refunded;
        token.safeTransfer(buyer, amount);
        emit Refunded(buyer, amount);
    }
}

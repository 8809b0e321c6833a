// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title A collateralised amortising loan in an ERC-20 token.
/// @notice The borrower locks collateral; the lender disburses the principal; the borrower repays
/// `installments` equal instalments of principal plus simple interest (basis points over the
/// whole term), one due every `interval` seconds from disbursement. An instalment paid after
/// its due date carries a late fee (basis points of the instalment). Once an instalment is more
/// than `grace` seconds overdue the lender may declare default and seize the collateral. When
/// everything is repaid the collateral returns to the borrower. Amounts are integers in the
/// token's minor units; the last instalment takes the rounding remainder.
contract Loan {
    using SafeERC20 for IERC20;

    enum State { Created, Collateralised, Active, Repaid, Defaulted }

    IERC20 public immutable token;
    IERC20 public immutable collateralToken;
    address public immutable lender;
    address public immutable borrower;
    uint256 public immutable principal;
    uint256 public immutable interestBps;
    uint256 public immutable lateFeeBps;
    uint256 public immutable collateralAmount;
    uint256 public immutable installments;
    uint256 public immutable interval;
    uint256 public immutable grace;

    State public state;
    uint256 public disbursedAt;
    uint256 public paidInstallments;
    uint256 public totalRepaid;

    event CollateralLocked(address indexed borrower, uint256 amount);
    event Disbursed(address indexed lender, address indexed borrower, uint256 principal);
    event InstallmentPaid(uint256 indexed number, uint256 amount, uint256 lateFee);
    event Repaid(address indexed borrower);
    event Defaulted(uint256 indexed overdueInstallment, uint256 collateralSeized);
    event Cancelled(address indexed borrower);

    error WrongCaller(address caller);
    error WrongState(State state);
    error NotInDefault(uint256 dueAt, uint256 graceEndsAt);

    constructor(
        IERC20 token_,
        IERC20 collateralToken_,
        address lender_,
        address borrower_,
        uint256 principal_,
        uint256 interestBps_,
        uint256 lateFeeBps_,
        uint256 collateralAmount_,
        uint256 installments_,
        uint256 interval_,
        uint256 grace_
    ) {
        require(lender_ != address(0) && borrower_ != address(0) && lender_ != borrower_, "bad parties");
        require(principal_ > 0 && installments_ > 0 && installments_ <= 360 && interval_ > 0, "bad terms");
        require(interestBps_ <= 100_000 && lateFeeBps_ <= 10_000, "rate out of range");
        token = token_;
        collateralToken = collateralToken_;
        lender = lender_;
        borrower = borrower_;
        principal = principal_;
        interestBps = interestBps_;
        lateFeeBps = lateFeeBps_;
        collateralAmount = collateralAmount_;
        installments = installments_;
        interval = interval_;
        grace = grace_;
    }

    modifier only(address who) {
        if (msg.sender != who) revert WrongCaller(msg.sender);
        _;
    }

    modifier inState(State expected) {
        if (state != expected) revert WrongState(state);
        _;
    }

    function totalDue() public view returns (uint256) {
        return principal + (principal * interestBps) / 10_000;
    }

    /// The amount of instalment `number` (0-based), before any late fee.
    function installmentAmount(uint256 number) public view returns (uint256) {
        uint256 each = totalDue() / installments;
        return number == installments - 1 ? totalDue() - each * (installments - 1) : each;
    }

    function dueAt(uint256 number) public view returns (uint256) {
        return disbursedAt + (number + 1) * interval;
    }

    /// What the next payment must be now: the instalment plus its late fee if overdue.
    function nextPayment() public view returns (uint256 amount, uint256 lateFee) {
        amount = installmentAmount(paidInstallments);
        if (block.timestamp > dueAt(paidInstallments)) lateFee = (amount * lateFeeBps) / 10_000;
    }

    function lockCollateral() external only(borrower) inState(State.Created) {
        state = State.Collateralised;
        collateralToken.safeTransferFrom(borrower, address(this), collateralAmount);
        emit CollateralLocked(borrower, collateralAmount);
    }

    /// Before disbursement the borrower may take the collateral back.
    function cancel() external only(borrower) inState(State.Collateralised) {
        state = State.Created;
        collateralToken.safeTransfer(borrower, collateralAmount);
        emit Cancelled(borrower);
    }

    function disburse() external only(lender) inState(State.Collateralised) {
        state = State.Active;
        disbursedAt = block.timestamp;
        token.safeTransferFrom(lender, borrower, principal);
        emit Disbursed(lender, borrower, principal);
    }

    function repay() external only(borrower) inState(State.Active) {
        (uint256 amount, uint256 lateFee) = nextPayment();
        uint256 number = paidInstallments;
        paidInstallments = number + 1;
        totalRepaid += amount + lateFee;
        token.safeTransferFrom(borrower, lender, amount + lateFee);
        emit InstallmentPaid(number, amount, lateFee);
        if (paidInstallments == installments) {
            state = State.Repaid;
            collateralToken.safeTransfer(borrower, collateralAmount);
            emit Repaid(borrower);
        }
    }

    /// The lender seizes the collateral once the next instalment is overdue beyond the grace period.
    function declareDefault() external only(lender) inState(State.Active) {
        uint256 due = dueAt(paidInstallments);
        if (block.timestamp <= due + grace) revert NotInDefault(due, due + grace);
        state = State.Defaulted;
        collateralToken.safeTransfer(lender, collateralAmount);
        emit Defaulted(paidInstallments, collateralAmount);
    }
}

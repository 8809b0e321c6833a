// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title Splits every ERC-20 payment it receives among fixed payees by shares.
/// @notice Pull model: anyone may call `release(token, payee)`; the payee gets its share of all
/// the token ever received minus what it was already paid (rounding down; dust stays).
contract PaymentSplitter {
    using SafeERC20 for IERC20;

    address[] public payees;
    mapping(address => uint256) public shares;
    uint256 public immutable totalShares;
    mapping(IERC20 => uint256) public totalReleased;
    mapping(IERC20 => mapping(address => uint256)) public released;

    event PaymentReleased(IERC20 indexed token, address indexed payee, uint256 amount);

    error NotAPayee(address account);
    error NothingDue(address account);

    constructor(address[] memory payees_, uint256[] memory shares_) {
        require(payees_.length == shares_.length && payees_.length > 0, "payees and shares differ");
        uint256 total;
        for (uint256 i = 0; i < payees_.length; i++) {
            require(payees_[i] != address(0), "zero address");
            require(shares_[i] > 0, "zero shares");
            require(shares[payees_[i]] == 0, "payee listed twice");
            payees.push(payees_[i]);
            shares[payees_[i]] = shares_[i];
            total += shares_[i];
        }
        totalShares = total;
    }

    function payeeCount() external view returns (uint256) {
        return payees.length;
    }

    /// What `payee` may take of `token` now.
    function releasable(IERC20 token, address payee) public view returns (uint256) {
        uint256 received = token.balanceOf(address(this)) + totalReleased[token];
        return (received * shares[payee]) / totalShares - released[token][payee];
    }

    function release(IERC20 token, address payee) external {
        if (shares[payee] == 0) revert NotAPayee(payee);
        uint256 due = releasable(token, payee);
        if (due == 0) revert NothingDue(payee);
        released[token][payee] += due;
        totalReleased[token] += due;
        token.safeTransfer(payee, due);
        emit PaymentReleased(token, payee, due);
    }
}

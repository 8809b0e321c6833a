// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// Test probe: pays `first`, then pays `second` in an inner call that reverts and is caught.
contract RevertProbe {
    error Undo();

    function run(IERC20 token, address to, uint256 first, uint256 second) external {
        require(token.transfer(to, first), "first transfer failed");
        try this.payThenRevert(token, to, second) {} catch {}
    }

    function payThenRevert(IERC20 token, address to, uint256 amount) external {
        require(msg.sender == address(this), "only from run");
        require(token.transfer(to, amount), "second transfer failed");
        revert Undo();
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title A plain mintable ERC-20 with a chosen number of decimals.
/// @notice For deployments where no ledger-backed token exists (a public testnet, Anvil) and for
/// tests of the contracts' own rules; on a QENEX chain the contracts take the ledger's tokens.
contract TestToken is ERC20 {
    address public immutable minter;
    uint8 private immutable _decimals;

    constructor(string memory name_, string memory symbol_, uint8 decimals_) ERC20(name_, symbol_) {
        minter = msg.sender;
        _decimals = decimals_;
    }

    function decimals() public view override returns (uint8) {
        return _decimals;
    }

    function mint(address to, uint256 amount) external {
        require(msg.sender == minter, "only the minter mints");
        _mint(to, amount);
    }
}

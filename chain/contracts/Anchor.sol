// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title AgriTrace anchor: records Merkle roots, once each, with the block that recorded them.
/// @notice Only the deployer (the service key) may anchor. Anchoring a root that is already
/// anchored is a successful no-op (no state change, no event), so a crashed and retried
/// round can never move an existing anchor's timestamp or emit a second event.
contract Anchor {
    /// The service key that deployed the contract; the only account allowed to anchor.
    address public immutable owner;

    /// root => timestamp (bits 0-63) | block number (bits 64-127) | leaf count (bits 128-255).
    mapping(bytes32 => uint256) private _anchors;

    event Anchored(bytes32 indexed root, uint256 leafCount, uint256 timestamp);

    error NotOwner();
    error InvalidRoot();
    error InvalidLeafCount();

    constructor() {
        owner = msg.sender;
    }

    /// @notice Anchor `root`, the root of a Merkle tree of `leafCount` leaves.
    function anchor(bytes32 root, uint256 leafCount) external {
        if (msg.sender != owner) revert NotOwner();
        if (root == bytes32(0)) revert InvalidRoot();
        if (leafCount == 0 || leafCount > type(uint128).max) revert InvalidLeafCount();
        if (_anchors[root] != 0) return;
        _anchors[root] = block.timestamp | (block.number << 64) | (leafCount << 128);
        emit Anchored(root, leafCount, block.timestamp);
    }

    /// @notice Block timestamp at which `root` was anchored, 0 if never.
    function anchoredAt(bytes32 root) external view returns (uint256) {
        return uint64(_anchors[root]);
    }

    /// @notice Timestamp, block number and leaf count of `root`'s anchor (all 0 if never).
    function anchorOf(bytes32 root)
        external
        view
        returns (uint256 timestamp, uint256 blockNumber, uint256 leafCount)
    {
        uint256 packed = _anchors[root];
        return (uint64(packed), uint64(packed >> 64), packed >> 128);
    }

    /// @notice OpenZeppelin MerkleProof.verify: true when `proof` leads from `leaf` to `root`.
    /// @param leaf the leaf HASH, keccak256(keccak256(abi.encode(value))) for the
    /// StandardMerkleTree leaf type bytes32, not the value itself.
    /// @dev Checks the path only; whether `root` is anchored is `anchoredAt(root) != 0`.
    function verify(bytes32 root, bytes32 leaf, bytes32[] calldata proof)
        external
        pure
        returns (bool)
    {
        bytes32 node = leaf;
        for (uint256 i = 0; i < proof.length; i++) {
            node = _hashPair(node, proof[i]);
        }
        return node == root;
    }

    /// Sorted-pair keccak256, as OpenZeppelin Hashes.commutativeKeccak256.
    function _hashPair(bytes32 a, bytes32 b) private pure returns (bytes32 value) {
        (bytes32 lo, bytes32 hi) = a < b ? (a, b) : (b, a);
        assembly ("memory-safe") {
            mstore(0x00, lo)
            mstore(0x20, hi)
            value := keccak256(0x00, 0x40)
        }
    }
}

"""OpenZeppelin-compatible Merkle trees over 32-byte leaf values (pure Python, no web3).

The tree is byte-for-byte the one ``StandardMerkleTree.of(values, ["bytes32"])`` builds
in ``@openzeppelin/merkle-tree`` (default ``sortLeaves: true``):

* leaf hash = ``keccak256(keccak256(abi.encode(value)))``; for a ``bytes32`` value
  ``abi.encode`` is the 32 bytes themselves;
* internal node = ``keccak256(min(a, b) ++ max(a, b))`` (sorted pairs, as OZ
  ``MerkleProof`` / ``Hashes.commutativeKeccak256``);
* leaf hashes are sorted ascending and laid out as a binary heap in an array of
  ``2n - 1`` nodes, the leaves at the end in reverse order, the root at index 0.

Two uses in AgriTrace: a lot's *stamp tree* whose values are ``leaf_value_for(serial)``,
and an anchoring round's *round tree* whose values are lot document hashes.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence

from chain.errors import InvalidLeaf
from chain.hashing import keccak256, keccak_factory

LEAF_ENCODING = ("bytes32",)
"""The OZ ``leafEncoding`` these trees use."""


def leaf_value_for(text: str) -> bytes:
    """Turn a text identifier (e.g. a stamp serial) into a 32-byte leaf value.

    Recommended for stamp trees: ``keccak256(text.encode("utf-8"))``. In JS this is
    ``keccak256(toUtf8Bytes(text))`` (ethers) and the value is then given to
    ``StandardMerkleTree.of([[value], ...], ["bytes32"])``.

    Args:
        text: the identifier, used exactly as given (no trimming or case folding).

    Returns:
        32 bytes.
    """
    return keccak256(text.encode("utf-8"))


def leaf_hash(value: bytes) -> bytes:
    """Return the OZ standard leaf hash ``keccak256(keccak256(value))`` of a bytes32 value.

    Raises:
        InvalidLeaf: ``value`` is not exactly 32 bytes.
    """
    _check_value(value)
    return keccak256(keccak256(value))


def hash_pair(a: bytes, b: bytes) -> bytes:
    """Hash two nodes in sorted order (OZ ``commutativeKeccak256``)."""
    return keccak256(a + b if a < b else b + a)


def process_proof(leaf: bytes, proof: Iterable[bytes]) -> bytes:
    """Fold a proof onto a leaf *hash* and return the computed root (OZ ``processProof``)."""
    node = leaf
    for sibling in proof:
        node = hash_pair(node, sibling)
    return node


def verify(root: bytes, leaf_value: bytes, proof: Sequence[bytes]) -> bool:
    """Check that ``leaf_value`` is in the tree with root ``root``.

    Args:
        root: the 32-byte tree root.
        leaf_value: the 32-byte leaf *value* (not its hash); hashed here with
            :func:`leaf_hash`. The contract's ``verify`` takes the leaf hash instead.
        proof: sibling hashes from the leaf up, as :meth:`MerkleTree.proof` returns.

    Returns:
        True when the proof leads to ``root``; False otherwise (also for malformed input
        such as a leaf of the wrong length or a proof element that is not 32 bytes).
    """
    if len(leaf_value) != 32 or any(len(p) != 32 for p in proof):
        return False
    return process_proof(leaf_hash(leaf_value), proof) == root


def _check_value(value: bytes) -> None:
    if not isinstance(value, bytes | bytearray) or len(value) != 32:
        raise InvalidLeaf(f"a leaf value must be 32 bytes, got {value!r:.80}")


class MerkleTree:
    """An immutable OZ StandardMerkleTree over bytes32 values.

    Build with :meth:`MerkleTree.of`. ``values`` keeps the caller's order; ``proof(i)``
    is the proof of ``values[i]``. Proof lookups build a leaf-hash index on first use,
    so a tree built only for its root costs no more than the hashing and the sort.
    """

    __slots__ = ("_positions", "nodes", "values")

    def __init__(self, values: tuple[bytes, ...], nodes: list[bytes]) -> None:
        self.values = values
        self.nodes = nodes
        self._positions: dict[bytes, int] | None = None

    @classmethod
    def of(cls, values: Iterable[bytes]) -> MerkleTree:
        """Build the tree.

        Args:
            values: the 32-byte leaf values, in the caller's order. Duplicates are
                allowed as in OZ; every occurrence then shares one proof.

        Returns:
            The tree; its root equals OZ's ``StandardMerkleTree.of(...).root``.

        Raises:
            InvalidLeaf: no values, or a value that is not 32 bytes.
        """
        vals = tuple(map(bytes, values))
        if not vals:
            raise InvalidLeaf("a Merkle tree needs at least one leaf")
        if set(map(len, vals)) != {32}:
            _check_value(next(v for v in vals if len(v) != 32))
        hashes = _leaf_hashes(vals)
        hashes.sort()
        return cls(vals, _build_nodes(hashes))

    @property
    def root(self) -> bytes:
        """The 32-byte root."""
        return self.nodes[0]

    def __len__(self) -> int:
        return len(self.values)

    def leaf_hash(self, index: int) -> bytes:
        """Return the leaf hash of ``values[index]`` (what the contract's verify takes)."""
        return leaf_hash(self.values[index])

    def proof(self, index: int) -> list[bytes]:
        """Return the proof of ``values[index]``: sibling hashes from the leaf up.

        Raises:
            IndexError: ``index`` is out of range.
        """
        return _proof_at(self.nodes.__getitem__, self._tree_index(leaf_hash(self.values[index])))

    def proof_for(self, value: bytes) -> list[bytes]:
        """Return the proof of a leaf value.

        Raises:
            InvalidLeaf: ``value`` is not a leaf of this tree (or not 32 bytes).
        """
        position = self._tree_index(leaf_hash(value))
        if position < 0:
            raise InvalidLeaf(f"value 0x{bytes(value).hex()} is not a leaf of this tree")
        return _proof_at(self.nodes.__getitem__, position)

    def proofs(self) -> list[list[bytes]]:
        """Return the proof of every value, in ``values`` order."""
        return [self.proof(i) for i in range(len(self.values))]

    def packed(self) -> PackedTree:
        """Return the tree reduced to what :meth:`proof_for` needs, for keeping many at once."""
        return PackedTree(b"".join(self.nodes), len(self.values))

    def _tree_index(self, hashed: bytes) -> int:
        if self._positions is None:
            first_leaf = len(self.nodes) - len(self.values)
            self._positions = {
                self.nodes[i]: i for i in range(len(self.nodes) - 1, first_leaf - 1, -1)
            }
        return self._positions.get(hashed, -1)


class PackedTree:
    """A built tree packed into one ``bytes`` (32 a node), for keeping many in memory.

    About 64 bytes a leaf, where a :class:`MerkleTree` with its leaf index holds about 280.
    It answers :meth:`proof_for` exactly as the tree it was packed from, finding a leaf by
    bisection over the leaf hashes (the tree keeps them sorted). Build with
    :meth:`MerkleTree.packed`.
    """

    __slots__ = ("_count", "_data")

    def __init__(self, data: bytes, count: int) -> None:
        self._data = data
        self._count = count

    @property
    def root(self) -> bytes:
        """The 32-byte root."""
        return self._node(0)

    def __len__(self) -> int:
        return self._count

    def __bytes__(self) -> bytes:
        """The packed nodes, root first: ``PackedTree(bytes(tree), len(tree))`` is the tree."""
        return self._data

    def proof_for(self, value: bytes) -> list[bytes]:
        """Return the proof of a leaf value (see :meth:`MerkleTree.proof_for`).

        Raises:
            InvalidLeaf: ``value`` is not a leaf of this tree (or not 32 bytes).
        """
        hashed = leaf_hash(value)
        smallest = 2 * self._count - 2  # leaves sit at the end, largest hash first
        # Of equal leaves the one nearest the root, as MerkleTree's index picks.
        rank = bisect_right(range(self._count), hashed, key=lambda k: self._node(smallest - k))
        if rank == 0 or self._node(smallest - rank + 1) != hashed:
            raise InvalidLeaf(f"value 0x{bytes(value).hex()} is not a leaf of this tree")
        return _proof_at(self._node, smallest - rank + 1)

    def _node(self, index: int) -> bytes:
        return self._data[32 * index : 32 * index + 32]


def merkle_root(values: Iterable[bytes]) -> bytes:
    """Return the OZ-compatible root of ``values`` (see :meth:`MerkleTree.of`)."""
    return MerkleTree.of(values).root


def _leaf_hashes(values: Sequence[bytes]) -> list[bytes]:
    k = keccak_factory()
    return [k(k(v).digest()).digest() for v in values]


def _build_nodes(sorted_leaves: list[bytes]) -> list[bytes]:
    n = len(sorted_leaves)
    nodes: list[bytes] = [b""] * (n - 1)
    nodes.extend(reversed(sorted_leaves))
    k = keccak_factory()
    for i in range(n - 2, -1, -1):
        a = nodes[2 * i + 1]
        b = nodes[2 * i + 2]
        nodes[i] = k(a + b if a < b else b + a).digest()
    return nodes


def _proof_at(node: Callable[[int], bytes], index: int) -> list[bytes]:
    proof: list[bytes] = []
    while index > 0:
        sibling = index + 1 if index % 2 else index - 1
        proof.append(node(sibling))
        index = (index - 1) // 2
    return proof

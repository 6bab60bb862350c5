"""Resources made once per spoke, spread over nested stacks so no stack outgrows 500 resources."""

from __future__ import annotations

import zlib

from aws_cdk import NestedStack
from constructs import Construct


class NestedChunks(Construct):
    """A fixed number of nested stacks; each key (an account ID) always lands in the same one.

    The chunk is a stable hash of the key, not its position in config, so adding or removing a
    spoke never moves another spoke's resources to another stack (which would replace them). A
    nested stack is made only when a key lands in it. With `k` resources per key and `chunks`
    stacks, about `chunks * 400 / k` keys fit inside 80 % of the 500-resource quota; the quota
    check (aws_quotas) fails synthesis if a chunk outgrows 500.
    """

    def __init__(self, scope: Construct, construct_id: str, *, chunks: int) -> None:
        super().__init__(scope, construct_id)
        if not 1 <= chunks <= 100:
            raise ValueError(f"NestedChunks: chunks {chunks} must be 1 to 100")
        self.chunks = chunks
        self.stacks: dict[int, NestedStack] = {}

    def chunk_of(self, key: str) -> int:
        return zlib.crc32(key.encode("utf-8")) % self.chunks

    def scope_for(self, key: str) -> Construct:
        """The nested stack that holds the resources of `key`."""
        chunk = self.chunk_of(key)
        if chunk not in self.stacks:
            self.stacks[chunk] = NestedStack(self, f"Chunk{chunk}")
        return self.stacks[chunk]

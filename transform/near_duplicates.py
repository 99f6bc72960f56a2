"""Near-duplicate conversations: MinHash signatures of word 5-gram shingles, matched by LSH.

Each text (a conversation's task, or its trajectory) is split into parts (a turn, a call); a part's
words are lower-cased runs of non-blank characters, hashed by DuckDB; its shingles are the runs of
SHINGLE_WORDS consecutive words (a part with fewer words is one shingle). A text's shingle set is
the union of its parts' sets, and its signature is rensa's MinHash of that set.

Each text is matched, in ingest order (conversation_seq), against every earlier text: candidates
come from LSH (BANDS bands of ROWS_PER_BAND signature values) and are verified on the whole
signature (estimated Jaccard at or above the threshold), so precision does not rest on the
banding. The matches are kept with the text; clusters are the connected components of the match
graph (single linkage). New conversations are matched against the existing signatures only, and
an incremental build finds exactly the matches a full build would.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pyarrow as pa
import rensa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

# The two texts of a conversation that are clustered: its first human turn and its calls.
TEXT_KINDS = ("task", "trajectory")
SHINGLE_WORDS = 5
NUM_PERM = 128
BANDS = 16
ROWS_PER_BAND = NUM_PERM // BANDS
SEED = 20261206
# Stored with every signature: a build whose parameters differ cannot match against the table.
PARAMETERS = f"rensa-minhash/{NUM_PERM}/seed={SEED}/words={SHINGLE_WORDS}/duckdb-hash"

# A part's words, hashed by DuckDB: lower-cased, split on blanks (newlines and tabs included).
WORD_HASHES_SQL = (
    "list_transform("
    "list_filter(string_split(translate(lower(text), chr(10) || chr(9) || chr(13), '   '), ' '), lambda w: w <> ''), "
    "lambda w: hash(w))"
)

# Odd 64-bit multipliers that fold a band's ROWS_PER_BAND values into one key.
_BAND_MULTIPLIERS = (np.random.default_rng(SEED).integers(1, 2**63, size=ROWS_PER_BAND, dtype=np.uint64) | np.uint64(1))
_SHINGLE_PRIME = np.uint64(0x100000001B3)


class NearDuplicateError(ValueError):
    """The signatures cannot be computed or matched as asked."""


def shingle_hashes(word_hashes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Each part's shingle hashes, in place of its word hashes (same offsets).

    Position i of a part holds the hash of words i..i+SHINGLE_WORDS-1; the last positions of a
    part, which would reach past it, repeat the part's first shingle (a set keeps it once). A part
    with fewer words than a shingle is one shingle of all its words.
    """
    n = len(word_hashes)
    if n == 0:
        return word_hashes.astype(np.uint64)
    lengths = np.diff(offsets)
    part_end = np.repeat(offsets[1:], lengths)
    part_start = np.repeat(offsets[:-1], lengths)
    remaining = part_end - np.arange(n, dtype=np.int64)
    shingles = word_hashes.astype(np.uint64, copy=True)
    following = np.empty_like(shingles)
    with np.errstate(over="ignore"):
        for j in range(1, SHINGLE_WORDS):
            following[: n - j] = word_hashes[j:]
            following[n - j :] = 0
            following[remaining <= j] = 0
            shingles *= _SHINGLE_PRIME
            shingles ^= following
    is_first = np.arange(n, dtype=np.int64) == part_start
    complete = (remaining >= SHINGLE_WORDS) | (is_first & (part_end - part_start < SHINGLE_WORDS))
    return np.where(complete, shingles, shingles[part_start])


@dataclass
class Signatures:
    """MinHash signatures of texts in ingest order: row i is the text of conversation seqs[i]."""

    seqs: np.ndarray  # conversation_seq, int64, ascending
    matrix: np.ndarray  # uint32, (n, NUM_PERM)
    n_shingles: np.ndarray  # int64; 0 = empty text, no signature (its matrix row is unused)

    @classmethod
    def empty(cls) -> Signatures:
        return cls(np.empty(0, np.int64), np.empty((0, NUM_PERM), np.uint32), np.empty(0, np.int64))


def sign_parts(parts: pa.Table) -> Signatures:
    """Signatures of the texts whose parts are ``parts`` (conversation_seq, word_hashes), ordered by
    conversation_seq: a text's shingle set is the union of its parts'. A text whose parts hold no
    word has n_shingles 0 (its matrix row is meaningless)."""
    if parts.num_rows == 0:
        return Signatures.empty()
    words = parts.column("word_hashes").combine_chunks()
    offsets = words.offsets.to_numpy().astype(np.int64)
    values = words.values.to_numpy(zero_copy_only=False).astype(np.uint64, copy=False)
    shingles = shingle_hashes(values, offsets)
    part_seqs = parts.column("conversation_seq").to_numpy().astype(np.int64)
    if np.any(np.diff(part_seqs) < 0):
        raise NearDuplicateError("parts must come ordered by conversation_seq")
    seqs, first = np.unique(part_seqs, return_index=True)
    text_offsets = np.append(offsets[first], offsets[-1])
    matrix = np.asarray(
        rensa.RMinHash.digest_matrix_from_flat_token_hashes(shingles, text_offsets.astype(np.uint64), NUM_PERM, SEED).to_rows(),
        dtype=np.uint32,
    ).reshape(-1, NUM_PERM)
    # Shingles per text: a part of w words gives max(w - 4, 1), an empty part none.
    part_sizes = np.diff(offsets)
    per_part = np.where(part_sizes > 0, np.maximum(part_sizes - (SHINGLE_WORDS - 1), 1), 0)
    n_shingles = np.add.reduceat(per_part, first)
    return Signatures(seqs, matrix, n_shingles)


def sign_texts(parts: duckdb.DuckDBPyRelation, first_seq: int, last_seq: int, batch_seqs: int = 2_500) -> Signatures:
    """Sign the texts of ``parts`` (a relation with conversation_seq and text) whose
    conversation_seq is in [first_seq, last_seq], a range of batch_seqs conversations at a time:
    a conversation's word hashes take ~8 bytes a word and the shingles' arrays about five times
    that while they are made (a batch of 10,000 real-shaped conversations: ~400 MB), the
    signatures 512 bytes. The batches' Arrow memory is handed back to the system after each."""
    batches: list[Signatures] = []
    for low in range(first_seq, last_seq + 1, batch_seqs):
        high = min(low + batch_seqs - 1, last_seq)
        batch = (
            parts.filter(f"conversation_seq between {low} and {high}")
            .select(f"conversation_seq, {WORD_HASHES_SQL} as word_hashes")
            .order("conversation_seq")
        )
        batches.append(sign_parts(batch.to_arrow_table()))
        # Arrow's allocator keeps freed memory for reuse; the dbt process runs on after this model.
        pa.default_memory_pool().release_unused()
    return concat_signatures(batches)


def concat_signatures(batches: list[Signatures]) -> Signatures:
    batches = [batch for batch in batches if len(batch.seqs)]
    if not batches:
        return Signatures.empty()
    return Signatures(
        np.concatenate([b.seqs for b in batches]),
        np.concatenate([b.matrix for b in batches]),
        np.concatenate([b.n_shingles for b in batches]),
    )


def band_keys(matrix: np.ndarray) -> np.ndarray:
    """(n, BANDS) uint64: each band's ROWS_PER_BAND values folded into one key."""
    bands = matrix.astype(np.uint64).reshape(len(matrix), BANDS, ROWS_PER_BAND)
    with np.errstate(over="ignore"):
        return (bands * _BAND_MULTIPLIERS).sum(axis=2, dtype=np.uint64)


@dataclass
class TextIndex:
    """The texts signed so far, findable by their band keys; a text whose signature equals an
    earlier one's is found through that one (a thousand copies of a task cost one entry)."""

    matrix: list[np.ndarray] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)
    buckets: list[dict[int, list[int]]] = field(default_factory=lambda: [{} for _ in range(BANDS)])
    exact: dict[bytes, int] = field(default_factory=dict)

    def add(self, seq: int, signature: np.ndarray, keys: np.ndarray) -> None:
        self.exact.setdefault(signature.tobytes(), seq)
        position = len(self.seqs)
        self.seqs.append(seq)
        self.matrix.append(signature)
        for band, key in enumerate(keys.tolist()):
            self.buckets[band].setdefault(key, []).append(position)

    def matches(self, signature: np.ndarray, keys: np.ndarray, threshold: float) -> tuple[list[int], float]:
        """Earlier texts whose estimated Jaccard similarity reaches ``threshold`` (of the
        candidates, those sharing most bands first, at most MAX_VERIFIED), and the best similarity."""
        shared: dict[int, int] = {}
        for band, key in enumerate(keys.tolist()):
            for position in self.buckets[band].get(key, ()):
                shared[position] = shared.get(position, 0) + 1
        if not shared:
            return [], 0.0
        positions = sorted(shared, key=lambda p: (-shared[p], p))[:MAX_VERIFIED]
        similarity = (np.stack([self.matrix[p] for p in positions]) == signature).mean(axis=1)
        found = [(self.seqs[p], float(s)) for p, s in zip(positions, similarity, strict=True) if s >= threshold]
        return sorted(seq for seq, _ in found), max((s for _, s in found), default=0.0)


# Candidates verified per text: single linkage needs one match per cluster, and a text sharing
# bands with hundreds of earlier ones (a big cluster) would otherwise cost hundreds of comparisons.
MAX_VERIFIED = 32


@dataclass
class Matches:
    """Each new text's earlier near-duplicates (the edges its cluster is made of)."""

    seqs: np.ndarray
    matched: list[list[int]]  # earlier conversation_seqs at or above the threshold
    best_similarity: np.ndarray  # NaN without a match or a signature


def match_texts(new: Signatures, earlier: Signatures, threshold: float) -> Matches:
    """Match each signed text of ``new`` (all later than ``earlier``) against every earlier text,
    in ingest order. A text equal to an earlier one matches that one only."""
    if not 0.0 < threshold <= 1.0:
        raise NearDuplicateError(f"near_dup_threshold must be in (0, 1], got {threshold}")
    if len(earlier.seqs) and len(new.seqs) and new.seqs.min() <= earlier.seqs.max():
        raise NearDuplicateError("new signatures must be later than every earlier one (conversation_seq)")
    earlier = _signed_only(earlier)
    earlier_keys, new_keys = band_keys(earlier.matrix), band_keys(new.matrix)
    # A text none of whose band keys another text has can match nothing, now or later: only the
    # others go through the index (most texts, when near-duplicates are rare).
    earlier_shared, new_shared = np.split(_has_shared_key(np.concatenate([earlier_keys, new_keys]), new.n_shingles), [len(earlier.seqs)])
    index = TextIndex()
    for seq, signature, keys in zip(
        earlier.seqs[earlier_shared].tolist(), earlier.matrix[earlier_shared], earlier_keys[earlier_shared], strict=True
    ):
        index.add(seq, signature, keys)
    matched: list[list[int]] = [[] for _ in new.seqs]
    best = np.full(len(new.seqs), np.nan)
    for i in _signed_in_order(new):
        if not new_shared[i]:
            continue
        seq, signature = int(new.seqs[i]), new.matrix[i]
        equal = index.exact.get(signature.tobytes())
        if equal is not None:
            matched[i], best[i] = [equal], 1.0
            continue
        found, similarity = index.matches(signature, new_keys[i], threshold)
        if found:
            matched[i], best[i] = found, similarity
        index.add(seq, signature, new_keys[i])
    return Matches(new.seqs, matched, best)


def cluster_roots(seqs: np.ndarray, matched: list[list[int]], same_text: np.ndarray | None = None) -> np.ndarray:
    """Single linkage: each text's cluster is the connected component of the match graph, named
    by its earliest text (the smallest conversation_seq). ``same_text``: a key per text (its
    signature's hash); texts with equal keys are joined directly, so identical texts stay together
    when the one they matched was re-ingested since (a text equal to an earlier one records that
    one only)."""
    if len(seqs) == 0:
        return np.empty(0, np.int64)
    position = {seq: i for i, seq in enumerate(seqs.tolist())}
    rows: list[int] = []
    cols: list[int] = []
    if same_text is not None:
        _, first, group = np.unique(same_text, return_index=True, return_inverse=True)
        rows.extend(range(len(seqs)))
        cols.extend(first[group].tolist())
    for i, earlier in enumerate(matched):
        for seq in earlier:
            if seq in position:  # a match whose text was re-ingested since is gone
                rows.append(i)
                cols.append(position[seq])
    graph = coo_matrix((np.ones(len(rows), np.int8), (rows, cols)), shape=(len(seqs), len(seqs)))
    _, labels = connected_components(graph, directed=False)
    earliest = np.full(labels.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(earliest, labels, seqs)
    return earliest[labels]


def _signed_only(signatures: Signatures) -> Signatures:
    signed = signatures.n_shingles > 0
    return Signatures(signatures.seqs[signed], signatures.matrix[signed], signatures.n_shingles[signed])


def _has_shared_key(keys: np.ndarray, new_n_shingles: np.ndarray) -> np.ndarray:
    """Per row of ``keys`` (earlier texts, then the new ones): whether another row has one of its
    band keys in the same band. A new text without shingles shares nothing."""
    if len(keys) == 0:
        return np.zeros(0, bool)
    with np.errstate(over="ignore"):
        in_band = keys ^ (np.arange(BANDS, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15))
    tagged = in_band.copy()
    signed = np.concatenate([np.ones(len(keys) - len(new_n_shingles), bool), new_n_shingles > 0])
    # Unsigned rows get keys no one else has (their position), so they never count as shared.
    tagged[~signed] = np.arange(int((~signed).sum()) * BANDS, dtype=np.uint64).reshape(-1, BANDS)
    _, inverse, counts = np.unique(tagged.ravel(), return_inverse=True, return_counts=True)
    return (counts[inverse] > 1).reshape(keys.shape).any(axis=1) & signed


def _signed_in_order(signatures: Signatures) -> Iterator[int]:
    order: Iterable[int] = np.argsort(signatures.seqs, kind="stable").tolist()
    return (i for i in order if signatures.n_shingles[i] > 0)


def signed_table(kind: str, signed: Signatures, matches: Matches) -> pa.Table:
    """One row per signed text of ``kind``: its signature (null without shingles) and its matches."""
    has_signature = signed.n_shingles > 0
    return pa.table(
        {
            "conversation_seq": pa.array(signed.seqs, pa.int64()),
            "text_kind": pa.array([kind] * len(signed.seqs), pa.string()),
            "n_shingles": pa.array(signed.n_shingles, pa.int64()),
            "signature": pa.FixedSizeListArray.from_arrays(
                pa.array(signed.matrix.ravel(), pa.uint32()), signed.matrix.shape[1], mask=pa.array(~has_signature)
            ).cast(pa.list_(pa.uint32())),
            "matched_seqs": pa.array(matches.matched, pa.list_(pa.int64())),
            "best_similarity": pa.array(matches.best_similarity, pa.float64(), mask=np.isnan(matches.best_similarity)),
        }
    )


def signatures_select(signed_rows: str, conversations: str) -> str:
    """The signatures model's rows: ``signed_rows`` (``signed_table``'s columns) named by their
    conversations (``conversations``: source_config, conversation_id, conversation_seq). SQL that
    DuckDB and Spark both read; the two names are relations (or CTEs) of the query it ends."""
    return f"""
        select
            conversations.source_config,
            conversations.conversation_id,
            signed_rows.conversation_seq,
            signed_rows.text_kind,
            signed_rows.n_shingles,
            signed_rows.signature,
            signed_rows.matched_seqs,
            round(signed_rows.best_similarity, 4) as best_similarity,
            '{PARAMETERS}' as minhash_parameters
        from {signed_rows} as signed_rows
        inner join {conversations} as conversations on signed_rows.conversation_seq = conversations.conversation_seq
    """


def clusters_select(clusters: str, signatures: str) -> str:
    """The clusters model's rows: ``clusters`` (``cluster_table``'s columns) with each cluster's id,
    named by its earliest text's conversation (from ``signatures``), and its size. SQL that DuckDB
    and Spark both read."""
    return f"""
        select
            clusters.conversation_seq,
            clusters.text_kind,
            clusters.cluster_seq,
            clusters.text_kind || ':' || roots.source_config || '/' || roots.conversation_id as cluster_id,
            count(*) over (partition by clusters.text_kind, clusters.cluster_seq) as cluster_size
        from {clusters} as clusters
        inner join {signatures} as roots
            on clusters.cluster_seq = roots.conversation_seq and clusters.text_kind = roots.text_kind
    """


def cluster_table(kind: str, seqs: np.ndarray, matched: list[list[int]], same_text: np.ndarray) -> pa.Table:
    """One row per signed text of ``kind`` with its cluster (``cluster_roots``)."""
    return pa.table(
        {
            "conversation_seq": pa.array(seqs, pa.int64()),
            "text_kind": pa.array([kind] * len(seqs), pa.string()),
            "cluster_seq": pa.array(cluster_roots(seqs, matched, same_text), pa.int64()),
        }
    )

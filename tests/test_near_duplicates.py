"""Near-duplicate clustering (transform/near_duplicates.py) checked against exact Jaccard
similarity computed here, independently, on texts with planted near-duplicates."""

from __future__ import annotations

import itertools
import random

import duckdb
import numpy as np
import pytest

from transform.near_duplicates import (
    SHINGLE_WORDS,
    WORD_HASHES_SQL,
    NearDuplicateError,
    Signatures,
    cluster_roots,
    match_texts,
    sign_texts,
)

THRESHOLD = 0.8


def shingles(text: str) -> set[tuple[str, ...]]:
    """The definition, written independently: lower-cased blank-separated words, runs of five
    (a text of fewer words is one shingle)."""
    words = text.lower().split()
    if not words:
        return set()
    if len(words) < SHINGLE_WORDS:
        return {tuple(words)}
    return {tuple(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b)


def planted_corpus(seed: int = 7, bases: int = 60, words: int = 600) -> list[tuple[int, str]]:
    """Unrelated base texts, each with edited copies whose similarity to it spans 0.5-1.0: a copy
    replaces a few words (1% of words changed gives about 0.9, 3% about 0.75)."""
    rng = random.Random(seed)
    vocabulary = [f"w{i}" for i in range(3000)]
    texts = []
    for _ in range(bases):
        base = [rng.choice(vocabulary) for _ in range(words)]
        texts.append(base)
        for edits in (1, 2, 4, 6, 9, 12, 18, 30):
            copy = list(base)
            for position in rng.sample(range(words), edits):
                copy[position] = rng.choice(vocabulary)
            texts.append(copy)
    order = list(range(len(texts)))
    rng.shuffle(order)  # leaders are not always the bases
    return [(seq + 1, " ".join(texts[i])) for seq, i in enumerate(order)]


def sign(corpus: list[tuple[int, str]]) -> Signatures:
    con = duckdb.connect()
    con.execute("create table parts (conversation_seq bigint, text varchar)")
    con.executemany("insert into parts values (?, ?)", corpus)
    return sign_texts(con.table("parts"), 1, max(seq for seq, _ in corpus), batch_seqs=97)


@pytest.fixture(scope="module")
def clustered():
    corpus = planted_corpus()
    signatures = sign(corpus)
    matches = match_texts(signatures, Signatures.empty(), THRESHOLD)
    clusters = dict(zip(signatures.seqs.tolist(), cluster_roots(signatures.seqs, matches.matched).tolist(), strict=True))
    return corpus, signatures, matches, clusters


def test_recall_and_precision_against_exact_jaccard(clustered):
    corpus, _, _, clusters = clustered
    sets = {seq: shingles(text) for seq, text in corpus}
    above = below = found = separated = related_below = related_separated = 0
    for (a, _), (b, _) in itertools.combinations(corpus, 2):
        similarity = jaccard(sets[a], sets[b])
        same = clusters[a] == clusters[b]
        if similarity > 0.85:
            above += 1
            found += same
        elif similarity < 0.75:
            below += 1
            separated += not same
            if similarity > 0.3:  # copies of one base: where single linkage can chain
                related_below += 1
                related_separated += not same
    # The planted set spans the threshold on both sides; most pairs are unrelated texts.
    assert above >= 300 and below >= 100_000 and related_below >= 300
    assert found / above >= 0.95, f"recall {found}/{above}"
    assert separated / below >= 0.95, f"precision {separated}/{below}"
    # Measured 0.94 (867 of 924): A~B and B~C put A and C together at 0.6-0.75.
    assert related_separated / related_below >= 0.9, f"within families {related_separated}/{related_below}"


def test_every_match_is_near_the_threshold_or_above(clustered):
    corpus, _, matches, _ = clustered
    sets = {seq: shingles(text) for seq, text in corpus}
    exact = [jaccard(sets[seq], sets[other]) for seq, matched in zip(matches.seqs.tolist(), matches.matched, strict=True) for other in matched]
    assert len(exact) >= 300
    # 128 permutations: the estimate's standard error at J = 0.8 is about 0.035.
    assert min(exact) > THRESHOLD - 0.12
    assert np.mean(np.array(exact) >= THRESHOLD - 0.05) >= 0.95


def test_shingle_counts_match_the_definition(clustered):
    corpus, signatures, _, _ = clustered
    expected = {seq: len(text.split()) - SHINGLE_WORDS + 1 for seq, text in corpus}
    assert dict(zip(signatures.seqs.tolist(), signatures.n_shingles.tolist(), strict=True)) == expected


def test_incremental_matching_equals_a_full_one(clustered):
    _, signatures, full, _ = clustered
    half = len(signatures.seqs) // 2
    first = Signatures(signatures.seqs[:half], signatures.matrix[:half], signatures.n_shingles[:half])
    second = Signatures(signatures.seqs[half:], signatures.matrix[half:], signatures.n_shingles[half:])
    earlier = match_texts(first, Signatures.empty(), THRESHOLD)
    later = match_texts(second, first, THRESHOLD)
    assert earlier.matched + later.matched == full.matched


def test_exact_copies_match_the_first_and_clusters_are_named_by_the_earliest():
    signature = np.arange(128, dtype=np.uint32)
    other = signature + 1000
    texts = Signatures(np.array([3, 5, 8, 9]), np.stack([other, signature, signature, signature]), np.array([9, 9, 9, 9]))
    matches = match_texts(texts, Signatures.empty(), THRESHOLD)
    assert matches.matched == [[], [], [5], [5]]
    assert cluster_roots(texts.seqs, matches.matched).tolist() == [3, 5, 5, 5]


def test_parts_are_one_text_and_case_and_blanks_do_not_count():
    con = duckdb.connect()
    words = " ".join(f"word{i}" for i in range(40))
    split = words.split()
    con.execute("create table parts (conversation_seq bigint, text varchar)")
    rows = [
        (1, words),
        # the same words in two parts, upper-cased, with newlines and tabs: the shingles that
        # cross the parts' boundary are missing, so close, not equal
        (2, " ".join(split[:20]).upper()),
        (2, "\n\t".join(split[20:])),
        # no words at all: no signature
        (3, "  \n "),
        (4, ""),
        # fewer words than a shingle: one shingle
        (5, "two words"),
    ]
    con.executemany("insert into parts values (?, ?)", rows)
    signed = sign_texts(con.table("parts"), 1, 5)
    counts = dict(zip(signed.seqs.tolist(), signed.n_shingles.tolist(), strict=True))
    assert counts == {1: 36, 2: 32, 3: 0, 4: 0, 5: 1}
    assert (signed.matrix[0] == signed.matrix[1]).mean() > 0.75
    matches = match_texts(signed, Signatures.empty(), THRESHOLD)
    matched = dict(zip(signed.seqs.tolist(), matches.matched, strict=True))
    # the empty texts are never matched, not with each other either
    assert matched == {1: [], 2: [1], 3: [], 4: [], 5: []}


def test_word_hashes_are_duckdbs_and_stable():
    con = duckdb.connect()
    first = con.execute(f"select {WORD_HASHES_SQL} from (select 'A b\nc' as text)").fetchall()[0][0]
    second = con.execute(f"select {WORD_HASHES_SQL} from (select 'a  B c' as text)").fetchall()[0][0]
    assert first == second and len(first) == 3


def test_a_threshold_outside_zero_one_is_refused():
    with pytest.raises(NearDuplicateError, match="near_dup_threshold"):
        match_texts(Signatures.empty(), Signatures.empty(), 1.5)


def test_identical_texts_stay_together_when_the_one_they_matched_is_gone():
    # 10 and 12 each matched 4 only (equal to it); 4 was re-ingested since and is no longer there.
    roots = cluster_roots(np.array([10, 12, 15]), [[4], [4], []], same_text=np.array([7, 7, 9], dtype=np.uint64))
    assert roots.tolist() == [10, 10, 15]
    # Without the texts' keys the edge through 4 is lost.
    assert cluster_roots(np.array([10, 12, 15]), [[4], [4], []]).tolist() == [10, 12, 15]

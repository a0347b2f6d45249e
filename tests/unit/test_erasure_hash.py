"""The erasure record's hash (issue 18): one person, however their email was typed, has one hash; the hash is
keyed, so a dump and a guessed address cannot confirm who was forgotten without the key."""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterator

import pytest

from models.keys import participant_key
from store.erasure import install_erasure_key, keyed_key_hash, subject_of

KEY = "k" * 40


@pytest.fixture(autouse=True)
def erasure_key() -> Iterator[None]:
    install_erasure_key(KEY)
    yield
    install_erasure_key(None)


def test_every_spelling_of_one_email_and_its_participant_key_name_the_same_person() -> None:
    composed = "José.Núñez@Clinic.example"
    decomposed = unicodedata.normalize("NFD", composed)
    spellings = [composed, f"  {composed.upper()} ", decomposed, participant_key(composed)]
    hashes = {subject_of(s).key_hash for s in spellings}
    assert len(hashes) == 1
    assert subject_of("someone.else@clinic.example").key_hash not in hashes


def test_the_hash_is_keyed_so_it_is_neither_the_plain_hash_nor_the_same_under_another_key() -> None:
    subject = subject_of("ada@example.org")
    under_our_key = subject.key_hash
    assert under_our_key != hashlib.sha256(subject.key.encode()).hexdigest()
    assert subject.key.split(":")[1] not in under_our_key  # the unkeyed key hash does not show through
    install_erasure_key("another key entirely, also long enough")
    assert keyed_key_hash(subject.key) != under_our_key


def test_something_that_is_neither_an_email_nor_a_participant_key_is_refused_with_the_rule() -> None:
    with pytest.raises(ValueError, match="'@'"):
        subject_of("not an address")
    with pytest.raises(ValueError, match="participant:<24 hex digits>"):
        subject_of("participant:nope")

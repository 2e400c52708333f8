"""Worked examples of language_modeling_basics.md (the ngram topic)."""

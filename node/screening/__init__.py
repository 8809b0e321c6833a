"""Fraud screening: features from chain state, scikit-learn models pinned on chain, verdicts.

One feature module (`features`) serves the node and the offline tools alike, so a model is
scored in production on exactly the numbers it was trained on. See docs/screening.md.
"""

"""Probabilistic customer-base models, each fitted by maximum likelihood."""

"""Optuna studies over the search space: config, objective, storage, workers, queries, CLI."""

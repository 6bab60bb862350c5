"""Reusable constructs of the model card governance app, one per logical unit.

Named `governance_constructs` because a top-level `constructs` package would shadow the
`constructs` library that every CDK file imports.
"""

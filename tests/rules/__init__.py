"""Tests of the rule language (a package so its module names do not clash with tests/*.py)."""

"""Composition root and command line: the only package that sees every face."""

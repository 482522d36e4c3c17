"""Pieces every Reflect package shares: the error tree and safe file writes. Imports nothing of ours."""

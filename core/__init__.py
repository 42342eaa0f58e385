"""Senim's application shell: what the helpline and the agencies' sides share."""

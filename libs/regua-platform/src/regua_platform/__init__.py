"""Régua platform: the one implementation of each cross-cutting concern, imported by every service."""

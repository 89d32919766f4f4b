"""Régua's only contract: versioned event and command models and the topics they travel on."""

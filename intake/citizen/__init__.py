"""Citizen blueprint."""

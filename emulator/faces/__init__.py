"""Faces: thin protocol adapters (parse, call one service method, serialise)."""

"""The domain: value types, the error vocabulary, limits, time and queue configuration.

Everything else is built on these modules; they import nothing from the rest of the emulator
(a test checks this).
"""

"""The Textual dashboard: the car, its panels and the conversation, on top of the voice pipeline.

Importing this package (or :mod:`assistant.tui.app`) stays cheap: torch, transformers and Whisper
are loaded by workers once the first frame is on screen.
"""

"""Offline in-car voice assistant: microphone → VAD → Whisper → intent → simulated vehicle."""

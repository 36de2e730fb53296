"""The local platform: emulators, functions and triggers on one machine."""

"""The live session and the service: button gestures, the session script, sounds, the LED, the watchdog."""

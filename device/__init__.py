"""The device as a whole: button, LED, session flow, notes archive, config, CLI and service loop."""

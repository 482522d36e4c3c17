"""Setting up and checking: config, the command line, doctor, the model store and the demo."""

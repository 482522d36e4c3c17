"""The edge: the wiring from config to device, the command line, doctor, the model store and the demo."""

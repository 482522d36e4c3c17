"""Sound in and out: speaker, microphone, synthesis, recognition, end-of-answer detection, recording."""

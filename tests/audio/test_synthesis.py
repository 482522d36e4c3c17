"""The prompt cache: a press never waits behind a whole first-boot batch of renders."""

import threading

import numpy as np
import soundfile as sf

from audio.synthesis import PromptCache

WAIT_S = 10.0


class SlowRenderer(PromptCache):
    """Renders a silent clip per text, each only once its gate is open; records the order."""

    def __init__(self, cache_dir, gates: dict[str, threading.Event]):
        super().__init__(cache_dir)
        self.gates = gates
        self.started = {text: threading.Event() for text in gates}
        self.rendered: list[str] = []

    def _render(self, texts):
        for text in texts:
            self.started[text].set()
            assert self.gates[text].wait(WAIT_S), f"{text!r} was never let through"
            sf.write(self.path_for(text), np.zeros(160, dtype=np.int16), 16000, subtype="PCM_16")
            self.rendered.append(text)


def test_a_press_waits_for_the_prompt_being_rendered_not_for_the_whole_batch(tmp_path):
    gates = {"greeting": threading.Event(), "question one": threading.Event(), "question two": threading.Event()}
    cache = SlowRenderer(tmp_path, gates)
    gates["question two"].set()  # the press's prompt renders at once when its turn comes
    batch = threading.Thread(target=cache.render_all, args=(list(gates),), daemon=True)
    batch.start()
    assert cache.started["greeting"].wait(WAIT_S)
    pressed = threading.Thread(target=cache.clip, args=("question two",), daemon=True)
    pressed.start()
    with cache._turn:  # the press is waiting for the greeting to finish
        assert cache._turn.wait_for(lambda: cache._waiting == 1, WAIT_S)
    gates["greeting"].set()
    pressed.join(WAIT_S)
    assert not pressed.is_alive(), "the press waited for more than the prompt being rendered"
    assert cache.rendered == ["greeting", "question two"]
    gates["question one"].set()
    batch.join(WAIT_S)
    assert cache.rendered == ["greeting", "question two", "question one"]


def test_a_press_whose_prompt_is_ready_does_not_wait_for_the_batch(tmp_path):
    gates = {"greeting": threading.Event(), "question one": threading.Event()}
    cache = SlowRenderer(tmp_path, gates)
    gates["question one"].set()
    cache.render_all(["question one"])
    batch = threading.Thread(target=cache.render_all, args=(list(gates),), daemon=True)
    batch.start()
    assert cache.started["greeting"].wait(WAIT_S)
    assert cache.clip("question one").duration_s > 0  # returns while the greeting is still rendering
    gates["greeting"].set()
    batch.join(WAIT_S)
    assert cache.rendered == ["question one", "greeting"]

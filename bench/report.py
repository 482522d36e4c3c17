"""Turns the probes' measurements into figures (medians over runs) and bench/REPORT.md."""

import json
import os
import platform
import shutil
import statistics
import subprocess
import tomllib
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from bench.cpu_limit import PI_CLASS_SHARE
from bench.probes import ROOT
from bench.sealing_probe import rows as sealing_rows

MB = 1e6
PRESS_MEDIAN_MS = 5.0
PRESS_P99_MS = 50.0
"""The press targets, absolute: the references (pyttsx3, espeak-ng | aplay) are shown beside them, not compared:
on a fast x86 the faster one is about 13 ms, so a bound derived from it sits inside the noise, and on a Pi it
grows about tenfold while the device's press does not."""


def first_question(pack_path: Path) -> str:
    return " ".join(tomllib.loads(pack_path.read_text())["questions"][0].split())


def median(values) -> float:
    """Median of the values measured (None or NaN: not measured in that run, e.g. a clip the rig never played)."""
    values = [v for v in values if v is not None and v == v]
    return statistics.median(values) if values else float("nan")


def p99(values) -> float:
    """The 99th percentile of the values measured (nearest rank: with fewer than 100, the largest)."""
    values = sorted(v for v in values if v is not None and v == v)
    return values[min(len(values) - 1, -(-99 * len(values) // 100) - 1)] if values else float("nan")


# --- storage -------------------------------------------------------------------------------------------


def storage(session_dir: Path, work: Path) -> dict:
    """Bytes of answer audio a session left on disk, and the same answers after compress_answer, per duration."""
    from audio.compress import compress_answer

    work.mkdir(parents=True, exist_ok=True)
    record = json.loads((session_dir / "session.json").read_text())
    seconds = on_disk = compressed = 0.0
    for answer in record["answers"]:
        if not answer["audio"]:
            continue
        path = session_dir / answer["audio"]
        seconds += answer["duration_s"]
        on_disk += path.stat().st_size
        if path.suffix == ".wav":  # left uncompressed: what compress_answer would make of it
            copy = work / path.name
            shutil.copyfile(path, copy)
            compressed += compress_answer(copy).stat().st_size
        else:
            compressed += path.stat().st_size
    return {
        "seconds": seconds,
        "rate": record["sample_rate"],
        "on_disk_bytes": on_disk,
        "on_disk_kind": sorted({Path(a["audio"]).suffix for a in record["answers"] if a["audio"]}),
        "compressed_bytes": compressed,
    }


# --- figures from one run ------------------------------------------------------------------------------


def _ms(later, earlier) -> float | None:
    return None if later is None or earlier is None else (later - earlier) * 1000


def press_figures(session: dict) -> dict:
    """Milliseconds from presses to the first sample handed to PortAudio (the project's own timestamps)."""
    press = session["gestures"][0]
    clips = session["clips"]
    events = session["events"]
    out = {
        "press_first_sound_ms": _ms(clips[0]["first_sample_at"], press),
        "press_to_play_ms": _ms(clips[0]["play_at"], press),
        "play_to_first_sample_ms": _ms(clips[0]["first_sample_at"], clips[0]["play_at"]),
    }
    asked = next(e for e in events if e["phase"] == "speaking" and e["question"] == 1)
    question = [c for c in clips if c["play_at"] < asked["at"]][-1]  # queued while the sound before it played
    before = [c for c in clips if c["play_at"] < question["play_at"]]
    # a clip cut short by the speaker's deadline, or never started by a stalled rig, spoils the subtraction
    complete = all(c["done_at"] for c in before) and all(c["first_frame"] is not None for c in (question, clips[0]))
    out["gaps_before_question_ms"] = out["press_question_ms"] = None
    if complete:
        gap_frames = question["first_frame"] - clips[0]["first_frame"] - sum(c["frames"] for c in before)
        out["gaps_before_question_ms"] = gap_frames / session["speaker_rate"] * 1000
        out["press_question_ms"] = out["press_first_sound_ms"] + out["gaps_before_question_ms"]
    after, to_play, tone_play = [], [], []
    for gesture in session["gestures"][1:]:
        following = next((c for c in clips if c["play_at"] > gesture), None)
        if following and following["first_sample_at"]:
            after.append((following["first_sample_at"] - gesture) * 1000)
            to_play.append((following["play_at"] - gesture) * 1000)
            tone_play.append((following["first_sample_at"] - following["play_at"]) * 1000)
    out["answer_press_next_sound_ms"] = median(after)
    out["answer_press_to_play_ms"] = median(to_play)
    out["tone_play_to_sample_ms"] = median(tone_play)
    return out


def answer_figures(session: dict, bare: dict) -> list[dict]:
    """Per answer: press that ended it → its notes saved, with the steps between, beside bare Vosk's FinalResult."""
    rows = []
    for job, press, done in zip(session["jobs"], session["gestures"][1:], bare["answers"]):
        rows.append(
            {
                "end_to_saved_ms": (job["saved_at"] - press) * 1000,
                "press_to_handed_ms": (job["end_at"] - press) * 1000,
                "handed_to_final_ms": (job["transcript_at"] - job["end_at"]) * 1000,
                "final_to_saved_ms": (job["saved_at"] - job["transcript_at"]) * 1000,
                "saved_to_compressed_ms": ((job["compressed_at"] or float("nan")) - job["saved_at"]) * 1000,
                "bare_finalize_ms": done["paced"]["finalize_s"] * 1000,
                "bare_after_audio_ms": done["paced"]["after_last_audio_s"] * 1000,
                "bare_burst_finalize_ms": done["burst"]["finalize_s"] * 1000,
            }
        )
    return rows


def cpu_figures(session: dict, bare: dict) -> dict:
    """CPU seconds per second of answer audio, from listening until the recognizer is done with the answer
    (transcript out, notes saved, recognizer freed): the session's threads less the speaker's (started with
    its stream, running while ready too), the recognizer's alone, and bare Vosk."""
    spent = speaker = recognizer = flow = by_idle_rate = audio = 0.0
    for job, start in zip(session["jobs"], session["listening"]):
        before, after = start["threads"], job["threads_at_recognizer_done"]

        def used(tid: str) -> float:
            return after.get(tid, before.get(tid, 0.0)) - before.get(tid, 0.0)

        spent += job["cpu_at_recognizer_done"] - start["cpu"]
        speaker += sum(used(tid) for tid in session["speaker_threads"])
        recognizer += used(job["recognizer_thread"])
        flow += used(session["flow_thread"])
        by_idle_rate += session["idle_cpu_per_s"] * (job["recognizer_done_at"] - start["at"])
        audio += job["fed_s"]
    pipeline = (spent - speaker) / audio
    fed = sum(a["fed_s"] for a in bare["answers"])
    bare_rate = sum(a["paced"]["cpu_s"] for a in bare["answers"]) / fed
    burst_rate = sum(a["burst"]["cpu_s"] for a in bare["answers"]) / fed
    return {
        "pipeline": pipeline,
        "bare": bare_rate,
        "ratio": pipeline / bare_rate,
        "bare_burst": burst_rate,
        "burst_ratio": pipeline / burst_rate,
        "speaker": speaker / audio,
        "recognizer": recognizer / audio,
        "flow": flow / audio,
        "others": pipeline - (recognizer + flow) / audio,
        "recognizer_ratio": recognizer / audio / bare_rate,
        "less_idle_rate": (spent - by_idle_rate) / audio,
    }


def transcript_lag_s(session: dict) -> float:
    """Seconds from the session's last "session saved" to the last of that session's transcripts in its notes."""
    saved = [e["at"] for e in session["events"] if e["kind"] == "session_saved"][-1]
    last = max(job.get("session", 1) for job in session["jobs"])
    done = [job["saved_at"] or job["transcript_at"] for job in session["jobs"] if job.get("session", 1) == last]
    return max(0.0, max(done) - saved)


# --- the table -----------------------------------------------------------------------------------------


def figures(mode: dict) -> list[dict]:
    """The report's rows for one mode (free or pinned): project value, reference, target, pass."""
    runs = mode["runs"]
    press = [press_figures(r["session"]) for r in runs]
    answers = [a for r in runs for a in answer_figures(r["session"], r["bare"])]
    cpu = [cpu_figures(r["session"], r["bare"]) for r in runs]
    pyttsx3 = median([t["first_write_s"] * 1000 for r in runs for t in r["tts"].get("pyttsx3", [])])
    espeak = median([t["first_write_s"] * 1000 for r in runs for t in r["tts"].get("espeak_aplay", [])])
    rows = []

    def row(name, value, unit, reference, target, passed, detail=""):
        rows.append(
            {
                "figure": name,
                "value": value,
                "unit": unit,
                "reference": reference,
                "target": target,
                "pass": passed,
                "detail": detail,
            }
        )

    refs = (
        f"pyttsx3 say()+runAndWait(): {pyttsx3:.1f} ms; espeak-ng \\| aplay: {espeak:.1f} ms (to aplay's first write)"
    )
    missing = next((r["tts"]["error"] for r in runs if "error" in r["tts"]), None)
    if missing:
        refs = f"not measured: {missing}"

    def steps(*keys):
        return ", ".join(f"{label} {median(p[key] for p in press):.1f} ms" for key, label in keys)

    details = {
        "press_first_sound_ms": "steps (medians): "
        + steps(
            ("press_to_play_ms", "press → chime handed to speaker.play()"),
            ("play_to_first_sample_ms", "→ first sample in the PortAudio callback"),
        ),
        "press_question_ms": "steps (medians): the chime's own figure above, then the gaps between the sounds "
        "(chime → greeting → question, each queued while the one before it plays): "
        + steps(("gaps_before_question_ms", "")),
        "answer_press_next_sound_ms": "steps (medians): "
        + steps(
            (
                "answer_press_to_play_ms",
                "press → tone handed to speaker.play() (the answer is sealed, noted and "
                "handed to the recognizer after that)",
            ),
            ("tone_play_to_sample_ms", "→ first sample in the PortAudio callback"),
        ),
    }
    for key, name in (
        (
            "press_first_sound_ms",
            "Press (idle) → first sample of the session's first sound (chime) handed to PortAudio",
        ),
        (
            "press_question_ms",
            "Press (idle) → first sample of question 1 handed to PortAudio, "
            "less the chime and greeting played before it",
        ),
        ("answer_press_next_sound_ms", "Press ending an answer → first sample of the next sound (the 'saved' tone)"),
    ):
        value, worst = median(p[key] for p in press), p99(p[key] for p in press)
        row(
            name,
            value,
            "ms",
            refs,
            f"median ≤ {PRESS_MEDIAN_MS:g} ms and p99 ≤ {PRESS_P99_MS:g} ms (p99 measured: {worst:.1f} ms)",
            value <= PRESS_MEDIAN_MS and worst <= PRESS_P99_MS,
            details[key],
        )
    end = median(a["end_to_saved_ms"] for a in answers)
    bare_final = median(a["bare_after_audio_ms"] for a in answers)
    limit = 1.2 * bare_final + 50
    row(
        "End of answer (press) → transcript final and notes saved",
        end,
        "ms",
        f"bare Vosk fed the same chunks at the microphone's pace: last chunk captured → FinalResult() returned "
        f"{bare_final:.0f} ms (FinalResult() alone: {median(a['bare_finalize_ms'] for a in answers):.0f} ms paced, "
        f"{median(a['bare_burst_finalize_ms'] for a in answers):.0f} ms flat out)",
        f"≤ 1.2 × bare + 50 ms = {limit:.0f} ms",
        end <= limit,
        "steps (medians): press → answer saved and handed to the recognizer "
        f"{median(a['press_to_handed_ms'] for a in answers):.0f} ms, → transcript final "
        f"{median(a['handed_to_final_ms'] for a in answers):.0f} ms, → notes saved "
        f"{median(a['final_to_saved_ms'] for a in answers):.0f} ms; then the answer is compressed to Opus "
        f"({median(a['saved_to_compressed_ms'] for a in answers):.0f} ms more, not counted)",
    )
    ratio = median(c["ratio"] for c in cpu)
    row(
        "CPU s per s of answer audio, whole pipeline (capture, VAD, write, recognize, notes): every thread of "
        "the session but the speaker's",
        median(c["pipeline"] for c in cpu),
        "CPU s/s",
        "bare AcceptWaveform over the same chunks at the microphone's pace: "
        f"{median(c['bare'] for c in cpu):.3f} CPU s/s "
        f"(flat out: {median(c['bare_burst'] for c in cpu):.3f}, ratio {median(c['burst_ratio'] for c in cpu):.2f})",
        f"ratio ≤ 1.10 (measured ratio {ratio:.3f})",
        ratio <= 1.10,
        f"by thread (medians, CPU s/s): recognizer {median(c['recognizer'] for c in cpu):.3f} (ratio to bare "
        f"{median(c['recognizer_ratio'] for c in cpu):.2f}), flow (VAD, WAV writes, the session) "
        f"{median(c['flow'] for c in cpu):.3f}, the rest (capture, the bench's own watchers) "
        f"{median(c['others'] for c in cpu):.3f}; "
        f"the speaker's threads, left out: {median(c['speaker'] for c in cpu):.3f}; per-run ratios "
        + ", ".join(f"{c['ratio']:.2f}" for c in cpu)
        + f"; the old way, process CPU less the idle rate: {median(c['less_idle_rate'] for c in cpu):.3f}",
    )
    if all("detection" in r for r in runs):
        detection = median(r["detection"]["cpu_per_audio_s"] for r in runs)
        bare = median(c["bare"] for c in cpu)
        row(
            "Speech detection alone (WebRTC VAD + the room's noise floor), CPU s per s of audio",
            detection,
            "CPU s/s",
            f"bare Vosk, paced, over the same audio: {bare:.3f} CPU s/s",
            "— (inside the pipeline's ratio ≤ 1.10)",
            None,
            f"{detection / bare:.1%} of bare Vosk; the detector over the session's own chunks, one thread, "
            "flat out (bench/detection_probe.py)",
        )
    session_rss = median(r["session"]["peak_rss_mb"] for r in runs)
    bare_rss = median(r["bare"]["peak_rss_mb"] for r in runs)
    row(
        "Peak resident memory of a whole session (process VmHWM)",
        session_rss,
        "MB",
        f"bare vosk.Model() + decode of the same audio: {bare_rss:.0f} MB",
        f"≤ bare + 40 MB = {bare_rss + 40:.0f} MB",
        session_rss <= bare_rss + 40,
        speaker_memory([r["session"] for r in runs]),
    )
    ready = median(r["service"]["ready_s"] for r in runs)
    model_load = median(r["bare"]["model_load_s"] for r in runs)
    row(
        "Service start (`reflect run` spawned) → ready for a press (sd_notify READY=1)",
        ready,
        "s",
        f"bare vosk.Model() load: {model_load:.2f} s",
        "≤ 1 s regardless of model load",
        ready <= 1.0,
        "session process spawned → first READY event: "
        f"{median(r['session']['ready_at'] - r['session']['spawned_at'] for r in runs):.2f} s",
    )
    loaded = median(r["session"]["model_loaded_at"] - r["session"]["spawned_at"] for r in runs)
    row(
        "Service start → model loaded (background thread)",
        loaded,
        "s",
        f"bare vosk.Model() load: {model_load:.2f} s (bare process spawned → loaded: "
        f"{median(r['bare']['model_loaded_at'] - r['bare']['spawned_at'] for r in runs):.2f} s)",
        "— (a press never waits for it)",
        None,
    )
    if all("pi_session" in r for r in runs):
        pi = [r["pi_session"] for r in runs]
        row(
            f"Pi-class recognizer (its thread alone at {PI_CLASS_SHARE} of a core): transcript lag at the end of a "
            "session (session saved → its last transcript saved)",
            median(transcript_lag_s(s) for s in pi),
            "s",
            f"the same session, recognizer unthrottled: {median(transcript_lag_s(r['session']) for r in runs):.2f} s",
            "— (how long the notes wait for their words on a Pi)",
            None,
            f"recognizer throttled {median(s['recognizer_throttled_s'] for s in pi):.1f} s per session; peak RSS "
            f"{median(s['peak_rss_mb'] for s in pi):.0f} MB; per-run lags "
            + ", ".join(f"{transcript_lag_s(s):.2f} s" for s in pi),
        )
    store = [r["storage"] for r in runs]
    seconds = sum(s["seconds"] for s in store)
    rate = store[0]["rate"]
    on_disk = sum(s["on_disk_bytes"] for s in store) / seconds * 60 / MB
    compressed = sum(s["compressed_bytes"] for s in store) / seconds * 60 / MB
    wav = rate * 2 * 60 / MB
    kinds = ", ".join(sorted({k for s in store for k in s["on_disk_kind"]}))
    row(
        f"Storage per minute of speech, as a session leaves it on disk ({kinds})",
        on_disk,
        "MB/min",
        f"16-bit WAV at the capture rate: {wav:.2f} MB/min at {rate} Hz, {44100 * 120 / MB:.2f} at 44.1 kHz, "
        f"{48000 * 120 / MB:.2f} at 48 kHz",
        "≤ 0.25 MB/min",
        on_disk <= 0.25,
    )
    english = mode["archive"]["opus_english_44k_bytes_per_min"] / MB
    row(
        "Storage per minute of speech after audio.compress.compress_answer (Ogg Opus)",
        compressed,
        "MB/min",
        f"same WAV: {wav:.2f} MB/min; English espeak-ng speech at 44.1 kHz compressed: {english:.2f} MB/min",
        "≤ 0.25 MB/min",
        compressed <= 0.25,
    )
    return (
        rows + archive_rows(mode["archive"]["archive"]) + (sealing_rows(mode["sealing"]) if "sealing" in mode else [])
    )


def archive_rows(archive: dict) -> list[dict]:
    """The list and search rows, per archive size, from bench_archive's timings (archive_probe's "archive")."""
    rows = []
    for answers_count, timings in archive.items():
        big = int(answers_count) >= 10000
        target = "≤ 100 ms" if big else "— (≤ 100 ms at 10,000)"
        for key, name in (("fresh_list_ms", "list (new Archive, index built)"), ("search_ms", "search two words")):
            value = timings[key]
            rows.append(
                {
                    "figure": f"{name}, {int(answers_count):,} answers",
                    "value": value,
                    "unit": "ms",
                    "reference": f"first listing, building the index: {timings['first_list_ms']:.0f} ms; "
                    f"warm listing: {timings['list_ms']:.1f} ms",
                    "target": target,
                    "pass": value <= 100 if big else None,
                    "detail": "",
                }
            )
    return rows


PARTIAL_NOTE = "The rows at "
"""How the note of a partial archive run begins (bench.archive_report)."""


def replace_rows(text: str, rows: list[dict], note: str) -> str:
    """REPORT.md's text with these rows put in place of the rows of the same figure (new ones after the last of
    their kind), and `note` below the table in place of an earlier partial run's: a partial run beside the full one."""
    lines = [line for line in text.splitlines() if not line.startswith(PARTIAL_NOTE)]
    new = dict(zip((r["figure"] for r in rows), table(rows)[2:]))
    archive_rows = [i for i, line in enumerate(lines) if line.startswith(("| list (", "| search two"))]
    kept = [line for line in lines if not any(line.startswith(f"| {figure} |") for figure in new)]
    kind = max(
        (i for i, line in enumerate(kept) if line.startswith(("| list (", "| search two"))), default=archive_rows[0] - 1
    )
    kept[kind + 1 : kind + 1] = new.values()
    table_end = end = next(i for i in range(kind + 1, len(kept)) if not kept[i].startswith("|"))
    while end < len(kept) and not kept[end].strip():
        end += 1
    return "\n".join(kept[:table_end] + ["", note, ""] + kept[end:]) + "\n"


def figures_json(results: dict) -> dict:
    return {mode: figures(data) for mode, data in results.items()}


# --- the machine ---------------------------------------------------------------------------------------


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _first_line(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10)
        return (done.stdout or done.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "not available"


def machine() -> list[str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        (
            int(line.split()[1]) // 1024
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        0,
    )
    import numpy
    import sounddevice

    commit = _first_line(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    return [
        f"- machine: {cpu}, {os.cpu_count()} logical CPUs, {memory / 1024:.1f} GiB RAM; "
        f"{platform.system()} {platform.release()}",
        f"- python {platform.python_version()}, vosk {_version('vosk')}, numpy {numpy.__version__}, "
        f"sounddevice {sounddevice.__version__} with {sounddevice.get_portaudio_version()[1]}, "
        f"pyttsx3 {_version('pyttsx3')}, soundfile {_version('soundfile')}",
        f"- {_first_line(['espeak-ng', '--version'])}; {_first_line(['aplay', '--version'])}; "
        f"{_first_line(['pulseaudio', '--version'])} (the rig: scripts/audio-rig.sh)",
        f"- project commit {commit}",
    ]


# --- the page ------------------------------------------------------------------------------------------


def _cell(value: float, unit: str) -> str:
    if value != value:
        return "n/a"
    if unit == "ms":
        return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"
    if unit == "CPU s/s":
        return f"{value:.3f}"
    if unit == "MB":
        return f"{value:.0f} MB"
    if unit == "s":
        return f"{value:.2f} s"
    return f"{value:.2f} {unit}"


def table(rows: list[dict]) -> list[str]:
    lines = ["| figure | project (median) | reference, same runs (median) | target | result |", "|---|---|---|---|---|"]
    for r in rows:
        verdict = "—" if r["pass"] is None else ("pass" if r["pass"] else "**miss**")
        lines.append(
            f"| {r['figure']} | {_cell(r['value'], r['unit'])} | {r['reference']} | {r['target']} | {verdict} |"
        )
    details = [f"- {r['figure']}: {r['detail']}" for r in rows if r["detail"]]
    return lines + ([""] + details if details else [])


def speaker_memory(sessions: list[dict]) -> str:
    """What opening the PortAudio speaker added to the session's memory, and the largest libraries it loaded."""
    libraries: dict[str, float] = sessions[0]["speaker_libraries_mb"]
    largest = sorted(libraries, key=libraries.__getitem__, reverse=True)[:4]
    return (
        f"opening the PortAudio speaker: +{median(s['speaker_rss_mb'] for s in sessions):.1f} MB resident, "
        f"{sum(libraries.values()):.1f} MB of it in the {len(libraries)} libraries it loaded; the largest: "
        + ", ".join(f"{name} {libraries[name]:.1f} MB" for name in largest)
        + " (bench/METHOD.md: which of them a Pi loads)"
    )


def underruns(mode: dict) -> str:
    """How often the speaker's stream ran dry in each run's session, which the press rows must be read beside."""
    counts = ", ".join(str(r["session"]["alsa_underruns"]) for r in mode["runs"])
    return (
        f"ALSA underruns reported during the sessions, per run: {counts}. The rig's PulseAudio ALSA plugin "
        "recovers from one by stalling the stream for up to ~2 s; a press whose sound lands in such a stall "
        "shows as tens to hundreds of ms in its run."
    )


def render(results: dict, args, command: str, elapsed_s: float) -> str:
    runs = len(results["free"]["runs"])
    lines = [
        "# Reflect: what the device costs, beside the bare engines",
        "",
        f"Written by `{command.strip()}` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC "
        f"in {elapsed_s / 60:.1f} min; "
        f"{runs} run{'s' if runs != 1 else ''} per figure, each run measuring the project and its references "
        f"back to back; model `{args.model}`.",
        "",
        *machine(),
        "",
        "## Figures",
        "",
        *table(figures(results["free"])),
        "",
        underruns(results["free"]),
    ]
    if "pinned" in results:
        lines += [
            "",
            "## Pinned to one core (`taskset -c 0`, a stand-in for a slower Pi)",
            "",
            "Every probe process (and what it starts: espeak-ng, aplay, the render process) ran under "
            "`taskset -c 0`; the PulseAudio server of the rig did not.",
            "",
            *table(figures(results["pinned"])),
            "",
            underruns(results["pinned"]),
        ]
    lines += [
        "",
        (ROOT / "bench" / "TWIN.md").read_text().strip(),
        "",
        (ROOT / "bench" / "METHOD.md").read_text().strip(),
        "",
    ]
    return "\n".join(lines)
